"""The Sent folder as the outbox's witness, so an email reply goes out at most once.

Before SMTP, the reply is filed in Sent flagged ``\\Seen`` and with the keyword
``$OwnerTuiSending``; after the server accepted it, the keyword is removed; if the server
refused it, the copy is deleted again. So after a crash the Sent folder tells exactly:

* no copy with the reply's Message-ID: SMTP never started, sending again is safe;
* a copy without the keyword: the reply went out;
* a copy still marked ``$OwnerTuiSending``: it may or may not have gone out; the owner decides.
  When the send itself ends that way (the connection lost between the end of the message and
  the server's answer), the copy is also ``\\Flagged``, which every client shows; sending the
  reply again first removes such a copy, so Sent never holds it twice.

The sync skips marked copies (the outbox records the reply itself). A server that does not
allow keywords (no ``\\*`` in PERMANENTFLAGS) gets the classic order instead: send, then
file the copy, and a missing copy proves nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from imapclient import IMAPClient
from imapclient.imapclient import SENT

from owner_tui.classify import is_sent_folder
from owner_tui.records import normalize_msgid
from owner_tui.sources.imap.connection import ImapSettings, SecretGetter, close, connect
from owner_tui.sources.imap.errors import FolderMissing, MailError, as_mail_error

PENDING = b"$OwnerTuiSending"


def is_pending(flags) -> bool:
    """Whether a FETCH FLAGS tuple carries the pending keyword (keywords are case-insensitive)."""
    return any(isinstance(f, bytes) and f.lower() == PENDING.lower() for f in flags or ())


def sent_by_name(names: list[str]) -> str | None:
    """A Sent folder named in the client's language ("Gesendet", "Éléments envoyés",
    "INBOX.Posta inviata"), for a server without SPECIAL-USE whose Sent is not one of the
    English names IMAPClient tries."""
    return next((n for n in names if n.upper() != "INBOX" and is_sent_folder(n)), None)


def find_sent_folder(client: IMAPClient, settings: ImapSettings) -> str:
    """The configured ``sent_folder``, else SPECIAL-USE ``\\Sent``, else a usual name."""
    if settings.sent_folder:
        if not client.folder_exists(settings.sent_folder):
            raise FolderMissing(settings.sent_folder, [f[2] for f in client.list_folders()])
        return settings.sent_folder
    found = client.find_special_folder(SENT) or sent_by_name([f[2] for f in client.list_folders()])
    if not found:
        raise FolderMissing("Sent", [f[2] for f in client.list_folders()])
    return found


class SentWitness:
    """One IMAP session on the Sent folder for the length of one send (or one check)."""

    def __init__(self, settings: ImapSettings, *, secrets: SecretGetter | None = None) -> None:
        self.settings = settings
        self.secrets = secrets
        self.client: IMAPClient | None = None
        self.folder = ""
        self.keywords = False  # may we set our own keyword in this folder?

    def open(self) -> SentWitness:
        """Connect and select Sent read-write; raises ``MailError``."""
        s = self.settings
        self.client = connect(s, secrets=self.secrets)
        try:
            self.folder = find_sent_folder(self.client, s)
            info = self.client.select_folder(self.folder)
        except Exception as exc:
            self.close()
            raise as_mail_error(exc, host=s.host, port=s.port, user=s.user) from None
        # RFC 3501 7.1: "\*" in PERMANENTFLAGS means new keywords can be created and kept.
        self.keywords = b"\\*" in info.get(b"PERMANENTFLAGS", ())
        return self

    def close(self) -> None:
        if self.client is not None:
            close(self.client)
            self.client = None

    def __enter__(self) -> SentWitness:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the three steps of a send ---------------------------------------------------------

    def file(self, raw: bytes, *, pending: bool) -> None:
        assert self.client is not None
        flags = (b"\\Seen", PENDING) if pending else (b"\\Seen",)
        self.client.append(self.folder, raw, flags=flags, msg_time=datetime.now(timezone.utc))
        self.client.noop()  # let the selected folder see the new message

    def confirm(self, message_id: str) -> None:
        """The server took the reply: the copy becomes a plain Sent message."""
        uids = [u for u, st in self._copies(message_id).items() if st]
        if uids:
            assert self.client is not None
            self.client.remove_flags(uids, [PENDING], silent=True)

    def flag_unconfirmed(self, message_id: str) -> None:
        """The outcome cannot be known: flag the pending copy (``\\Flagged`` shows as a star or
        flag in every client), so it does not pass for a reply that surely went out."""
        uids = [u for u, st in self._copies(message_id).items() if st]
        if uids:
            assert self.client is not None
            self.client.add_flags(uids, [b"\\Flagged"], silent=True)

    def discard(self, message_id: str) -> None:
        """The server refused the reply: remove the pending copy (and only it)."""
        assert self.client is not None
        uids = [u for u, st in self._copies(message_id).items() if st]
        if not uids:
            return
        self.client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self.client.has_capability("UIDPLUS"):
            self.client.uid_expunge(uids)  # only these UIDs, never someone else's \Deleted mail

    # -- the question after a crash --------------------------------------------------------

    def state(self, message_id: str) -> str:
        """``"absent"``, ``"pending"`` or ``"sent"`` for this Message-ID in Sent."""
        copies = self._copies(message_id)
        if not copies:
            return "absent"
        return "pending" if all(copies.values()) else "sent"

    def _copies(self, message_id: str) -> dict[int, bool]:
        """UID -> still pending, for every copy whose Message-ID is exactly this one."""
        assert self.client is not None
        wanted = normalize_msgid(message_id)
        if not wanted or any(c in wanted for c in '"\\\r\n'):
            raise MailError(f"not a Message-ID that can be searched for: {message_id!r}", "protocol")
        # SEARCH HEADER is a case-insensitive substring match (RFC 3501 6.4.4): search for the
        # bare id, then compare exactly, so "<a@b>" never matches "<xa@b>".
        uids = self.client.search(["HEADER", "Message-ID", wanted])
        if not uids:
            return {}
        data = self.client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        out: dict[int, bool] = {}
        for uid, item in data.items():
            blob = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), b"") or b""
            text = blob.decode("ascii", "replace")
            value = text.split(":", 1)[1] if ":" in text else ""
            if normalize_msgid(" ".join(value.split())) == wanted:
                out[uid] = is_pending(item.get(b"FLAGS"))
        return out


def sent_state(settings: ImapSettings, message_id: str, *,
               secrets: SecretGetter | None = None) -> tuple[str, bool] | None:
    """``(state, keywords_allowed)`` for this Message-ID, or None when Sent cannot be asked."""
    try:
        with SentWitness(settings, secrets=secrets) as w:
            return w.state(message_id), w.keywords
    except Exception:
        return None
