"""Texts and missed calls from Twilio -> ``MessageRecord`` batches, and ``sync_account`` for them.

What is read, per business number (``numbers``, plus ``whatsapp_from``), each a "folder" with
its own cursor in ``sync_state``:

* ``messages:to:<n>``: Messages To the number (customers' texts), ``messages:from:<n>``:
  Messages From it (replies sent from the Twilio console or another app close the wait).
* ``calls:to:<n>``: inbound Calls (a missed call or a voicemail waits for a call back; an
  answered call is the owner talking to the customer), ``calls:from:<n>``: calls made from it
  (a call back).

One conversation per customer number per channel (``sms:+1555...``, ``whatsapp:+1555...``,
``call:+1555...``), the message or call SID as the external id (ingest is idempotent on it).

Incremental and resumable: a list is read with ``DateSent>=`` / ``StartTime>=`` a day before the
newest time seen (Twilio filters by GMT day, and the order of a list is UNCONFIRMED), page by
page along ``next_page_uri``. Each page is one ``store.ingest`` with its cursor: while a pass is
under way the cursor keeps the old high water and the next page's link, so a killed sync
resumes where it stopped and a completed pass moves the high water on. Nothing is missed (the
high water moves only after a whole pass) and nothing is stored twice (the SID).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from owner_tui.phone import strip_channel, to_e164
from owner_tui.records import Cursor, MessageRecord
from owner_tui.sources.reviews.common import PullReport, Runtime, SecretsGetter, iso, opt_int, stored_high_water
from owner_tui.sources.reviews.http import NeedsReauth, SourceError
from owner_tui.sources.twilio.client import TwilioClient, as_int

#: Call statuses that mean nobody picked up (Twilio's call status values).
MISSED = {"no-answer": "no answer", "busy": "busy", "failed": "failed", "canceled": "hung up before an answer"}
#: Calls still going on: read again on the next pass (the window overlaps by a day).
LIVE = ("queued", "ringing", "in-progress", "initiated")
#: Outbound statuses that never reached the customer: they do not close the wait.
NOT_DELIVERED = ("failed", "undelivered", "canceled")


def parse_rfc2822(value: Any) -> datetime | None:
    """Twilio's times: RFC 2822 ("Tue, 01 Dec 2026 09:30:00 +0000"); None when absent or bad."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def duration_words(seconds: Any) -> str:
    s = max(0, as_int(seconds))
    return f"{s // 60}:{s % 60:02d}"


@dataclass
class Folder:
    """One listing: ``kind`` messages or calls, filtered by ``field`` (To/From) = ``number``."""

    kind: str
    direction: str  # "to" | "from"
    number: str

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.direction}:{self.number}"


def folders(options: Mapping[str, Any]) -> list[Folder]:
    numbers = [n for n in options.get("numbers", []) if isinstance(n, str)]
    out = [Folder("messages", d, n) for n in numbers for d in ("to", "from")]
    wa = options.get("whatsapp_from")
    if isinstance(wa, str) and wa:
        out += [Folder("messages", d, wa) for d in ("to", "from")]
    if options.get("calls", True):
        out += [Folder("calls", d, n) for n in numbers for d in ("to", "from")]
    return out


