"""Offline token counts: OpenAI's BPE encodings from files shipped in the package (verified
against tiktoken's expected hashes; never downloaded), and documented estimates for providers
whose tokenizers are not public.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from llmaudit.errors import ConfigError, UsageError

DATA = Path(__file__).parent / "data"

# Model name prefix -> encoding (OpenAI's published mapping; the longest prefix wins).
ENCODINGS = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("codex-", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)

# Providers without an offline tokenizer: o200k tokens x factor, +- band (share). These are
# llmaudit's own rough calibrations on English prose and code, not published figures: treat
# the result as an estimate (shown with "~" and its band); --exact asks the provider.
APPROXIMATIONS = {
    "anthropic": (1.15, 0.10),
    "google": (1.05, 0.10),
    "mistral": (1.15, 0.15),
    "xai": (1.0, 0.15),
    "deepseek": (1.05, 0.15),
    "cohere": (1.1, 0.15),
    "bedrock": (1.15, 0.15),
}
DEFAULT_APPROXIMATION = (1.1, 0.2)


def encoding_for(model: str) -> str | None:
    name = model.lower().rsplit("/", 1)[-1]
    best = None
    for prefix, enc in ENCODINGS:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, enc)
    return best[1] if best else None


def _packaged_ranks(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
    """What tiktoken would download from ``url``, read from the package instead."""
    return _ranks(url.rsplit("/", 1)[-1], expected_hash)


@cache
def _ranks(name: str, expected_hash: str | None) -> dict[bytes, int]:
    path = DATA / f"{name}.gz"
    try:
        packed = path.read_bytes()
        cached = _cached_ranks(hashlib.sha256(packed).hexdigest())
        if cached is not None:  # decoded before: this very file (its hash names the cache)
            return cached
        data = gzip.decompress(packed)
    except OSError as exc:
        raise ConfigError(
            f"the bundled tokenizer file {path.name} is missing or damaged",
            hint="reinstall llmaudit",
        ) from exc
    if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
        raise ConfigError(
            f"the bundled tokenizer file {path.name} does not match its hash",
            hint="reinstall llmaudit",
        )
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    _cache_ranks(hashlib.sha256(packed).hexdigest(), ranks)
    return ranks


# Decoding a BPE file's 200,000 base64 lines takes ~0.3 s: the decoded ranks are kept in the
# user's cache folder (llmaudit.cache), named by the file's SHA-256 (so a new file is decoded
# afresh). Any trouble with the cache falls back to decoding.
def _cached_ranks(digest: str) -> dict[bytes, int] | None:
    from llmaudit import cache as user_cache

    ranks = user_cache.load(f"bpe-{digest[:32]}")
    return ranks if isinstance(ranks, dict) else None


def _cache_ranks(digest: str, ranks: dict[bytes, int]) -> None:
    from llmaudit import cache as user_cache

    user_cache.save(f"bpe-{digest[:32]}", ranks)


@cache
def encoding(name: str) -> Any:
    """A tiktoken Encoding built from the packaged BPE file (never downloads).

    tiktoken's own constructor for the encoding supplies its regex and special tokens; only its
    file loader is pointed at the package while it runs.
    """
    import tiktoken
    from tiktoken_ext import openai_public

    constructor = openai_public.ENCODING_CONSTRUCTORS[name]
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = _packaged_ranks
    try:
        spec = constructor()
    finally:
        openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**spec)


# tiktoken's file and hash for o200k_base (tiktoken_ext/openai_public.py).
O200K_FILE = "o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# Characters a process encodes with llmaudit.estimate.o200k before it builds tiktoken's encoder
# instead: about 2 us a character here against 0.1 s to build tiktoken's, then 0.1 us.
PLAIN_BUDGET = 50_000
_plain_left = [PLAIN_BUDGET]
CACHED_TEXT = 100_000  # characters: a longer text's count is not kept


def count(text: str, encoding_name: str = "o200k_base") -> int:
    """Tokens in ``text`` (special tokens read as plain text). A text up to CACHED_TEXT
    characters is counted once per process: each model of an estimate asks again."""
    if len(text) <= CACHED_TEXT:
        return _count_kept(text, encoding_name)
    return _count(text, encoding_name)


def _count(text: str, encoding_name: str) -> int:
    if (
        encoding_name == "o200k_base"
        and len(text) <= _plain_left[0]
        and encoding.cache_info().currsize == 0  # tiktoken not built yet
    ):
        from llmaudit.estimate import o200k

        ids = o200k.encode(text, _ranks(O200K_FILE, O200K_SHA256))
        if ids is not None:
            _plain_left[0] -= len(text)
            return len(ids)
    return len(encoding(encoding_name).encode(text, disallowed_special=()))


_count_kept = lru_cache(maxsize=256)(_count)


@dataclass(frozen=True)
class Count:
    tokens: int
    exact: bool
    band: float  # +- share for estimates (0 when exact)
    method: str  # "o200k_base", "cl100k_base", or "o200k_base x 1.15 (anthropic)"


def approximate(o200k: int, provider: str) -> Count:
    factor, band = APPROXIMATIONS.get(provider, DEFAULT_APPROXIMATION)
    return Count(round(o200k * factor), False, band, f"o200k_base x {factor} ({provider})")


def _ask(
    base_url: str,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    provider: str,
    key_env: str,
    key: str,
    debug: bool,
) -> Any:
    """POST one count-tokens request with a normal API key (kept out of messages and --debug)."""
    from llmaudit.http import Client

    client = Client(
        base_url,
        headers,
        provider=provider,
        key_env=key_env,
        secrets=[key],
        debug=debug,
        key_kind="a valid API key",
    )
    try:
        answer, _ = client.post_json(path, body)
    finally:
        client.close()
    return answer


def anthropic_exact(
    messages: list[dict], model: str, *, key: str, base_url: str, debug: bool = False
) -> int:
    """Anthropic's own count (POST /v1/messages/count_tokens): system messages go to
    ``system``, the rest to ``messages``; the answer's ``input_tokens`` is what the Messages
    API would bill for this prompt."""
    from llmaudit.errors import ProviderError

    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    chat = [
        {
            "role": m["role"] if m["role"] in ("user", "assistant") else "user",
            "content": m["content"],
        }
        for m in messages
        if m["role"] != "system"
    ]
    body: dict[str, Any] = {"model": model, "messages": chat or [{"role": "user", "content": ""}]}
    if system:
        body["system"] = system
    answer = _ask(
        base_url,
        "v1/messages/count_tokens",
        body,
        {"x-api-key": key, "anthropic-version": "2023-06-01"},
        provider="anthropic",
        key_env="ANTHROPIC_API_KEY",
        key=key,
        debug=debug,
    )
    if not isinstance(answer, dict) or not isinstance(answer.get("input_tokens"), int):
        raise ProviderError("anthropic: count_tokens did not answer input_tokens")
    return answer["input_tokens"]


def google_exact(
    messages: list[dict], model: str, *, key: str, base_url: str, debug: bool = False
) -> int:
    """Gemini's own count (POST /v1beta/models/{model}:countTokens). The prompt goes as a
    ``generateContentRequest`` so that system messages count as the ``systemInstruction`` they
    become; assistant turns are the ``model`` role. The answer's ``totalTokens`` is the prompt's
    input tokens."""
    from urllib.parse import quote

    from llmaudit.errors import ProviderError

    name = model.split("/")[-1]  # "models/gemini-2.5-pro" and "google/gemini-2.5-pro" too
    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    contents = [
        {
            "role": "model" if m["role"] == "assistant" else "user",
            "parts": [{"text": m["content"]}],
        }
        for m in messages
        if m["role"] != "system"
    ]
    request: dict[str, Any] = {
        "model": f"models/{name}",
        "contents": contents or [{"role": "user", "parts": [{"text": ""}]}],
    }
    if system:
        request["systemInstruction"] = {"parts": [{"text": system}]}
    answer = _ask(
        base_url,
        f"v1beta/models/{quote(name, safe='.-_')}:countTokens",
        {"generateContentRequest": request},
        {"x-goog-api-key": key},
        provider="google",
        key_env="GEMINI_API_KEY",
        key=key,
        debug=debug,
    )
    total = answer.get("totalTokens") if isinstance(answer, dict) else None
    if not isinstance(total, int) or isinstance(total, bool):
        raise ProviderError("google: countTokens did not answer totalTokens")
    return total


def exact_settings(debug: bool) -> dict[str, Any]:
    """Keys and endpoints for --exact: Anthropic's count_tokens and Gemini's countTokens. A
    provider without a key stays an estimate; neither key is a usage error."""
    anthropic = os.environ.get("ANTHROPIC_API_KEY")
    google = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
    if not anthropic and not google:
        raise UsageError(
            "--exact: set ANTHROPIC_API_KEY and/or GEMINI_API_KEY (normal API keys) to ask "
            "Anthropic or Google for exact counts"
        )
    return {
        "anthropic_key": anthropic,
        "anthropic_base_url": os.environ.get("LLMAUDIT_ANTHROPIC_BASE_URL")
        or "https://api.anthropic.com",
        "google_key": google,
        "google_base_url": os.environ.get("LLMAUDIT_GOOGLE_BASE_URL")
        or "https://generativelanguage.googleapis.com",
        "debug": debug,
    }
