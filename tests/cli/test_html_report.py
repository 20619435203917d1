"""`report --format html`: one self-contained page, rendered in a real browser (headless
Chromium from the distribution's packages, which `.ci/run` installs): no console error, no
request for anything outside the page, and the figures on screen equal `--format json`'s.
A screenshot is kept (in LLMAUDIT_ARTIFACTS when set, else the test's own folder).

Where Chromium is missing the test skips, unless LLMAUDIT_REQUIRE_TOOLS=1 (as in `.ci/run`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from llmaudit.model.money import usd

pytestmark = pytest.mark.both_engines

WINDOW = ("--since", "2026-10-01", "--until", "2026-10-31")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("LLMAUDIT_REQUIRE_TOOLS"):
        pytest.fail("Chromium is required here (the distribution's chromium package)")
    pytest.skip("Chromium not installed (the distribution's chromium package)")


def _browser(page: Path, *args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


class _Figures(HTMLParser):
    """The text of every element with a data-figure attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        self._open.append(dict(attrs).get("data-figure"))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        name = next((n for n in reversed(self._open) if n), None)
        if name:
            self.figures[name] = self.figures.get(name, "") + data


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The demo ledger; its report as JSON and as HTML, and the demo's own page."""
    from llmaudit.cli.main import main

    home = tmp_path_factory.mktemp("html")
    db = home / "demo.db"
    outputs = {}

    def cli(*args: str) -> None:
        with pytest.MonkeyPatch.context() as mp, pytest.raises(SystemExit) as done:
            mp.setenv("HOME", str(home))
            mp.setenv("LLMAUDIT_CONFIG", str(home / "config.toml"))
            mp.setenv("LLMAUDIT_DATA_DIR", str(home / "data"))
            main(["--db", str(db), *args])
        assert done.value.code in (0, None)

    cli("demo", "--format", "json", "--html", str(home / "demo.html"))
    cli("report", *WINDOW, "--format", "json", "-o", str(home / "report.json"))
    cli("report", *WINDOW, "--format", "html", "-o", str(home / "report.html"))
    outputs["json"] = json.loads((home / "report.json").read_text())["report"]
    outputs["html"] = home / "report.html"
    outputs["demo"] = home / "demo.html"
    outputs["home"] = home
    return outputs


def test_the_page_is_self_contained(pages):
    page = pages["html"].read_text()
    assert page.startswith("<!doctype html>")
    # nothing to fetch: no script, no stylesheet or image link, no URL at all
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"(https?:)?//[a-z0-9]", page)
    assert page.count("<svg") >= 2


def test_chromium_renders_the_figures_of_the_json(pages, tmp_path):
    report = pages["json"]
    summary = report["sections"]["summary"]
    done = _browser(pages["html"], "--dump-dom", profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    parser = _Figures()
    parser.feed(done.stdout)
    shown = parser.figures
    assert shown["spend_usd"] == usd(summary["spend_usd"]) == "$120.42"
    assert shown["requests"] == f"{summary['requests']:,}"
    assert shown["unpriced_requests"] == f"{summary['unpriced_requests']:,}"
    assert shown["priced_token_share"] == f"{summary['priced_token_share']:.1%}"
    net = report["sections"]["cache"]["overall"]["net_saving_usd"]
    assert shown["cache_net_saving_usd"] == usd(net)
    # the shares by feature, team and customer each add up to the same total
    for dim in ("feature", "team", "customer"):
        assert shown[f"spend_by_{dim}_usd"] == usd(summary["spend_usd"])
    assert shown["window"].startswith("2026-10-01 to 2026-10-31 (UTC)")
    assert shown["previous"] == "the previous period is only partly in the ledger"


def test_a_screenshot_is_kept(pages, tmp_path):
    folder = Path(os.environ.get("LLMAUDIT_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report.png"
    done = _browser(
        pages["html"],
        f"--screenshot={shot}",
        "--window-size=1200,2400",
        "--hide-scrollbars",
        profile=tmp_path / "profile",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_the_demo_writes_the_same_page(pages):
    """`demo --html` reports the window that `report --since ... --until ...` does."""
    assert pages["demo"].read_text() == pages["html"].read_text()


def test_html_needs_a_file_and_is_for_report_only(run):
    assert run("demo", "--format", "json").exit_code == 0
    no_file = run("--db", "x.db", "demo", "--format", "html")
    assert no_file.exit_code == 2 and "--html FILE" in no_file.stderr
    other = run("pricing", "list", "--format", "html")
    assert other.exit_code == 2
    assert "--format html: only 'report' and 'demo' write HTML" in other.stderr
