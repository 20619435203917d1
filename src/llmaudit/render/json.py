from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.render import JSON_SCHEMA_VERSION


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # money stays exact: a decimal string
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def render_json(data: dict[str, Any]) -> str:
    """One top-level object carrying the schema version first."""
    body = {"version": JSON_SCHEMA_VERSION, **data}
    return json.dumps(body, indent=2, ensure_ascii=False, default=_default)
