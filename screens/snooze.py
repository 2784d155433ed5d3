"""The snooze dialog: four presets (keys 1-4) or a typed time, read in the owner's time zone.

Dismisses with the UTC instant chosen, or ``None`` when cancelled. The typed time is
previewed as the owner types ("→ Fri 4 Dec 09:00"), so a typo is seen before it counts.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from owner_tui.tui import keys
from owner_tui.when import HELP, WhenError, describe, parse_when, presets


class SnoozeDialog(ModalScreen[datetime | None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.SNOOZE_DIALOG]

    def __init__(self, who: str, now: datetime, tz: tzinfo) -> None:
        super().__init__()
        self._who = who
        self._now = now
        self._tz = tz
        self._presets = presets(now, tz)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text.assemble("Snooze ", (self._who, "bold"), " until…"), classes="dialog-title")
            yield OptionList(*(
                Option(Text.assemble((f"{i}  ", "bold"), f"{label:<18}", (describe(when, self._now, self._tz), "dim")),
                       id=pid)
                for i, (pid, label, when) in enumerate(self._presets, 1)), id="presets")
            yield Input(placeholder="or type a time: 2h, 3d, fri 9:00, 2026-12-01 10:00", id="when")
            yield Label(Text(HELP, style="dim"), id="preview")
            yield Static(Text("1-4 pick · t type a time · enter confirm · esc cancel", style="dim"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#presets", OptionList).focus()

    def action_preset(self, index: int) -> None:
        if self.focused is self.query_one("#when", Input):
            return
        self.dismiss(self._presets[index][2])

    def action_type_time(self) -> None:
        self.query_one("#when", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#presets")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._presets[event.option_index][2])

    def _parse(self, text: str) -> datetime:
        return parse_when(text, self._now, self._tz)

    @on(Input.Changed, "#when")
    def _preview(self, event: Input.Changed) -> None:
        label = self.query_one("#preview", Label)
        if not event.value.strip():
            label.update(Text(HELP, style="dim"))
            return
        try:
            when = self._parse(event.value)
        except WhenError as exc:
            label.update(Text(str(exc), style="red"))
        else:
            label.update(Text(f"→ {describe(when, self._now, self._tz)}", style="green"))

    @on(Input.Submitted, "#when")
    def _typed(self, event: Input.Submitted) -> None:
        try:
            when = self._parse(event.value)
        except WhenError as exc:
            self.query_one("#preview", Label).update(Text(str(exc), style="red"))
            return
        self.dismiss(when)
