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
from owner_tui.tui import keys

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
        # Focus now, not after a refresh (Widget.focus defers): the next keys of a burst
        # ("/wedd") must reach the box, never the list, where d would close a conversation.
        self.set_focus(box)

    # Named handlers, not @on: a mixin's decorated handlers are not collected by Textual.
    def on_input_changed(self, event: Input.Changed) -> None:
        if self._search_saved is None or event.input.id != "search":
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(DEBOUNCE, partial(self._run_search, event.value))

    def on_key(self, event) -> None:
        """Keys of a burst that Textual routed before ``/`` moved the focus (``/wedd``): they
        reach the screen, not the box; type them into the box instead of running list keys.
        Likewise a burst after ``r`` goes to the reply editor that opened meanwhile."""
        if self.app.screen is not self:
            accept = getattr(self.app.screen, "accept_typed_ahead", None)
            if accept is not None and (event.is_printable or event.key == "enter"):
                accept("\n" if event.key == "enter" else event.character)
                event.stop()
                event.prevent_default()
            return
        box = self.query_one("#search", Input)
        in_box = self.focused is box  # not box.has_focus: that turns true only once Focus is handled
        if self._search_saved is None and not in_box:
            # The keys that move the focus elsewhere act at once, here, rather than when the
            # key reaches the app's bindings: the rest of the burst is already on its way.
            if event.key in keys.keys_for("search", self.app.keymap):
                self.action_search()
            elif event.key in keys.keys_for("reply", self.app.keymap) and self.aging_list.has_focus:
                self.action_reply()
            else:
                return
            event.stop()
            event.prevent_default()
            return
        if self._search_saved is None or not in_box or box.has_focus:
            return  # once the box has handled its Focus event, it takes its own keys
        if event.is_printable:
            box.insert_text_at_cursor(event.character)
        elif event.key == "backspace":
            box.action_delete_left()
        elif event.key == "enter":
            box.post_message(Input.Submitted(box, box.value))
        elif event.key == "escape":
            self.end_search()
        else:
            return
        event.stop()
        event.prevent_default()

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
