"""Marks and bulk actions on the inbox, as in lazygit and mutt: space marks the selected
conversation, ``*`` marks every one matching the view and filter, esc clears the marks;
with marks set, done, snooze, replied elsewhere and noise apply to all of them, after one
question that names how many, and ``u`` undoes the whole batch in one step
(``Store.bulk`` gives its events one batch id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from owner_tui.when import describe

if TYPE_CHECKING:
    from owner_tui.tui.widgets.aging_list import AgingList

#: What each bulk action says, in the question and in the notice.
WORDS = {"done": ("Close", "closed"), "replied_elsewhere": ("Mark as replied elsewhere", "marked replied elsewhere"),
         "noise": ("Move to Noise", "moved to Noise"), "snooze": ("Snooze", "snoozed")}


class MarksMixin:
    """Mixed into the inbox (before ``ConversationActions``, whose single-row actions it
    wraps when nothing is marked)."""

    aging_list: "AgingList"

    @property
    def marked(self) -> set[int]:
        return self.aging_list.marked

    def marks_changed(self) -> None:
        self.aging_list.refresh()
        self._show_filters()  # the bar above the list says how many are marked

    def action_mark(self) -> None:
        cid = self.aging_list.selected_id
        if cid is None:
            return
        if cid in self.marked:
            self.marked.discard(cid)
        else:
            self.marked.add(cid)
        self.aging_list.action_cursor_down()
        self.marks_changed()

    def action_mark_all(self) -> None:
        f, now = self.filter, self.app.clock()

        async def job() -> None:
            ids = await self.app.reader(lambda s: s.ids(f, now))
            if self.marked >= set(ids):
                self.marked.difference_update(ids)  # a second * clears them again
            else:
                self.marked.update(ids)
            self.marks_changed()

        self.app.run_worker(job, group="store", exit_on_error=False)

    def clear_marks(self) -> bool:
        if not self.marked:
            return False
        self.marked.clear()
        self.marks_changed()
        return True

    def _bulk(self, kind: str, until=None) -> None:
        from owner_tui.screens.confirm import ConfirmDialog

        ids = sorted(self.marked)
        n = len(ids)
        verb, done_words = WORDS[kind]
        label = f" until {describe(until, self.app.clock(), self.app.tz)}" if until is not None else ""

        def apply(ok: bool | None = True) -> None:
            if not ok:
                self.app.notify("Nothing changed; the marks stay.")
                return
            self.marked.clear()
            self.marks_changed()
            self.app.run_change(lambda s: s.bulk(kind, ids, until),
                                notice=f"{n} conversation{'s' if n != 1 else ''} {done_words}{label}  (u undoes all {n})")

        if n == 1:
            apply()
            return
        title = Text.assemble(f"{verb} ", (f"{n} marked conversations", "bold"), label, "?")
        self.app.push_screen(ConfirmDialog(title, Text("One step: u undoes all of them."), yes=f"{verb.lower()} {n}"),
                             apply)

    # -- the single-row actions, for all marked ones when there are marks -----------------------

    def action_done(self) -> None:
        self._bulk("done") if self.marked else super().action_done()

    def action_replied_elsewhere(self) -> None:
        self._bulk("replied_elsewhere") if self.marked else super().action_replied_elsewhere()

    def action_noise(self) -> None:
        self._bulk("noise") if self.marked else super().action_noise()

    def action_snooze(self) -> None:
        if not self.marked:
            super().action_snooze()
            return
        from owner_tui.screens.snooze import SnoozeDialog

        n = len(self.marked)
        self.app.push_screen(SnoozeDialog(f"{n} marked conversations", self.app.clock(), self.app.tz),
                             lambda when: self._bulk("snooze", when) if when is not None else None)
