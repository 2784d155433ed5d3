"""The aging list: a Line API widget that holds only the rows near the screen.

Why not ``DataTable``/``ListView``: they build a widget or a row object for every item and
slow down past a few thousand. This widget knows only the row count; ``render_line`` draws
from a small cache of pages (``PAGE`` rows each, at most ``MAX_PAGES``) and asks the store,
through an async ``fetch`` the screen provides, for a page it lacks. The fetch runs on the
reader thread (``owner_tui.tui.store_thread``), so the UI thread never touches SQLite: a row
whose page is still on its way is drawn as a dim placeholder for the millisecond it takes.
A key press redraws only what changed: a cursor move its two lines, a scroll every line but
from lines kept while their row, look and age text stay the same (``rows.steady_seconds``),
and the scrollbar only when its thumb moves.

The selection is a conversation id, not just a position: ``reload(keep_id=...)`` finds that
conversation again after a refresh (it moves when ages or statuses change).
"""

from __future__ import annotations

import textwrap
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache, partial
from math import ceil
from typing import Awaitable, Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget

from owner_tui.config import AgingConfig
from owner_tui.store.queries import ListFilter
from owner_tui.tui import keys
from owner_tui.tui.widgets.rows import header_segments, row_segments, steady_seconds

#: Rows per fetch. The store pages with OFFSET, whose cost grows with the distance from the
#: nearer end of the list (the fetch passes the row count, so a page past the middle is read
#: from the bottom), so fewer, larger pages scroll deep lists faster; 200 rows take a few ms.
PAGE = 200
MAX_PAGES = 6
#: Drawn lines kept for reuse (a scroll by one row redraws every visible row, 33 of them the
#: same rows one line up); emptied past this many.
MAX_STRIPS = 4 * PAGE
#: Fetch the neighbouring page once the screen comes this close to it, so paging through
#: the list finds the next rows already there (a second frame costs a 60 Hz frame slot).
PREFETCH_MARGIN = PAGE

#: ``fetch(filter, offset, limit, total)``: ``total`` is the row count the list was loaded with.
Fetch = Callable[[ListFilter, int, int, int], Awaitable[list[dict]]]


