"""What the owner does to "the current conversation", shared by the inbox and the
conversation view: done, snooze, replied elsewhere, noise, reopen, reply, undo, open link.

Each action hands a small function to the app's writer thread (``OwnerApp.run_change``),
so a locked database never freezes the screen; the app refreshes the list afterwards and
``after_action`` lets triage move on to the next conversation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from owner_tui.sanitize import one_line
from owner_tui.when import describe

if TYPE_CHECKING:
    from owner_tui.tui.app import OwnerApp


def rule_reach(store, pattern: str, conversation_id: int | None = None) -> int:
    """How many conversations a noise rule would hide: those not yet noise with an inbound
    message from that sender (``a@b``) or domain (``@b``), the current one included."""
    like = ("%" + pattern) if pattern.startswith("@") else pattern
    op = "LIKE" if pattern.startswith("@") else "="
    ids = {r[0] for r in store.db.execute(
        f"SELECT DISTINCT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        f"WHERE m.direction = 'in' AND lower(m.sender_handle) {op} ? AND c.status != 'noise'", [like])}
    if conversation_id is not None:
        ids.add(conversation_id)
    return len(ids)


def who(row: dict) -> str:
    """A safe, short name for notifications."""
    return one_line(row.get("contact_name") or row.get("contact_handle") or "this conversation", limit=40)


def safe_url(url: Any) -> str | None:
    """Only plain http(s) links are opened; a review page never needs anything else."""
    if not isinstance(url, str):
        return None
    url = one_line(url, limit=2000)
    if url.lower().startswith(("https://", "http://")) and " " not in url:
        return url
    return None


class ConversationActions:
    """Mixed into a ``Screen`` that can say which conversation is current."""

    app: "OwnerApp"

    def current_row(self) -> dict | None:
        raise NotImplementedError

    def after_action(self, kind: str, conversation_id: int) -> None:
        """Called once a change is saved (triage moves on; the conversation view closes)."""

    def after_undo(self) -> None:
        """Called once an undo is saved (the conversation view shows the restored state)."""

    def _row(self) -> dict | None:
        row = self.current_row()
        if row is None:
            self.app.notify("No conversation selected.", severity="warning")
        return row

    def step_past(self, conversation_id: int) -> None:
        """Called at once, before the change is saved: the inbox moves its cursor on, so the
        next key of a burst (``d d d``) acts on the next conversation, not this one again."""

    def _change(self, kind: str, row: dict, fn, notice: str) -> None:
        cid = row["id"]
        self.step_past(cid)
        self.app.run_change(fn, notice=notice, then=lambda _result: self.after_action(kind, cid))

    def action_done(self) -> None:
        if row := self._row():
            cid = row["id"]
            self._change("done", row, lambda s: s.mark_done(cid), f"Done: {who(row)}  (u to undo)")

    def action_reopen(self) -> None:
        if row := self._row():
            if row.get("status") == "open":
                self.app.notify("This conversation is already open.")
                return
            cid = row["id"]
            self._change("reopen", row, lambda s: s.reopen(cid), f"Reopened: {who(row)}")

    def action_replied_elsewhere(self) -> None:
        if row := self._row():
            cid = row["id"]
            self._change("elsewhere", row, lambda s: s.mark_replied_elsewhere(cid),
                         f"Marked as replied elsewhere: {who(row)}  (u to undo)")

    def action_snooze(self) -> None:
        from owner_tui.screens.snooze import SnoozeDialog

        if not (row := self._row()):
            return
        cid = row["id"]

        def chosen(when) -> None:
            if when is None:
                return
            label = describe(when, self.app.clock(), self.app.tz)
            self._change("snoozed", row, lambda s: s.snooze(cid, when),
                         f"Snoozed {who(row)} until {label}  (u to undo)")

        self.app.push_screen(SnoozeDialog(who(row), self.app.clock(), self.app.tz), chosen)

    def action_noise(self) -> None:
        from owner_tui.screens.pickers import NoiseDialog

        if not (row := self._row()):
            return
        handle = one_line(row.get("sender_handle") or row.get("contact_handle") or "", limit=200).lower()
        if row.get("channel") != "email" or "@" not in handle:
            self.app.notify("Only email senders can be marked as noise; press d to close this one instead.",
                            severity="warning")
            return
        cid = row["id"]

        def apply(pattern: str, n: int) -> None:
            more = f", {n} conversations hidden" if n > 1 else ""
            self._change("noise", row, lambda s: s.add_rule(pattern, "noise", cid),
                         f"{pattern} is noise from now on{more}  (u to undo)")

        async def chosen_async(pattern: str) -> None:
            from owner_tui.screens.confirm import ConfirmDialog

            n = await self.app.reader(rule_reach, pattern, cid)
            if n <= 1:
                apply(pattern, n)
                return
            title = Text.assemble("Hide ", (f"{n} conversations", "bold"), " from ", (pattern, "bold"), "?")
            body = Text("They move to Noise (kept, viewable with 5) and stop awaiting a reply; "
                        "new mail from there will too. u undoes it.")
            self.app.push_screen(ConfirmDialog(title, body, yes=f"hide {n}"),
                                 lambda ok: apply(pattern, n) if ok else self.app.notify("Nothing changed."))

        def chosen(pattern: str | None) -> None:
            if pattern:
                self.app.run_worker(chosen_async(pattern), group="store", exit_on_error=False)

        self.app.push_screen(NoiseDialog(handle), chosen)

    def action_reply(self) -> None:
        from owner_tui.screens.reply import ReplyScreen

        if not (row := self._row()):
            return
        cid = row["id"]

        def closed(result: str | None) -> None:
            if result == "queued":
                self.after_action("replied", cid)

        self.app.push_screen(ReplyScreen(row), closed)

    def action_merge(self) -> None:
        from owner_tui.screens.merge import start_merge

        if row := self._row():
            start_merge(self, row)

    def action_undo(self) -> None:
        self.app.undo(then=lambda _event: self.after_undo())

    def action_open_link(self) -> None:
        if not (row := self._row()):
            return
        url = safe_url(row.get("url"))
        if url is None:
            self.app.notify("This conversation has no web page to open.")
            return
        from owner_tui.tui.jobs import gui_browser_available

        if gui_browser_available():
            self.app.open_url(url)
            self.app.notify(f"Opening {url}", markup=False)
        else:  # a console browser would take over this terminal
            self.app.notify(f"No graphical browser here; the page is {url}", markup=False, timeout=15)
