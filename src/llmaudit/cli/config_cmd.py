"""``llmaudit config``: where the config file is, what it says, and changing it."""

from __future__ import annotations

import sys

import click

from llmaudit import config as cfg
from llmaudit.cli.app import App


@click.group()
def config() -> None:
    """Show and change the config file (TOML, mode 0600)."""


@config.command("path")
@click.pass_obj
def config_path(app: App) -> None:
    """Print the path of the config file."""
    click.echo(str(app.config_path))


@config.command("show")
@click.option(
    "--reveal", is_flag=True, help="Show secret values (API keys) instead of masking them."
)
@click.pass_obj
def config_show(app: App, reveal: bool) -> None:
    """Print the config as TOML, with secrets masked."""
    import tomli_w

    if not app.config_path.exists():
        app.info(f"no config file yet at {app.config_path}; create one with 'llmaudit config set'")
        return
    data = app.config
    if cfg.has_secrets(data) and cfg.is_insecure(app.config_path):
        app.warn(
            f"{app.config_path} holds secrets and is readable by others; "
            f"run: chmod 600 {app.config_path}"
        )
    if not reveal:
        data = cfg.scrubbed(data)
    sys.stdout.write(tomli_w.dumps(data))


@config.command("get")
@click.argument("key")
@click.option("--reveal", is_flag=True, help="Show a secret value instead of masking it.")
@click.pass_obj
def config_get(app: App, key: str, reveal: bool) -> None:
    """Print one value (KEY is dotted, e.g. pricing.path). Exits 3 if it is not set."""
    from llmaudit.errors import ConfigError

    value = cfg.get_key(app.config, key)
    if value is None:
        raise ConfigError(f"{key} is not set in {app.config_path}")
    if isinstance(value, str) and cfg.is_secret_key(key) and not reveal:
        value = cfg.mask_secret(value)
    if isinstance(value, dict):
        import tomli_w

        sys.stdout.write(tomli_w.dumps(cfg.scrubbed(value, f"{key}.") if not reveal else value))
    else:
        click.echo(value)


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def config_set(app: App, key: str, value: str) -> None:
    """Set KEY (dotted, e.g. providers.openai.admin_key) to VALUE.

    VALUE is read as a TOML literal when it is one (42, true, [1, 2]), else as text.
    """
    data = dict(app.config)
    parsed = cfg.parse_value(value)
    cfg.set_key(data, key, parsed)
    cfg.save_config(app.config_path, data)
    shown = cfg.mask_secret(value) if cfg.is_secret_key(key) else repr(parsed)
    app.info(f"set {key} = {shown} in {app.config_path}")


@config.command("unset")
@click.argument("key")
@click.pass_obj
def config_unset(app: App, key: str) -> None:
    """Remove KEY from the config file."""
    data = dict(app.config)
    if not cfg.unset_key(data, key):
        app.info(f"{key} was not set")
        return
    cfg.save_config(app.config_path, data)
    app.info(f"removed {key} from {app.config_path}")
