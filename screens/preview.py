"""The preview pane: the selected conversation beside the list (neomutt's pager under its
index), at 110 columns and more; ``p`` toggles it.

The cursor never waits for it: a move only (re)starts a short timer; when the cursor rests,
one exclusive worker reads the conversation on the reader thread (a newer move cancels
a stale read) and draws it. Bodies go through the conversation view's ``message_text``, so
they are sanitized ``Text`` with quoted history folded, never markup.
"""

from __future__ import annotations

from functools import partial

from owner_tui.screens.conversation import header_text, message_text
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

#: The pane shows when the screen is at least this wide (and the owner has not hidden it).
MIN_WIDTH = 110
#: Wait for the cursor to rest this long before reading: holding j must not queue reads.
DEBOUNCE = 0.08
#: The newest messages of the conversation shown (the whole history is one enter away).
MESSAGES = 6


def load_preview(store, conversation_id: int) -> dict | None:
    conv = store.conversation(conversation_id)
    if conv is None:
        return None
    msgs = store.messages(conversation_id)
    return {"conv": conv, "messages": msgs[-MESSAGES:], "hidden": max(0, len(msgs) - MESSAGES)}


class PreviewPane(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    PreviewPane { width: 45%; border-left: vkey $panel-lighten-2; padding: 0 1; }
    PreviewPane > .preview-msg { margin: 1 0 0 0; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation_id: int | None = None
        self._timer = None
        #: The conversation drawn now (tests wait on it).
        self.shown_id: int | None = None

    def compose(self):
        yield Static(id="preview-header")
        yield Static(id="preview-body", classes="preview-msg")

    def show(self, conversation_id: int | None) -> None:
        """Ask for ``conversation_id``; drawn once the cursor has rested ``DEBOUNCE``."""
        self.conversation_id = conversation_id
        if self._timer is not None:
            self._timer.stop()
        if not self.display:
            return
        self._timer = self.set_timer(DEBOUNCE, self._load_now)

    def _load_now(self) -> None:
        self.app.run_worker(partial(self._load, self.conversation_id), group="preview", exclusive=True,
                            exit_on_error=False)

    async def _load(self, conversation_id: int | None) -> None:
        header = self.query_one("#preview-header", Static)
        body = self.query_one("#preview-body", Static)
        if conversation_id is None:
            header.update(Text("Nothing selected.", style="dim italic"))
            body.update("")
            self.shown_id = None
            return
        data = await self.app.reader(load_preview, conversation_id)
        if conversation_id != self.conversation_id or data is None:
            return  # the cursor moved on while this was read
        now, tz = self.app.clock(), self.app.tz
        header.update(header_text(data["conv"], now, tz))
        text = Text()
        if data["hidden"]:
            text.append(f"{data['hidden']} earlier messages (enter shows all)\n\n", style="dim italic")
        width = max(20, self.size.width - 3)
        for i, m in enumerate(data["messages"]):
            if i:
                text.append("\n\n")
            text.append_text(message_text(m, data["conv"]["channel"], now, tz, width=width))
        body.update(text)
        self.shown_id = conversation_id
        self.scroll_end(animate=False)
