"""Ask once before an action that reaches further than one conversation, or the public.

``ConfirmDialog(title, body, yes)`` dismisses with True only on the confirm key (``y`` or
enter); esc and ``n`` say no. Title and body are ``rich.text.Text`` built by the caller from
sanitized strings: a review's text or a domain is never parsed as markup here.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from owner_tui.tui import keys


class ConfirmDialog(ModalScreen[bool]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.CONFIRM_DIALOG]

    def __init__(self, title: Text, body: Text | None = None, yes: str = "yes") -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static(self._title, classes="dialog-title")
            if self._body is not None:
                with VerticalScroll(classes="confirm-body"):
                    yield Static(self._body)
            yield Static(Text.assemble(("y", "bold"), f" {self._yes} · ", ("esc", "bold"), " or ",
                                       ("n", "bold"), " cancel", style="dim"), classes="dialog-hint")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
