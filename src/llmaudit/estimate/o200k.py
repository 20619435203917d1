"""o200k_base in plain Python, for short texts.

tiktoken builds its encoder in about 0.1 s per process (Rust, holding the GIL), more than it
takes here to encode a few KB. This is the same encoding: tiktoken's split pattern for
o200k_base (tiktoken_ext/openai_public.py) with its Unicode classes spelt out for Python's
`re` (llmaudit.estimate.unicode_tables), then byte-pair merging as tiktoken's
`_byte_pair_merge` does it (the lowest-ranked adjacent pair first, the leftmost of equals).

:func:`encode` declines (None) a text it cannot vouch for, and the caller asks tiktoken:
- a code point the tables do not know: assigned after their Unicode version, where tiktoken's
  newer tables may call it a letter, or a surrogate;
- a piece that is no token and longer than LONGEST_PIECE bytes (merging here is quadratic).

tests/estimate/test_o200k.py compares the tokens with tiktoken's for every code point the
tables know, in several contexts, and on generated texts.
"""

from __future__ import annotations

import re
from functools import cache

from llmaudit.estimate import unicode_tables as ut

# Unicode's White_Space property, which the pattern's \s means (stable since Unicode 6.3).
# Python's own \s differs: it also takes U+001C..U+001F.
WHITE_SPACE = "\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LONGEST_PIECE = 128  # bytes: o200k's longest token


@cache
def _split() -> re.Pattern[str]:
    letters_numbers = ut.LETTER + ut.NUMBER
    suffix = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    return re.compile(
        "|".join(
            [
                f"[^\\r\\n{letters_numbers}]?[{ut.UPPER}]*[{ut.LOWER}]+{suffix}",
                f"[^\\r\\n{letters_numbers}]?[{ut.UPPER}]+[{ut.LOWER}]*{suffix}",
                f"[{ut.NUMBER}]{{1,3}}",
                f" ?[^{WHITE_SPACE}{letters_numbers}]+[\\r\\n/]*",
                f"[{WHITE_SPACE}]*[\\r\\n]+",
                f"[{WHITE_SPACE}]+(?![^{WHITE_SPACE}])",  # \s+(?!\S)
                f"[{WHITE_SPACE}]+",
            ]
        )
    )


@cache
def _unknown() -> re.Pattern[str]:
    return re.compile(f"[^{ut.ASSIGNED}]")


def encode(text: str, ranks: dict[bytes, int]) -> list[int] | None:
    """The token ids tiktoken's o200k_base gives ``text`` (special tokens read as plain text),
    or None where this module declines it."""
    if not text.isascii() and _unknown().search(text):
        return None
    get = ranks.get
    out: list[int] = []
    for piece in _split().findall(text):
        data = piece.encode()
        rank = get(data)
        if rank is not None:
            out.append(rank)
        elif len(data) > LONGEST_PIECE:
            return None
        else:
            out.extend(_merge(data, ranks))
    return out


_NO_RANK = 1 << 62  # above every rank: a pair that is no token


def _merge(data: bytes, ranks: dict[bytes, int]) -> list[int]:
    """tiktoken's byte-pair merge: while some adjacent pair of parts is a token, join the pair
    of lowest rank (the leftmost of equals). ``pair[k]`` is the rank of parts k and k+1
    joined, so a join looks up only its two new pairs."""
    get = ranks.get
    starts = list(range(len(data) + 1))  # part k is data[starts[k]:starts[k + 1]]
    pair = [get(data[k : k + 2], _NO_RANK) for k in range(len(data) - 1)]
    while pair:
        best = min(pair)
        if best == _NO_RANK:
            break
        k = pair.index(best)
        del starts[k + 1]
        del pair[k]
        if k < len(pair):
            pair[k] = get(data[starts[k] : starts[k + 2]], _NO_RANK)
        if k > 0:
            pair[k - 1] = get(data[starts[k - 1] : starts[k + 1]], _NO_RANK)
    # every byte, and every join, is a token
    return [ranks[data[starts[k] : starts[k + 1]]] for k in range(len(starts) - 1)]
