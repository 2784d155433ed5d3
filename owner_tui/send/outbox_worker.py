"""Drain the outbox: send queued replies, at most once, and never lose the text.

``process(store, config)`` does two things, in this order:

1. **Recover** rows left in ``sending`` (a crash, a kill, a power cut mid-send). Each is
   checked with its sender's ``verify`` before anything else: already out (for email: a
   message with that Message-ID is in the Sent folder) -> recorded as sent, not sent again;
   certainly not out -> back to ``queued``; cannot tell -> ``failed`` with a message that
   says so, for the owner to decide. Only rows untouched for ``stale_after`` seconds are
   recovered, so a send in flight in another process (the TUI while cron runs) is left alone.
2. **Send** each ``queued`` row: claim it (``queued -> sending``, compare-and-set, so two
   workers never both send it), send, then record ``sent`` (with the outbound message that
   closes the wait) or ``failed`` (the body stays in the row).

Senders come from ``senders_factory(account_config) -> Sender | None`` (None: this account's
replies are not sent from here, e.g. copy-and-open review sites handled by the TUI). The
default factory knows email (``SmtpSender`` + the IMAP Sent folder), Google and Trustpilot.

For email, ``EmailSender`` files the reply in Sent marked pending before SMTP and confirms it
after, so the Sent folder answers ``verify`` exactly (``sources/imap/sent.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Callable, Iterable

from owner_tui.aging import parse_iso
from owner_tui.config import AccountConfig, Config, ConfigError
from owner_tui.records import OutgoingReply, SendResult, normalize_msgid
from owner_tui.send.sender import Sender, SendError

SendersFactory = Callable[[AccountConfig], "Sender | None"]
STALE_AFTER = 300.0  # longer than any SMTP/HTTP timeout: a row this old in `sending` is orphaned

UNKNOWN_OUTCOME = ("sending was interrupted and it cannot be checked whether the reply went out. For a "
                   "review, look at the review page; for an email, a flagged copy in your Sent folder does "
                   "not prove it went out: ask the customer or watch for a bounce. Then send it again or "
                   "cancel it")


@dataclass
class OutboxReport:
    sent: list[int] = field(default_factory=list)
    recovered_sent: list[int] = field(default_factory=list)  # found out already: not sent again
    requeued: list[int] = field(default_factory=list)  # certainly not out: queued again
    failed: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # left queued, with why
    #: Texts whose delivery status moved: (outbox id, status, the error in words if any).
    delivery: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        out = []
        if self.sent:
            out.append(f"outbox: {len(self.sent)} repl{'y' if len(self.sent) == 1 else 'ies'} sent")
        if self.recovered_sent:
            out.append(f"outbox: {len(self.recovered_sent)} interrupted send(s) found in Sent; not sent again")
        out.extend(f"outbox: reply {oid} not sent: {msg}" for oid, msg in self.failed)
        out.extend(f"outbox: text {oid} {status}" + (f": {words}" if words else "")
                   for oid, status, words in self.delivery if status not in ("queued", "sending", "accepted"))
        return out


# -- senders ----------------------------------------------------------------------------------

def _ambiguous(exc: SendError) -> bool:
    """SmtpSender's one "may have been delivered" case: the connection died after the whole
    message was handed over, before the server's answer."""
    return getattr(exc, "maybe_delivered", False)


