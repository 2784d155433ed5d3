"""The inbox: the aging list with its bucket counts, views, filters and search.

The list itself (``owner_tui.tui.widgets.aging_list``) draws only what is on screen; this
screen owns *what* it shows (a ``ListFilter``) and refreshes it: after every change the
owner makes, and every ``REFRESH_SECONDS`` (snoozes that ended wake up, ages move on).
Every read goes through the app's reader thread.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from owner_tui.screens.actions import ConversationActions
from owner_tui.screens.filters import RATINGS, rating_key
from owner_tui.screens.marks import MarksMixin
from owner_tui.screens.preview import MIN_WIDTH, PreviewPane
from owner_tui.screens.search import LiveSearchMixin
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static, Tab, Tabs

from owner_tui.sanitize import one_line
from owner_tui.store.queries import VIEWS, ListFilter
from owner_tui.tui import keys
from owner_tui.tui.widgets.aging_list import AgingList, ListHeader
from owner_tui.tui.widgets.bucket_bar import SHORT_LABELS, BucketBar
from owner_tui.tui.widgets.health_bar import HealthBar
from owner_tui.tui.widgets.key_footer import KeyFooter

REFRESH_SECONDS = 30

VIEW_LABELS = {"awaiting": "Awaiting", "followup": "No answer yet", "snoozed": "Snoozed", "done": "Done",
               "noise": "Noise", "all": "All"}
EMPTY_TEXT = {
    "awaiting": "Nobody is waiting for a reply. Nice work.",
    "followup": "Nobody owes you an answer right now.",
    "snoozed": "Nothing is snoozed.",
    "done": "Nothing closed yet.",
    "noise": "No noise caught yet.",
    "all": "No conversations yet: press g to sync, or run `owner-tui import`.",
}

#: For someone who has set nothing up: no accounts in config.toml and nothing in the store.
WELCOME_TEXT = "\n".join((
    "Welcome to owner-tui. No accounts are set up yet. To bring your messages in:",
    "",
    "  owner-tui accounts add imap      email over IMAP",
    "  owner-tui accounts add google    Google reviews",
    "  owner-tui import PATH            mail saved on disk (Maildir, mbox, .eml)",
    "",
    "Or try it on sample data first:  owner-tui demo",
    "Press ? for every key.",
))


def page_rows(store, f: ListFilter, offset: int, limit: int, now: datetime, total: int | None = None) -> list[dict]:
    """One window of the list, each row marked with its newest unfinished outbox reply, and,
    for noise (which has no "last message" of its own), when its newest message came.
    ``total`` (the list's row count) lets a page past the middle be read from the bottom."""
    rows = store.page(f, offset, limit, now, total=total)
    if rows:
        marks = ",".join("?" * len(rows))
        states = dict(store.db.execute(
            f"SELECT conversation_id, status FROM outbox WHERE conversation_id IN ({marks}) "
            "AND status IN ('queued', 'sending', 'failed') ORDER BY id", [r["id"] for r in rows]).fetchall())
        for row in rows:
            row["outbox_status"] = states.get(row["id"])
        quiet = [r["id"] for r in rows if not r["last_message_at"]]
        if quiet:
            seen = dict(store.db.execute(
                f"SELECT conversation_id, max(sent_at) FROM messages WHERE conversation_id IN "
                f"({','.join('?' * len(quiet))}) GROUP BY conversation_id", quiet).fetchall())
            for row in rows:
                row["seen_at"] = seen.get(row["id"])
    return rows


def untrusted_list_text(health, now: datetime, sync_key: str, health_key: str) -> str | None:
    """The empty state when the list may be wrong: which accounts fail, are stale or never
    synced, and what to do; None when every account is fine (then "Nice work" is true)."""
    problems = health.problems if health is not None else []
    if not problems:
        return None
    lines = ["This list may be incomplete: nothing new can show up from"]
    for a in problems:
        lines.append("")
        lines.append(f"• {one_line(a.name, limit=40)}: {one_line(a.describe(now), limit=300)}")
        lines.append(f"  What to do: {a.advice}")
    lines += ["", f"Press {sync_key} to sync now, {health_key} for the details."]
    return "\n".join(lines)


def store_is_empty(store) -> bool:
    return store.db.execute("SELECT 1 FROM conversations LIMIT 1").fetchone() is None


class ViewTabs(Tabs, can_focus=False):
    """The six views as clickable tabs; keys 1-6 switch them too."""


class InboxScreen(LiveSearchMixin, MarksMixin, ConversationActions, Screen[None]):
    CSS_PATH = "inbox.tcss"
    BINDINGS = keys.INBOX

    def __init__(self) -> None:
        super().__init__()
        self.filter = ListFilter()
        self.contact_label: str | None = None
        self.summary: dict = {}
        self._reset_next = True
        #: Select this conversation at the next refresh (esc after a search).
        self.restore_id: int | None = None
        #: The owner's choice (p); the pane also needs MIN_WIDTH columns.
        self.preview_on = True

    def compose(self) -> ComposeResult:
        yield BucketBar(id="buckets")
        yield ViewTabs(*(Tab(VIEW_LABELS[v], id=f"view-{v}") for v in VIEWS), id="views")
        yield Static(id="filterbar")
        yield Static(id="status")
        with Horizontal(id="main"):
            with Vertical(id="list-col"):
                yield ListHeader(id="list-header")
                yield AgingList(self._fetch, clock=self.app.clock, aging_cfg=self.app.config.aging, id="list")
            yield PreviewPane(id="preview-pane")
        yield Input(placeholder="Search every view as you type; enter keeps the results, esc goes back", id="search")
        yield HealthBar(id="health-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#filterbar", Static).display = False
        self.query_one("#status", Static).display = False
        self.query_one(AgingList).focus()
        self._layout_preview()
        self.reload(wake=True)
        self.set_interval(REFRESH_SECONDS, lambda: self.reload(wake=True))

    @property
    def aging_list(self) -> AgingList:
        return self.query_one(AgingList)

    # -- data ------------------------------------------------------------------------------

    async def _fetch(self, f: ListFilter, offset: int, limit: int, total: int) -> list[dict]:
        return await self.app.reader(page_rows, f, offset, limit, self.app.clock(), total)

    def reload(self, *, reset_cursor: bool = False, wake: bool = False) -> None:
        """Refresh counts and the visible rows; the selected conversation stays selected."""
        self._reset_next = self._reset_next or reset_cursor
        self.app.run_worker(partial(self._reload, wake), group="reload", exclusive=True, exit_on_error=False)

    async def _reload(self, wake: bool) -> None:
        # In the order the owner needs them: the rows and the bucket header first, then the
        # per-view counts on the tabs (the slowest, tens of ms on a large store).
        app = self.app
        now = app.clock()
        f = self.filter
        self._show_filters()
        # The header's counts come with the row count (about 10 ms on 100k conversations), so
        # rows and header land in the same frame.
        total, buckets, oldest, health = await app.reader(lambda s: (
            s.count(f, now), s.bucket_counts(now), s.oldest_wait(),
            None if app.demo else s.health(app.config, now=now, app_open=True)))
        app.set_health(health)
        reset, self._reset_next = self._reset_next, False
        lst = self.aging_list
        keep, self.restore_id = (self.restore_id if self.restore_id is not None else
                                 None if reset else lst.selected_id), None
        warning = untrusted_list_text(health, now, self._key("sync"), app.health_key)
        if self._has_filters():
            lst.empty_text = "Nothing matches these filters (esc clears)."
        elif total == 0 and not app.demo and not app.config.accounts and await app.reader(store_is_empty):
            lst.empty_text = WELCOME_TEXT
        elif warning is not None and f.view in ("awaiting", "all"):
            lst.empty_text = warning  # never "Nice work" when the list may be wrong
        else:
            lst.empty_text = EMPTY_TEXT[f.view]
        await lst.reload(f, total, keep_id=keep, reset_cursor=reset and keep is None)
        self.query_one(ListHeader).view = f.view
        self.query_one(BucketBar).show(buckets, oldest, now, active=f.bucket, demo=app.demo)
        # Counts for the search when one is on (they would be stale above the results otherwise).
        views = await app.reader(lambda s: {v: s.count(ListFilter(view=v, search=f.search), now) for v in VIEWS}
                                 if f.search else s.view_counts(now))
        self.summary = {"total": total, "buckets": buckets, "oldest": oldest, "views": views}
        tabs = self.query_one(ViewTabs)
        for view, n in views.items():
            tabs.query_one(f"#view-{view}", Tab).label = f"{VIEW_LABELS[view]} {n}"
        if wake:
            # After the list is on screen: a write must never delay the first frame.
            woke = await app.writer(lambda s: s.wake_snoozed())
            if woke:
                app.notify(f"{len(woke)} snoozed conversation{'s' if len(woke) > 1 else ''} came back.")
                await self._reload(False)

    def _key(self, binding_id: str) -> str:
        binding = next(b for b in keys.INBOX if b.id == binding_id)
        return keys.display_keys(binding, self.app.keymap).split(",")[0]

    def _show_filters(self) -> None:
        tabs = self.query_one(ViewTabs)
        if tabs.active != f"view-{self.filter.view}":
            tabs.active = f"view-{self.filter.view}"
        bar = self.query_one("#filterbar", Static)
        bar.display = self._has_filters() or bool(self.aging_list.marked)
        bar.update(self._filter_text())

    def show_status(self, text: str | None) -> None:
        """A one-line progress note above the list (sync), hidden when ``None``."""
        bar = self.query_one("#status", Static)
        bar.display = text is not None
        bar.update(Text(one_line(text or "", limit=200), style="italic"))

    def _has_filters(self) -> bool:
        f = self.filter
        return any(v is not None for v in (f.channel, f.bucket, f.min_rating, f.max_rating, f.search, f.contact_id,
                                           f.older_than_hours))

    def _filter_text(self) -> Text:
        f = self.filter
        text = Text("Filtered: " if self._has_filters() else "", style="bold")
        parts: list[Text] = []
        if n := len(self.aging_list.marked):
            parts.append(Text.assemble((f"{n} marked", "bold"), " (d s e n act on all)"))
        if f.contact_id is not None:
            parts.append(Text.assemble("contact ", (self.contact_label or f"#{f.contact_id}", "bold")))
        if f.channel:
            parts.append(Text.assemble("channel ", (f.channel, "bold")))
        if f.bucket:
            parts.append(Text.assemble("waiting ", (SHORT_LABELS[f.bucket], "bold")))
        if (key := rating_key(f)) or f.min_rating or f.max_rating:
            parts.append(Text(RATINGS[key][2] if key else f"rating {f.min_rating or 1}-{f.max_rating or 5}"))
        if f.search:
            parts.append(Text.assemble("text “", (one_line(f.search, limit=40), "bold"), "”"))
        text.append_text(Text(" · ").join(parts))
        text.append("   esc clears", style="dim")
        return text

    def set_filter(self, f: ListFilter, *, contact_label: str | None = None) -> None:
        if f.contact_id is None:
            contact_label = None
        self.filter = f
        self.contact_label = contact_label if contact_label is not None else self.contact_label
        self.reload(reset_cursor=True)

    # -- events ----------------------------------------------------------------------------

    def current_row(self) -> dict | None:
        return self.aging_list.selected_row

    def step_past(self, conversation_id: int) -> None:
        self.aging_list.step_past(conversation_id)

    def on_resize(self) -> None:
        self._layout_preview()

    def _layout_preview(self) -> None:
        pane = self.query_one(PreviewPane)
        show = self.preview_on and self.app.size.width >= MIN_WIDTH
        if pane.display != show:
            pane.display = show
            if show:
                pane.show(self.aging_list.selected_id)

    @on(AgingList.Highlighted)
    def _highlighted(self, event: AgingList.Highlighted) -> None:
        self.query_one(PreviewPane).show(event.conversation_id)

    def action_preview(self) -> None:
        self.preview_on = not self.preview_on
        self._layout_preview()
        if self.app.size.width < MIN_WIDTH:
            self.app.notify(f"The preview needs {MIN_WIDTH} columns; enter opens the conversation.")

    @on(AgingList.Activated)
    def _activated(self) -> None:
        self.action_open()

    @on(BucketBar.BucketClicked)
    def _bucket_clicked(self, event: BucketBar.BucketClicked) -> None:
        bucket = None if self.filter.bucket == event.bucket else event.bucket
        self.set_filter(self.filter.with_(view="awaiting", bucket=bucket))

    @on(Tabs.TabActivated, "#views")
    def _tab(self, event: Tabs.TabActivated) -> None:
        view = (event.tab.id or "view-awaiting").removeprefix("view-")
        if view != self.filter.view:
            self.action_view(view)

    def _hide_search(self) -> None:
        self.query_one("#search", Input).display = False
        self.aging_list.focus()

    # -- actions ---------------------------------------------------------------------------

    def action_open(self) -> None:
        from owner_tui.screens.conversation import ConversationScreen

        cid = self.aging_list.selected_id
        if cid is None:
            return
        self.app.push_screen(ConversationScreen(cid), lambda _: self.reload())

    def action_view(self, view: str) -> None:
        if view in VIEWS:
            self.set_filter(self.filter.with_(view=view))

    def action_clear_filters(self) -> None:
        if self.end_search():
            return
        if self.query_one("#search", Input).has_focus:
            self._hide_search()
        elif self.clear_marks():
            return
        elif self._has_filters():
            self.set_filter(ListFilter(view=self.filter.view if self.filter.contact_id is None else "awaiting"))

    def action_filter(self) -> None:
        from owner_tui.screens.filters import FilterDialog

        def chosen(f: ListFilter | None) -> None:
            if f is not None:
                self.set_filter(f)

        self.app.push_screen(FilterDialog(self.filter), chosen)

    def action_export(self) -> None:
        from owner_tui.screens.pickers import ExportDialog

        def chosen(fmt: str | None) -> None:
            if fmt:
                self.app.start_export(self.filter, fmt)

        self.app.push_screen(ExportDialog(VIEW_LABELS[self.filter.view], self.aging_list.total), chosen)

    def action_sync(self) -> None:
        self.app.start_sync()

    def action_triage(self) -> None:
        self.app.start_triage(self.filter)

