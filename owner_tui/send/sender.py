"""What every reply path implements (``Sender``) and how a send fails (``SendError``); the
outbox drives these. The reply a sender takes and the result it gives are records
(``records.OutgoingReply``, ``records.SendResult``).

A reply is an ``outbox`` row before anything goes on the wire (at most once). The outbox
worker claims a row (``queued -> sending``), calls ``Sender.send``, and records the result.
A row found in ``sending`` at start-up was interrupted: the worker calls ``Sender.verify``
first and retries only when the platform says the reply is not there.
"""

from __future__ import annotations

from typing import Protocol

from owner_tui.records import OutgoingReply, SendResult


class SendError(Exception):
    """A send failed. ``message`` is shown to the owner and must never contain a secret.

    ``retryable`` says whether trying again later may help (a timeout, a 5xx) or not
    (a rejected reply, a wrong password). ``maybe_delivered`` says the outcome is unknown
    (the connection died after the whole message was handed over): never resend blindly.
    """

    def __init__(self, message: str, *, retryable: bool = False, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable and not maybe_delivered
        self.maybe_delivered = maybe_delivered


class Sender(Protocol):
    """One reply path (SMTP, Google, Trustpilot, manual copy-and-open)."""

    def send(self, reply: OutgoingReply) -> SendResult: ...

    def verify(self, reply: OutgoingReply) -> bool | None:
        """After a crash in ``sending``: True if the reply is already out, False if certainly
        not, None if it cannot be told (the worker then marks the row failed for the owner
        to decide, rather than risk a second send)."""
        ...
