"""The App object every command receives: resolved paths, config, consoles and output helpers."""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from llmaudit.config import default_config_path, load_config, resolve_db_path
from llmaudit.constants import ENV_NO_COLOR
from llmaudit.render import Format, Table, printable, render_text

STALE_DAYS = 90  # the bundled price table's age past which commands say so


class App:
    def __init__(
        self,
        *,
        config_path: str | None = None,
        db: str | None = None,
        pricing_path: str | None = None,
        debug: bool = False,
        color: bool = True,
    ) -> None:
        self.config_path = Path(config_path).expanduser() if config_path else default_config_path()
        self._db = db
        self._pricing = pricing_path
        self.debug = debug
        self.color = color and not os.environ.get(ENV_NO_COLOR)

    @cached_property
    def config(self) -> dict[str, Any]:
        return load_config(self.config_path)

    @cached_property
    def db_path(self) -> Path:
        return resolve_db_path(self._db, self.config)

    @cached_property
    def clickhouse(self) -> str | None:
        """The ``clickhouse://`` address of the ledger, when it is on ClickHouse."""
        from llmaudit.config import resolve_db
        from llmaudit.ledger.clickhouse.client import is_clickhouse_url

        given = resolve_db(self._db, self.config)
        return given if given and is_clickhouse_url(given) else None

    @property
    def updates_path(self) -> Path:
        """Where `pricing update` keeps the prices it brought in (over the bundled table)."""
        from llmaudit.config import default_data_dir

        return default_data_dir() / "pricing-updates.toml"

    def pricing_layers(self) -> list[Path]:
        """Price files over the bundled table: `pricing update`'s, config ``pricing.path``, then
        --pricing (later ones win)."""
        from llmaudit.config import get_key

        layers = [self.updates_path] if self.updates_path.is_file() else []
        configured = get_key(self.config, "pricing.path")
        if configured is not None and (not isinstance(configured, str) or not configured):
            from llmaudit.errors import ConfigError

            raise ConfigError(f"config key pricing.path: must be a file path, got {configured!r}")
        if configured:
            layers.append(Path(configured).expanduser())
        if self._pricing:
            layers.append(Path(self._pricing).expanduser())
        return layers

    @cached_property
    def price_table(self):  # -> PriceTable (imported lazily)
        from llmaudit.pricing.table import load_table

        table = load_table(self.pricing_layers())
        self._warn_if_stale(table)
        return table

    def _warn_if_stale(self, table: Any) -> None:
        """Once a week at most: the bundled prices are over 90 days old and no update since."""
        import time
        from datetime import date

        from llmaudit.config import default_data_dir

        built = table.generated
        if built is None or (date.today() - built).days <= STALE_DAYS:
            return
        if self.updates_path.is_file():
            return  # `pricing update` has brought newer prices in
        marker = default_data_dir() / "pricing-stale-warned"
        try:
            if time.time() - marker.stat().st_mtime < 7 * 86400:
                return
        except OSError:
            pass
        self.warn(
            f"the price table is from {built.isoformat()} ({(date.today() - built).days} days "
            "old): 'llmaudit pricing update FILE|URL' brings newer prices in (docs/pricing.md)"
        )
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass

    def open_ledger(self, *, create: bool = True):  # -> Ledger (imported lazily)
        """The ledger; commands that only read it pass ``create=False`` so that a mistyped
        --db (or nothing ingested yet) is an error, not an empty answer and a new file."""
        from llmaudit.errors import StoreError
        from llmaudit.ledger.store import Ledger

        if self.clickhouse:
            return self.open_clickhouse(self.clickhouse, create=create)

        if not create and not self.db_path.exists():
            raise StoreError(
                f"no ledger at {self.db_path}",
                hint="ingest logs with 'llmaudit ingest PATH' or pull with 'llmaudit pull', "
                "or point --db (LLMAUDIT_DB) at an existing ledger",
            )
        return Ledger.open(self.db_path)

    def open_target(self, target: str):  # -> Ledger | ClickHouseLedger
        """A second ledger named on the command line (``ledger copy --to``), created if new."""
        from llmaudit.ledger.clickhouse.client import is_clickhouse_url
        from llmaudit.ledger.store import Ledger

        if is_clickhouse_url(target):
            return self.open_clickhouse(target)
        return Ledger.open(Path(target).expanduser())

    def open_clickhouse(self, url: str, *, create: bool = True):  # -> ClickHouseLedger
        from llmaudit.ledger.clickhouse.client import Address, password
        from llmaudit.ledger.clickhouse.store import ClickHouseLedger

        address = Address.parse(url)
        return ClickHouseLedger.open(
            address, password(self.config), create=create, debug=self.debug
        )

    # -- consoles -----------------------------------------------------------------------------
    def _console(self, stderr: bool) -> Any:
        from rich.console import Console

        return Console(
            stderr=stderr,
            markup=False,
            highlight=False,
            no_color=not self.color,
            color_system="auto" if self.color else None,
            soft_wrap=False,
        )

    @cached_property
    def out(self) -> Any:
        return self._console(stderr=False)

    @cached_property
    def err(self) -> Any:
        return self._console(stderr=True)

    def warn(self, message: str) -> None:
        sys.stderr.write(f"llmaudit: {printable(message)}\n")

    def info(self, message: str) -> None:
        sys.stderr.write(f"{printable(message)}\n")

    # -- output -------------------------------------------------------------------------------
    def default_format(self) -> Format:
        """A table on a terminal, JSON when piped (checked on stdout, where data goes)."""
        return Format.TABLE if sys.stdout.isatty() else Format.JSON

    def emit(
        self,
        fmt: Format | None,
        tables: list[Table],
        data: dict[str, Any],
        csv_table: Table | None = None,
    ) -> None:
        fmt = fmt or self.default_format()
        if fmt is Format.HTML:
            from llmaudit.errors import UsageError

            raise UsageError("--format html: only 'report' and 'demo' write HTML")
        if fmt is Format.TABLE:
            from llmaudit.render.table import to_rich

            for i, table in enumerate(tables):
                if i:
                    self.out.print()
                self.out.print(to_rich(table, self.out.width))
            return
        sys.stdout.write(render_text(fmt, tables, data, csv_table) + "\n")