class AgingList(ScrollView, can_focus=True):
    BINDINGS = keys.LIST
    COMPONENT_CLASSES = {"aging-list--cursor", "aging-list--placeholder", "aging-list--empty"}
    DEFAULT_CSS = """
    AgingList {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    AgingList > .aging-list--cursor { background: $accent 45%; }
    AgingList:blur > .aging-list--cursor { background: $accent 25%; }
    AgingList > .aging-list--placeholder { color: $text-muted; }
    AgingList > .aging-list--empty { color: $text-muted; text-style: italic; }
    """

    #: No repaint of its own: ``watch_cursor`` redraws the two lines that changed (a repaint of
    #: the whole list on every move cost each press ~30 lines of drawing instead of 2).
    cursor: reactive[int] = reactive(0, init=False, repaint=False)

    @dataclass
    class Highlighted(Message):
        """The cursor moved onto a conversation (``None`` when the list is empty)."""

        aging_list: "AgingList"
        conversation_id: int | None

    @dataclass
    class Activated(Message):
        """Enter or a double click on a conversation."""

        aging_list: "AgingList"
        conversation_id: int

    def __init__(self, fetch: Fetch, *, clock: Callable, aging_cfg: AgingConfig, id: str | None = None) -> None:
        super().__init__(id=id)
        self._fetch = fetch
        self._clock = clock
        self._aging = aging_cfg
        self.filter = ListFilter()
        self.total = 0
        self.empty_text = "Nobody is waiting for a reply."
        self._pages: OrderedDict[int, list[dict]] = OrderedDict()
        self._pending: set[tuple[int, int]] = set()
        self._generation = 0
        #: Row index -> (row, how it was drawn, valid from, valid until (timestamps), Strip):
        #: the line ``row_segments`` made, reused while the row, the look and the clock allow
        #: (``steady_seconds``): a key press redraws no row that did not change.
        self._strips: dict[int, tuple] = {}
        self._line_width: int | None = None
        #: Conversation ids the owner marked (space, *): drawn with a ✓, acted on together.
        self.marked: set[int] = set()
        #: True once rows for the current filter have arrived (tests and the benchmark wait on it).
        self.loaded = False

    # -- data ------------------------------------------------------------------------------

    async def reload(self, f: ListFilter, total: int, *, keep_id: int | None = None,
                     reset_cursor: bool = False) -> None:
        """Show ``f`` with ``total`` rows; keep ``keep_id`` selected if it is still there.

        The rows around the cursor are fetched before anything changes on screen, so a
        refresh swaps old rows for new in one frame instead of flashing placeholders; the
        window spans two pages so a conversation that moved a little is found again.
        """
        self._generation += 1
        gen = self._generation
        cursor = 0 if reset_cursor else min(self.cursor, max(0, total - 1))
        page = cursor // PAGE
        if keep_id is None or reset_cursor:
            first_page, n_pages = page, 1
        else:
            first_page = max(0, page - 1 if cursor % PAGE < PAGE // 2 else page)
            n_pages = 2
        rows = await self._fetch(f, first_page * PAGE, n_pages * PAGE, total) if total else []
        if gen != self._generation:
            return  # a newer reload started while this one waited
        self.filter, self.total = f, total
        self._pages = OrderedDict(
            (first_page + i, rows[i * PAGE:(i + 1) * PAGE]) for i in range(n_pages) if rows[i * PAGE:(i + 1) * PAGE])
        self._pending.clear()
        self._strips.clear()
        if keep_id is not None:
            for i, row in enumerate(rows):
                if row["id"] == keep_id:
                    cursor = first_page * PAGE + i
                    break
        self.virtual_size = Size(self.scrollable_content_region.width, total)
        self.loaded = True
        old = self.cursor
        self.cursor = max(0, min(cursor, total - 1))
        if old == self.cursor:
            self._announce()
        self._scroll_to_cursor()
        self.refresh()

    def row_at(self, index: int) -> dict | None:
        page = self._pages.get(index // PAGE)
        if page is None or index % PAGE >= len(page):
            return None
        return page[index % PAGE]

    @property
    def cached_rows(self) -> int:
        """How many rows the widget holds right now (bounded by PAGE * MAX_PAGES)."""
        return sum(len(rows) for rows in self._pages.values())

    @property
    def selected_row(self) -> dict | None:
        return self.row_at(self.cursor) if self.total else None

    @property
    def selected_id(self) -> int | None:
        row = self.selected_row
        return row["id"] if row else None

    def _request(self, page: int) -> None:
        key = (self._generation, page)
        if page < 0 or page * PAGE >= self.total or page in self._pages or key in self._pending:
            return
        self._pending.add(key)
        self.app.run_worker(partial(self._load, page, self._generation, self.filter, self.total), group="page",
                            exit_on_error=False)

    async def _load(self, page: int, gen: int, f: ListFilter, total: int) -> None:
        try:
            rows = await self._fetch(f, page * PAGE, PAGE, total)
        finally:
            self._pending.discard((gen, page))
        if gen != self._generation:
            return
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        if page == self.cursor // PAGE:
            self._announce()
        # A neighbouring page fetched ahead is not on screen: repainting the list for it cost
        # a whole redraw, often inside the next key press's frame.
        top = round(self.scroll_offset.y)
        if page * PAGE < top + self.scrollable_content_region.height and top < (page + 1) * PAGE:
            self.refresh()

    # -- drawing ---------------------------------------------------------------------------

    def render_lines(self, crop):
        # The width once per repaint, not once a line (a Region built per line: 30 us each).
        self._line_width = self.scrollable_content_region.width
        try:
            return super().render_lines(crop)
        finally:
            self._line_width = None

    def render_line(self, y: int) -> Strip:
        width = self._line_width if self._line_width is not None else self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if index >= self.total:
            # Our own words; any account name or server error in them went through sanitize.
            lines = _wrapped(self.empty_text, width - 4)
            if self.total == 0 and 1 <= y <= len(lines) and self.loaded:
                style = self.get_component_rich_style("aging-list--empty")
                return Strip([Segment("   " + lines[y - 1], style)]).adjust_cell_length(width)
            return Strip.blank(width)
        page = index // PAGE
        rows = self._pages.get(page)
        offset = index % PAGE
        if offset >= PAGE - PREFETCH_MARGIN:
            self._request(page + 1)
        if offset < PREFETCH_MARGIN:
            self._request(page - 1)
        if rows is None or offset >= len(rows):
            self._request(page)
            style = self.get_component_rich_style("aging-list--placeholder")
            return Strip([Segment("   …", style)]).adjust_cell_length(width)
        self._pages.move_to_end(page)
        cursor: Style | None = None
        if index == self.cursor:
            cursor = self.get_component_rich_style("aging-list--cursor")
        row = rows[offset]
        marked = bool(self.marked) and row["id"] in self.marked
        look = (self.filter.view, width, cursor, marked, self.filter.search)
        now = self._clock()
        at = now.timestamp()
        kept = self._strips.get(index)
        if kept is not None and kept[0] is row and kept[1] == look and kept[2] <= at < kept[3]:
            return kept[4]
        strip = Strip(row_segments(self.filter.view, row, now, width, self._aging, cursor, marked=marked,
                                   highlight=self.filter.search), width)
        steady = steady_seconds(self.filter.view, row, now, self._aging)
        if steady > 0:
            if len(self._strips) >= MAX_STRIPS:
                self._strips.clear()
            self._strips[index] = (row, look, at, at + steady, strip)
        return strip

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """As ``ScrollView``'s, but the scrollbar is redrawn only when its thumb moves: on a
        long list a row's scroll moves it by far less than the eighth of a cell it is drawn
        in, and redrawing the bar took ~1 ms of every scrolling key press. Its ``position``
        is kept exact either way (a drag starts from it)."""
        if self.show_vertical_scrollbar:
            bar = self.vertical_scrollbar
            before = _thumb_eighths(bar)
            bar.set_reactive(ScrollBar.position, bar.validate_position(new_value))
            after = _thumb_eighths(bar)
            if after is None or after != before:
                bar.refresh()
        if round(old_value) != round(new_value):
            self.refresh(self.size.region)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.total)

    # -- cursor ----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self._scroll_to_cursor()
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self, self.selected_id))

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def _move(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def step_past(self, conversation_id: int) -> None:
        """Move off a conversation the owner just closed, before the store says so: down to
        the next one (up at the bottom), so a burst of keys walks the list as mutt's ``d``."""
        if self.selected_id != conversation_id or self.total < 2:
            return
        self.cursor = self.cursor + 1 if self.cursor + 1 < self.total else self.cursor - 1

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_page_up(self) -> None:
        self._move(-max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self._move(max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._move(-self.total)

    def action_last(self) -> None:
        self._move(self.total)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = round(self.scroll_offset.y) + offset.y
        if 0 <= index < self.total:
            if index == self.cursor and event.chain >= 2 and self.selected_id is not None:
                self.post_message(self.Activated(self, self.selected_id))
            self.cursor = index


class ListHeader(Widget):
    """One line over the list naming its columns, drawn with the list's own widths."""

    DEFAULT_CSS = "ListHeader { height: 1; }"
    view: reactive[str] = reactive("awaiting")

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        # The list's scrollbar takes one column: the header's columns line up with its rows.
        return Strip(header_segments(self.view, max(0, width - 1)), max(0, width - 1)).adjust_cell_length(width)


def _thumb_eighths(bar: ScrollBar) -> int | None:
    """Where ``ScrollBarRender.render_bar`` starts the thumb, in eighths of a cell (the bar's
    own arithmetic); None when it draws no thumb (then the bar is always redrawn)."""
    size = bar.size.height
    virtual = ceil(bar.window_virtual_size)
    window = ceil(bar.window_size) if bar.window_size < bar.window_virtual_size else 0
    if not (window and size and virtual and size != virtual and bar.renderer is ScrollBarRender):
        return None
    thumb = max(1, window / (virtual / size))
    return int((size - thumb) * (bar.position / (virtual - window)) * len(ScrollBarRender.VERTICAL_BARS))


@lru_cache(maxsize=16)
def _wrapped(text: str, width: int) -> list[str]:
    """The empty-state text folded to the list's width (a long error must not be cut off)."""
    out: list[str] = []
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if line.startswith("• "):
            indent = 2
        out += textwrap.wrap(line, max(20, width), subsequent_indent=" " * indent, break_on_hyphens=False) or [""]
    return out
