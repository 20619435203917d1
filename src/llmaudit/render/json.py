from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.model.money import decimal_text
from llmaudit.render import JSON_SCHEMA_VERSION, json_safe


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money and prices: a decimal string to 1e-9, without trailing zeros
        return decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def render_json(data: dict[str, Any]) -> str:
    """One top-level object carrying the schema version first."""
    body = {"version": JSON_SCHEMA_VERSION, **data}
    return json_safe(json.dumps(body, indent=2, ensure_ascii=False, default=_default))
