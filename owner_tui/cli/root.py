"""The ``owner-tui`` command group and its small commands: the TUI (default), ``demo``,
``import``, ``export``, ``contacts``, ``doctor``. ``sync``, ``digest`` and ``accounts`` live in
their own modules beside this one and are imported only when run.

Errors are one clear line on stderr with the exit codes of ``cli.common``. Only the ``tui``
and ``demo`` commands import Textual, so cron jobs start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from owner_tui import __version__
from owner_tui.cli.common import (
    Context,
    Failure,
    UsageFailure,
    one_line_errors,
    pass_ctx,
)
from owner_tui.paths import get_paths

#: Commands that live in their own modules, imported only when run (``sync`` from cron must
#: not pay for the others' imports).
LAZY_COMMANDS = {
    "sync": ("owner_tui.cli.sync", "sync_command",
             "Fetch new mail and reviews from every account once (for cron)."),
    "accounts": ("owner_tui.cli.accounts", "accounts_group", "List, add and test accounts."),
    "digest": ("owner_tui.cli.digest", "digest_command",
               "The morning summary: what awaits a reply, what came in since the last digest, low ratings, "
               "follow-ups with no answer yet, and this week against last week."),
    "status": ("owner_tui.cli.status", "status_command",
               "Each account's last sync and state, and the outbox, for a person or a monitoring check."),
    "feedback": ("owner_tui.cli.feedback", "feedback_group",
                 "On-site feedback: a page customers open from a QR code on the table."),
    "report": ("owner_tui.cli.report", "report_command",
               "Messages in, conversations answered, reply and first-response times, the share within the "
               "target, ratings per platform, the unanswered at the end, and what customers said most often in "
               "low ratings and complaints: per channel and overall, against the period before."),
    "schedule": ("owner_tui.cli.report", "schedule_command",
                 "Print the crontab lines for the daily digest and the weekly, monthly, quarterly and yearly "
                 "reports."),
}


class LazyGroup(click.Group):
    """Commands in their own modules, imported only when run. ``--help`` lists them from the
    summaries above (a test keeps each equal to its command's own), so it imports none."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str):
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attr, _summary = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = []
        for name in names:
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, click.utils.make_default_short_help(LAZY_COMMANDS[name][2], limit)))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            from owner_tui.cli.common import quiet_broken_pipe

            quiet_broken_pipe(ctx)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Config file (default: the platform config dir, or $OWNER_TUI_HOME/config.toml).")
@click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Database file (default: the platform data dir, or $OWNER_TUI_HOME/owner-tui.db).")
@click.version_option(__version__, prog_name="owner-tui")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, db_path: Path | None) -> None:
    """Who still awaits a reply, oldest wait first: one aging inbox for email and reviews.

    Run without a command to open the inbox. New here? Try `owner-tui demo`.
    """
    ctx.obj = Context(config_path, db_path)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@cli.command()
@pass_ctx
@one_line_errors
def tui(obj: Context) -> None:
    """Open the aging inbox (the default command)."""
    config = obj.config
    from owner_tui.tui.app import run  # Textual is imported only here and in `demo`

    run(obj.db_path, config)


@cli.command()
@click.option("--print", "print_only", is_flag=True, help="Print the aging list instead of opening the TUI.")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False),
              help="Build the demo store in this folder and keep it (default: a temporary folder).")
