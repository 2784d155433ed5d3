"""Live mail while the TUI is open: one IMAP IDLE watcher per imap account (issue 4).

Each ``IdleWatcher.run`` blocks, so it runs in its own thread worker (group ``idle``) on its
own store connection. The watcher thread never touches a widget: it posts ``NewMail`` and
``IdleStatus`` messages (``post_message`` is thread-safe) and the app, on its own thread,
refreshes the list and notifies. On quit every watcher is told to stop; each leaves IDLE
within its poll interval, which also lets the interpreter's executor shut down at exit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from textual import work
from textual.message import Message

from owner_tui.sanitize import one_line
from owner_tui.store import Store


@dataclass
class NewMail(Message):
    account: str
    count: int


@dataclass
class IdleStatus(Message):
    account: str
    text: str


class LiveMail:
    """Mixed into ``OwnerApp``: ``start_live_mail()`` on mount, ``stop_live_mail()`` on quit."""

    def _live_init(self, *, enabled: bool = True) -> None:
        self._live_enabled = enabled
        self._watchers: list = []
        self._watchers_lock = threading.Lock()
        self._live_stopped = False
        #: The latest status line per account (``watching INBOX…``, ``…retrying in 8 s``).
        self.idle_status: dict[str, str] = {}

    def start_live_mail(self) -> None:
        if self.demo or not self._live_enabled:  # the demo store has no real accounts
            return
        for account in self.config.accounts:
            if account.kind == "imap":
                self._watch_inbox(account)

    def stop_live_mail(self) -> None:
        with self._watchers_lock:
            self._live_stopped = True
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher.stop(timeout=0)

    @work(thread=True, group="idle", exit_on_error=False)
    def _watch_inbox(self, account) -> None:
        from owner_tui.sources.imap.idle import IdleWatcher

        path, config, clock = self.store_path, self.config, self.clock
        watcher = IdleWatcher(account, lambda n: self.post_message(NewMail(account.name, n)),
                              open_store=lambda: Store.open(path, config=config, clock=clock),
                              on_status=lambda text: self.post_message(IdleStatus(account.name, str(text))))
        with self._watchers_lock:
            if self._live_stopped:  # the app quit while this thread was starting
                return
            self._watchers.append(watcher)
        watcher.run()

    def on_new_mail(self, message: NewMail) -> None:
        n = message.count
        self.notify(f"{n} new message{'s' if n != 1 else ''} in {one_line(message.account, limit=40)}",
                    markup=False)
        self.refresh_inbox()

    def on_idle_status(self, message: IdleStatus) -> None:
        before = self.idle_status.get(message.account, "")
        self.idle_status[message.account] = message.text
        self.update_health_bars()  # "live mail paused" stays on the status line, not only in a toast
        # Say so once when watching breaks (not at every retry), and once when it is back.
        if "retrying in" in message.text and "retrying in" not in before:
            self.notify(f"Live mail paused: {one_line(message.text, limit=200)}", severity="warning",
                        markup=False, timeout=10)
        elif "retrying in" in before and "watching" in message.text:
            self.notify(f"Live mail is back for {one_line(message.account, limit=40)}.", markup=False)
