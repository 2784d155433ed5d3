"""Follow sent texts until their delivery is final (issue 19).

``follow(store, get_sender)`` reads, for every outbox row whose next look is due, the message's
status from its sender (``TwilioSender.status``) and stores it (``store.delivery.record``:
backoff, and a text not delivered becomes a failed reply whose customer awaits again). The
outbox worker calls it after each pass (``outbox_worker.follow_delivery``), so ``owner-tui sync``, cron and the TUI all follow
delivery; the TUI also runs it on a timer while any text is followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from owner_tui.send.sender import SendError
from owner_tui.store import delivery


@dataclass
class Followed:
    """What changed: ``(outbox_id, status, words)`` per text whose status moved."""

    changed: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def follow(store, get_sender: Callable[[int], object], *, only: Iterable[int] | None = None) -> Followed:
    """Read every due delivery status once. ``get_sender(account_id)`` is the outbox worker's
    per-account sender (``outbox_worker.follow_delivery`` passes its cache)."""
    from owner_tui.send.twilio import error_line

    out = Followed()
    for row in delivery.due(store, set(only) if only is not None else None):
        try:
            sender = get_sender(row["account_id"])
        except SendError as exc:
            sender, err = None, str(exc)
        else:
            err = "no sender for this account here"
        reader = getattr(sender, "status", None)
        if not callable(reader) or not row["remote_id"]:
            delivery.record(store, row["id"], row["delivery"] or "")  # backs off; keeps the status
            out.errors.append((row["id"], err))
            continue
        try:
            status, code, message = reader(row["remote_id"])
        except SendError as exc:
            delivery.record(store, row["id"], row["delivery"] or "")
            out.errors.append((row["id"], str(exc)))
            continue
        words = error_line(code, message) if status in delivery.NOT_DELIVERED else ""
        if delivery.record(store, row["id"], status, words):
            out.changed.append((row["id"], status, words))
    return out
