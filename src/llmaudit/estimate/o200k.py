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


def _merge(data: bytes, ranks: dict[bytes, int]) -> list[int]:
    get = ranks.get
    parts = [data[i : i + 1] for i in range(len(data))]
    while len(parts) > 1:
        best = -1
        best_rank = None
        for i in range(len(parts) - 1):
            rank = get(parts[i] + parts[i + 1])
            if rank is not None and (best_rank is None or rank < best_rank):
                best, best_rank = i, rank
        if best < 0:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return [ranks[part] for part in parts]  # every byte, and every merge, is a token
