"""The price table: loading and validating pricing.toml files, layering them, finding periods.

Prices are kept as ``Decimal`` (TOML numbers are parsed straight to Decimal), in USD per
million tokens. See docs/pricing.md for the file's schema.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from llmaudit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SCHEMA_VERSION = 1
RATE_KEYS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")
SERVICE_TIER_KEYS = ("batch", "flex", "priority")
# Providers that are routes: hosts selling models at prices of their own. Their entries price
# only requests that came through them (pricing/match.py), under "ROUTE/MODEL" ids.
ROUTE_PROVIDERS = frozenset(
    {
        "bedrock", "azure", "groq", "together", "fireworks", "openrouter", "workers-ai",
        "deepinfra", "cerebras", "sambanova", "novita", "hyperbolic", "nebius", "lambda",
        "perplexity", "replicate", "anyscale", "baseten", "ovhcloud", "nscale",
    }
)  # fmt: skip
PERIOD_KEYS = frozenset(
    {
        "from",
        "until",
        *RATE_KEYS,
        "per_request",
        "web_search_per_1k",
        "long_context",
        "time_of_day",
        *SERVICE_TIER_KEYS,
    }
)
MODEL_KEYS = frozenset(
    {
        "id",
        "provider",
        "name",
        "aliases",
        "unit",
        "retired",
        "source",
        "checked",
        "notes",
        "prices",
    }
)
PROVIDER_KEYS = frozenset({"name", "source", "batch", "batch_source", "flex", "priority"})
TOP_KEYS = frozenset({"schema", "generated", "providers", "models", "discounts"})


@dataclass(frozen=True)
class Rates:
    """USD per million tokens for each token category; None where the source gives no price."""

    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None
    reasoning: Decimal | None = None

    def scaled(self, factor: Decimal) -> Rates:
        return Rates(
            *(None if getattr(self, k) is None else getattr(self, k) * factor for k in RATE_KEYS)
        )

    def overlaid(self, other: Rates) -> Rates:
        """``other``'s prices where it has them, ours elsewhere."""
        return Rates(
            *(
                getattr(other, k) if getattr(other, k) is not None else getattr(self, k)
                for k in RATE_KEYS
            )
        )

    def as_dict(self) -> dict[str, Decimal]:
        return {k: getattr(self, k) for k in RATE_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class LongContext:
    """Above ``above`` input tokens in one request, the whole request moves to these rates."""

    above: int
    rates: Rates


@dataclass(frozen=True)
class TimeWindow:
    """From ``start`` until ``end`` (UTC time of day; may wrap past midnight) these rates apply
    instead of the period's (DeepSeek's peak and off-peak hours)."""

    start: time
    end: time
    rates: Rates

    def covers(self, moment: datetime) -> bool:
        t = moment.astimezone(timezone.utc).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


# A service tier is priced either by a multiplier on the standard rates or by explicit rates.
TierPrice = Decimal | Rates


@dataclass(frozen=True)
class Period:
    start: datetime | None  # inclusive; None = since the beginning
    end: datetime | None  # exclusive; None = still in force
    rates: Rates
    long_context: LongContext | None = None
    service_tiers: dict[str, TierPrice] = field(default_factory=dict)
    per_request: Decimal | None = None
    web_search_per_1k: Decimal | None = None
    time_of_day: tuple[TimeWindow, ...] = ()

    def at_time(self, ts: datetime) -> Period:
        """The period as it prices a request at ``ts``: a time-of-day window's rates (the
        last window that covers it) over the period's own."""
        for window in reversed(self.time_of_day):
            if window.covers(ts):
                return replace(self, rates=self.rates.overlaid(window.rates), time_of_day=())
        return self

    def covers(self, ts: datetime) -> bool:
        return (self.start is None or ts >= self.start) and (self.end is None or ts < self.end)

    @property
    def label(self) -> str:
        return self.start.date().isoformat() if self.start else "initial"


@dataclass(frozen=True)
class ModelPrice:
    id: str
    provider: str
    name: str
    aliases: tuple[str, ...]
    periods: tuple[Period, ...]
    source: str | None
    checked: date | None
    notes: str | None
    retired: bool
    origin: str  # the file it came from
    # set when the provider bills it by another unit (characters, images, audio minutes):
    # such a model is never priced as text
    unit: str | None = None

    @property
    def route(self) -> str | None:
        """The route whose requests it prices (``groq`` for ``groq/llama-3.3-70b``), or None
        for a first-party entry."""
        return self.provider if self.provider in ROUTE_PROVIDERS else None

    def names(self) -> tuple[str, ...]:
        """The names that match it exactly: its id (within its route) and its aliases."""
        own = self.id.lower()
        route = self.route
        return (own.removeprefix(f"{route}/") if route else own, *self.aliases)

    def period_at(self, ts: datetime) -> Period | None:
        for period in self.periods:
            if period.covers(ts):
                return period
        return None

    def price_id(self, period: Period) -> str:
        return self.id if period.start is None else f"{self.id}@{period.label}"


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    source: str | None = None
    service_tiers: dict[str, Decimal] = field(default_factory=dict)  # default multipliers


@dataclass(frozen=True)
class Discount:
    multiplier: Decimal
    provider: str | None = None
    model: str | None = None


@dataclass
class PriceTable:
    models: dict[str, ModelPrice]
    providers: dict[str, Provider]
    discounts: list[Discount]
    files: list[str]
    # name -> (model id, "id" or "alias"): first-party entries by their names, and each route's
    # entries by their names within the route
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    routes: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    generated: date | None = None  # when the bundled table was built
    _match_cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def index(self) -> None:
        """Build the name lookups; later layers win, as they do for whole entries."""
        self.names = {}
        self.routes = {}
        layers: dict[str, list[ModelPrice]] = {f: [] for f in self.files}
        for model in self.models.values():
            layers.setdefault(model.origin, []).append(model)
        for models in layers.values():
            for model in models:
                route = model.route
                index = self.routes.setdefault(route, {}) if route else self.names
                own, *aliases = model.names()
                index[own] = (model.id, "id")
                for alias in aliases:
                    index[alias] = (model.id, "alias")
        self._match_cache = {}

    def discount_for(self, model: ModelPrice) -> Decimal | None:
        by_model = [d for d in self.discounts if d.model and d.model.lower() == model.id.lower()]
        if by_model:
            return by_model[-1].multiplier
        by_provider = [d for d in self.discounts if d.provider == model.provider]
        return by_provider[-1].multiplier if by_provider else None


# -- loading --------------------------------------------------------------------------------------
def bundled_path() -> Path:
    """pricing.toml inside the installed package, or at the root of a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here.parent / "pricing.toml"  # the wheel puts it beside the package modules
    if packaged.is_file():
        return packaged
    checkout = here.parents[2] / "pricing.toml"  # src/llmaudit/pricing -> repository root
    if checkout.is_file():
        return checkout
    raise ConfigError(
        "the bundled pricing.toml is missing from the llmaudit package",
        hint="reinstall llmaudit",
    )


# Parsed price files of this process, by (path, mtime, size): a process that loads the table
# more than once (a test run, a long-lived caller) parses pricing.toml once. Never mutated.
_PARSED: dict[tuple[str, int, int], dict[str, Any]] = {}


def read_file(path: Path) -> dict[str, Any]:
    try:
        key = _file_key(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read price file: {exc.strerror}") from exc
    if key not in _PARSED:
        if len(_PARSED) > 16:
            _PARSED.clear()
        _PARSED[key] = _parse_file(path)
    return _PARSED[key]


CACHE_FORMAT = 1  # bump when PriceTable's shape changes (an old pickle is then rebuilt)


def _bundled_table(path: Path) -> PriceTable:
    """The bundled table, built once per version of its text: a pickle of the built table in the
    user's cache folder, named by the text's SHA-256 and llmaudit's version, spares each
    command the ~0.15 s of parsing and checking 1,500 entries. Any trouble with the cache
    (unreadable, corrupt, from another version, read-only) builds the table from the file."""
    import hashlib

    from llmaudit import __version__, cache

    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read price file: {exc.strerror}") from exc
    digest = hashlib.sha256(text + f"{__version__}:{CACHE_FORMAT}".encode()).hexdigest()
    name = f"pricing-{digest[:32]}"
    built = cache.load(name)
    if isinstance(built, PriceTable) and built.files == [str(path)]:
        return built
    table = PriceTable({}, {}, [], [])
    data = read_file(path)
    apply_layer(table, path, data)
    if isinstance(data.get("generated"), date):
        table.generated = data["generated"]
    table.index()
    cache.save(name, table)
    return table


def _parse_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read price file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    try:
        return tomllib.loads(text, parse_float=_price_number)
    except ValueError as exc:  # (TOMLDecodeError is one, and so is _price_number's)
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def _price_number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except ArithmeticError:  # an exponent beyond what a Decimal holds (1e2345678901234567890)
        raise ValueError(f"number {text[:24]}... is out of range") from None


# Tables already built in this process, by their layers' (path, mtime, size): a table is
# never changed once built, so a process that asks twice (tests, a long-lived caller) builds
# it once.
_TABLES: dict[tuple[tuple[str, int, int], ...], PriceTable] = {}


def load_table(extra: list[Path] | tuple[Path, ...] = (), *, bundled: bool = True) -> PriceTable:
    """The bundled table, then each extra file on top (later files win)."""
    layers = ([bundled_path()] if bundled else []) + list(extra)
    try:
        key = tuple(_file_key(path) for path in layers)
    except OSError:
        key = None  # read_file below names the file that cannot be read
    if key is not None and key in _TABLES:
        return _TABLES[key]
    if bundled:
        base = _bundled_table(layers[0])
        table = PriceTable(
            dict(base.models),
            dict(base.providers),
            list(base.discounts),
            list(base.files),
            generated=base.generated,
        )
    else:
        table = PriceTable({}, {}, [], [])
    for path in layers[1:] if bundled else layers:
        apply_layer(table, path, read_file(path))
    table.index()
    if key is not None:
        if len(_TABLES) > 8:
            _TABLES.clear()
        _TABLES[key] = table
    return table


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def apply_layer(table: PriceTable, path: Path, data: dict[str, Any]) -> None:
    where = str(path)
    _check_keys(data, TOP_KEYS, where, "")
    schema = data.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise ConfigError(f"{where}: schema: version {schema} is not supported (expected 1)")
    for pid, raw in _table(data, "providers", where).items():
        table.providers[pid] = _provider(pid, raw, where)
    models = data.get("models", [])
    if not isinstance(models, list):
        raise ConfigError(f"{where}: models: must be an array of tables ([[models]])")
    layer: dict[str, ModelPrice] = {}
    for i, raw in enumerate(models):
        model = _model(raw, where, f"models[{i}]")
        if model.id in layer:
            raise ConfigError(
                f"{where}: models[{i}].id: {model.id!r} is defined twice in this file"
            )
        layer[model.id] = model
    _check_ambiguity(layer.values(), where)
    for model in layer.values():
        if model.provider not in table.providers:
            table.providers[model.provider] = Provider(model.provider, model.provider)
        table.models[model.id] = model
    discounts = data.get("discounts", [])
    if not isinstance(discounts, list):
        raise ConfigError(f"{where}: discounts: must be an array of tables ([[discounts]])")
    for i, raw in enumerate(discounts):
        table.discounts.append(_discount(raw, where, f"discounts[{i}]"))
    table.files.append(where)


def _check_keys(raw: dict[str, Any], allowed: frozenset[str], where: str, key: str) -> None:
    for name in raw:
        if name not in allowed:
            prefix = f"{key}." if key else ""
            raise ConfigError(f"{where}: {prefix}{name}: unknown key")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key}: must be a table")
    return value


# No published price comes near these; a value past them is a typo or a hostile file, and
# would turn every report into nonsense (or overflow it).
MAX_PRICE = Decimal(100_000)  # USD per million tokens, per request, per 1k searches
MAX_MULTIPLIER = Decimal(100)  # a service tier's factor on the standard price


def _price(value: Any, where: str, key: str, limit: Decimal = MAX_PRICE) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ConfigError(f"{where}: {key}: must be a number, got {value!r}")
    result = Decimal(value)
    if not result.is_finite() or result < 0:
        raise ConfigError(f"{where}: {key}: must be a non-negative number, got {value}")
    if result > limit:
        raise ConfigError(f"{where}: {key}: {value} is implausibly large (the limit is {limit})")
    return result


def _multiplier(value: Any, where: str, key: str) -> Decimal:
    return _price(value, where, key, MAX_MULTIPLIER)


def _text(raw: dict[str, Any], name: str, where: str, key: str, required: bool = False) -> Any:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(f"{where}: {key}.{name}: is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key}.{name}: must be a non-empty string")
    return value.strip()


def _when(value: Any, where: str, key: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(f"{where}: {key}: a date-time needs an offset (Z or +HH:MM)")
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    raise ConfigError(f"{where}: {key}: must be a date (2025-06-10) or an offset date-time")


def _rates(raw: dict[str, Any], where: str, key: str) -> Rates:
    return Rates(
        **{k: _price(raw[k], where, f"{key}.{k}") for k in RATE_KEYS if raw.get(k) is not None}
    )


def _provider(pid: str, raw: Any, where: str) -> Provider:
    key = f"providers.{pid}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {key}: must be a table")
    _check_keys(raw, PROVIDER_KEYS, where, key)
    tiers = {t: _multiplier(raw[t], where, f"{key}.{t}") for t in SERVICE_TIER_KEYS if t in raw}
    return Provider(
        pid, _text(raw, "name", where, key) or pid, _text(raw, "source", where, key), tiers
    )


def _model(raw: Any, where: str, key: str) -> ModelPrice:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {key}: must be a table")
    mid = _text(raw, "id", where, key, required=True)
    key = f"{key} ({mid})"
    if "prefixes" in raw:
        raise ConfigError(
            f"{where}: {key}.prefixes: prefix rules are not supported: a prefix prices models "
            "that did not exist when it was written",
            hint="list each name as an alias (dated snapshots of a name match it already)",
        )
    _check_keys(raw, MODEL_KEYS, where, key)
    provider = _text(raw, "provider", where, key, required=True)
    names = {}
    for list_key in ("aliases",):
        value = raw.get(list_key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: {key}.{list_key}: must be a list of strings")
        names[list_key] = tuple(v.strip().lower() for v in value)
    unit = _text(raw, "unit", where, key)
    checked = raw.get("checked")
    if checked is not None and not isinstance(checked, date):
        raise ConfigError(f"{where}: {key}.checked: must be a date")
    prices = raw.get("prices", [] if unit else None)
    if not isinstance(prices, list) or not (prices or unit):
        raise ConfigError(f"{where}: {key}.prices: needs at least one [[models.prices]] period")
    periods = [_period(p, where, f"{key}.prices[{i}]") for i, p in enumerate(prices)]
    periods.sort(key=lambda p: p.start or datetime.min.replace(tzinfo=timezone.utc))
    for before, after in pairwise(periods):
        if before.end is None or after.start is None or before.end > after.start:
            raise ConfigError(
                f"{where}: {key}.prices: periods starting {before.label} and {after.label} "
                "overlap; give the earlier one an 'until' no later than the next 'from'"
            )
    if "retired" in raw and not isinstance(raw["retired"], bool):
        raise ConfigError(f"{where}: {key}.retired: must be true or false")
    return ModelPrice(
        id=mid,
        provider=provider.lower(),
        name=_text(raw, "name", where, key) or mid,
        aliases=names["aliases"],
        periods=tuple(periods),
        source=_text(raw, "source", where, key),
        checked=checked,
        notes=_text(raw, "notes", where, key),
        retired=bool(raw.get("retired", False)),
        origin=where,
        unit=unit,
    )


def _clock(value: Any, where: str, key: str) -> time:
    """A UTC time of day: "16:30" (TOML's local time 16:30:00 too)."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f'{where}: {key}: must be a UTC time of day such as "16:30"')


def _period(raw: Any, where: str, key: str) -> Period:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {key}: must be a table")
    _check_keys(raw, PERIOD_KEYS, where, key)
    start = _when(raw["from"], where, f"{key}.from") if "from" in raw else None
    end = _when(raw["until"], where, f"{key}.until") if "until" in raw else None
    if start and end and end <= start:
        raise ConfigError(f"{where}: {key}.until: must be after 'from'")
    rates = _rates(raw, where, key)
    if rates.input is None:
        raise ConfigError(f"{where}: {key}.input: is required")
    long_context = None
    if "long_context" in raw:
        lc = raw["long_context"]
        lk = f"{key}.long_context"
        if not isinstance(lc, dict):
            raise ConfigError(f"{where}: {lk}: must be a table")
        _check_keys(lc, frozenset({"above", *RATE_KEYS}), where, lk)
        above = lc.get("above")
        if isinstance(above, bool) or not isinstance(above, int) or above <= 0:
            raise ConfigError(f"{where}: {lk}.above: must be a positive whole number of tokens")
        long_context = LongContext(above, rates.overlaid(_rates(lc, where, lk)))
    tiers: dict[str, TierPrice] = {}
    for tier in SERVICE_TIER_KEYS:
        if tier not in raw:
            continue
        value = raw[tier]
        if isinstance(value, dict):
            _check_keys(value, frozenset(RATE_KEYS), where, f"{key}.{tier}")
            tiers[tier] = _rates(value, where, f"{key}.{tier}")
        else:
            tiers[tier] = _multiplier(value, where, f"{key}.{tier}")
    windows = []
    for i, raw_window in enumerate(raw.get("time_of_day", [])):
        wk = f"{key}.time_of_day[{i}]"
        if not isinstance(raw_window, dict):
            raise ConfigError(f"{where}: {wk}: must be a table")
        _check_keys(raw_window, frozenset({"from", "until", *RATE_KEYS}), where, wk)
        windows.append(
            TimeWindow(
                _clock(raw_window.get("from"), where, f"{wk}.from"),
                _clock(raw_window.get("until"), where, f"{wk}.until"),
                _rates(raw_window, where, wk),
            )
        )
    return Period(
        start=start,
        end=end,
        rates=rates,
        long_context=long_context,
        time_of_day=tuple(windows),
        service_tiers=tiers,
        per_request=_price(raw["per_request"], where, f"{key}.per_request")
        if "per_request" in raw
        else None,
        web_search_per_1k=_price(raw["web_search_per_1k"], where, f"{key}.web_search_per_1k")
        if "web_search_per_1k" in raw
        else None,
    )


def _discount(raw: Any, where: str, key: str) -> Discount:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {key}: must be a table")
    _check_keys(raw, frozenset({"provider", "model", "multiplier"}), where, key)
    if ("provider" in raw) == ("model" in raw):
        raise ConfigError(f"{where}: {key}: name exactly one of 'provider' or 'model'")
    if "multiplier" not in raw:
        raise ConfigError(f"{where}: {key}.multiplier: is required (e.g. 0.8 for 20% off)")
    multiplier = _multiplier(raw["multiplier"], where, f"{key}.multiplier")
    return Discount(
        multiplier,
        provider=_text(raw, "provider", where, key),
        model=_text(raw, "model", where, key),
    )


def _check_ambiguity(models: Any, where: str) -> None:
    """Within one file every name belongs to exactly one entry (within its route)."""
    owners: dict[tuple[str | None, str], str] = {}
    models = list(models)
    for model in models:
        owners[(model.route, model.names()[0])] = model.id
    for model in models:
        for alias in model.aliases:
            other = owners.get((model.route, alias))
            if other is not None and other != model.id:
                raise ConfigError(
                    f"{where}: models ({model.id}).aliases: {alias!r} also names {other}"
                )
            owners[(model.route, alias)] = model.id
