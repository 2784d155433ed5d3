"""The status line's details (key ``h``): per account the state, the last successful sync and
the last attempt, the error in plain words and what to do, each folder / review location;
live mail; the outbox and its failed replies.

It draws the app's latest ``health`` (read by the inbox's refresh on the reader thread), so it
opens at once and does no I/O. Server error texts are untrusted: shown through ``sanitize``
as ``Text``, never as markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from owner_tui.sanitize import one_line
from owner_tui.store.health import STYLE_WORDS, Health, ago
from owner_tui.tui import keys


def _when(iso: str | None, now: datetime, tz) -> str:
    if not iso:
        return "never"
    from owner_tui.aging import parse_iso

    return f"{parse_iso(iso).astimezone(tz).strftime('%a %d %b %H:%M')} ({ago(iso, now)})"


DEMO_WORDS = ("This is the demo: its sample data comes from no account and nothing syncs. With your own "
              "accounts this shows, for each, the last successful sync and attempt, any error in plain words "
              "with what to do, each folder, live mail, and replies waiting to be sent.")


def details(health: Health | None, now: datetime, tz, *, idle: dict[str, str], live: bool,
            syncing: bool, demo: bool = False) -> Group:
    if demo:
        return Group(Text(DEMO_WORDS))
    if health is None:
        return Group(Text("Reading account health…", style="dim"))
    parts: list = []
    if not health.accounts:
        parts.append(Text("No accounts are set up: ctrl+p, Add a mail account (or `owner-tui accounts add`)."))
    for a in health.accounts:
        state = "syncing" if syncing and a.state != "manual" else a.state
        head = Text.assemble((one_line(a.name, limit=60), "bold"), f" ({a.kind})  ",
                             (STYLE_WORDS[state][0], STYLE_WORDS[state][1]))
        parts.append(head)
        parts.append(Text(f"  last success  {_when(a.last_success, now, tz)}"))
        parts.append(Text(f"  last attempt  {_when(a.last_attempt, now, tz)}"))
        if a.state == "stale":
            parts.append(Text(f"  no successful sync for more than {a.stale_after_hours:g} h", style="yellow"))
        if a.warning:
            parts.append(Text(f"  warning  {one_line(a.warning, limit=400)}", style="bold yellow"))
        if a.error:
            temp = " (may pass by itself)" if a.temporary else ""
            parts.append(Text(f"  error{temp}  {one_line(a.error, limit=400)}", style="red"))
        if a.advice:
            parts.append(Text(f"  what to do  {a.advice}", style="bold"))
        for f in a.feeds:
            line = f"    {one_line(f.folder, limit=50)}: last success {_when(f.last_success, now, tz)}"
            parts.append(Text(line, style="dim"))
            if f.last_error:
                parts.append(Text(f"      error {one_line(f.last_error, limit=300)}", style="red"))
        if a.name in idle:
            parts.append(Text(f"  live mail  {one_line(idle[a.name], limit=300)}",
                              style="yellow" if "retrying in" in idle[a.name] else "dim"))
        parts.append(Text(""))
    if not live:
        parts.append(Text("Live mail (IDLE) is off in this session: g syncs.", style="dim"))
    o = health.outbox
    parts.append(Text.assemble(("Outbox  ", "bold"), o.describe()))
    for oid, err in o.failures:
        parts.append(Text(f"  reply #{oid} not sent: {one_line(err, limit=300)}", style="red"))
    return Group(*parts)


class HealthScreen(ModalScreen[None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.HELP_SCREEN]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="health", classes="dialog"):
            yield Static(Text("Accounts, live mail and the outbox", style="bold"), classes="dialog-title")
            yield Static(id="health-body")
            yield Static(Text("g syncs now (from the list) · esc closes", style="dim"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.show()
        self.query_one("#health", VerticalScroll).focus()

    def show(self) -> None:
        app = self.app
        self.query_one("#health-body", Static).update(details(
            app.health, app.clock(), app.tz, idle=dict(app.idle_status), live=app.live_mail_on,
            syncing=app.syncing, demo=app.demo))

    def action_cancel(self) -> None:
        self.dismiss(None)