@one_line_errors
def demo(print_only: bool, keep: Path | None) -> None:
    """Open the app on a throwaway store of realistic data. Your real store is never touched;
    replies go to the demo's local outbox only."""
    import shutil
    import tempfile

    from owner_tui.aging import utcnow
    from owner_tui.config import Config, OwnerConfig
    from owner_tui.demo import BUSINESS, OWNER, build_demo
    from owner_tui.store import Store

    folder = keep or Path(tempfile.mkdtemp(prefix="owner-tui-demo-"))
    config = Config(owner=OwnerConfig(name="Sam", business=BUSINESS, addresses=(OWNER,),
                                       signature=f"Sam, {BUSINESS}"))
    db = folder / "demo.db"
    try:
        with Store.open(db, config=config) as store:
            if not store.message_count():
                build_demo(store, utcnow())
            if print_only or not sys.stdout.isatty():
                _print_list(store)
                return
        from owner_tui.tui.app import run

        run(db, config, demo=True)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _print_list(store) -> None:
    from rich.console import Console
    from rich.table import Table

    from owner_tui import aging
    from owner_tui.sanitize import safe_text
    from owner_tui.store.queries import ListFilter

    now = store.now()
    counts = store.bucket_counts(now)
    console = Console()
    table = Table(title="Awaiting a reply, oldest first", title_justify="left")
    for col in ("age", "channel", "contact", "subject or review", "stars"):
        table.add_column(col)
    colours = {"lt1h": "green", "1-4h": "cyan", "4-24h": "yellow", "1-3d": "dark_orange", "gt3d": "red"}
    for r in store.page(ListFilter(), 0, 500, now):
        age = aging.age_seconds(r["waiting_since"], now)
        text = r["subject"] if r["channel"] == "email" else (r["excerpt"] or r["subject"])
        table.add_row(safe_text(aging.format_age(age), style=colours[aging.bucket_for(age)]), r["channel"],
                      safe_text(r["contact_name"], single_line=True, limit=30),
                      safe_text(text, single_line=True, limit=60),
                      "★" * (r["rating"] or 0))
    console.print(table)
    console.print("  ".join(f"{aging.bucket_label(k)}: {n}" for k, n in counts.items()))


@cli.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--account", default="files", show_default=True, help="Account name to file the messages under.")
@click.option("--batch", default=500, show_default=True, help="Messages per transaction.")
@click.option("-v", "--verbose", is_flag=True, help="List each skipped file with the reason.")
@pass_ctx
@one_line_errors
def import_(obj: Context, paths: tuple[Path, ...], account: str, batch: int, verbose: bool) -> None:
    """Import .eml files, Maildir folders (with their Sent folder) and mbox files.

    Safe to run again: a message already imported is counted as a duplicate, not stored twice.
    Every skipped file is named, with its reason, in a summary file whose path is printed
    (and on the screen with --verbose).
    """
    from owner_tui.sources.files.importer import run_import

    result = run_import(obj.store(), paths, account=account, batch=batch, err=sys.stderr)
    line = (f"imported {result.new} new, {result.duplicate} duplicate, {result.noise} noise, "
            f"{result.problems} with problems" + (f", {result.skipped} files skipped" if result.skipped else ""))
    click.echo(line)
    if verbose:
        for reason in result.skipped_reasons:
            click.echo(f"skipped: {_printable(reason)}")
    summary = _write_import_summary(paths, line, result.skipped_reasons)
    click.echo(f"summary{' (with every skipped file and why)' if result.skipped else ''}: {summary}")


def _printable(text: str) -> str:
    from owner_tui.sanitize import one_line

    return one_line(text, limit=1000)


def _write_import_summary(paths: tuple[Path, ...], line: str, skipped: tuple[str, ...]) -> Path:
    """The import's summary in the state folder, one skipped file per line with its reason."""
    from datetime import datetime

    from owner_tui.paths import write_private_text

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = get_paths().state_dir / "imports" / f"import-{stamp}.txt"
    body = [f"owner-tui import {' '.join(str(p) for p in paths)}", line, ""]
    body += [f"skipped: {_printable(r)}" for r in skipped] or ["no file was skipped"]
    write_private_text(path, "\n".join(body) + "\n")
    return path


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "jsonl", "markdown", "ics"]), default="csv",
              show_default=True)
@click.option("--view", type=click.Choice(["awaiting", "followup", "snoozed", "done", "noise", "all"]),
              default="awaiting", show_default=True, help="followup = you wrote last and got no answer yet.")
