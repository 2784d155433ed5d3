"""The records the parts pass to each other: what every source produces and the store ingests
(``MessageRecord``, ``Cursor``), and what the outbox hands a sender and gets back
(``OutgoingReply``, ``SendResult``).

A source (IMAP, files, a review API) never touches the database: it turns remote data into
``MessageRecord`` values and hands them to ``Store.ingest`` together with the cursor that
says how far it got. This is the one contract between sources and the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Channels a conversation can live on.
CHANNELS = ("email", "google", "trustpilot", "yelp", "facebook")

#: Headers the classifier reads for noise (lower-case names).
NOISE_HEADERS = (
    "auto-submitted",
    "list-id",
    "list-unsubscribe",
    "precedence",
    "return-path",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "content-type",
)


@dataclass(frozen=True)
class Attachment:
    """An attachment seen in a message: recorded, not stored whole by default."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageRecord:
    """One inbound or outbound message (an email, a review, an owner's reply to a review).

    Times are timezone-aware UTC ISO-8601 strings (``2026-11-22T09:30:00+00:00``).
    Text fields hold the untrusted text as received; sanitising happens at display time.
    """

    #: Unique per account: a normalised Message-ID (no angle brackets, lower-cased host part
    #: is *not* applied: compare with ``normalize_msgid``), a review id, ``<review id>:reply``.
    external_id: str
    channel: str = "email"
    #: ``"in"``, ``"out"`` or ``None`` to let the classifier decide from the owner's addresses
    #: and the folder (a message in Sent is outbound).
    direction: str | None = None
    sent_at: str = ""
    sender_handle: str = ""  # email address (lower-cased) or reviewer id/name
    sender_name: str = ""
    recipients: tuple[str, ...] = ()
    subject: str = ""
    text: str = ""
    rating: int | None = None  # 1..5 for reviews
    #: For reviews: the review id, so the review and its reply share one conversation.
    #: For email: ``None``; the threader uses the headers below.
    thread_key: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    #: Selected headers (lower-case names, see ``NOISE_HEADERS``) for classification.
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    problems: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    url: str | None = None  # the platform page of a review
    folder: str | None = None  # IMAP folder or Maildir sub-folder; "Sent" makes it outbound
    #: Source-specific extra data (JSON-serialisable), e.g. IMAP uid, review updateTime.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cursor:
    """How far a source got in one folder/feed; saved in the same transaction as its batch."""

    folder: str = ""
    uidvalidity: int | None = None
    last_uid: int | None = None
    highestmodseq: int | None = None
    page_token: str | None = None
    high_water: str | None = None  # e.g. the newest review updateTime seen


def normalize_msgid(value: str | None) -> str:
    """Normalise a Message-ID for comparison: strip whitespace and angle brackets, lower-case.

    RFC 5322 says the local part is case-sensitive, but real mailers and relays change case;
    matching case-insensitively loses nothing in practice and finds many more replies.
    """
    if not value:
        return ""
    v = value.strip()
    if v.startswith("<") and ">" in v:
        v = v[1 : v.index(">")]
    return v.strip().lower()


@dataclass(frozen=True)
class OutgoingReply:
    """Everything a sender needs, read from the outbox row and its conversation."""

    outbox_id: int
    account_id: int
    conversation_id: int
    body: str
    message_id: str  # chosen before sending; for email the Message-ID header value
    channel: str
    external_key: str  # thread root Message-ID or review id
    to: tuple[str, ...] = ()
    subject: str = ""
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    url: str | None = None  # the review page, for manual replies
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What happened: ``external_id`` of the stored outbound message, and a note for the UI."""

    external_id: str
    sent_at: str
    note: str = ""
