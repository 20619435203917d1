"""The plain-Python o200k_base gives tiktoken's own tokens: for every code point its tables
know, in contexts that exercise each class of the split pattern, and on generated texts; what
it declines goes to tiktoken; `estimate` of a short prompt no longer builds tiktoken."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from llmaudit.estimate import o200k, tokens
from llmaudit.estimate import unicode_tables as ut


@pytest.fixture(scope="module")
def ranks():
    return tokens._ranks(tokens.O200K_FILE, tokens.O200K_SHA256)


@pytest.fixture(scope="module")
def known():
    """Every code point the tables know (assigned in their Unicode version, no surrogate)."""
    assigned = re.compile(f"[{ut.ASSIGNED}]")
    return [chr(cp) for cp in range(sys.maxunicode + 1) if assigned.match(chr(cp))]


def test_the_tables_know_unicode_14(known):
    assert ut.UNICODE_VERSION == "14.0.0"
    assert len(known) == 282_230  # Unicode 14.0's assigned code points less 2,048 surrogates


# Each context puts the code point after and before a lower-case and an upper-case letter, a
# digit, a space, a newline, a tab and an apostrophe suffix, and next to itself.
CONTEXT = "x{c}{c}Y{c}1 {c}\n{c}'S\t{c}a"


def test_every_known_code_point_as_tiktoken(official, ranks, known):
    enc = official["o200k_base"]
    wrong = []
    for start in range(0, len(known), 500):
        batch = known[start : start + 500]
        text = "".join(CONTEXT.format(c=c) for c in batch)
        if o200k.encode(text, ranks) != enc.encode(text, disallowed_special=()):
            for c in batch:
                one = CONTEXT.format(c=c)
                if o200k.encode(one, ranks) != enc.encode(one, disallowed_special=()):
                    wrong.append(f"U+{ord(c):04X}")
    assert wrong == []


COMMON = [
    *" \n\r\t'sStTlLdDmMvVreRE0123456789aBz.,!/?-_(){}<>\"ſ\u00a0\u3000\x1c\x85",
    *["'s", "'LL", "'Re", "  ", "\r\n", "\n\n", "123456", "//", " /", "’s", "ǅ", "ʰ", "\u0301"],
    *["東京", "Ελλ", "русский", "العربية", "👩\u200d💻", "🇫🇷", "<|endoftext|>", "==="],
]


@pytest.mark.parametrize("seed", range(4))
def test_generated_texts_as_tiktoken(official, ranks, known, seed):
    enc = official["o200k_base"]
    rnd = random.Random(seed)
    for _ in range(500):
        pieces = [
            rnd.choice(COMMON) if rnd.random() < 0.7 else rnd.choice(known)
            for _ in range(rnd.randint(0, 60))
        ]
        text = "".join(pieces)
        assert o200k.encode(text, ranks) == enc.encode(text, disallowed_special=()), repr(text)


def test_long_pieces_merge_as_tiktoken(official, ranks):
    """Pieces of up to 128 bytes that are no token, merged many times over: the order of the
    joins (lowest rank first, the leftmost of equals) decides the tokens."""
    enc = official["o200k_base"]
    rnd = random.Random(5)
    merged = 0
    for _ in range(1500):
        alphabet = rnd.choice(["ab", "aA", "abcXYZ", "0123456789", "!?.", "ñé", "a'", "東京"])
        piece = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 128)))
        text = f"{piece} {piece.upper()}\n{piece}"
        ids = o200k.encode(text, ranks)
        if ids is not None:
            assert ids == enc.encode(text, disallowed_special=()), repr(text)
            merged += 1
    assert merged > 1000


@pytest.mark.parametrize(
    "text",
    [
        "a new character: \U0001fae8",  # SHAKING FACE, Unicode 15.0
        "not assigned: \u0378",
        "a lone surrogate: \ud800",
        "a long word: " + "x" * 200,  # no o200k token is longer than 128 bytes
        "long white space: " + " " * 300 + "end",
    ],
)
def test_what_it_declines_tiktoken_counts(official, ranks, text):
    assert o200k.encode(text, ranks) is None
    tokens._count_kept.cache_clear()
    expected = official["o200k_base"].encode(text, disallowed_special=())
    assert tokens.count(text) == len(expected)


def test_count_moves_to_tiktoken_after_its_budget(official, monkeypatch):
    tokens._count_kept.cache_clear()
    tokens.encoding.cache_clear()
    monkeypatch.setattr(tokens, "_plain_left", [30])
    short, longer = "hello there", "a sentence of more than thirty characters"
    assert tokens.count(short) == len(official["o200k_base"].encode(short))
    assert tokens._plain_left == [30 - len(short)]
    assert tokens.encoding.cache_info().currsize == 0
    assert tokens.count(longer) == len(official["o200k_base"].encode(longer))
    assert tokens.encoding.cache_info().currsize == 1  # built for the text over the budget
    assert tokens._plain_left == [30 - len(short)]


def test_a_short_count_does_not_build_tiktoken(official, tmp_path):
    """In a fresh process, as `llmaudit estimate` runs: the count is tiktoken's, and tiktoken
    is not even imported (so the tests above compare two encoders, not one with itself)."""
    text = "Grüße aus Köln, 東京タワー 🚀 deploy done.\n\tx = 1  # ok\n" * 20
    (tmp_path / "p.txt").write_text(text, encoding="utf-8")
    script = (
        "import sys, pathlib; from llmaudit.estimate import tokens; "
        "n = tokens.count(pathlib.Path('p.txt').read_text(encoding='utf-8')); "
        "print(n, 'tiktoken' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()
    assert out == [str(len(official["o200k_base"].encode(text))), "False"]


@pytest.mark.skipif(
    unicodedata.unidata_version != ut.UNICODE_VERSION,
    reason=f"the tables are built with Unicode {ut.UNICODE_VERSION}'s unicodedata",
)
def test_the_tables_are_as_the_script_builds_them(tmp_path):
    script = Path(__file__).parents[2] / "scripts" / "build_unicode_tables.py"
    out = tmp_path / "unicode_tables.py"
    subprocess.run([sys.executable, str(script), "-o", str(out)], check=True, capture_output=True)
    assert out.read_text() == Path(ut.__file__).read_text()