@dataclass
class Reader:
    """Turns Twilio resources into records; asks the client for media, recordings, child legs."""

    client: TwilioClient
    region: str
    report: PullReport
    business: frozenset[str] = field(default_factory=frozenset)

    def customer(self, address: str) -> tuple[str, str]:
        """(channel, customer handle) for the other party's address: E.164 when it is a number,
        else the address as given (a short code, an alphanumeric sender)."""
        channel = "whatsapp" if address.lower().startswith("whatsapp:") else "sms"
        bare = strip_channel(address)
        return channel, to_e164(bare, self.region) or bare

    def message(self, m: dict) -> MessageRecord | None:
        sid = m.get("sid")
        if not isinstance(sid, str) or not sid:
            self.report.skip("a Twilio message without a sid")
            return None
        direction = "in" if m.get("direction") == "inbound" else "out"
        frm, to = str(m.get("from") or ""), str(m.get("to") or "")
        other, ours = (frm, to) if direction == "in" else (to, frm)
        channel, handle = self.customer(other)
        if not handle:
            self.report.skip(f"Twilio message {sid} has no {'sender' if direction == 'in' else 'recipient'}")
            return None
        when = parse_rfc2822(m.get("date_sent")) or parse_rfc2822(m.get("date_created"))
        problems = () if when else ("Twilio gave no date_sent or date_created",)
        body = m.get("body") if isinstance(m.get("body"), str) else ""
        status = str(m.get("status") or "")
        extra: dict[str, Any] = {"sid": sid, "status": status, "twilio_direction": m.get("direction"),
                                 "business_number": ours, "num_segments": as_int(m.get("num_segments"))}
        if m.get("error_code"):
            extra["error_code"] = m["error_code"]
        if m.get("direction") == "outbound-reply":
            # TwiML's answer to the customer's text (an auto-responder, a bot): not the owner.
            extra["auto_reply"] = True
        if direction == "out" and status in NOT_DELIVERED:
            code = f", Twilio error {m['error_code']}" if m.get("error_code") else ""
            extra["not_delivered"] = f"{status}{code}"
        num_media = as_int(m.get("num_media"))
        text = body
        if num_media > 0:
            media = self.media(m, sid)
            extra["num_media"] = num_media
            extra["media"] = media
            lines = [f"{num_media} attachment{'s' if num_media != 1 else ''}:"] + \
                [f"  {x['content_type'] or 'file'}: {x['url']}" for x in media]
            text = (body + "\n\n" if body else "") + "\n".join(lines)
        return MessageRecord(
            external_id=sid, channel=channel, direction=direction, sent_at=iso(when) if when else "",
            sender_handle=handle, recipients=(handle,), text=text, thread_key=f"{channel}:{handle}",
            problems=problems, extra=extra)

    def media(self, m: dict, sid: str) -> list[dict[str, str]]:
        """The media of an MMS: content type and link (fetched only when ``num_media`` > 0)."""
        uri = (m.get("subresource_uris") or {}).get("media") if isinstance(m.get("subresource_uris"), dict) else None
        out: list[dict[str, str]] = []
        try:
            for page in self.client.pages(uri or self.client.path(f"Messages/{sid}/Media.json"), "media_list"):
                for item in page:
                    link = self.client.link(str(item.get("uri") or ""))
                    out.append({"content_type": str(item.get("content_type") or ""), "url": link})
        except SourceError as exc:
            if exc.retryable or isinstance(exc, NeedsReauth):
                raise
            self.report.problems.append(f"media of {sid}: {exc}")
        return out

    def call(self, c: dict, folder: Folder) -> MessageRecord | None:
        sid = c.get("sid")
        status = str(c.get("status") or "")
        if not isinstance(sid, str) or not sid or c.get("parent_call_sid") or status in LIVE:
            return None  # a forwarded leg (its parent is the customer's call), or not over yet
        inbound = str(c.get("direction") or "") == "inbound"
        if inbound != (folder.direction == "to"):
            return None  # an inbound call From a business number, or the reverse: not ours
        other = str(c.get("from") if inbound else c.get("to") or "")
        _, handle = self.customer(other)
        if not handle:
            return None
        when = parse_rfc2822(c.get("start_time")) or parse_rfc2822(c.get("date_created"))
        problems = () if when else ("Twilio gave no start_time or date_created",)
        dur = duration_words(c.get("duration"))
        extra: dict[str, Any] = {"sid": sid, "status": status, "twilio_direction": c.get("direction"),
                                 "business_number": folder.number, "duration": as_int(c.get("duration"))}
        name = c.get("caller_name") if inbound and isinstance(c.get("caller_name"), str) else ""
        if not inbound:
            if status != "completed":
                extra["not_delivered"] = f"call {MISSED.get(status, status)}"
            text = f"Called back ({'answered' if status == 'completed' else MISSED.get(status, status)}), {dur}"
            return MessageRecord(external_id=sid, channel="call", direction="out", sent_at=iso(when) if when else "",
                                 sender_handle=handle, recipients=(handle,), text=text, thread_key=f"call:{handle}",
                                 problems=problems, extra=extra)
        recordings = self.recordings(sid)
        if status in MISSED:
            text = f"Missed call ({MISSED[status]}), {dur}"
        elif recordings:
            text = f"Voicemail, {duration_words(recordings[0].get('duration'))}"
        elif status == "completed" and self.forwarded_unanswered(sid):
            text = f"Missed call (forwarded, not answered), {dur}"
            extra["forwarded"] = True
        else:
            # Answered: the owner talked to the customer, so nobody waits for a call back.
            return MessageRecord(external_id=sid, channel="call", direction="out", sent_at=iso(when) if when else "",
                                 sender_handle=handle, sender_name=name, recipients=(handle,),
                                 text=f"Answered call, {dur}", thread_key=f"call:{handle}", problems=problems,
                                 extra={**extra, "answered": True})
        lines = [text]
        for rec in recordings:
            lines.append(f"Recording: {rec['url']}")
            if rec.get("transcription"):
                lines.append(f"Transcription: {rec['transcription']}")
        extra["recordings"] = recordings
        return MessageRecord(external_id=sid, channel="call", direction="in", sent_at=iso(when) if when else "",
                             sender_handle=handle, sender_name=name, recipients=(folder.number,),
                             text="\n".join(lines), thread_key=f"call:{handle}", problems=problems, extra=extra)

    def recordings(self, call_sid: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.client.pages("Recordings.json", "recordings", {"CallSid": call_sid}):
            for r in page:
                if r.get("call_sid") not in (None, call_sid) or not r.get("sid"):
                    continue
                item = {"sid": r["sid"], "duration": as_int(r.get("duration")),
                        "url": str(r.get("media_url") or self.client.link(str(r.get("uri") or "")))}
                text = self.transcription(str(r["sid"]), r)
                if text:
                    item["transcription"] = text
                out.append(item)
        return out

    def transcription(self, recording_sid: str, rec: dict) -> str:
        uri = (rec.get("subresource_uris") or {}).get("transcriptions") \
            if isinstance(rec.get("subresource_uris"), dict) else None
        texts = []
        for page in self.client.pages(uri or f"Recordings/{recording_sid}/Transcriptions.json", "transcriptions"):
            for t in page:
                if t.get("status") == "completed" and isinstance(t.get("transcription_text"), str):
                    texts.append(t["transcription_text"].strip())
        return " ".join(x for x in texts if x)

    def forwarded_unanswered(self, call_sid: str) -> bool:
        """A call forwarded with ``<Dial>`` is ``completed`` even when nobody took the forwarded
        leg (UNCONFIRMED; TWILIO.md): its child legs tell. No child legs: it was answered."""
        legs = [c for page in self.client.pages("Calls.json", "calls", {"ParentCallSid": call_sid}) for c in page]
        return bool(legs) and not any(c.get("status") == "completed" and as_int(c.get("duration")) > 0 for c in legs)


def _window_start(high_water: datetime | None, lookback_days: int) -> str | None:
    if high_water is None:
        return None
    return (high_water - timedelta(days=lookback_days)).strftime("%Y-%m-%d")


def _progress(cursor_by_folder: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """A pass under way: ``{"next": link, "newest": time}`` kept in the cursor's page_token."""
    if not cursor_by_folder:
        return {}
    cur = cursor_by_folder.get(name)
    token = cur.page_token if isinstance(cur, Cursor) else cur.get("page_token") if isinstance(cur, Mapping) else None
    try:
        data = json.loads(token) if token else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def pull(options: Mapping[str, Any], secrets_getter: SecretsGetter, cursor_by_folder: Mapping[str, Any],
         *, report: PullReport | None = None, runtime: Runtime | None = None,
         client: TwilioClient | None = None) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    """Yield ``(records, cursor)`` per page, folder by folder (see the module docstring)."""
    report = report or PullReport()
    lookback = opt_int(options, "lookback_days", 1, 0, 3650)
    own = client is None
    client = client or TwilioClient(options, secrets_getter, runtime=runtime)
    region = str(options.get("region") or options.get("country") or "US")
    reader = Reader(client, region, report)
    try:
        for folder in folders(options):
            yield from _pull_folder(client, reader, folder, cursor_by_folder, lookback)
    finally:
        if own:
            client.close()


def _pull_folder(client: TwilioClient, reader: Reader, folder: Folder, cursor_by_folder: Mapping[str, Any],
                 lookback: int) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    high = stored_high_water(cursor_by_folder, folder.name)
    progress = _progress(cursor_by_folder, folder.name)
    key, resource = ("messages", "Messages.json") if folder.kind == "messages" else ("calls", "Calls.json")
    date_filter = "DateSent>" if folder.kind == "messages" else "StartTime>"
    params: dict[str, Any] = {"To" if folder.direction == "to" else "From": folder.number}
    since = _window_start(high, lookback)
    if since:
        params[date_filter] = since
    newest = _parse_iso(progress.get("newest")) or high
    pages = _resume(client, resource, key, params, progress.get("next"))
    try:
        for page, nxt in pages:
            records = []
            for item in page:
                rec = reader.message(item) if folder.kind == "messages" else reader.call(item, folder)
                if rec is None:
                    continue
                records.append(rec)
                when = _parse_iso(rec.sent_at)
                if when and (newest is None or when > newest):
                    newest = when
            if nxt:
                token = json.dumps({"next": nxt, "newest": iso(newest) if newest else None})
                yield records, Cursor(folder=folder.name, high_water=iso(high) if high else None, page_token=token)
            else:
                yield records, Cursor(folder=folder.name, high_water=iso(newest) if newest else None)
    except SourceError as exc:
        exc.folder = exc.folder or folder.name
        raise


def _resume(client: TwilioClient, resource: str, key: str, params: dict[str, Any],
            next_link: Any) -> Iterator[tuple[list[dict], str | None]]:
    """Pages with the link to the one after each (None on the last). A saved link that Twilio no
    longer takes (an expired page token: UNCONFIRMED that they expire) starts the pass again."""
    if isinstance(next_link, str) and next_link:
        try:
            data = client.get(next_link)
        except SourceError as exc:
            if exc.retryable or isinstance(exc, NeedsReauth) or exc.status not in (400, 404):
                raise
            data = client.get(client.path(resource), {"PageSize": client.page_size, **params})
    else:
        data = client.get(client.path(resource), {"PageSize": client.page_size, **params})
    seen: set[str] = set()
    while True:
        items = data.get(key)
        if not isinstance(items, list):
            raise SourceError(f"Twilio's {resource} list has no {key!r} list; nothing was saved from it.", True)
        nxt = data.get("next_page_uri")
        nxt = nxt if isinstance(nxt, str) and nxt and nxt not in seen else None
        yield [i for i in items if isinstance(i, dict)], nxt
        if nxt is None:
            return
        seen.add(nxt)
        data = client.get(nxt)


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


# -- into the store --------------------------------------------------------------------------

@dataclass
class TwilioSummary:
    account_id: int
    new: int = 0
    duplicate: int = 0
    noise: int = 0
    skipped: int = 0
    batches: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    retryable: bool = False
    error_kind: str | None = None


def sync_account(store: Any, account_cfg: Any, *, secrets_getter: SecretsGetter | None = None,
                 runtime: Runtime | None = None) -> TwilioSummary:
    """Pull one ``twilio`` account into the store; errors are recorded, not raised."""
    from owner_tui.sources.reviews.sync import StoreCursors, account_settings

    name, options = account_cfg.name, account_cfg.options
    account_id = store.ensure_account("twilio", name, account_settings(options))
    if secrets_getter is None:
        from owner_tui.secrets import resolve_secret

        def secrets_getter(secret: str) -> str:
            return resolve_secret(options, secret, name)

    summary = TwilioSummary(account_id)
    report = PullReport()
    try:
        for batch, cursor in pull(options, secrets_getter, StoreCursors(store, account_id), report=report,
                                  runtime=runtime):
            result = store.ingest(account_id, batch, cursor)
            summary.batches += 1
            summary.new += result.new
            summary.duplicate += result.duplicate
            summary.noise += result.noise
    except SourceError as exc:
        store.set_sync_error(account_id, exc.folder or "", str(exc))
        summary.error = str(exc)
        summary.retryable = exc.retryable
        summary.error_kind = exc.kind
    else:
        store.clear_sync_errors(account_id)
    summary.skipped = report.skipped
    summary.notes = list(report.problems)
    return summary
