"""The inbox header line: how many await a reply in each age bucket, and the oldest wait.

Each bucket chip is clickable: it filters the list to that bucket (clicking the active one
clears it), so the header doubles as a mouse filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from owner_tui import aging
from owner_tui.tui.widgets.rows import BUCKET_STYLES

SHORT_LABELS = {"lt1h": "<1h", "1-4h": "1-4h", "4-24h": "4-24h", "1-3d": "1-3d", "gt3d": ">3d"}


class BucketBar(Static):
    DEFAULT_CSS = """
    BucketBar { height: 1; width: 1fr; background: $panel; }
    """

    @dataclass
    class BucketClicked(Message):
        bucket: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._spans: list[tuple[int, int, str]] = []

    def show(self, counts: dict[str, int], oldest: str | None, now: datetime, *, active: str | None = None,
             demo: bool = False) -> None:
        total = sum(counts.values())
        text = Text()
        if demo:
            text.append(" DEMO ", style="bold #000000 on #ce93d8")
            text.append(" ")
        text.append(f" {total} awaiting ", style="bold")
        self._spans = []
        for key in aging.BUCKET_KEYS:
            start = text.cell_len
            chip = f" {SHORT_LABELS[key]} {counts.get(key, 0)} "
            style = BUCKET_STYLES[key]
            if active == key:
                style = style + Style(underline=True, reverse=True)
            text.append(chip, style=style if counts.get(key) else style + Style(dim=True))
            self._spans.append((start, text.cell_len, key))
            text.append(" ")
        if oldest:
            text.append(f" oldest {aging.format_age(aging.age_seconds(oldest, now))}", style="bold")
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, end, key in self._spans:
            if start <= offset.x < end:
                self.post_message(self.BucketClicked(key))
                return
