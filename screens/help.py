"""Help: every key, from the same binding data the screens use (``owner_tui.tui.keys``), after
the owner's remapping, so help can never disagree with what the keys do."""

from __future__ import annotations

from typing import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from owner_tui.tui import keys

INTRO = ("The inbox lists who awaits a reply, oldest wait first. The badge colour is the age "
         "bucket: green under 1 h, light green 1-4 h, yellow 4-24 h, orange 1-3 days, red over "
         "3 days; ! means past your reply target. Ctrl+P opens the command palette (sync, export, "
         "filters, jump to a contact). Keys can be changed in config.toml under [keys] "
         "using the ids below.")


def help_rows(keymap: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
    """``(scope, keys, what it does, id)`` for every binding, keys as remapped."""
    rows: list[tuple[str, str, str, str]] = []
    for scope, bindings in keys.SCOPES:
        for b in bindings:
            row = (scope, keys.display_keys(b, keymap), f"{b.description}: {b.tooltip}", b.id or "")
            if rows and rows[-1][:3] == row[:3]:  # "1-9": one row for the set
                continue
            rows.append(row)
    return rows


def help_table(keymap: Mapping[str, str]) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold", expand=True)
    table.add_column("key", no_wrap=True, style="bold #80cbc4")
    table.add_column("does")
    table.add_column("id", style="dim", no_wrap=True)
    scope_now = None
    for scope, key_text, does, binding_id in help_rows(keymap):
        if scope != scope_now:
            if scope_now is not None:
                table.add_row("", "", "")
            table.add_row("", Text(scope, style="bold underline"), "")
            scope_now = scope
        table.add_row(Text(key_text), Text(does), Text(binding_id))
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.HELP_SCREEN]

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__()
        self._keymap = dict(keymap)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("owner-tui keys", style="bold"), classes="dialog-title")
            yield Static(Text(INTRO), classes="dialog-title")
            yield Static(help_table(self._keymap))
            yield Static(Text("esc, ? or q closes this help", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
