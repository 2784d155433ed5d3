"""A local HTTP server that speaks Twilio's REST API 2010-04-01 (issue 19).

Shapes come from Twilio's own OpenAPI description (``twilio/twilio-oai``,
``spec/json/twilio_api_v2010.json``, commit d50069b of 2026-04-14): the field names of the
Message, Call, Recording, Transcription, Media, Account and IncomingPhoneNumber resources, the
list envelope (``first_page_uri``, ``next_page_uri`` null on the last page, ``page``,
``page_size``, ``start``, ``end``, ``uri``; the items under ``messages`` / ``calls`` /
``recordings`` / ``transcriptions`` / ``media_list`` / ``incoming_phone_numbers``), the query
filters of each list, RFC 2822 dates ("Tue, 01 Dec 2026 09:30:00 +0000") and the enums.
See ``tests/servers/TWILIO.md`` for which points are documented and which are assumptions.

How to start it (stdlib ``http.server`` on a thread, 127.0.0.1, a free port)::

    from tests.servers.twilio_api import TwilioServer, twilio      # twilio: a pytest fixture
    server = TwilioServer().start()
    server.url                  # base_url for the account (http://127.0.0.1:PORT)
    server.account_sid, server.auth_token      # Basic auth AccountSid:AuthToken
    server.api_key_sid, server.api_key_secret  # or Basic auth SK...:secret
    server.numbers              # the business numbers the account owns (IncomingPhoneNumbers)
    server.options(**over)      # the [accounts.*] options a `twilio` account needs
    ...
    server.stop()

How a test injects behaviour (all under ``server.lock``-free helpers; call them any time):

* data: ``add_message(frm, to, body, when=..., direction="inbound", num_media=0, media=[...])``,
  ``add_call(frm, to, status=..., when=..., duration=..., direction="inbound", answered_by=None,
  parent_call_sid=None)``, ``add_recording(call_sid, ..., transcription="text")``.
* faults: ``fault(method, path_prefix, status, body, headers=..., count=n)`` answers the next
  ``n`` matching requests with that status (``rate_limit(prefix, retry_after="2")`` is the 429
  with Twilio's 20429 body; ``twilio_error(code, status)`` builds any error body).
* slowness: ``slow(path_prefix, seconds, page_from=1)`` sleeps before answering list pages
  ``>= page_from`` (a kill -9 test kills the client while page 2 hangs).
* sending: every ``POST .../Messages.json`` is stored, so it appears in the list (verify after a
  crash). ``plans`` is a list of status plans consumed one per POST, each a list of
  ``(status, error_code)`` steps; the default plan is queued -> sent -> delivered (``accepted``
  first when ``MessagingServiceSid`` is given). ``advance(sid=None, steps=1)`` moves one message
  (or every one) along its plan; ``auto_advance = True`` moves a message one step each time it is
  fetched. ``send_errors[to] = code`` answers a POST to that number with the synchronous error
  (21211, 21614, 21408, 21610...). ``opted_out`` (a set of numbers) gives 21610 for each;
  ``window_mode`` decides WhatsApp's 24-hour window: ``"async"`` (default: 201, then ``failed``
  with error 63016) or ``"sync"`` (400 with 63016); a ``ContentSid`` (template) is always allowed.
* credentials: a wrong token or key answers 401 with ``{"code": 20003, ...}``;
  ``test_credentials = True`` makes list reads answer 403 20008; ``account_status`` changes the
  Account resource's ``status`` (active, suspended, closed).
* ``log`` (and ``requests(method, prefix)``) holds everything received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.servers.local_http import LocalHTTPServer

API = "/2010-04-01"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-0001"
API_KEY_SID = "SK" + "fedcba9876543210" * 2
API_KEY_SECRET = "twilio-key-secret-0001"
BUSINESS = "+15551234567"
WHATSAPP_FROM = "whatsapp:+15557654321"
TEMPLATE_SID = "HX" + "0" * 31 + "1"
#: Fields Twilio may add without notice: every resource carries one the client does not know.
UNKNOWN = {"new_field_2026": {"nested": [1, 2]}}

#: Twilio's words for the codes this server answers with (from twilio.com/docs/errors/<code>).
MESSAGES = {
    20003: "Authenticate",
    20008: "Resource not accessible with Test Account Credentials",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number: {to}",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The From phone number {frm} is not a valid, SMS-capable inbound phone number or short code "
           "for your account.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    63016: "Failed to send freeform message because you are outside the allowed window. If you are "
           "using WhatsApp, please use a Message Template.",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}


def twilio_error(code: int, status: int = 400, **fmt: str) -> dict[str, Any]:
    """Twilio's JSON error body: ``{"code", "message", "more_info", "status"}``."""
    words = MESSAGES.get(code, "Error")
    try:
        words = words.format(**fmt)
    except KeyError:
        pass
    return {"code": code, "message": words, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def rfc2822(when: datetime | None) -> str | None:
    return None if when is None else format_datetime(when.astimezone(UTC))


def _sid(prefix: str, seed: str) -> str:
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:32]


