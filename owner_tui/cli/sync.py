"""``owner-tui sync``: every account once, then the outbox (for cron).

Exit codes: 0 every account synced; 1 at least one account failed (one line per failure on
stderr); 2 the config is wrong.
"""

from __future__ import annotations

import sys

import click

from owner_tui.config import ConfigError
from owner_tui.sync import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, exit_code, sync_all


def _progress_printer():
    """A one-line progress indicator on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(p) -> None:
        sys.stderr.write(f"\r\x1b[K{p.account} {p.folder}: {p.done}/{p.total}")
        sys.stderr.flush()

    return show


@click.command("sync")
@click.option("-a", "--account", "accounts", multiple=True, metavar="NAME",
              help="Sync only this account (repeatable). Default: all.")
@click.option("--send/--no-send", default=True, show_default=True,
              help="Also send replies waiting in the outbox.")
@click.option("-q", "--quiet", is_flag=True, help="Print failures only.")
@click.pass_context
def sync_command(ctx: click.Context, accounts: tuple[str, ...], send: bool, quiet: bool) -> None:
    """Fetch new mail and reviews from every account once (for cron).

    Exit status: 0 all accounts synced, 1 some account failed (one line each on stderr),
    2 config error.
    """
    obj = ctx.obj
    from owner_tui import quick_sync

    try:  # before the config is read: a plan never pairs an edited file with the old settings
        config_sha256 = quick_sync.file_digest(obj.config_path)
    except OSError:
        config_sha256 = None
    try:
        config = obj.config
        store = obj.store()
    except ConfigError as exc:
        click.echo(f"owner-tui sync: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
    except Exception as exc:  # a locked or unreadable database
        click.echo(f"owner-tui sync: {exc}", err=True)
        ctx.exit(EXIT_FAILED)
    if not config.accounts:
        click.echo("owner-tui sync: no accounts configured (owner-tui accounts add imap)", err=True)
        ctx.exit(EXIT_CONFIG)
    from owner_tui.sources.imap.sync import ParsePool

    try:
        with ParsePool() as pool:
            outcomes = sync_all(config, store, only=accounts, progress=_progress_printer(), parse_pool=pool)
    except ConfigError as exc:
        click.echo(f"owner-tui sync: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
    if not accounts:
        quick_sync.remember(store, config, outcomes, config_sha256)
    if _progress_printer():
        sys.stderr.write("\r\x1b[K")
    for o in outcomes:
        if not o.ok:
            click.echo(o.line, err=True)
        elif not quiet:
            click.echo(o.line)
    code = exit_code(outcomes)
    if send:
        from owner_tui.send.outbox_worker import process

        report = process(store, config)
        for line in report.lines():
            click.echo(line, err=not report.ok)
        if not report.ok and code == EXIT_OK:
            code = EXIT_FAILED
    store.close()
    ctx.exit(code)
