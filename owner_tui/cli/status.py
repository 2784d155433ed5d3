"""``owner-tui status``: can the list be trusted right now? One line per account and the outbox.

For cron and monitoring checks: exit 0 when every account synced recently and no reply failed,
1 when something is failing, stale or never synced (or a reply failed, or no account is set
up), 2 when the config is bad (including ``--config FILE`` that does not exist). ``--json``
prints the same as data. Reads the store only; a missing database is "never synced", and is
not created. Imports neither Textual nor any source, so it starts fast.
"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from owner_tui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Failure,
    one_line_errors,
)


def read_health(obj, config, *, app_open: bool = False):
    """``(Health, now)`` from the store, without creating a database that is not there yet."""
    from owner_tui.store import Store

    path = obj.db_path if obj.db_path.exists() else ":memory:"
    with Store.open(path, config=config) as store:
        now = store.now()
        return store.health(config, now=now, app_open=app_open), now


def status_lines(health, now: datetime) -> list[str]:
    from owner_tui.sanitize import one_line

    lines = []
    for a in health.accounts:
        advice = f" -> {a.advice}" if a.advice else ""
        lines.append(one_line(f"{a.name} ({a.kind}): {a.describe(now)}{advice}", limit=600))
    lines.append(f"outbox: {health.outbox.describe()}")
    return lines


@click.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print the health of every account and the outbox as JSON.")
@click.pass_obj
def status_command(obj, as_json: bool) -> None:
    """Each account's last sync and state, and the outbox, for a person or a monitoring check.

    Exit 0 all is well; 1 an account is failing, stale or never synced, or a reply failed;
    2 the config is bad.
    """
    from owner_tui.config import ConfigError

    try:
        config = obj.config
    except ConfigError as exc:
        if as_json:
            import json

            click.echo(json.dumps({"ok": False, "exit_code": EXIT_USAGE, "config_error": str(exc)}))
        else:
            click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)

    @one_line_errors
    def read():
        try:
            return read_health(obj, config)
        except Exception as exc:  # a database that is not ours, a locked file
            raise Failure(f"cannot read the database {obj.db_path}: {exc}") from None

    health, now = read()
    import json

    code = EXIT_OK if health.ok and health.accounts else EXIT_FAILED
    if as_json:
        click.echo(json.dumps({**health.as_dict(), "ok": code == EXIT_OK, "exit_code": code}, indent=2))
    else:
        if not health.accounts:
            click.echo("no accounts configured: nothing is synced (owner-tui accounts add imap)")
        for line in status_lines(health, now):
            click.echo(line)
    sys.exit(code)
