"""The Textual app: wires the screens, the store threads, the workers and the key map.

Threads, and why (style.md: no I/O on the UI thread; one SQLite connection per thread):

* ``reader`` / ``writer`` (``owner_tui.tui.store_thread``): two long-lived connections, each on
  its own thread, that screens ``await``. Reads never wait for a writer (WAL); a write that
  waits on a cron sync's lock delays only that write, never a keystroke.
* Sync, send and export are ``@work(thread=True, exit_on_error=False)`` workers that open
  their own ``Store`` and report back with typed messages; they never touch a widget.
* Every worker is started on the app, so one ``Worker.StateChanged`` handler reports every
  failure, in plain words, by worker group.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import App
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerState, get_current_worker

from owner_tui.aging import utcnow
from owner_tui.config import Config
from owner_tui.paths import get_paths
from owner_tui.sanitize import one_line
from owner_tui.store import Store
from owner_tui.store.queries import ListFilter
from owner_tui.tui import jobs, keys
from owner_tui.tui.live_mail import LiveMail
from owner_tui.tui.onsite import OnSiteWatch
from owner_tui.tui.store_thread import StoreThread

FAILURES = {
    "sync": "Sync failed",
    "send": "Sending the reply failed; it stays in the outbox",
    "queue": "Could not queue the reply",
    "export": "Export failed",
    "store": "Could not save that change",
    "draft": "Could not save the draft",
    "reload": "Could not read the list",
    "page": "Could not read the list",
    "triage": "Triage stopped",
    "conversation": "Could not read the conversation",
    "reply": "Could not open the reply editor",
    "idle": "Live mail stopped (g still syncs)",
    "feedback": "The feedback page did not start",
    "theme": "Could not save the theme in config.toml",
}


#: How long a notice stays on the status line unless the caller says otherwise.
NOTICE_SECONDS = 5.0

#: While the app is open it syncs every account this often by itself, so "stale after 2 hours
#: with the app open" ([health] stale_after_hours_open) means several missed syncs.
AUTO_SYNC_SECONDS = 30 * 60
#: How often the TUI asks whether a sent text's delivery is due to be read (issue 19).
DELIVERY_POLL_SECONDS = 5.0


@dataclass
class SyncProgress(Message):
    text: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncProgress)


@dataclass
class SyncFinished(Message):
    ok: bool
    text: str


@dataclass
class ReplyDelivered(Message):
    outbox_id: int
    who: str
    status: str  # "sent", "failed", "queued" (no sender), "busy" (someone else is sending it)
    note: str = ""


@dataclass
class DeliveryUpdate(Message):
    """Texts whose delivery status moved: ``(who, status, words)``; ``pending``: how many are
    still followed (none: the timer stops)."""

    changes: list
    pending: int


@dataclass
class ExportFinished(Message):
    path: Path
    rows: int
    fmt: str


def _inbox_commands():
    from owner_tui.screens.commands import InboxCommands

    return InboxCommands


class OwnerApp(LiveMail, OnSiteWatch, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "owner-tui"
    BINDINGS = keys.APP
    COMMANDS = App.COMMANDS | {_inbox_commands}

    def __init__(self, store_path: Path, config: Config, *, demo: bool = False,
                 clock: Callable[[], datetime] | None = None, exports_dir: Path | None = None,
                 live_mail: bool = True) -> None:
        super().__init__()
        self.store_path = Path(store_path)
        self.config = config
        self.demo = demo
        self.clock = clock or utcnow
        try:
            self.tz = ZoneInfo(config.aging.timezone)
        except Exception:  # validated by config.py; a default Config still works
            self.tz = ZoneInfo("UTC")
        self.exports_dir = exports_dir or get_paths().export_dir
        self.drafts_dir = self.store_path.parent / "drafts"
        # {business} in replies: [owner] business, else the owner's name.
        self.business_name = config.owner.business or self._demo_business() or config.owner.name
        self.reader = StoreThread(self.store_path, config=config, clock=self.clock, name="reader")
        self.writer = StoreThread(self.store_path, config=config, clock=self.clock, name="writer")
        self.keymap, self.unknown_keys = keys.keymap_from_config(config.keys)
        self.inbox = None
        #: The latest notifications, newest last (tests read them; so could a status line).
        self.notices: deque[str] = deque(maxlen=50)
        #: Account health for the status line and the empty state (``Store.health``), read
        #: with every list refresh; ``syncing`` while a sync worker runs.
        self.health = None
        self.syncing = False
        self.health_key = keys.display_keys(keys.HEALTH, self.keymap).split(",")[0]
        self._live_init(enabled=live_mail)
        self._onsite_init()
        self._delivery_timer = None  # reads texts' delivery while any is followed
        #: Replies inside their undo window: outbox id -> (monotonic deadline, who).
        self.pending_sends: dict[int, tuple[float, str]] = {}
        #: The latest short notice and until when the status line shows it (monotonic).
        self.notice_line: tuple[str, float] | None = None
        self._send_ticker = None

    def _demo_business(self) -> str:
        if not self.demo:
            return ""
        from owner_tui.demo import BUSINESS

        return BUSINESS

    def get_default_screen(self):
        from owner_tui.screens.inbox import InboxScreen

        self.inbox = InboxScreen()
        return self.inbox

    def on_mount(self) -> None:
        if self.config.ui.theme and self.config.ui.theme in self.available_themes:
            self.theme = self.config.ui.theme
        self._theme_saved = self.theme
        self.set_keymap(self.keymap)
        self.start_live_mail()
        if not self.demo and self.config.accounts:
            self.set_interval(AUTO_SYNC_SECONDS, self._auto_sync)
        self.start_onsite()
        self.set_timer(0.5, self._freeze_startup_objects)
        if not self.is_headless:
            self._watch_terminal()
        if not self.demo and any(a.kind == "twilio" for a in self.config.accounts):
            self.follow_delivery()  # texts sent before a restart are still followed
        if self.unknown_keys:
            self.notify("Unknown ids in [keys] of config.toml: " + ", ".join(self.unknown_keys)
                        + ". Press ? for the list of ids.", severity="warning", timeout=10, markup=False)

    def _watch_terminal(self) -> None:
        """Quit when the terminal has gone away (a closed window or a dropped SSH session whose
        hang-up signal did not reach us, e.g. under ``make demo``, where make holds it): Textual's
        input thread would otherwise spin at 100% CPU on the dead terminal for ever (Textual PR
        #6690, open). A daemon thread waits in ``poll`` (no events asked: a hang-up and errors are
        always reported) and reads nothing, so the terminal stays Textual's."""
        import os
        import select
        import sys
        import threading

        try:
            fd = sys.__stdin__.fileno()
            poller = select.poll()
            poller.register(fd, 0)
        except (AttributeError, OSError, ValueError):
            return
        gone = select.POLLHUP | select.POLLERR | select.POLLNVAL

        def watch() -> None:
            while True:
                try:
                    events = poller.poll(1000)
                except OSError:
                    return
                if any(ev & gone for _fd, ev in events):
                    break
            # Textual's shutdown writes to the dead terminal and can hang there: if it has not
            # ended in 3 s, end as the hang-up signal would have (nothing is lost: every write
            # is a transaction, and a reply caught mid-send is verified on the next start).
            timer = threading.Timer(3.0, os._exit, [129])
            timer.daemon = True  # a clean exit is not held back by it
            timer.start()
            try:
                self.call_from_thread(self.exit, return_code=129)
            except Exception:  # the app is already ending
                pass

        threading.Thread(target=watch, name="owner-tui-terminal", daemon=True).start()

    def _freeze_startup_objects(self) -> None:
        """Keep the garbage collector off the objects every session keeps (Textual's widgets,
        styles, the modules' own): a full collection walked all ~60k of them and paused a key
        press for up to 49 ms, 19 times in 600 presses on a 100k list; frozen, its longest
        pause was 17 ms (issue 18: key p99 <= 33 ms). Startup's own garbage is collected first
        so it is not kept; objects frozen and later dropped stay allocated, a fixed amount."""
        import gc

        gc.collect()
        gc.freeze()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A short piece of news shows on the status line, where it hides no row of the list;
        warnings, errors and long notes (a link to copy) stay Textual toasts."""
        self.notices.append(str(message))
        text = one_line(str(message), limit=400)
        if severity == "information" and not title and len(text) + 4 <= max(40, self.size.width - 20):
            seconds = timeout or NOTICE_SECONDS
            self.notice_line = (text, time.monotonic() + seconds)
            self.set_timer(seconds + 0.05, self.update_health_bars)
            self.update_health_bars()
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def current_notice(self) -> str | None:
        if self.notice_line and self.notice_line[1] > time.monotonic():
            return self.notice_line[0]
        return None

    def watch_theme(self, theme: str) -> None:
        """A theme picked in the palette is written to ``[ui] theme`` of config.toml (in a
        thread: no file I/O on the UI thread), so the next start looks the same."""
        if getattr(self, "_theme_saved", None) in (None, theme) or self.demo or self.config.path is None:
            return
        self._theme_saved = theme
        self._save_theme(theme)

    @work(thread=True, group="theme", exit_on_error=False)
    def _save_theme(self, theme: str) -> None:
        from owner_tui.config import parse_config, with_ui_theme
        from owner_tui.paths import write_private_text

        path = self.config.path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        new = with_ui_theme(text, theme)
        parse_config(new, path)  # never write a file that would not load
        write_private_text(path, new)

    def on_unmount(self) -> None:
        self.stop_live_mail()
        self.stop_onsite()
        self.reader.close()
        self.writer.close()

    # -- changes (writer thread) ----------------------------------------------------------

    def run_change(self, fn: Callable[[Store], Any], *, notice: str = "",
                   then: Callable[[Any], None] | None = None) -> Worker:
        """Run ``fn(store)`` on the writer thread, then say so and refresh the list."""
        async def job() -> Any:
            result = await self.writer(fn)
            if notice:
                self.notify(notice, markup=False)
            self.refresh_inbox()
            if then is not None:
                then(result)
            return result

        return self.run_worker(job, group="store", exit_on_error=False)

    def refresh_inbox(self) -> None:
        if self.inbox is not None and self.inbox.is_mounted:
            self.inbox.reload()

    # -- account health ----------------------------------------------------------------------

    @property
    def live_mail_on(self) -> bool:
        return self._live_enabled and not self.demo and any(a.kind == "imap" for a in self.config.accounts)

    def update_health_bars(self) -> None:
        """Redraw every status line (the inbox's and any open screen's) from the app's state."""
        from owner_tui.tui.widgets.health_bar import HealthBar

        for screen in self.screen_stack:
            for bar in screen.query(HealthBar):
                bar.refresh()
        from owner_tui.screens.health import HealthScreen

        if isinstance(self.screen, HealthScreen):
            self.screen.show()

    def set_health(self, health) -> None:
        self.health = health
        self.update_health_bars()

    def action_health(self) -> None:
        """Each account's last sync, error and what to do; live mail; the outbox."""
        from owner_tui.screens.health import HealthScreen

        if not isinstance(self.screen, HealthScreen):
            self.push_screen(HealthScreen())
        self.refresh_inbox()  # fresh numbers for the details too

    def undo(self, then: Callable[[dict | None], None] | None = None) -> Worker:
        async def job() -> None:
            event = await self.writer(jobs.undo)
            if event is None:
                self.notify("Nothing to undo.")
                if then is not None:
                    then(None)
                return
            words = {"done": "done", "snooze": "snooze", "reopen": "reopen", "replied_elsewhere":
                     "replied elsewhere", "rule": "noise rule", "queue": "queued reply", "merge": "contact merge"}
            what = words.get(event["kind"], event["kind"])
            extra = ""
            if event["kind"] == "queue":
                extra = " (back in the draft)" if event.get("cancelled") else " (too late: it is sent or sending)"
            if event.get("cancelled"):
                self.pending_sends.pop(event.get("outbox_id"), None)
                self.update_health_bars()
            self.notify(f"Undone: {what}{extra}", markup=False)
            self.refresh_inbox()
            if then is not None:
                then(event)

        return self.run_worker(job, group="store", exit_on_error=False)

    # -- replies ---------------------------------------------------------------------------

    async def delivery_note(self, account_id: int | None, account_name: str, channel: str) -> str:
        """What the reply editor says about where a reply goes (empty: a real sender)."""
        if self.demo:
            return "Demo: replies go to the demo's local outbox only; nothing is sent."
        try:
            mode = "none" if account_id is None else await self.reader(
                jobs.delivery_mode, self.config, account_id, channel)
        except Exception:
            mode = "none"
        if mode == "sender":
            return ""
        if mode == "manual":
            return (f"{channel.capitalize()} has no reply API: on send the text is copied and the review page "
                    "opens for you to paste it; the wait is marked replied elsewhere.")
        return (f"No sender is set up for {one_line(account_name, limit=40) or 'this account'} yet: "
                "the reply will wait in the local outbox.")

    def reply_queued(self, outbox_id: int, row: dict) -> None:
        """A reply is in the outbox: it waits ``[send] undo_seconds`` (the status line counts
        down, ``u`` takes it back into the draft), then goes to its sender."""
        from owner_tui.screens.actions import who

        delay = self.config.send.undo_seconds
        if delay <= 0:
            self._release(outbox_id, who(row))
        else:
            self.pending_sends[outbox_id] = (time.monotonic() + delay, who(row))
            if self._send_ticker is None:
                self._send_ticker = self.set_interval(0.25, self._tick_sends)
            self.update_health_bars()
        self.refresh_inbox()

    def send_countdown(self) -> list[tuple[str, int]]:
        """``(who, seconds left)`` for every reply still inside its undo window."""
        now = time.monotonic()
        return [(name, max(0, math.ceil(deadline - now))) for deadline, name in self.pending_sends.values()]

    def _tick_sends(self) -> None:
        now = time.monotonic()
        for outbox_id, (deadline, name) in list(self.pending_sends.items()):
            if deadline <= now:
                del self.pending_sends[outbox_id]
                self._release(outbox_id, name)
        if not self.pending_sends and self._send_ticker is not None:
            self._send_ticker.stop()
            self._send_ticker = None
        self.update_health_bars()

    def _release(self, outbox_id: int, name: str) -> None:
        if self.demo:
            self._deliver_demo(outbox_id, name)
        else:
            self._deliver(outbox_id, name)

    @work(thread=True, group="send", exit_on_error=False)
    def _deliver_demo(self, outbox_id: int, name: str) -> None:
        # The demo simulates delivery: the reply becomes an outbound message exactly as a real
        # send would record it, so the wait closes; nothing leaves the machine.
        with Store.open(self.store_path, config=self.config, clock=self.clock) as store:
            result = jobs.deliver_demo(store, outbox_id)
        self.post_message(ReplyDelivered(outbox_id, name, result.status, result.note))

    @work(thread=True, group="send", exit_on_error=False)
    def _deliver(self, outbox_id: int, name: str) -> None:
        # Not exclusive: a send once started must finish and report (at most once); the
        # outbox claim (a compare-and-set) is what stops two senders sending one reply.
        with Store.open(self.store_path, config=self.config, clock=self.clock) as store:
            result = jobs.deliver(store, self.config, outbox_id)
        self.post_message(ReplyDelivered(outbox_id, name, result.status, result.note))

    # -- delivery of texts (issue 19) ----------------------------------------------------------

    def follow_delivery(self) -> None:
        """Read the delivery of sent texts every few seconds while any is followed (the store's
        backoff decides which are asked for; ``send/delivery``)."""
        if self._delivery_timer is None:
            self._delivery_timer = self.set_interval(DELIVERY_POLL_SECONDS, self._poll_delivery)
            self._poll_delivery()

    @work(thread=True, group="delivery", exclusive=True, exit_on_error=False)
    def _poll_delivery(self) -> None:
        with Store.open(self.store_path, config=self.config, clock=self.clock) as store:
            changes, pending = jobs.follow_deliveries(store, self.config)
        self.post_message(DeliveryUpdate(changes, pending))

    def on_delivery_update(self, message: DeliveryUpdate) -> None:
        from owner_tui.store.delivery import NOT_DELIVERED, label

        for who, status, words in message.changes:
            name = one_line(who, limit=60) or "the customer"
            if status in NOT_DELIVERED:
                self.notify(f"Text to {name}: {one_line(label(status, f'{status}: {words}' if words else None), limit=200)}."
                            " The text is kept: r edits it and sends it again.", severity="error", markup=False,
                            timeout=12)
            elif status in ("delivered", "read"):
                self.notify(f"Text to {name}: {status}.", markup=False)
        if message.pending == 0 and self._delivery_timer is not None:
            self._delivery_timer.stop()
            self._delivery_timer = None
        if message.changes:
            self.refresh_inbox()
            self.update_health_bars()

    def on_reply_delivered(self, message: ReplyDelivered) -> None:
        if message.status == "sent" and not self.demo and any(a.kind == "twilio" for a in self.config.accounts):
            self.follow_delivery()
        if message.status == "sent":
            self.notify(f"Reply to {message.who}: " + (one_line(message.note, limit=300) if message.note else "sent."),
                        markup=False, timeout=10)
        elif message.status == "failed":
            self.notify(f"Reply to {message.who} not sent: {one_line(message.note, limit=200)}. "
                        "The text is kept in the outbox.", severity="error", markup=False, timeout=12)
        elif message.status == "queued":
            self.notify(f"Reply to {message.who} queued in the local outbox: no sender is set up for "
                        "this account yet, so it was not sent.", severity="warning", markup=False, timeout=8)
        self.refresh_inbox()

    # -- sync --------------------------------------------------------------------------------

    def start_sync(self) -> None:
        if self.demo:
            self.notify("This is the demo store: there are no real accounts to sync.")
            return
        if not self.config.accounts:
            self.notify("No accounts are set up yet: `owner-tui accounts add` adds one.", markup=False)
            return
        if self.syncing:
            return
        if self.inbox is not None and self.inbox.is_mounted:
            self.inbox.show_status("Syncing…")
        self.syncing = True
        self.update_health_bars()
        self._sync()

    def _auto_sync(self) -> None:
        if not self.syncing:
            self.start_sync()

    @work(thread=True, group="sync", exclusive=True, exit_on_error=False)
    def _sync(self) -> None:
        worker = get_current_worker()
        runner = jobs.find_sync()
        if runner is None:
            self.post_message(SyncFinished(False, "Sync is not available in this build yet."))
            return
        with Store.open(self.store_path, config=self.config, clock=self.clock) as store:
            summary = runner(store, self.config, report=lambda text: self.post_message(SyncProgress(str(text))),
                             cancelled=lambda: worker.is_cancelled)
        self.post_message(SyncFinished(True, str(summary) if summary else "Sync finished."))

    def on_sync_progress(self, message: SyncProgress) -> None:
        if self.inbox is not None and self.inbox.is_mounted:
            self.inbox.show_status(f"Syncing: {message.text}")

    def on_sync_finished(self, message: SyncFinished) -> None:
        self.syncing = False
        self.update_health_bars()
        if self.inbox is not None and self.inbox.is_mounted:
            self.inbox.show_status(None)
        self.notify(one_line(message.text, limit=300), severity="information" if message.ok else "warning",
                    markup=False)
        self.refresh_inbox()

    # -- export ------------------------------------------------------------------------------

    def start_export(self, f: ListFilter, fmt: str) -> None:
        self._export(f, fmt)

    def start_export_current(self, fmt: str) -> None:
        if self.inbox is not None:
            self._export(self.inbox.filter, fmt)

    @work(thread=True, group="export", exclusive=True, exit_on_error=False)
    def _export(self, f: ListFilter, fmt: str) -> None:
        with Store.open(self.store_path, config=self.config, clock=self.clock) as store:
            path, rows = jobs.export_view(store, f, fmt, self.exports_dir, self.clock())
        self.post_message(ExportFinished(path, rows, fmt))

    def on_export_finished(self, message: ExportFinished) -> None:
        self.notify(f"Exported {message.rows} conversation{'s' if message.rows != 1 else ''} "
                    f"({message.fmt}) to {message.path}", markup=False, timeout=12)

    # -- triage, contacts, help, quit -----------------------------------------------------

    def start_triage(self, f: ListFilter) -> None:
        self.run_worker(partial(self._triage, f), group="triage", exclusive=True, exit_on_error=False)

    async def _triage(self, f: ListFilter) -> None:
        from owner_tui.screens.conversation import ConversationScreen
        from owner_tui.screens.triage import TriageSession

        session = TriageSession(self, f)
        cid = await session.first()
        if cid is None:
            self.notify("Nobody is waiting for a reply: nothing to triage.")
            return
        self.push_screen(ConversationScreen(cid, triage=session))

    def jump_to_contact(self, contact_id: int, label: str) -> None:
        async def job() -> None:
            await self.save_open_drafts()
            while len(self.screen_stack) > 1 and self.screen is not self.inbox:
                self.pop_screen()
            if self.inbox is not None:
                self.inbox.set_filter(ListFilter(view="all", contact_id=contact_id), contact_label=label)

        self.run_worker(job, group="store", exit_on_error=False)

    def action_dashboard(self) -> None:
        """The morning summary; it reads on its own connection in its own worker thread."""
        from owner_tui.screens.dashboard import DashboardScreen

        if isinstance(self.screen, DashboardScreen):
            return
        path, config, clock = self.store_path, self.config, self.clock
        self.push_screen(DashboardScreen(lambda: Store.open(path, config=config, clock=clock)))

    def action_add_account(self) -> None:
        """The add-account form (same checks and config writing as `owner-tui accounts add imap`)."""
        from owner_tui.config import load_config
        from owner_tui.screens.account_add import AccountAddScreen

        path = self.config.path
        if self.demo or path is None:
            self.notify("The demo has no config file to add an account to: outside the demo, use this "
                        "command or `owner-tui accounts add imap`.", markup=False, timeout=10)
            return

        def added(name: str | None) -> None:
            if not name:
                return
            try:
                self.config = load_config(path)
            except Exception as exc:  # written by the form after validation; say it rather than crash
                self.notify(f"Account {name} saved, but config.toml did not load: {exc}", markup=False,
                            severity="error")
                return
            self.notify(f"Account {name} added. Sync now (ctrl+p, Sync now) to fetch its mail.", markup=False)

        self.push_screen(AccountAddScreen(path), added)

    def action_help(self) -> None:
        from owner_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keymap))

    async def save_open_drafts(self) -> None:
        from owner_tui.screens.reply import ReplyScreen

        for screen in list(self.screen_stack):
            if isinstance(screen, ReplyScreen):
                await screen.save_draft()

    async def action_quit(self) -> None:
        await self.save_open_drafts()
        self.stop_live_mail()
        self.exit()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED) and event.worker.group == "sync":
            self.syncing = False
            self.update_health_bars()
            self.refresh_inbox()
        if event.state is WorkerState.ERROR:
            what = FAILURES.get(event.worker.group, "Something went wrong")
            self.notify(f"{what}: {jobs.plain_error(event.worker.error)}", severity="error", timeout=12, markup=False)


def run(store_path: Path, config: Config, *, demo: bool = False,
        clock: Callable[[], datetime] | None = None) -> None:
    """Open the TUI on the store at ``store_path`` (the CLI's ``tui`` and ``demo`` commands).

    The store is opened once first, before the terminal is taken over: a database that is
    not ours or is locked fails here as a one-line ``StoreError`` for the CLI to print, and
    a pending migration runs once, not in the reader and writer threads at the same time.
    """
    Store.open(store_path, config=config, clock=clock or utcnow).close()
    OwnerApp(store_path, config, demo=demo, clock=clock).run()
