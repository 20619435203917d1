"""The Grafana dashboard over llmaudit's metrics (`llmaudit export grafana`).

It is kept as JSON beside this module, in Grafana's export format: ``__inputs`` declares the
Prometheus data source (``DS_PROMETHEUS``) that Grafana asks for on import, and every panel,
target and variable names it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def dashboard() -> dict[str, Any]:
    text = resources.files("llmaudit.render").joinpath("grafana_dashboard.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def dashboard_json() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"
