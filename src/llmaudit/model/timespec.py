"""Times as people write them -> UTC instants: spans (``7d``), bounds (``2026-11-01``, ``mtd``,
``last-month``) and time zones. Errors name the option the caller says the text came from."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from llmaudit.errors import UsageError
from llmaudit.model.values import TS_MAX, TS_MIN

_RELATIVE = re.compile(r"^(\d+)\s*(m|h|d|w)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_SPAN = timedelta(days=366 * 130)  # longer than the ledger's span of years


def parse_span(text: str, *, option: str, units: str = "mhdw") -> timedelta:
    """``30m``, ``1h``, ``7d``, ``2w`` (the units allowed) -> a positive timedelta, at most
    the ledger's span; anything else is a usage error naming the option."""
    m = _RELATIVE.match(text.strip().lower())
    examples = ", ".join(
        f"{n}{u}" for n, u in zip((30, 1, 7, 2), "mhdw", strict=True) if u in units
    )
    if not m or m.group(2) not in units or int(m.group(1)) == 0:
        raise UsageError(f"{option}: {text!r} is not a span such as {examples}")
    count = int(m.group(1))
    limit = MAX_SPAN // timedelta(**{_UNITS[m.group(2)]: 1})
    if count > limit:
        raise UsageError(f"{option}: {text!r} is longer than {limit:,}{m.group(2)}")
    return timedelta(**{_UNITS[m.group(2)]: count})


def zone(name: str | None) -> tzinfo:
    """``UTC`` (the default), an IANA name such as ``Europe/Paris``, or ``local``."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    if name == "local":
        return datetime.now().astimezone().tzinfo or timezone.utc
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--tz: unknown time zone {name!r}; use UTC or a name like Europe/Paris"
        ) from None


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def parse_bound(
    text: str, *, option: str, tz: tzinfo, now: datetime, end: bool = False
) -> tuple[datetime, datetime | None]:
    """One ``--since``/``--until`` value -> (instant, implied other end or None), inside the
    ledger's span of years (a usage error otherwise, however far off: ``0001-01-01``,
    ``999999999999d``)."""
    try:
        moment, other = _parse_bound(text, option=option, tz=tz, now=now, end=end)
        inside = TS_MIN <= moment <= TS_MAX
    except (OverflowError, ValueError):
        inside = False
    if not inside:
        raise UsageError(
            f"{option}: {text!r} is outside the years {TS_MIN.year}..{TS_MAX.year - 1}"
        ) from None
    return moment, other


def _parse_bound(
    text: str, *, option: str, tz: tzinfo, now: datetime, end: bool = False
) -> tuple[datetime, datetime | None]:
    """One ``--since``/``--until`` value -> (instant, implied other end or None).

    Dates are whole days in ``tz``: ``--since 2026-11-01`` starts at that midnight and
    ``--until 2026-11-30`` includes the 30th. Relative values (``7d``, ``12h``, ``30m``, ``2w``)
    count back from now; ``today``, ``yesterday``, ``mtd`` (month to date) and ``last-month``
    are calendar periods in ``tz``.
    """
    value = text.strip().lower()
    local_today = now.astimezone(tz).date()
    m = _RELATIVE.match(value)
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}), None
    if value == "today":
        start = _midnight(local_today, tz)
        return (_midnight(local_today + timedelta(days=1), tz) if end else start), None
    if value == "yesterday":
        day = local_today - timedelta(days=1)
        if end:
            return _midnight(local_today, tz), None
        return _midnight(day, tz), _midnight(local_today, tz)
    if value == "mtd":
        return _midnight(local_today.replace(day=1), tz), None
    if value == "last-month":
        first_this = local_today.replace(day=1)
        first_last = (first_this - timedelta(days=1)).replace(day=1)
        if end:
            return _midnight(first_this, tz), None
        return _midnight(first_last, tz), _midnight(first_this, tz)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return _midnight(day + timedelta(days=1) if end else day, tz), None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a date (2026-11-01), a date-time, a span (7d, 12h) "
            "or one of today, yesterday, mtd, last-month"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc), None
