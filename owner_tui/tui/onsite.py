"""On-site feedback in the open TUI: a watch that rings within a second of a low rating, and,
with ``[feedback] serve_in_tui = true``, the feedback page itself in the background.

The watch asks the reader thread every ``POLL_SECONDS`` for on-site messages newer than the
last one it saw (a primary-key range: microseconds), so it sees submissions from a
``feedback serve`` in another process as well as from the page this app runs. A rating at or
below ``[feedback] alert_rating`` rings the bell and shows the table and the text (cleaned by
``sanitize``, never read as markup); higher ratings refresh the list with a quiet notice.
"""

from __future__ import annotations

from textual import work

from owner_tui.sanitize import one_line
from owner_tui.sources.feedback.submission import last_message_id, onsite_since

POLL_SECONDS = 0.5
SHOWN = 3  # notices per poll before the rest are summed up in one line


def notice_text(row: dict) -> str:
    stars = "★" * (row["rating"] or 0) + "☆" * (5 - (row["rating"] or 0))
    where = f"table {one_line(row['table'], limit=20)}" if row.get("table") else "no table given"
    said = one_line(row.get("text") or "", limit=160) or "(no comment)"
    return f"On-site {stars} · {where} · {one_line(row.get('name') or '', limit=30)}: {said}"


class OnSiteWatch:
    """Mixed into ``OwnerApp``: ``start_onsite()`` on mount, ``stop_onsite()`` on quit."""

    def _onsite_init(self) -> None:
        self._onsite_last: int | None = None
        self._onsite_busy = False
        self.feedback_server = None

    def start_onsite(self) -> None:
        if self.demo:
            return

        async def baseline() -> None:  # at once, not on the first tick: nothing sent after start is missed
            if self._onsite_last is None:
                self._onsite_last = await self.reader(last_message_id)

        self.run_worker(baseline, group="store", exit_on_error=False)
        self.set_interval(POLL_SECONDS, self._onsite_poll, name="onsite-watch")
        if self.config.feedback.serve_in_tui:
            self._serve_feedback()

    def stop_onsite(self) -> None:
        if self.feedback_server is not None:
            self.feedback_server.stop()
            self.feedback_server = None

    async def _onsite_poll(self) -> None:
        if self._onsite_busy:
            return
        self._onsite_busy = True
        try:
            if self._onsite_last is None:
                return  # the baseline is still being read
            rows = await self.reader(onsite_since, self._onsite_last, 500)
        except Exception:  # a locked or closing store: try again on the next tick
            return
        finally:
            self._onsite_busy = False
        if not rows:
            return
        self._onsite_last = rows[-1]["id"]
        self.refresh_inbox()
        threshold = self.config.feedback.alert_rating
        low = [r for r in rows if r["rating"] is not None and r["rating"] <= threshold]
        if low:
            self.bell()
        # A burst (a busy lunch) shows a few, low ratings first, and one line for the rest.
        shown = low[:SHOWN] if low else rows[:SHOWN]
        for row in shown:
            self.notify(notice_text(row), title="On-site feedback", severity="error" if low else "information",
                        timeout=60 if low else 8, markup=False)
        rest = len(rows) - len(shown)
        if rest > 0:
            hidden_low = len(low) - len(shown) if low else 0
            self.notify(f"{rest} more on-site message{'s' if rest != 1 else ''} in the list"
                        + (f", {hidden_low} of them at or below {threshold}★" if hidden_low > 0 else "") + ".",
                        title="On-site feedback", timeout=10, markup=False)

    @work(thread=True, group="feedback", exit_on_error=False)
    def _serve_feedback(self) -> None:
        from owner_tui.sources.feedback.alerts import email_alert
        from owner_tui.sources.feedback.server import BackgroundServer

        srv = BackgroundServer(self.store_path, self.config, business=self.business_name, clock=self.clock,
                               alert=email_alert(self.config))
        srv.start()
        self.feedback_server = srv
        self.call_from_thread(self.notify, f"Feedback page at {srv.url}", markup=False)
