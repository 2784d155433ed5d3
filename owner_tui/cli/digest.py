"""``owner-tui digest``: the morning summary, printed or mailed."""

from __future__ import annotations

import sys

import click

from owner_tui import aging
from owner_tui.cli.common import Failure, UsageFailure, one_line_errors
from owner_tui.reports import digest_render
from owner_tui.reports.digest import (
    FORMATS,
    Digest,
    build_digest,
    parse_since,
    parse_span,
    set_state,
    state_key,
)
from owner_tui.reports.digest_mail import build_mail, send_mail, smtp_sender_for


@click.command(name="digest")
@click.option("--since", metavar="WHEN",
              help="Start of \"new since\": a span (24h, 3d) or a local date/time (2026-10-26, "
                   "\"2026-10-26 08:00\"). Default: the last digest to the same destination, else 24 h ago. "
                   "An explicit --since does not move the last-digest mark.")
@click.option("--period", default="7d", show_default=True, metavar="SPAN",
              help="Response times for messages that arrived in the last SPAN (e.g. 7d, 4w).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format (default: Rich in a terminal, plain text in a pipe).")
@click.option("--mail-to", metavar="ADDR", help="Mail the digest (text and HTML) to ADDR instead of printing it.")
@click.option("--account", metavar="NAME",
              help="The IMAP account whose SMTP settings send --mail-to (default: the only one with smtp_host).")
@click.pass_obj
def digest_command(obj, since: str | None, period: str, fmt: str | None, mail_to: str | None,
                   account: str | None) -> None:
    """The morning summary: what awaits a reply, what came in since the last digest, low
    ratings, follow-ups with no answer yet, and this week against last week.

    For cron: `owner-tui sync && owner-tui digest --mail-to me@example.com`.
    """
    @one_line_errors
    def run() -> None:
        try:
            span = parse_span(period)
        except ValueError as exc:
            raise UsageFailure(f"--period: {exc}") from None
        store = obj.store()
        try:
            now = store.now()
            try:
                start = parse_since(since, now, store) if since else None
            except ValueError as exc:
                raise UsageFailure(str(exc)) from None
            key = state_key(mail_to)
            d = build_digest(store, now=now, since=start, period=span, key=key)
            if mail_to:
                mail_it(obj.config, account, mail_to, lambda from_addr: build_mail(d, mail_to, from_addr), "digest")
            if fmt or not mail_to:
                _print(d, fmt)
            if start is None:
                set_state(store, key, aging.to_iso(now))
        finally:
            store.close()

    run()


def mail_it(config, account: str | None, mail_to: str, build, what: str) -> None:
    """Send ``build(from_addr)`` through the account's SMTP settings (the digest, a report),
    with the command's exit codes: a bad address is a usage error, a refused send a failure."""
    from owner_tui.send.sender import SendError

    sender, from_addr = smtp_sender_for(config, account)
    try:
        msg = build(from_addr)
    except ValueError as exc:
        raise UsageFailure(f"--mail-to: {exc}") from None
    try:
        send_mail(sender, msg)
    except SendError as exc:
        raise Failure(f"{what} not sent: {exc}") from None
    click.echo(f"{what} sent to {mail_to}", err=True)


def _print(d: Digest, fmt: str | None) -> None:
    if fmt is None and sys.stdout.isatty():
        from rich.console import Console

        Console().print(digest_render.render_rich(d))
        return
    click.echo(digest_render.RENDERERS[fmt or "text"](d), nl=False)