class EmailSender:
    """``SmtpSender`` with the IMAP Sent folder as its witness (see ``sources/imap/sent.py``).

    Unless the provider files sent mail itself (``smtp_saves_sent``), the reply is filed in Sent
    marked pending *before* SMTP, confirmed after, deleted on a clear refusal. That makes
    ``verify`` exact: no copy means never sent, so a retry cannot send it twice.
    """

    def __init__(self, account: AccountConfig, config: Config, *, secrets=None) -> None:
        from owner_tui.sources.imap.connection import ImapSettings

        s = ImapSettings.from_account(account)
        if not s.smtp_host:
            raise SendError(f"account {account.name} has no smtp_host: add smtp_host (and smtp_port, "
                            f"smtp_security) to [accounts.{account.name}] to send replies")
        if not s.address:
            raise SendError(f"account {account.name} has no address to send from: set address = \"you@example.com\"")
        self.settings = s
        self.account = account
        self.from_name = config.owner.name
        self.secrets = secrets
        self._smtp(None)  # fail now, as a config problem, rather than in the middle of a send

    def _smtp(self, now, **hooks):
        from datetime import datetime, timezone

        from owner_tui.secrets import resolve_secret
        from owner_tui.send.smtp import SmtpSender

        s, opts, name = self.settings, self.account.options, self.account.name
        smtp_secret = "smtp_password" if any(opts.get(f"smtp_password{x}") for x in ("_cmd", "_env", "_keyring")) \
            else "password"
        get = self.secrets or (lambda which: resolve_secret(opts, which, name))
        token = (lambda: get("token")) if s.auth == "xoauth2" and smtp_secret == "password" else None
        password = None if token else (lambda: get(smtp_secret))
        fixed = now or datetime.now(timezone.utc)
        try:
            return SmtpSender(s.smtp_host, s.smtp_port, from_addr=s.address, from_name=self.from_name,
                              security=s.smtp_security, user=s.smtp_user, password=password, token=token,
                              timeout=s.timeout, ssl_context=s.ssl_context(), clock=lambda: fixed,
                              provider_saves_sent=s.smtp_saves_sent, **hooks)
        except ValueError as exc:
            raise SendError(f"account {name}: {exc}") from None

    def send(self, reply: OutgoingReply) -> SendResult:
        from datetime import datetime, timezone

        from owner_tui.send.compose import build_reply
        from owner_tui.sources.imap.errors import MailError
        from owner_tui.sources.imap.sent import SentWitness

        reply = _wire_reply(reply)  # callers may pass the store's bare id
        if self.settings.smtp_saves_sent:
            return self._smtp(None).send(reply)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        try:  # the very bytes SmtpSender will build (same inputs, same clock)
            raw = build_reply(from_addr=self.settings.address, from_name=self.from_name, to=reply.to,
                              subject=reply.subject, body=reply.body, in_reply_to=reply.in_reply_to,
                              references=reply.references, message_id=reply.message_id, date=now).as_bytes()
        except ValueError as exc:
            raise SendError(f"reply not sent: {exc}") from None
        witness = SentWitness(self.settings, secrets=self.secrets)
        try:
            witness.open()
        except MailError as exc:
            raise SendError(f"reply not sent: the Sent folder is needed to send it at most once, and {exc}",
                            retryable=exc.retryable) from None
        try:
            if not witness.keywords:  # classic order: send, then file the copy
                return self._smtp(now, append_to_sent=lambda data: witness.file(data, pending=False)).send(reply)
            try:
                # A copy left pending by an earlier attempt whose outcome was unknown: the owner
                # chose to send again, so that copy goes (only pending copies of this id).
                witness.discard(reply.message_id)
                witness.file(raw, pending=True)
            except Exception as exc:
                from owner_tui.sources.imap.errors import describe_error

                raise SendError(f"reply not sent: could not file it in Sent first ({describe_error(exc)})",
                                retryable=True) from None
            try:
                result = self._smtp(now).send(reply)
            except SendError as exc:
                try:
                    if _ambiguous(exc):
                        witness.flag_unconfirmed(reply.message_id)
                    else:  # certainly not sent: no copy may suggest it was
                        witness.discard(reply.message_id)
                except Exception:
                    pass  # a stale pending copy only makes a later check say "cannot tell"
                raise
            try:
                witness.confirm(reply.message_id)
            except Exception:
                note = "sent; the copy in Sent is still marked as sending"
                result = replace(result, note="; ".join(n for n in (result.note, note) if n))
            return result
        finally:
            witness.close()

    def verify(self, reply: OutgoingReply) -> bool | None:
        from owner_tui.sources.imap.sent import sent_state

        got = sent_state(self.settings, reply.message_id, secrets=self.secrets)
        if got is None:
            return None
        state, keywords = got
        if state == "sent":
            return True
        if state == "absent":
            # Absence is proof only when a copy would be there had SMTP started.
            return False if (keywords or self.settings.smtp_saves_sent) else None
        return None  # pending: SMTP may or may not have taken it


def email_sender(account: AccountConfig, config: Config) -> Sender:
    return EmailSender(account, config)