def _parse_filter_time(value: str) -> tuple[datetime, bool]:
    """A ``DateSent``/``StartTime`` filter value: ``YYYY-MM-DD`` (documented) or a full ISO time
    (what twilio-python sends for a datetime; honoured to the second here: UNCONFIRMED)."""
    value = value.strip()
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), True
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC), False


def _matches_time(when: datetime | None, query: dict[str, str], name: str) -> bool:
    """``Name`` = on that day; ``Name>`` = on or after; ``Name<`` = on or before (the docs'
    ">=YYYY-MM-DD" / "<=YYYY-MM-DD")."""
    for key, op in ((name, "="), (name + ">", ">="), (name + "<", "<=")):
        if key not in query:
            continue
        if when is None:
            return False
        limit, day = _parse_filter_time(query[key])
        left: Any = when.date() if day else when
        right: Any = limit.date() if day else limit
        if op == "=" and left != right or op == ">=" and left < right or op == "<=" and left > right:
            return False
    return True


@dataclass
class Fault:
    method: str
    prefix: str
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 1


@dataclass
class Slow:
    prefix: str
    seconds: float
    page_from: int = 1


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, list[str]]


@dataclass
class Plan:
    """A sent message's statuses over time: ``steps[i] = (status, error_code)``."""

    steps: list[tuple[str, int | None]]
    at: int = 0


DEFAULT_PLAN = [("queued", None), ("sent", None), ("delivered", None)]