@click.option("--channel", type=click.Choice(["email", "google", "trustpilot", "yelp", "facebook"]))
@click.option("--bucket", type=click.Choice(["lt1h", "1-4h", "4-24h", "1-3d", "gt3d"]))
@click.option("--older-than", "older_than", metavar="AGE", help="Only waits older than AGE, e.g. 4h, 2d, 1w.")
@click.option("--max-rating", type=click.IntRange(1, 5), help="Only reviews with at most this many stars.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write (default: stdout).")
@pass_ctx
@one_line_errors
def export(obj: Context, fmt: str, view: str, channel, bucket, older_than, max_rating, output) -> None:
    """Export the follow-up list, one row per conversation."""
    from owner_tui.reports.export import export_to_file, write_export
    from owner_tui.store.queries import ListFilter

    hours = _parse_age(older_than) if older_than else None
    f = ListFilter(view=view, channel=channel, bucket=bucket, older_than_hours=hours, max_rating=max_rating)
    store = obj.store()
    if output:
        n = export_to_file(store, f, fmt, output)
        click.echo(f"wrote {n} rows to {output}", err=True)
    else:
        write_export(store, f, fmt, sys.stdout)


def _parse_age(text: str) -> float:
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text.lower())
    if not m:
        raise UsageFailure(f"--older-than {text!r}: use a number and a unit, e.g. 30m, 4h, 2d, 1w")
    return float(m.group(1)) * {"m": 1 / 60, "h": 1, "d": 24, "w": 168}[m.group(2)]


@cli.group()
def contacts() -> None:
    """Find contacts, and merge two that are the same person (a reviewer and an email contact)."""


@contacts.command("find")
@click.argument("text")
@pass_ctx
@one_line_errors
def contacts_find(obj: Context, text: str) -> None:
    """Contacts whose name or address contains TEXT, with their ids."""
    from owner_tui.sanitize import one_line

    rows = obj.store().find_contacts(text, limit=50)
    for r in rows:
        click.echo(f"{r['id']:>6}  {one_line(r['name'], limit=40):<40}  {one_line(r['handle'], limit=60)}")
    if not rows:
        raise Failure(f"no contact matches {text!r}")


@contacts.command("merge")
@click.argument("keep", type=int)
@click.argument("merge", type=int)
@pass_ctx
@one_line_errors
def contacts_merge(obj: Context, keep: int, merge: int) -> None:
    """Make contact MERGE the same person as KEEP: their conversations show as one history."""
    store = obj.store()
    names = {r[0]: r[1] for r in store.db.execute("SELECT id, name FROM contacts WHERE id IN (?, ?) "
                                                   "AND merged_into IS NULL", [keep, merge])}
    missing = [str(i) for i in (keep, merge) if i not in names]
    if missing:
        raise UsageFailure(f"no contact with id {', '.join(missing)} (see `owner-tui contacts find`)")
    if keep == merge:
        raise UsageFailure("KEEP and MERGE are the same contact")
    store.merge_contacts(keep, merge)
    from owner_tui.sanitize import one_line

    click.echo(f"merged {one_line(names[merge], limit=40)} into {one_line(names[keep], limit=40)} "
               f"(undo: owner-tui contacts unmerge {merge})")


@contacts.command("unmerge")
@click.argument("merged", type=int)
@pass_ctx
@one_line_errors
def contacts_unmerge(obj: Context, merged: int) -> None:
    """Undo a merge: contact MERGED gets back its own addresses and conversations."""
    from owner_tui.sanitize import one_line

    store = obj.store()
    undone = store.unmerge_contact(merged)
    if undone is None:
        raise UsageFailure(f"contact {merged} is not merged into another (see `owner-tui contacts find`)")
    names = dict(store.db.execute("SELECT id, name FROM contacts WHERE id IN (?, ?)", [undone["keep"], merged]))
    click.echo(f"{one_line(names.get(merged) or str(merged), limit=40)} is apart from "
               f"{one_line(names.get(undone['keep']) or str(undone['keep']), limit=40)} again")


@cli.command()
@pass_ctx
def doctor(obj: Context) -> None:
    """Check the config, the database and each account's settings; say what is wrong."""
    from owner_tui.accounts.doctor import run_doctor

    sys.exit(run_doctor(obj))


def main() -> None:
    from owner_tui.cli.common import run_main

    run_main(cli, prog_name="owner-tui")
