"""``owner-tui report`` (a week, month, quarter or year against the one before, printed or
mailed) and ``owner-tui schedule`` (the cron lines for the digest and the reports)."""

from __future__ import annotations

import shlex
import shutil
import sys

import click

from owner_tui.cli.common import UsageFailure, one_line_errors
from owner_tui.reports.period import FORMATS, PERIODS


@click.command(name="report")
@click.option("--period", type=click.Choice(PERIODS), default="month", show_default=True)
@click.option("--at", "at", metavar="DATE",
              help="A date in the period to report (2026-11-15). Default: the last complete period.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format (default: Rich in a terminal, plain text in a pipe).")
@click.option("--mail-to", metavar="ADDR", help="Mail the report (text and HTML) to ADDR instead of printing it.")
@click.option("--account", metavar="NAME",
              help="The IMAP account whose SMTP settings send --mail-to (default: the only one with smtp_host).")
@click.pass_obj
def report_command(obj, period: str, at: str | None, fmt: str | None, mail_to: str | None,
                   account: str | None) -> None:
    """Messages in, conversations answered, reply and first-response times, the share within
    the target, ratings per platform, the unanswered at the end, and what customers said most
    often in low ratings and complaints: per channel and overall, against the period before.
    """
    @one_line_errors
    def run() -> None:
        from owner_tui.reports import period_render
        from owner_tui.reports.period import build_report, parse_at

        store = obj.store()
        try:
            try:
                report = build_report(store, period, at=parse_at(at) if at else None)
            except ValueError as exc:
                raise UsageFailure(str(exc)) from None
            if mail_to:
                from owner_tui.cli.digest import mail_it
                from owner_tui.reports.digest_mail import compose_mail

                mail_it(obj.config, account, mail_to, lambda from_addr: compose_mail(
                    period_render.subject_line(report), period_render.render_text(report),
                    period_render.render_html(report), report.generated_at, mail_to, from_addr),
                    f"{period}ly report")
            if fmt or not mail_to:
                if fmt is None and sys.stdout.isatty():
                    from rich.console import Console

                    Console().print(period_render.render_rich(report))
                else:
                    click.echo(period_render.RENDERERS[fmt or "text"](report), nl=False)
        finally:
            store.close()

    run()


#: (what, cron schedule, arguments): the first morning of each period reports the one before.
SCHEDULE = (
    ("sync every 15 minutes", "*/15 * * * *", "sync"),
    ("sync, then the morning digest", "{m} {h} * * *", "digest --mail-to {to}"),
    ("last week, on Monday", "{m} {h} * * 1", "report --period week --mail-to {to}"),
    ("last month, on the 1st", "{m} {h} 1 * *", "report --period month --mail-to {to}"),
    ("last quarter, on the 1st of Jan, Apr, Jul, Oct", "{m} {h} 1 1,4,7,10 *", "report --period quarter --mail-to {to}"),
    ("last year, on 1 January", "{m} {h} 1 1 *", "report --period year --mail-to {to}"),
)


@click.command(name="schedule")
@click.option("--mail-to", metavar="ADDR", help="Where the digest and reports go (default: your first "
              "[owner] address).")
@click.option("--at", "at", default="07:30", show_default=True, metavar="HH:MM", help="Local time to send them.")
@click.pass_obj
def schedule_command(obj, mail_to: str | None, at: str) -> None:
    """Print the crontab lines for the daily digest and the weekly, monthly, quarterly and
    yearly reports. Install them with `crontab -e` (nothing is changed for you)."""
    @one_line_errors
    def run() -> None:
        config = obj.config
        to = mail_to or (config.owner.addresses[0] if config.owner.addresses else "")
        if not to:
            raise UsageFailure("where should the reports go? pass --mail-to ADDR or set [owner] addresses")
        try:
            h, m = (int(x) for x in at.split(":"))
            if not (0 <= h < 24 and 0 <= m < 60):
                raise ValueError
        except ValueError:
            raise UsageFailure(f"--at {at!r}: use a time like 07:30") from None
        exe = shutil.which("owner-tui") or f"{sys.executable} -m owner_tui"
        base = shlex.quote(exe) if " " not in exe else exe
        if obj.config_path and config.path and config.path.exists():
            base += f" --config {shlex.quote(str(obj.config_path))}"
        base += f" --db {shlex.quote(str(obj.db_path))}"
        click.echo("# owner-tui: paste into `crontab -e`. CRON_TZ is honoured by cronie and systemd-cron;")
        click.echo("# with Debian's cron, set the times in the machine's own zone instead.")
        click.echo(f"CRON_TZ={config.aging.timezone}")
        for what, when, args in SCHEDULE:
            command = f"{base} {args.format(to=shlex.quote(to))}"
            if args.startswith("digest"):  # the digest should see this morning's mail
                command = f"{base} sync; {command}"
            line = f"{when.format(m=m, h=h)} {command}"
            click.echo(f"# {what}")
            click.echo(line)

    run()
