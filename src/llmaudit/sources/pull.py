"""`llmaudit pull`: fetch provider usage and cost pages into the ledger, incrementally.

Per provider, endpoint and bucket width the ledger remembers how far it has pulled. A re-pull
asks again from the start of the last bucket it saw (it may have been partial) and, page by
page, replaces what the endpoint said about those buckets: totals never double. Each page is
kept raw (no headers, no key) so `pull --rebuild` can re-parse everything after a parser fix.
A page that is not the expected JSON stops that endpoint; what was committed before stays.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from llmaudit.errors import ProviderError, RecordError, UsageError
from llmaudit.http import Client
from llmaudit.ledger.store import Ledger
from llmaudit.ledger.writes import WriteCounts
from llmaudit.model.record import UsageRecord, check_plausible
from llmaudit.model.reject import Reject
from llmaudit.model.values import format_ts
from llmaudit.sources.apis.registry import ENDPOINTS, PROVIDERS
from llmaudit.sources.apis.spec import BilledCost, Endpoint
from llmaudit.sources.common import LINE_ERRORS, line_reject

KINDS = {"openai": "openai-api", "anthropic": "anthropic-api", "openrouter": "openrouter-api"}


@dataclass
class EndpointResult:
    provider: str
    endpoint: str
    pages: int = 0
    buckets: int = 0
    written: int = 0
    replaced: int = 0
    rejected: int = 0
    error: str | None = None
    skipped: str | None = None
    note: str | None = None


@dataclass
class PullRequest:
    providers: list[str]
    since: datetime
    until: datetime
    bucket: str = "1d"
    base_url: str | None = None
    full: bool = False
    debug: bool = False
    # called after each stored page: provider, endpoint, pages and buckets so far
    on_page: Callable[[str, str, int, int], None] | None = None
    keys: dict[str, str | None] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)


def request_for(
    setting: Callable[[str], str | None],
    providers: list[str],
    since: datetime,
    until: datetime,
    **options: Any,
) -> PullRequest:
    """A pull request with each provider's key and base URL resolved (environment first,
    then ``setting``, which reads a config value by its dotted name); a usage error when no
    provider has a key."""
    base_url = options.pop("base_url", None)
    request = PullRequest(providers=providers, since=since, until=until, **options)
    for p in providers:
        spec = PROVIDERS[p]
        request.keys[p] = key_for(p, setting(spec.key_config))
        request.base_urls[p] = base_url_for(p, base_url, setting(f"providers.{p}.base_url"))
    if not any(request.keys.values()):
        names = " or ".join(PROVIDERS[p].key_env for p in providers)
        raise UsageError(f"no key: set {names} (an admin key for OpenAI and Anthropic)")
    return request


# Bounds of one endpoint's pull (README, "What can go wrong"); a page is 31 days of daily
# buckets or 7 of hourly ones, so a year of usage is far below them.
MAX_PAGES = 1000
ENDPOINT_DEADLINE = 600.0  # seconds


def key_for(provider: str, config_value: str | None) -> str | None:
    return os.environ.get(PROVIDERS[provider].key_env) or config_value or None


def base_url_for(provider: str, cli: str | None, config_value: str | None) -> str:
    spec = PROVIDERS[provider]
    return cli or os.environ.get(spec.base_env) or config_value or spec.base_url


def _floor(dt: datetime, bucket: str) -> datetime:
    dt = dt.astimezone(timezone.utc)
    if bucket == "1h":
        return dt.replace(minute=0, second=0, microsecond=0)
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def pull(ledger: Ledger, request: PullRequest, client_factory=Client) -> list[EndpointResult]:
    results = []
    for provider in request.providers:
        key = request.keys.get(provider)
        spec = PROVIDERS[provider]
        if not key:
            for ep in ENDPOINTS[provider]:
                results.append(
                    EndpointResult(provider, ep.name, skipped=f"no key: set {spec.key_env}")
                )
            continue
        client = client_factory(
            request.base_urls[provider],
            spec.auth(key),
            provider=provider,
            key_env=spec.key_env,
            secrets=[key],
            debug=request.debug,
        )
        try:
            for ep in ENDPOINTS[provider]:
                results.append(_endpoint(ledger, client, ep, request))
            if provider == "openrouter":
                results.append(_credits(client))
        finally:
            client.close()
    return results


def _dollars(value: Any) -> str:
    """A provider's credit figure (a JSON number or text) as money, by the one money format."""
    from decimal import Decimal, InvalidOperation

    from llmaudit.model.money import usd

    if isinstance(value, bool):
        return str(value)
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return usd(amount) if amount.is_finite() else str(value)


def _credits(client: Client) -> EndpointResult:
    """OpenRouter's lifetime credits and usage (a management key), reported, not stored."""
    result = EndpointResult("openrouter", "credits")
    try:
        body, _ = client.get_json("credits", [])
    except ProviderError as exc:
        result.error = exc.message
        return result
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        result.error = "credits: not the expected JSON (no data object)"
        return result
    result.pages = 1
    result.note = (
        f"{_dollars(data.get('total_usage'))} used of {_dollars(data.get('total_credits'))} "
        "credits (lifetime)"
    )
    return result


