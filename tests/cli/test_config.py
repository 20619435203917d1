from __future__ import annotations

import os
import stat

import pytest


def test_path_follows_env(run, tmp_path):
    result = run("config", "path")
    assert result.stdout == f"{tmp_path / 'config' / 'config.toml'}\n"
    assert run("--config", "other.toml", "config", "path").stdout == "other.toml\n"


def test_set_show_get_unset(run, tmp_path):
    path = tmp_path / "config" / "config.toml"
    assert (
        run("config", "set", "providers.openai.admin_key", "sk-admin-1234567890abcdef").exit_code
        == 0
    )
    assert run("config", "set", "pricing.path", "~/prices.toml").exit_code == 0
    assert run("config", "set", "alerts.warn_at", "0.8").exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["config.toml"]  # no temporary files left
    shown = run("config", "show")
    assert shown.exit_code == 0
    assert "sk-admin-1234567890abcdef" not in shown.stdout
    assert 'admin_key = "sk-a...cdef"' in shown.stdout
    assert 'path = "~/prices.toml"' in shown.stdout
    assert "warn_at = 0.8" in shown.stdout
    assert "sk-admin-1234567890abcdef" in run("config", "show", "--reveal").stdout
    assert run("config", "get", "providers.openai.admin_key").stdout == "sk-a...cdef\n"
    assert run("config", "get", "alerts.warn_at").stdout == "0.8\n"
    assert run("config", "unset", "alerts.warn_at").exit_code == 0
    missing = run("config", "get", "alerts.warn_at")
    assert missing.exit_code == 3
    assert "alerts.warn_at is not set" in missing.stderr
    # The secret never reaches stderr either.
    assert "1234567890" not in run("config", "set", "x.api_key", "sk-1234567890abcdefgh").stderr


def test_show_warns_about_loose_permissions(run, tmp_path):
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text('[providers.openai]\nadmin_key = "sk-abcdefghijklmnop"\n')
    path.chmod(0o644)
    result = run("config", "show")
    assert "holds secrets and is readable by others; run: chmod 600" in result.stderr


def test_invalid_toml_names_the_file(run, tmp_path):
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text("this is = = not toml\n")
    result = run("config", "show")
    assert result.exit_code == 3
    assert result.stderr.startswith(f"llmaudit: error: {path}: invalid TOML:")


@pytest.mark.parametrize("key", ["", "a..b", ".a"])
def test_bad_keys_are_usage_errors(run, key):
    assert run("config", "set", key, "1").exit_code == 2


def test_setting_below_a_value_is_refused(run):
    run("config", "set", "pricing", "x")
    result = run("config", "set", "pricing.path", "y")
    assert result.exit_code == 2
    assert "pricing is a value, not a table" in result.stderr


def test_db_path_from_config(run, tmp_path):
    run("config", "set", "ledger.path", str(tmp_path / "from-config.db"))
    missing = run("ledger", "info", "--format", "json")
    assert missing.exit_code == 3
    assert f"no ledger at {tmp_path / 'from-config.db'}" in missing.stderr
    (tmp_path / "a.jsonl").write_text('{"ts": "2026-11-01T00:00:00Z", "model": "gpt-4o"}\n')
    assert run("ingest", "a.jsonl").exit_code == 0
    result = run("ledger", "info", "--format", "json")
    assert result.exit_code == 0
    assert str(tmp_path / "from-config.db") in result.stdout