def default_senders(config: Config) -> SendersFactory:
    """The built-in factory: email, Twilio texts, Google, Trustpilot, and Yelp with partner access. Other
    kinds (Facebook, Yelp without partner access) return None; the TUI's copy-and-open flow
    handles them."""

    def factory(account: AccountConfig) -> Sender | None:
        if account.kind == "imap":
            return email_sender(account, config)
        if account.kind == "twilio":  # sms, whatsapp, and a text back to a missed call
            from owner_tui.secrets import resolve_secret
            from owner_tui.send.twilio import TwilioSender

            return TwilioSender(account.options, lambda name: resolve_secret(account.options, name, account.name),
                                account_name=account.name)
        if account.kind in ("google", "trustpilot") or (account.kind == "yelp" and _yelp_partner(account)):
            from owner_tui.secrets import resolve_secret

            module = __import__(f"owner_tui.send.{account.kind}", fromlist=["x"])
            cls = getattr(module, {"google": "GoogleSender", "trustpilot": "TrustpilotSender",
                                   "yelp": "YelpPartnerSender"}[account.kind])
            return cls(account.options, lambda name: resolve_secret(account.options, name, account.name))
        return None

    return factory


def _yelp_partner(account: AccountConfig) -> bool:
    """A Yelp account with partner access replies through Yelp's Respond to Reviews API."""
    from owner_tui.send.yelp import has_partner_access

    return has_partner_access(account.options)


def sender_for(store, account_id: int, config: Config) -> Sender | None:
    """The reply path for one stored account, or None when none is set up (the TUI then keeps
    the reply queued and says so). Cheap: nothing touches the network until ``send``."""
    acc = _account_config(store, config, account_id)
    if acc is None:
        return None
    try:
        return default_senders(config)(acc)
    except (SendError, ConfigError):
        return None


# -- store helpers (compare-and-set on status and updated_at) -----------------------------------

def requeue(store, outbox_id: int, *, from_status: Iterable[str] = ("failed",), updated_at: str | None = None) -> bool:
    """``failed -> queued`` (the owner's "try again"), or ``sending -> queued`` after a verify
    said the reply is certainly not out. False when the row moved on meanwhile."""
    statuses = tuple(from_status)
    marks = ",".join("?" * len(statuses))
    sql = f"UPDATE outbox SET status = 'queued', updated_at = ? WHERE id = ? AND status IN ({marks})"
    args: list = [store.now_iso(), outbox_id, *statuses]
    if updated_at is not None:
        sql += " AND updated_at = ?"
        args.append(updated_at)
    with store.write():
        return store.db.execute(sql, args).rowcount == 1


#: Channels whose replies go out as email (on-site feedback left an address).
EMAIL_REPLY_CHANNELS = ("email", "on-site")


def _account_config(store, config: Config, account_id: int) -> AccountConfig | None:
    row = store.db.execute("SELECT kind, name FROM accounts WHERE id = ?", [account_id]).fetchone()
    if row is None:
        return None
    if row[0] == "onsite":  # on-site feedback is answered by email, from [feedback] reply_account
        wanted = config.feedback.reply_account
        mail = [a for a in config.accounts if a.kind == "imap" and a.options.get("smtp_host")
                and (not wanted or a.name == wanted)]
        return mail[0] if len(mail) == 1 else None
    for acc in config.accounts:
        if acc.name == row[1] and acc.kind == row[0]:
            return acc
    return None


def _wire_reply(reply: OutgoingReply) -> OutgoingReply:
    """The store keeps Message-IDs bare; on the wire an email's id is ``<id>``."""
    if reply.channel in EMAIL_REPLY_CHANNELS and reply.message_id and not reply.message_id.startswith("<"):
        return replace(reply, message_id=f"<{reply.message_id}>")
    return reply


# -- the worker -------------------------------------------------------------------------------