def _endpoint(ledger: Ledger, client: Client, ep: Endpoint, request: PullRequest) -> EndpointResult:
    result = EndpointResult(ep.provider, ep.name)
    bucket = request.bucket if request.bucket in ep.buckets else ep.buckets[0]
    start = _floor(request.since, bucket)
    state = ledger.pull_state(ep.provider, ep.name, bucket)
    if state and not request.full:
        last = datetime.fromisoformat(state[1].replace("Z", "+00:00"))
        start = max(start, last)
    until = request.until
    if start >= until:
        result.skipped = "up to date"
        return result
    page_token = None
    seen_tokens: set[str] = set()
    started = time.monotonic()
    while True:
        if result.pages >= MAX_PAGES or time.monotonic() - started > ENDPOINT_DEADLINE:
            result.error = (
                f"stopped after {result.pages} pages / {time.monotonic() - started:.0f} s "
                f"(limits: {MAX_PAGES} pages, {ENDPOINT_DEADLINE:.0f} s an endpoint); "
                "earlier pages are kept, pull a shorter window with --since/--until"
            )
            return result
        params = ep.params(start, until, bucket)
        if page_token:
            params.append(("page", page_token))
        try:
            body, url = client.get_json(ep.path, params)
        except ProviderError as exc:
            result.error = exc.message
            return result
        result.pages += 1
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            result.error = (
                f"page {result.pages} of {ep.provider} {ep.name} is not the expected "
                "JSON (no data list); stopped, earlier pages are kept"
            )
            return result
        # A key the server echoes back is never stored: scrubbed from the page before it is
        # kept or parsed.
        text = client.redact(json.dumps(body, separators=(",", ":")))
        body = json.loads(text)
        raw_id = ledger.save_raw_page(ep.provider, ep.name, url, result.pages, text)
        written, replaced, buckets, rejected = apply_page(ledger, ep, bucket, body, raw_id)
        result.written += written
        result.replaced += replaced
        result.buckets += buckets
        result.rejected += rejected
        if request.on_page:
            request.on_page(ep.provider, ep.name, result.pages, result.buckets)
        page_token = body.get("next_page") if ep.paginated else None
        if not ep.paginated or body.get("has_more") is not True or not page_token:
            return result
        if not isinstance(page_token, str) or len(page_token) > 4096:
            result.error = f"page {result.pages}: next_page is not a page token; stopped"
            return result
        if page_token in seen_tokens:
            result.error = (
                f"page {result.pages}: the server sent next_page {page_token[:40]!r} again "
                "(a pagination loop); stopped, earlier pages are kept"
            )
            return result
        seen_tokens.add(page_token)


def apply_page(
    ledger: Ledger, ep: Endpoint, bucket: str, body: dict, raw_id: int | None
) -> tuple[int, int, int, int]:
    records: list[UsageRecord] = []
    costs: list[BilledCost] = []
    rejects: list[Reject] = []
    spans = []
    where = f"{ep.provider} {ep.name} page {raw_id}"
    for i, item in enumerate(body["data"], 1):
        if not isinstance(item, dict):
            rejects.append(Reject(where, i, "bucket is not an object", None, str(item)[:4096]))
            continue
        try:
            span = ep.span(item)
            parsed = ep.parse(item, ep.name)
            for p in parsed:
                if isinstance(p, UsageRecord):
                    check_plausible(p)
            spans.append(span)
        except LINE_ERRORS as err:
            rejects.append(line_reject(err, where, i, json.dumps(item, default=str)[:4096]))
            continue
        for p in parsed:
            (costs if isinstance(p, BilledCost) else records).append(p)
    if not spans:
        return 0, 0, 0, len(rejects)
    start = format_ts(min(s for s, _ in spans))
    end = format_ts(max(e for _, e in spans))
    last_start = format_ts(max(s for s, _ in spans))
    ingest_id = ledger.begin_ingest(
        kind=KINDS[ep.provider],
        source_name=ep.provider,
        location=f"{ep.provider} {ep.name}",
        size=None,
        mtime=None,
        machine_id=None,
    )
    written, replaced = ledger.replace_window(
        provider=ep.provider,
        endpoint=ep.name,
        kind=KINDS[ep.provider],
        bucket=bucket,
        start=start,
        end=end,
        last_start=last_start,
        records=records,
        costs=costs,
        rejects=rejects,
        raw_page_id=raw_id,
        ingest_id=ingest_id,
    )
    ledger.finish_ingest(ingest_id, WriteCounts(added=written, rejected=len(rejects)))
    return written, replaced, len(spans), len(rejects)


def rebuild(ledger: Ledger, providers: list[str]) -> list[EndpointResult]:
    """Re-parse every stored raw page, oldest first, as if it had just been fetched."""
    by_name = {(ep.provider, ep.name): ep for eps in ENDPOINTS.values() for ep in eps}
    results: dict[tuple[str, str], EndpointResult] = {}
    for raw_id, provider, endpoint, body in ledger.raw_pages():
        if provider not in providers or (provider, endpoint) not in by_name:
            continue
        ep = by_name[(provider, endpoint)]
        res = results.setdefault((provider, endpoint), EndpointResult(provider, endpoint))
        res.pages += 1
        try:
            data = json.loads(body)
        except ValueError:
            res.error = f"raw page {raw_id} is not JSON"
            continue
        bucket = "1h" if _looks_hourly(data, ep) else "1d"
        written, replaced, buckets, rejected = apply_page(ledger, ep, bucket, data, raw_id)
        res.written += written
        res.replaced += replaced
        res.buckets += buckets
        res.rejected += rejected
    return list(results.values())


def _looks_hourly(body: Any, ep: Endpoint) -> bool:
    try:
        start, end = ep.span(body["data"][0])
    except (KeyError, IndexError, TypeError, RecordError):
        return False
    return end - start <= timedelta(hours=1)


def window(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    start = since or now - timedelta(days=30)
    end = until or now
    if end <= start:
        raise UsageError("--until must be later than --since")
    return start, end
