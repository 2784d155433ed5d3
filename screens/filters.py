"""The filter dialog: channel, age bucket, rating and text, applied to the current view.

Dismisses with a new ``ListFilter`` (the view and contact are kept) or ``None``.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from owner_tui import aging
from owner_tui.records import CHANNELS
from owner_tui.store.queries import ListFilter
from owner_tui.tui import keys

RATINGS = {"low": (1, 2, "1-2 stars (unhappy)"), "mid": (3, 3, "3 stars"), "high": (4, 5, "4-5 stars")}


def rating_key(f: ListFilter) -> str | None:
    for key, (lo, hi, _label) in RATINGS.items():
        if f.min_rating == lo and f.max_rating == hi:
            return key
    return None


class FilterDialog(ModalScreen[ListFilter | None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.FILTER_DIALOG]

    def __init__(self, current: ListFilter) -> None:
        super().__init__()
        self._current = current

    def compose(self) -> ComposeResult:
        f = self._current
        with Vertical(classes="dialog"):
            yield Static(Text("Filter the list"), classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("Channel")
                yield Select([(c, c) for c in CHANNELS], value=f.channel or Select.NULL, prompt="any",
                             id="channel")
            with Horizontal(classes="field"):
                yield Label("Waiting")
                yield Select([(label, key) for key, label, _ in aging.BUCKETS], value=f.bucket or Select.NULL,
                             prompt="any age", id="bucket")
            with Horizontal(classes="field"):
                yield Label("Rating")
                yield Select([(label, key) for key, (_lo, _hi, label) in RATINGS.items()],
                             value=rating_key(f) or Select.NULL, prompt="any", id="rating")
            with Horizontal(classes="field"):
                yield Label("Text")
                yield Input(value=f.search or "", placeholder="words in subjects, messages, names", id="text")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all", id="clear")
                yield Button("Cancel", id="cancel")

    def _value(self, select_id: str) -> str | None:
        value = self.query_one(f"#{select_id}", Select).value
        return None if value is Select.NULL else str(value)

    def action_apply(self) -> None:
        rating = self._value("rating")
        lo, hi = (RATINGS[rating][0], RATINGS[rating][1]) if rating else (None, None)
        text = self.query_one("#text", Input).value.strip() or None
        self.dismiss(self._current.with_(channel=self._value("channel"), bucket=self._value("bucket"),
                                         min_rating=lo, max_rating=hi, search=text))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#text")
    def _submitted(self) -> None:
        self.action_apply()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "clear":
            self.dismiss(ListFilter(view=self._current.view))
        else:
            self.dismiss(None)
