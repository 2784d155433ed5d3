"""The TUI's background jobs, as plain functions of a ``Store``: deliver a reply, export a
view, undo. The app runs them in thread workers (each with its own connection) and turns
their results into messages; keeping them free of Textual lets tests call them directly and
keeps the app module about wiring.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from owner_tui.config import Config
from owner_tui.paths import ensure_private_dir
from owner_tui.sanitize import one_line
from owner_tui.store import Store
from owner_tui.store.queries import ListFilter

#: Review platforms without a reply API: the reply is copied and the page opened instead.
MANUAL_CHANNELS = frozenset({"yelp", "facebook"})


def find_sender(store: Store, account_id: int, config: Config):
    """The reply path for an account (``owner_tui.send.sender_for``), or None when none is
    set up. Cheap: nothing touches the network until ``send``."""
    try:
        from owner_tui.send import sender_for
    except ImportError:  # a build without the send package
        return None
    return sender_for(store, account_id, config)


def find_sync() -> Callable[..., Any] | None:
    """``owner_tui.sync.sync_accounts(store, config, *, report, cancelled) -> str``."""
    try:
        from owner_tui.sync import sync_accounts
    except ImportError:
        return None
    return sync_accounts


def gui_browser_available(env: dict[str, str] | None = None) -> bool:
    """Whether opening a URL shows a graphical browser. Without one, Python's webbrowser
    falls back to a console browser (lynx, w3m) that would take over the TUI's terminal."""
    env = os.environ if env is None else env
    return sys.platform in ("darwin", "win32") or bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


@dataclass(frozen=True)
class Delivery:
    """What happened to a queued reply: ``sent``, ``failed``, ``queued`` (no sender here),
    or ``busy`` (another process is sending it)."""

    status: str
    note: str = ""


def delivery_mode(store: Store, config: Config, account_id: int, channel: str) -> str:
    """``sender``, ``manual`` (copy and open the page) or ``none``."""
    if find_sender(store, account_id, config) is not None:
        return "sender"
    return "manual" if channel in MANUAL_CHANNELS else "none"


def deliver(store: Store, config: Config, outbox_id: int) -> Delivery:
    """Send one queued reply now, at most once (the outbox's compare-and-set claim)."""
    row = store.db.execute("SELECT o.account_id, c.channel FROM outbox o JOIN conversations c "
                           "ON c.id = o.conversation_id WHERE o.id = ?", [outbox_id]).fetchone()
    if row is None:
        return Delivery("failed", "the reply is no longer in the outbox")
    mode = delivery_mode(store, config, row[0], row[1])
    if mode == "none":
        return Delivery("queued")
    if mode == "manual":
        from owner_tui.send.manual import ManualSender, open_in_browser

        if not store.outbox_claim(outbox_id, from_status=("queued",)):
            return Delivery("busy")
        sender = ManualSender(open_url=lambda url: gui_browser_available() and open_in_browser(url),
                              now=store.now)
        result = sender.send(store.outgoing(outbox_id))  # copying and opening cannot half-send
        store.outbox_finish(outbox_id, result)
        return Delivery("sent", result.note)
    from owner_tui.send.outbox_worker import process

    report = process(store, config, only=[outbox_id])
    if outbox_id in report.sent or outbox_id in report.recovered_sent:
        return Delivery("sent")
    for oid, message in report.failed:
        if oid == outbox_id:
            return Delivery("failed", message)
    for oid, message in report.skipped:
        if oid == outbox_id:
            return Delivery("queued", message)
    return Delivery("busy")


def deliver_demo(store: Store, outbox_id: int) -> Delivery:
    """The demo's sender: records the reply as sent (an outbound message, the wait closed)
    without anything leaving the machine."""
    from owner_tui.records import SendResult

    if not store.outbox_claim(outbox_id, from_status=("queued",)):
        return Delivery("busy")
    message_id = store.db.execute("SELECT message_id FROM outbox WHERE id = ?", [outbox_id]).fetchone()[0]
    store.outbox_finish(outbox_id, SendResult(external_id=message_id, sent_at=store.now_iso(),
                                              note="delivered in the demo (nothing left this machine)"))
    return Delivery("sent", "delivered in the demo (nothing left this machine).")


def queue_reply(store: Store, conversation_id: int, body: str, *, replaces: int | None = None,
                meta: dict | None = None) -> int:
    """Queue a reply; ``replaces`` names a failed outbox row it rewrites, cancelled in the same
    breath so the old text can never go out as well. ``meta``: what the sender is told (the
    owner chose WhatsApp's approved template)."""
    with store.write():
        if replaces is not None:
            store.outbox_cancel(replaces)
        return store.queue_reply(conversation_id, body, meta=meta)


def follow_deliveries(store: Store, config: Config) -> tuple[list[tuple[str, str, str]], int]:
    """Read the due delivery statuses of sent texts: ``[(who, status, words)]`` for those that
    moved, and how many are still followed."""
    from owner_tui.send.outbox_worker import follow_delivery
    from owner_tui.store.delivery import pending_count

    out = []
    for oid, status, words in follow_delivery(store, config).changed:
        row = store.db.execute("SELECT COALESCE(ct.name, ''), c.external_key FROM outbox o JOIN conversations c ON "
                               "c.id = o.conversation_id LEFT JOIN contacts ct ON ct.id = c.contact_id WHERE o.id = ?",
                               [oid]).fetchone()
        out.append(((row[0] or row[1]) if row else "", status, words))
    return out, pending_count(store)


def export_view(store: Store, f: ListFilter, fmt: str, folder: Path, now: datetime) -> tuple[Path, int]:
    """Write the view to a new private file in ``folder``; returns the path and row count."""
    from owner_tui.reports.export import EXTENSIONS, export_to_file

    folder = ensure_private_dir(folder)
    path = folder / f"owner-tui-{f.view}-{now:%Y%m%d-%H%M%S}.{EXTENSIONS[fmt]}"
    return path, export_to_file(store, f, fmt, path, now=now)


def undo(store: Store) -> dict | None:
    """Undo the latest change; a queued reply that has not gone out is cancelled and its
    text put back in the draft, so undo never loses what was typed."""
    event = store.undo()
    if event and event["kind"] == "queue":
        after = json.loads(store.db.execute("SELECT after FROM events WHERE id = ?", [event["id"]]).fetchone()[0])
        outbox_id = after.get("outbox_id")
        event["outbox_id"] = outbox_id
        event["cancelled"] = bool(outbox_id) and store.outbox_cancel(outbox_id)
        if event["cancelled"]:
            body = store.db.execute("SELECT body FROM outbox WHERE id = ?", [outbox_id]).fetchone()[0]
            store.save_draft(event["conversation_id"], body)
    return event


def plain_error(exc: BaseException | None) -> str:
    text = one_line(str(exc) if exc else "", limit=300)
    return text or type(exc).__name__


def delete_reply(store_path: Path, config, clock, conversation_id: int) -> tuple[bool, str]:
    """Delete the published review reply (a thread worker: network, then its own store
    connection). Returns (done, a line for the owner); never raises for a platform answer."""
    from owner_tui.send.reply_actions import delete_published_reply
    from owner_tui.send.sender import SendError

    with Store.open(store_path, config=config, clock=clock) as store:
        try:
            return True, delete_published_reply(store, config, conversation_id)
        except SendError as exc:
            return False, f"The reply was not deleted: {exc}"
