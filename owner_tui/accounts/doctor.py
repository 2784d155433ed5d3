"""``owner-tui doctor``: check config, database and accounts; say plainly what is wrong."""

from __future__ import annotations

import os
import stat

import click

from owner_tui.config import ConfigError
from owner_tui.secrets import describe_source

SECRET_NAMES = {"imap": ("password", "token"), "google": ("refresh_token", "client_secret"),
                "trustpilot": ("api_secret", "password"), "yelp": ("api_key",), "facebook": ("token",),
                "files": (), "twilio": ("auth_token", "api_key_secret")}


def _line(ok: bool | None, text: str) -> None:
    mark = {True: click.style("ok  ", fg="green"), False: click.style("FAIL", fg="red"),
            None: click.style("warn", fg="yellow")}[ok]
    click.echo(f"{mark} {text}")


def run_doctor(obj) -> int:
    problems = 0
    click.echo(f"config:   {obj.config_path}")
    click.echo(f"database: {obj.db_path}")
    try:
        config = obj.config
    except ConfigError as exc:
        _line(False, str(exc))
        return 2
    if not obj.config_path.exists():
        _line(None, "no config file yet: defaults in use (see README, 'Your own accounts')")
    else:
        mode = stat.S_IMODE(os.stat(obj.config_path).st_mode)
        _line(mode & 0o077 == 0, f"config file permissions {mode:o}" + ("" if mode & 0o077 == 0 else
              " (others can read it: chmod 600)"))
        problems += bool(mode & 0o077)
    try:
        store = obj.store()
        check = store.db.execute("PRAGMA quick_check").fetchone()[0]
        _line(check == "ok", f"database integrity: {check}")
        problems += check != "ok"
        _line(True, f"{store.message_count()} messages stored")
    except Exception as exc:  # the point of doctor is to report, not to crash
        _line(False, f"database: {exc}")
        problems += 1
    if not config.accounts:
        _line(None, "no accounts configured: `owner-tui accounts add imap` or see README")
    for acc in config.accounts:
        names = SECRET_NAMES.get(acc.kind, ())
        sources = [describe_source(acc.options, n) for n in names]
        unset = _unset_env(acc.options, names)
        if names and not any(sources):
            _line(False, f"account {acc.name} ({acc.kind}): no secret source; set one of "
                  + ", ".join(f"{n}_cmd/{n}_env/{n}_keyring" for n in names[:1]))
            problems += 1
        elif unset:
            _line(False, f"account {acc.name} ({acc.kind}): " + "; ".join(
                f"{key} names the environment variable {var}, which is not set here (export it where "
                "owner-tui runs, cron included, or use a _cmd)" for key, var in unset))
            problems += 1
        else:
            _line(True, f"account {acc.name} ({acc.kind})" + (f": secret from {[s for s in sources if s][0]}"
                                                              if any(sources) else ""))
    problems += _health_lines(obj, config)
    return 1 if problems else 0


def _unset_env(options, names) -> list[tuple[str, str]]:
    """``(key, variable)`` for each ``*_env`` secret whose variable is unset or empty."""
    out = []
    for n in names:
        var = options.get(f"{n}_env")
        if var and not os.environ.get(str(var)):
            out.append((f"{n}_env", str(var)))
    return out


def _health_lines(obj, config) -> int:
    """Each account's last sync, from the same health model as the app and `owner-tui status`."""
    from owner_tui.cli.status import read_health
    from owner_tui.sanitize import one_line

    try:
        health, now = read_health(obj, config)
    except Exception as exc:  # reported by the database check above
        _line(False, f"account health: {exc}")
        return 1
    failing = 0
    for a in health.accounts:
        ok = {"ok": not a.warning or None, "manual": True, "syncing": True, "failing": False}.get(a.state)
        text = f"sync {a.name}: {a.describe(now)}" + (f" -> {a.advice}" if a.advice else "")
        _line(ok, one_line(text, limit=400))
        failing += a.state == "failing"
    if health.outbox.failed:
        _line(False, f"outbox: {health.outbox.describe()}")
        failing += 1
    return failing
