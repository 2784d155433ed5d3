"""Live search on the inbox, as lazygit's and k9s's ``/``: results follow the typing, across
every view (each row says its view), with per-view counts on the tabs and the matches
highlighted; esc puts the list back where it was (view, filters, selected conversation).

Typing never waits on the store: each change (re)starts a short timer, and only the last
term is searched, by the inbox's exclusive ``reload`` worker on the reader thread (a newer
term cancels the older query); the list pages the results as it pages any view.
"""

from __future__ import annotations

from functools import partial

from textual.widgets import Input

from owner_tui.store.queries import ListFilter

#: Wait for the typing to pause this long before searching.
DEBOUNCE = 0.15


class LiveSearchMixin:
    """Mixed into the inbox; expects ``filter``, ``reload``, ``aging_list``, ``set_filter``."""

    _search_saved: tuple[ListFilter, int | None] | None = None
    _search_timer = None

    @property
    def searching(self) -> bool:
        return self._search_saved is not None

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        if self._search_saved is None:
            self._search_saved = (self.filter, self.aging_list.selected_id)
        box.value = self.filter.search or ""
        box.display = True
        box.focus()

    # Named handlers, not @on: a mixin's decorated handlers are not collected by Textual.
    def on_input_changed(self, event: Input.Changed) -> None:
        if self._search_saved is None or event.input.id != "search":
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(DEBOUNCE, partial(self._run_search, event.value))

    def _run_search(self, value: str) -> None:
        if self._search_saved is None:
            return
        term = value.strip()
        self.filter = ListFilter(view="all", search=term) if term else self._search_saved[0]
        self.reload(reset_cursor=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "search":
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        if (self.filter.search or "") != event.value.strip():
            self._run_search(event.value)
        self._hide_search()

    def end_search(self) -> bool:
        """esc: the list as it was before ``/``; False when no search was open."""
        if self._search_saved is None:
            return False
        if self._search_timer is not None:
            self._search_timer.stop()
        saved, selected = self._search_saved
        self._search_saved = None
        self._hide_search()
        self.filter = saved
        self.restore_id = selected
        self.reload()
        return True