class _Senders:
    """One sender per account for the length of a ``process`` call."""

    def __init__(self, store, config: Config, factory: SendersFactory) -> None:
        self.store, self.config, self.factory = store, config, factory
        self.cache: dict[int, Sender | None | SendError] = {}

    def get(self, account_id: int) -> Sender | None:
        if account_id not in self.cache:
            acc = _account_config(self.store, self.config, account_id)
            try:
                self.cache[account_id] = self.factory(acc) if acc is not None else None
            except (SendError, ConfigError) as exc:
                self.cache[account_id] = exc if isinstance(exc, SendError) else SendError(str(exc))
        got = self.cache[account_id]
        if isinstance(got, SendError):
            raise got
        return got

    def close(self) -> None:
        for sender in self.cache.values():
            closer = getattr(sender, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:
                    pass


def process(store, config: Config, senders_factory: SendersFactory | None = None, *,
            stale_after: float = STALE_AFTER, only: Iterable[int] | None = None) -> OutboxReport:
    """Recover interrupted sends, then send what is queued (or only the ``only`` rows)."""
    report = OutboxReport()
    senders = _Senders(store, config, senders_factory or default_senders(config))
    wanted = set(only) if only is not None else None
    try:
        _recover(store, senders, report, stale_after, wanted)
        for row in store.outbox("queued"):
            if wanted is not None and row["id"] not in wanted:
                continue
            _send_one(store, senders, row, report)
        from owner_tui.send.delivery import follow

        report.delivery.extend(follow(store, senders.get, only=wanted).changed)
    finally:
        senders.close()
    return report


def follow_delivery(store, config: Config, senders_factory: SendersFactory | None = None):
    """Read the due delivery statuses of sent texts (``send/delivery``), outside a send pass."""
    from owner_tui.send.delivery import follow

    senders = _Senders(store, config, senders_factory or default_senders(config))
    try:
        return follow(store, senders.get)
    finally:
        senders.close()


def _recover(store, senders: _Senders, report: OutboxReport, stale_after: float, wanted: set | None) -> None:
    cutoff = store.now() - timedelta(seconds=stale_after)
    for row in store.outbox("sending"):
        oid = row["id"]
        if wanted is not None and oid not in wanted:
            continue
        try:
            if parse_iso(row["updated_at"]) > cutoff:
                continue  # may be in flight in another process right now
        except (TypeError, ValueError):
            pass
        try:
            sender = senders.get(row["account_id"])
        except SendError as exc:
            store.outbox_fail(oid, f"{UNKNOWN_OUTCOME} ({exc})")
            report.failed.append((oid, UNKNOWN_OUTCOME))
            continue
        if sender is None:
            report.skipped.append((oid, "no sender for this account here"))
            continue
        reply = _wire_reply(store.outgoing(oid))
        try:
            verdict = sender.verify(reply)
        except Exception:
            verdict = None
        if verdict is True:
            # A review platform knows the id and time it gave the reply: record those, so the
            # next sync sees the same message instead of storing a second copy.
            verified = getattr(sender, "verified_result", None)
            found = verified(reply) if callable(verified) else None
            store.outbox_finish(oid, SendResult(
                external_id=found.external_id if found else
                (normalize_msgid(reply.message_id) if reply.channel in EMAIL_REPLY_CHANNELS else reply.message_id),
                sent_at=found.sent_at if found else (row["updated_at"] or store.now_iso()),
                note="the send was interrupted, but the reply had gone out; not sent again",
                delivery=found.delivery if found else None))
            report.recovered_sent.append(oid)
        elif verdict is False:
            if requeue(store, oid, from_status=("sending",), updated_at=row["updated_at"]):
                report.requeued.append(oid)
        else:
            store.outbox_fail(oid, UNKNOWN_OUTCOME)
            report.failed.append((oid, UNKNOWN_OUTCOME))


def _send_one(store, senders: _Senders, row: dict, report: OutboxReport) -> None:
    oid = row["id"]
    try:
        sender = senders.get(row["account_id"])
    except SendError as exc:
        # Not claimed: a configuration problem fails the row with its reason, text kept.
        if store.outbox_claim(oid, from_status=("queued",)):
            store.outbox_fail(oid, str(exc))
            report.failed.append((oid, str(exc)))
        return
    if sender is None:
        report.skipped.append((oid, "no sender for this account here"))
        return
    if not store.outbox_claim(oid, from_status=("queued",)):
        return  # another worker has it
    reply = _wire_reply(store.outgoing(oid))
    try:
        result = sender.send(reply)
    except SendError as exc:
        store.outbox_fail(oid, str(exc))
        report.failed.append((oid, str(exc)))
        return
    except Exception as exc:  # never leave a row in `sending` because of a bug or a surprise
        from owner_tui.sources.imap.errors import describe_error

        msg = describe_error(exc)
        store.outbox_fail(oid, msg)
        report.failed.append((oid, msg))
        return
    store.outbox_finish(oid, result)
    report.sent.append(oid)