class TwilioServer(LocalHTTPServer):
    def __init__(self, *, numbers: list[str] | None = None, account_sid: str = ACCOUNT_SID) -> None:
        self.lock = threading.RLock()
        self.account_sid = account_sid
        self.auth_token = AUTH_TOKEN
        self.api_key_sid = API_KEY_SID
        self.api_key_secret = API_KEY_SECRET
        self.numbers = list(numbers or [BUSINESS])
        self.whatsapp_from = WHATSAPP_FROM
        self.account_status = "active"
        self.friendly_name = "Bakery on Main"
        self.test_credentials = False
        self.log: list[Seen] = []
        self.faults: list[Fault] = []
        self.slows: list[Slow] = []
        self.messages: list[dict] = []
        self.calls: list[dict] = []
        self.recordings: list[dict] = []
        self.transcriptions: list[dict] = []
        self.media: dict[str, list[dict]] = {}  # message sid -> media resources
        self.plans: list[list[tuple[str, int | None]]] = []
        self._plans: dict[str, Plan] = {}  # sid -> its plan
        self.auto_advance = False
        self.send_errors: dict[str, int] = {}
        self.opted_out: set[str] = set()
        self.window_mode = "async"
        self.clock = lambda: datetime.now(UTC)
        self._n = 0
        super().__init__(_Handler)

    # -- test controls -----------------------------------------------------------------------

    def options(self, **over: Any) -> dict[str, Any]:
        """The options of a ``twilio`` account pointed at this server (token from a variable)."""
        return {"account_sid": self.account_sid, "auth_token_env": "TWILIO_TEST_TOKEN",
                "numbers": list(self.numbers), "base_url": self.url, **over}

    def fault(self, method: str, prefix: str, status: int = 500, body: Any = b"", *,
              headers: dict | None = None, count: int = 1) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self.lock:
            self.faults.append(Fault(method, prefix, status, raw, headers or {}, count))

    def rate_limit(self, prefix: str = API, *, retry_after: str | None = "1", count: int = 1,
                   method: str = "GET") -> None:
        """HTTP 429 with Twilio's 20429 body (and ``Retry-After`` unless None)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.fault(method, prefix, 429, twilio_error(20429, 429), headers=headers, count=count)

    def slow(self, prefix: str, seconds: float, page_from: int = 1) -> None:
        with self.lock:
            self.slows.append(Slow(prefix, seconds, page_from))

    def requests(self, method: str | None = None, prefix: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.log if (method is None or s.method == method) and s.path.startswith(prefix)]

    def _next(self, prefix: str) -> str:
        self._n += 1
        return _sid(prefix, f"{prefix}{self._n}{time.time_ns()}")

    def _acct(self) -> str:
        return f"{API}/Accounts/{self.account_sid}"

    def add_message(self, frm: str, to: str, body: str = "", *, when: datetime | None = None,
                    direction: str = "inbound", status: str | None = None, num_media: int = 0,
                    media: list[str] | None = None, error_code: int | None = None,
                    date_sent: datetime | None | str = "same") -> dict:
        """A message already on Twilio (inbound, or sent from the console/another app)."""
        with self.lock:
            when = when or self.clock()
            media = list(media or [])
            num_media = max(num_media, len(media))
            sid = self._next("MM" if num_media else "SM")
            msg = self._message(sid, frm, to, body, direction,
                                status or ("received" if direction == "inbound" else "delivered"),
                                when, when if date_sent == "same" else date_sent, num_media)
            msg["error_code"] = error_code
            msg["error_message"] = MESSAGES.get(error_code) if error_code else None
            self.messages.append(msg)
            if num_media:
                types = media or ["image/jpeg"] * num_media
                self.media[sid] = [self._media(sid, ct, when) for ct in types]
            return msg

    def _message(self, sid: str, frm: str, to: str, body: str, direction: str, status: str,
                 created: datetime, sent: datetime | None, num_media: int) -> dict:
        uri = f"{self._acct()}/Messages/{sid}.json"
        segments = max(1, -(-len(body) // 153)) if len(body) > 160 else 1
        return {"account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
                "date_created": rfc2822(created), "date_sent": rfc2822(sent), "date_updated": rfc2822(created),
                "direction": direction, "error_code": None, "error_message": None, "from": frm, "to": to,
                "messaging_service_sid": None, "num_media": str(num_media), "num_segments": str(segments),
                "price": None, "price_unit": "USD", "sid": sid, "status": status, "uri": uri,
                "subresource_uris": {"media": f"{self._acct()}/Messages/{sid}/Media.json",
                                     "feedback": f"{self._acct()}/Messages/{sid}/Feedback.json"},
                **UNKNOWN}

    def _media(self, parent: str, content_type: str, when: datetime) -> dict:
        sid = self._next("ME")
        return {"account_sid": self.account_sid, "content_type": content_type, "date_created": rfc2822(when),
                "date_updated": rfc2822(when), "parent_sid": parent, "sid": sid,
                "uri": f"{self._acct()}/Messages/{parent}/Media/{sid}.json", **UNKNOWN}

    def add_call(self, frm: str, to: str, *, status: str = "no-answer", when: datetime | None = None,
                 duration: int | None = None, direction: str = "inbound", answered_by: str | None = None,
                 parent_call_sid: str | None = None) -> dict:
        with self.lock:
            when = when or self.clock()
            sid = self._next("CA")
            if duration is None:
                duration = 0 if status in ("no-answer", "busy", "failed", "canceled") else 35
            end = when + timedelta(seconds=duration) if status not in ("queued", "ringing", "in-progress") else None
            call = {"account_sid": self.account_sid, "annotation": None, "answered_by": answered_by,
                    "api_version": "2010-04-01", "caller_name": None, "date_created": rfc2822(when),
                    "date_updated": rfc2822(end or when), "direction": direction,
                    "duration": str(duration) if end else None, "end_time": rfc2822(end),
                    "forwarded_from": None, "from": frm, "from_formatted": frm, "group_sid": None,
                    "parent_call_sid": parent_call_sid, "phone_number_sid": _sid("PN", to), "price": None,
                    "price_unit": "USD", "sid": sid, "start_time": rfc2822(when), "status": status,
                    "to": to, "to_formatted": to, "trunk_sid": None, "queue_time": "0",
                    "uri": f"{self._acct()}/Calls/{sid}.json",
                    "subresource_uris": {"recordings": f"{self._acct()}/Calls/{sid}/Recordings.json",
                                         "notifications": f"{self._acct()}/Calls/{sid}/Notifications.json"},
                    **UNKNOWN}
            self.calls.append(call)
            return call

    def add_recording(self, call_sid: str, *, duration: int = 12, transcription: str | None = None,
                      transcription_status: str = "completed", when: datetime | None = None) -> dict:
        with self.lock:
            call = next(c for c in self.calls if c["sid"] == call_sid)
            when = when or self.clock()
            sid = self._next("RE")
            rec = {"account_sid": self.account_sid, "api_version": "2010-04-01", "call_sid": call_sid,
                   "conference_sid": None, "date_created": rfc2822(when), "date_updated": rfc2822(when),
                   "start_time": call["start_time"], "duration": str(duration), "sid": sid, "price": None,
                   "price_unit": "USD", "status": "completed", "channels": 1, "source": "RecordVerb",
                   "error_code": None, "encryption_details": None, "media_url": f"{self.url}{self._acct()}/Recordings/{sid}",
                   "uri": f"{self._acct()}/Recordings/{sid}.json",
                   "subresource_uris": {"transcriptions": f"{self._acct()}/Recordings/{sid}/Transcriptions.json",
                                        "add_on_results": f"{self._acct()}/Recordings/{sid}/AddOnResults.json"},
                   **UNKNOWN}
            self.recordings.append(rec)
            if transcription is not None:
                tsid = self._next("TR")
                self.transcriptions.append({
                    "account_sid": self.account_sid, "api_version": "2010-04-01", "date_created": rfc2822(when),
                    "date_updated": rfc2822(when), "duration": str(duration), "price": None, "price_unit": "USD",
                    "recording_sid": sid, "sid": tsid, "status": transcription_status,
                    "transcription_text": transcription if transcription_status == "completed" else None,
                    "type": "fast", "uri": f"{self._acct()}/Transcriptions/{tsid}.json", **UNKNOWN})
            return rec

    def advance(self, sid: str | None = None, steps: int = 1) -> None:
        """Move one sent message (or all of them) ``steps`` along its status plan."""
        with self.lock:
            for s, plan in self._plans.items():
                if sid is None or s == sid:
                    for _ in range(steps):
                        self._step(s, plan)

    def _step(self, sid: str, plan: Plan) -> None:
        if plan.at + 1 >= len(plan.steps):
            return
        plan.at += 1
        status, code = plan.steps[plan.at]
        msg = next(m for m in self.messages if m["sid"] == sid)
        now = self.clock()
        msg["status"] = status
        msg["date_updated"] = rfc2822(now)
        if status in ("sending", "sent", "delivered", "undelivered", "read") and not msg["date_sent"]:
            msg["date_sent"] = rfc2822(now)
        if code:
            msg["error_code"] = code
            msg["error_message"] = MESSAGES.get(code, "Error")
        if status in ("sent", "delivered", "undelivered"):
            msg["price"] = "-0.00790"

    def status_of(self, sid: str) -> str:
        with self.lock:
            return next(m["status"] for m in self.messages if m["sid"] == sid)

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, dict, Any]:
        form = parse_qs(body.decode(errors="replace"), keep_blank_values=True) if body else {}
        with self.lock:
            self.log.append(Seen(method, path, query, headers, body, form))
            for f in self.faults:
                if f.method == method and path.startswith(f.prefix) and f.count > 0:
                    f.count -= 1
                    return f.status, f.headers, f.body
            delay = 0.0
            page = int(query.get("Page", "0") or 0)
            for s in self.slows:
                if path.startswith(s.prefix) and page >= s.page_from:
                    delay = max(delay, s.seconds)
        if delay:
            time.sleep(delay)
        with self.lock:
            return self._route(method, path, query, headers, form)

    def _authorised(self, headers: dict[str, str], account: str) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        if account != self.account_sid:
            return False
        return (user == self.account_sid and secret == self.auth_token) or \
            (user == self.api_key_sid and secret == self.api_key_secret)

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               form: dict[str, list[str]]) -> tuple[int, dict, Any]:
        if not path.startswith(f"{API}/Accounts/"):
            return 404, {}, twilio_error(20404, 404, path=path)
        rest = path[len(f"{API}/Accounts/"):]
        account, _, sub = rest.partition("/")
        account = account.removesuffix(".json")
        if not self._authorised(headers, account):
            return 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'}, twilio_error(20003, 401)
        if sub == "" and method == "GET":
            return 200, {}, self._account()
        if self.test_credentials and method == "GET":
            return 403, {}, twilio_error(20008, 403)
        if sub == "Messages.json" and method == "POST":
            return self._create_message(form)
        lists = {"Messages.json": ("messages", self.messages, self._message_filter),
                 "Calls.json": ("calls", self.calls, self._call_filter),
                 "Recordings.json": ("recordings", self.recordings, self._recording_filter),
                 "Transcriptions.json": ("transcriptions", self.transcriptions, lambda r, q: True),
                 "IncomingPhoneNumbers.json": ("incoming_phone_numbers", self._phone_numbers(),
                                               self._number_filter)}
        if method == "GET" and sub in lists:
            key, items, keep = lists[sub]
            return self._page(path, query, key, items, keep)
        parts = sub.split("/")
        if method == "GET" and len(parts) == 2 and parts[0] == "Messages":
            sid = parts[1].removesuffix(".json")
            msg = next((m for m in self.messages if m["sid"] == sid), None)
            if msg is None:
                return 404, {}, twilio_error(20404, 404, path=path)
            if self.auto_advance and sid in self._plans:
                self._step(sid, self._plans[sid])
            return 200, {}, msg
        if method == "GET" and len(parts) == 3 and parts[0] == "Messages" and parts[2] == "Media.json":
            if not any(m["sid"] == parts[1] for m in self.messages):
                return 404, {}, twilio_error(20404, 404, path=path)
            return self._page(path, query, "media_list", self.media.get(parts[1], []), lambda r, q: True)
        if method == "GET" and len(parts) == 3 and parts[0] == "Recordings" and parts[2] == "Transcriptions.json":
            items = [t for t in self.transcriptions if t["recording_sid"] == parts[1]]
            return self._page(path, query, "transcriptions", items, lambda r, q: True)
        if method == "GET" and len(parts) == 2 and parts[0] == "Calls":
            sid = parts[1].removesuffix(".json")
            call = next((c for c in self.calls if c["sid"] == sid), None)
            return (200, {}, call) if call else (404, {}, twilio_error(20404, 404, path=path))
        return 404, {}, twilio_error(20404, 404, path=path)

    def _account(self) -> dict:
        created = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
        return {"auth_token": "[Redacted]", "date_created": rfc2822(created), "date_updated": rfc2822(created),
                "friendly_name": self.friendly_name, "owner_account_sid": self.account_sid,
                "sid": self.account_sid, "status": self.account_status, "type": "Full",
                "uri": f"{self._acct()}.json",
                "subresource_uris": {"messages": f"{self._acct()}/Messages.json",
                                     "calls": f"{self._acct()}/Calls.json",
                                     "incoming_phone_numbers": f"{self._acct()}/IncomingPhoneNumbers.json"},
                **UNKNOWN}

    def _phone_numbers(self) -> list[dict]:
        created = rfc2822(datetime(2024, 3, 1, 12, 0, tzinfo=UTC))
        return [{"account_sid": self.account_sid, "phone_number": n, "friendly_name": n, "sid": _sid("PN", n),
                 "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
                 "date_created": created, "date_updated": created, "status": "in-use", "origin": "twilio",
                 "uri": f"{self._acct()}/IncomingPhoneNumbers/{_sid('PN', n)}.json", **UNKNOWN}
                for n in self.numbers]

    @staticmethod
    def _number_filter(item: dict, q: dict[str, str]) -> bool:
        want = q.get("PhoneNumber")
        if not want:
            return True
        digits, have = want.lstrip("+"), item["phone_number"].lstrip("+")
        if "*" in digits:
            return len(digits) <= len(have) and all(w in ("*", h) for w, h in zip(digits, have))
        return digits in have  # "partial numbers" are allowed (the docs)

    @staticmethod
    def _message_filter(m: dict, q: dict[str, str]) -> bool:
        if "To" in q and m["to"] != q["To"] or "From" in q and m["from"] != q["From"]:
            return False
        sent = datetime.strptime(m["date_sent"], "%a, %d %b %Y %H:%M:%S %z") if m["date_sent"] else None
        return _matches_time(sent, q, "DateSent")

    @staticmethod
    def _call_filter(c: dict, q: dict[str, str]) -> bool:
        if "To" in q and c["to"] != q["To"] or "From" in q and c["from"] != q["From"]:
            return False
        if "Status" in q and c["status"] != q["Status"]:
            return False
        if "ParentCallSid" in q and c["parent_call_sid"] != q["ParentCallSid"]:
            return False
        start = datetime.strptime(c["start_time"], "%a, %d %b %Y %H:%M:%S %z") if c["start_time"] else None
        return _matches_time(start, q, "StartTime")

    @staticmethod
    def _recording_filter(r: dict, q: dict[str, str]) -> bool:
        return "CallSid" not in q or r["call_sid"] == q["CallSid"]

    def _page(self, path: str, query: dict[str, str], key: str, items: list[dict], keep) -> tuple[int, dict, Any]:
        """Newest first; ``PageToken`` names the last item of the previous page (as Twilio's
        ``PA<sid>`` tokens do), so items added meanwhile do not shift the pages."""
        try:
            size = min(1000, max(1, int(query.get("PageSize", "50"))))
            page = int(query.get("Page", "0") or 0)
        except ValueError:
            return 400, {}, twilio_error(20001, 400)

        def stamp(item: dict) -> datetime:
            # Time only: items of the same second keep the order they were added in (a sort is
            # stable, reversed too), so a media list reads in the order the MMS carried them.
            raw = item.get("date_sent") or item.get("start_time") or item.get("date_created")
            return datetime.strptime(raw, "%a, %d %b %Y %H:%M:%S %z") if raw else datetime.max.replace(tzinfo=UTC)

        chosen = sorted((i for i in items if keep(i, query)), key=stamp, reverse=True)
        start_at = 0
        token = query.get("PageToken")
        if token:
            after = token[2:]
            idx = next((n for n, i in enumerate(chosen) if i["sid"] == after), None)
            if idx is None:  # the item is gone: start after where it would sort
                start_at = len(chosen)
            else:
                start_at = idx + 1
        rows = chosen[start_at:start_at + size]
        base = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}
        first = f"{path}?{urlencode({**base, 'PageSize': size, 'Page': 0})}"
        nxt = None
        if start_at + size < len(chosen) and rows:
            nxt = f"{path}?{urlencode({**base, 'PageSize': size, 'Page': page + 1, 'PageToken': 'PA' + rows[-1]['sid']})}"
        prev = None
        if page > 0:
            prev = f"{path}?{urlencode({**base, 'PageSize': size, 'Page': page - 1})}"
        here = f"{path}?{urlencode(query)}" if query else path
        return 200, {}, {key: rows, "end": page * size + max(len(rows) - 1, 0), "first_page_uri": first,
                         "next_page_uri": nxt, "page": page, "page_size": size, "previous_page_uri": prev,
                         "start": page * size, "uri": here}

    def _create_message(self, form: dict[str, list[str]]) -> tuple[int, dict, Any]:
        one = {k: v[0] for k, v in form.items() if v}
        to, frm = one.get("To", ""), one.get("From", "")
        service = one.get("MessagingServiceSid")
        body = one.get("Body", "")
        media = form.get("MediaUrl", [])
        content = one.get("ContentSid")
        if not to:
            return 400, {}, twilio_error(21604)
        if not frm and not service:
            return 400, {}, twilio_error(21603)
        if not body and not media and not content:
            return 400, {}, twilio_error(21602)
        if frm and frm not in self.numbers and frm != self.whatsapp_from:
            return 400, {}, twilio_error(21606, frm=frm)
        bare = to.removeprefix("whatsapp:")
        if to in self.send_errors or bare in self.send_errors:
            code = self.send_errors.get(to) or self.send_errors[bare]
            return 400, {}, twilio_error(code, to=to)
        if not bare.startswith("+") or not bare[1:].isdigit() or not 8 <= len(bare) <= 16:
            return 400, {}, twilio_error(21211, to=to)
        if bare in self.opted_out or to in self.opted_out:
            return 400, {}, twilio_error(21610)
        plan = list(self.plans.pop(0)) if self.plans else list(DEFAULT_PLAN)
        if to.startswith("whatsapp:") and not content and not self._in_window(to, frm):
            if self.window_mode == "sync":
                return 400, {}, twilio_error(63016)
            plan = [("queued", None), ("failed", 63016)]
        if service:
            plan = [("accepted", None), *plan]
        now = self.clock()
        sid = self._next("MM" if media else "SM")
        text = body if not content else body or f"[template {content}]"
        msg = self._message(sid, frm or self.numbers[0], to, text, "outbound-api", plan[0][0], now, None,
                            len(media))
        msg["messaging_service_sid"] = service
        msg["status_callback"] = one.get("StatusCallback")  # kept for the test; not a Twilio field
        self.messages.append(msg)
        self._plans[sid] = Plan(plan)
        if media:
            self.media[sid] = [self._media(sid, "image/jpeg", now) for _ in media]
        return 201, {}, {k: v for k, v in msg.items() if k != "status_callback"}

    def _in_window(self, to: str, frm: str) -> bool:
        """WhatsApp: free-form only within 24 hours of the customer's last message to us."""
        last = [datetime.strptime(m["date_sent"] or m["date_created"], "%a, %d %b %Y %H:%M:%S %z")
                for m in self.messages if m["direction"] == "inbound" and m["from"] == to]
        return bool(last) and self.clock() - max(last) < timedelta(hours=24)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        api: TwilioServer = self.server.api  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = api.handle(self.command, url.path, query, headers, body)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client was killed mid-answer
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _serve  # noqa: N815 (http.server API)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def twilio(monkeypatch):
    """A running ``TwilioServer``; ``TWILIO_TEST_TOKEN`` holds its auth token."""
    server = TwilioServer().start()
    monkeypatch.setenv("TWILIO_TEST_TOKEN", server.auth_token)
    monkeypatch.setenv("TWILIO_TEST_KEY_SECRET", server.api_key_secret)
    yield server
    server.stop()
