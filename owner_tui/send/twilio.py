"""Reply by text through Twilio: ``POST /2010-04-01/Accounts/{Sid}/Messages.json`` (issue 19).

A reply on an ``sms`` conversation goes as an SMS, on ``whatsapp`` as a WhatsApp message
(``whatsapp:+…`` on both ends), on ``call`` (a missed call) as an SMS to the number that
called, from the business number it called. ``From`` is always the business number the
customer wrote to or called (``store.outgoing`` reads it from their last message), so a shop
with two numbers answers from the right one.

**At most once.** The outbox row exists before the POST. A POST is not idempotent, so it is
never resent blindly: a connection that never opened (nothing sent) and a 429 (Twilio created
nothing) are safe to try again; any other cut after the request went out (a read timeout, a
dropped connection, a 5xx) has an unknown outcome, and ``verify`` lists the messages
``To`` that number ``From`` the business number since the attempt and matches the body by its
words. Found: recorded as sent with its SID; not found in a complete listing: certainly not
sent; listing failed: cannot tell (the owner decides).

**Rules first** (``send/phone_rules``): a customer who texted STOP is never sent to; a
WhatsApp reply outside the 24-hour window goes only as the approved template, and only when
the owner chose it in the editor (``meta["whatsapp_template"]``).

**Delivery is followed** after the send: ``status(sid)`` reads the Message resource;
``send/delivery`` polls it with backoff until a final status and stores it on the outbox row.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import httpx

from owner_tui.records import OutgoingReply, SendResult
from owner_tui.send.phone_rules import check
from owner_tui.send.review_api import same_text
from owner_tui.send.sender import SendError
from owner_tui.sources.twilio import errors
from owner_tui.sources.twilio.sync import parse_rfc2822

#: A 429 without a Twilio code is read as 20429 ("Too Many Requests").
RATE_LIMIT = 20429

DEFAULT_BASE = "https://api.twilio.com"
TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
#: How far before the attempt a found message may be dated: our clock and Twilio's differ.
VERIFY_SLACK = timedelta(minutes=10)
#: The longest Retry-After waited inline before giving up with a retryable error.
MAX_INLINE_WAIT = 5.0
#: How many listing pages ``verify`` reads at most (50 messages each).
VERIFY_PAGES = 5
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
#: Statuses after which the status no longer changes (``delivered`` may still become ``read``
#: on WhatsApp; ``send/delivery`` handles that).
FINAL = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})


def bare_number(handle: str | None) -> str:
    """``whatsapp:+15551234567`` or ``+1 555 123 4567`` -> ``+15551234567`` (digits and +)."""
    value = (handle or "").strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:"):]
    if value.lower().startswith("tel:"):
        value = value[len("tel:"):]
    return "+" + re.sub(r"\D", "", value) if value.startswith("+") else re.sub(r"[^\d+]", "", value)


def address(number: str, channel: str) -> str:
    """The number as Twilio wants it for the channel (``whatsapp:+…`` for WhatsApp)."""
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def parse_time(value: Any) -> datetime | None:
    """Twilio's RFC 2822 dates (``Mon, 16 Aug 2010 03:45:01 +0000``, read as the sync reads
    them); ISO is also read."""
    when = parse_rfc2822(value)
    if when is not None or not isinstance(value, str) or not value.strip():
        return when
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat()


class TwilioSender:
    """One Twilio account's reply path. Nothing touches the network until ``send``."""

    def __init__(self, options: Mapping[str, Any], secrets_getter: Callable[[str], str], *,
                 account_name: str = "twilio", sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.options = options
        self.secrets_getter = secrets_getter
        self.account_name = account_name
        self.sleep = sleep
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._transport = transport
        self._client: httpx.Client | None = None
        self._hide: list[str] = []
        self._verified: dict[int, SendResult] = {}
        sid = str(options.get("account_sid") or "")
        if not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid) and not re.fullmatch(r"AC\w{1,64}", sid):
            raise SendError(f"account {account_name}: account_sid must be your Twilio Account SID (AC…)")
        self.account_sid = sid
        self.base = str(options.get("base_url") or DEFAULT_BASE).rstrip("/")

    # -- HTTP -----------------------------------------------------------------------------------

    def _conn(self) -> httpx.Client:
        if self._client is None:
            from owner_tui.secrets import SecretError

            try:
                if self.options.get("api_key_sid"):
                    user = str(self.options["api_key_sid"])
                    secret = self.secrets_getter("api_key_secret")
                else:
                    user = self.account_sid
                    secret = self.secrets_getter("auth_token")
            except SecretError as exc:
                raise SendError(str(exc)) from None
            self._hide = [s for s in (secret,) if s]
            timeout = TIMEOUT
            if isinstance(self.options.get("timeout"), (int, float)) and self.options["timeout"] > 0:
                timeout = httpx.Timeout(float(self.options["timeout"]), connect=min(10.0, float(self.options["timeout"])))
            self._client = httpx.Client(auth=(user, secret), timeout=timeout, follow_redirects=False,
                                        transport=self._transport,
                                        headers={"User-Agent": "owner-tui/0.1", "Accept": "application/json"})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _scrub(self, text: str) -> str:
        for secret in self._hide:
            text = text.replace(secret, "***")
        return text

    def _url(self, tail: str) -> str:
        return f"{self.base}/2010-04-01/Accounts/{self.account_sid}/{tail}"

    def _error(self, resp: httpx.Response, doing: str) -> SendError:
        """A refused request in the owner's words (Twilio's code looked up in ``errors``)."""
        try:
            data = resp.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        code = data.get("code")
        if code is None and resp.status_code == 429:
            code = RATE_LIMIT
        if code is None and resp.status_code == 401:
            code = 20003
        found = errors.describe(code)
        words = error_line(code, self._scrub(str(data.get("message") or f"HTTP {resp.status_code}")))
        retryable = found[2] if found else resp.status_code >= 500 or resp.status_code == 429
        todo = f"; {found[1]}" if found else ""
        err = SendError(f"Twilio {doing}: {words}{todo}", retryable=retryable)
        err.code = code  # type: ignore[attr-defined]
        err.status = resp.status_code  # type: ignore[attr-defined]
        return err

    def _get(self, tail: str, params: Mapping[str, Any] | None = None, *, url: str | None = None,
             doing: str = "did not answer") -> dict:
        try:
            resp = self._conn().get(url or self._url(tail), params=params)
        except httpx.HTTPError as exc:
            raise SendError(f"Twilio could not be reached ({type(exc).__name__})", retryable=True) from None
        if resp.status_code != 200:
            raise self._error(resp, doing)
        try:
            data = resp.json()
        except ValueError:
            raise SendError("Twilio answered with something that is not JSON", retryable=True) from None
        if not isinstance(data, dict):
            raise SendError("Twilio answered with something unexpected", retryable=True)
        return data

    # -- send -----------------------------------------------------------------------------------

    def numbers(self, reply: OutgoingReply) -> tuple[str, str]:
        """(To, From) as bare E.164 numbers; a SendError, with nothing sent, when unusable."""
        to = bare_number(reply.meta.get("customer") or (reply.to[0] if reply.to else ""))
        if not _E164.match(to):
            raise SendError(error_line(21211) + f": {to or 'no number'}; nothing was sent.")
        business = bare_number(reply.meta.get("business") or "")
        if not _E164.match(business):
            if reply.channel == "whatsapp" and self.options.get("whatsapp_from"):
                business = bare_number(str(self.options["whatsapp_from"]))
            else:
                numbers = [bare_number(str(n)) for n in self.options.get("numbers") or []]
                if len(numbers) != 1:
                    raise SendError("It is not known which business number this customer wrote to; set "
                                    "numbers = [\"+1…\"] (one number) on the Twilio account. Nothing was sent.")
                business = numbers[0]
        return to, business

    def form(self, reply: OutgoingReply, body: str) -> tuple[dict[str, str], str]:
        """The POST form and a note, after the rules (``phone_rules``) said yes."""
        now = parse_time(reply.meta.get("checked_at")) or self.clock()
        verdict = check(reply.channel, now=now, opted_out_at=reply.meta.get("opted_out_at"),
                        last_inbound_at=reply.meta.get("last_inbound_at"),
                        template_sid=str(self.options.get("whatsapp_template_sid") or ""),
                        template_name=str(self.options.get("whatsapp_template_name") or ""))
        to, business = self.numbers(reply)
        form = {"To": address(to, reply.channel), "From": address(business, reply.channel)}
        if verdict.allowed:
            form["Body"] = body
            return form, ""
        if verdict.template and reply.meta.get("whatsapp_template"):
            form["ContentSid"] = str(self.options["whatsapp_template_sid"])
            form["ContentVariables"] = json.dumps({"1": body}, ensure_ascii=False)
            name = self.options.get("whatsapp_template_name") or form["ContentSid"]
            return form, f"sent as the approved WhatsApp template {name} (outside the 24-hour window)"
        raise SendError(verdict.words + " Nothing was sent.")

    def send(self, reply: OutgoingReply) -> SendResult:
        body = reply.body.strip()
        if not body:
            raise SendError("The reply is empty; nothing was sent.")
        form, note = self.form(reply, body)
        attempts = 0
        while True:
            attempts += 1
            try:
                resp = self._conn().post(self._url("Messages.json"), data=form)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise SendError(f"Twilio could not be reached ({type(exc).__name__}); nothing was sent",
                                retryable=True) from None
            except httpx.HTTPError:
                return self._unknown(reply)
            if resp.status_code == 429 and attempts < 3:
                wait = _retry_after(resp.headers.get("Retry-After"))
                if wait is not None and wait <= MAX_INLINE_WAIT:
                    self.sleep(wait)  # a 429 created nothing: trying again cannot send twice
                    continue
            break
        if resp.status_code >= 500:
            return self._unknown(reply, answered=resp.status_code)
        if resp.status_code not in (200, 201):
            err = self._error(resp, "did not take the text")
            if resp.status_code == 429:
                wait = _retry_after(resp.headers.get("Retry-After"))
                if wait is not None:
                    err = SendError(f"{err} (Twilio asked to wait {wait:.0f} s)", retryable=True)
            raise err
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return self._unknown(reply)  # taken, but we cannot tell which message it became
        status = str(data.get("status") or "queued")
        when = parse_time(data.get("date_created")) or self.clock()
        words = {"whatsapp": "WhatsApp message"}.get(reply.channel, "Text")
        return SendResult(external_id=data["sid"], sent_at=_iso(when),
                          note=note or f"{words} handed to Twilio ({status}).", delivery=status)

    def _unknown(self, reply: OutgoingReply, answered: int | None = None) -> SendResult:
        """The request went out and no usable answer came back: look before anything else.
        After a 5xx Twilio has finished with the request, so a complete listing without the
        text proves it was not sent; after a timeout it may still be working on it."""
        verdict = self.verify(reply)
        if verdict is True:
            return self._verified[reply.outbox_id]
        if verdict is False and answered:
            raise SendError(f"Twilio had a problem (HTTP {answered}) and the text is not in its message list: "
                            "it was not sent; try again later", retryable=True)
        raise SendError("Twilio's answer was lost after the text was sent, and it could not be confirmed "
                        "whether it went out; look in the Twilio console (Messaging logs) before sending "
                        "it again", maybe_delivered=True)

    # -- after a crash: is it out? --------------------------------------------------------------

    def verify(self, reply: OutgoingReply) -> bool | None:
        try:
            to, business = self.numbers(reply)
        except SendError:
            return None
        attempted = parse_time(reply.meta.get("attempted_at")) or self.clock()
        since = attempted - VERIFY_SLACK
        # Two listings: by DateSent (Twilio's documented date filter; day granularity, UNCONFIRMED
        # whether it includes a message still queued, whose date_sent is empty) and the newest
        # messages between the two numbers without it. A match in either counts.
        day = (since - timedelta(days=1)).strftime("%Y-%m-%d")
        params = {"To": address(to, reply.channel), "From": address(business, reply.channel), "PageSize": 50}
        found: list[dict] = []
        try:
            for extra in ({"DateSent>": day}, {}):
                found += self._list(dict(params, **extra))
        except SendError:
            return None
        matches, others = [], 0
        for m in found:
            when = parse_time(m.get("date_created")) or parse_time(m.get("date_sent"))
            if when is None or when < since or not isinstance(m.get("sid"), str):
                continue
            if str(m.get("direction") or "outbound-api").startswith("inbound"):
                continue
            if bare_number(m.get("to")) != to or bare_number(m.get("from")) != business:
                continue
            if not (same_text(str(m.get("body") or ""), reply.body) or
                    (reply.meta.get("whatsapp_template") and body_in(str(m.get("body") or ""), reply.body))):
                others += 1
                continue
            matches.append((when, m))
        if not matches:
            # A template's rendered body is Twilio's (UNCONFIRMED that it holds our {{1}}): another
            # message to them since the attempt may be ours, so it cannot be told.
            return None if reply.meta.get("whatsapp_template") and others else False
        when, m = min(matches, key=lambda pair: pair[0])
        self._verified[reply.outbox_id] = SendResult(
            external_id=m["sid"], sent_at=_iso(when), delivery=str(m.get("status") or "queued"),
            note="the send was interrupted, but the text had gone out; not sent again")
        return True

    def verified_result(self, reply: OutgoingReply) -> SendResult | None:
        return self._verified.get(reply.outbox_id)

    def _list(self, params: dict) -> list[dict]:
        out: list[dict] = []
        data = self._get("Messages.json", params)
        for _ in range(VERIFY_PAGES):
            page = data.get("messages")
            if not isinstance(page, list):
                raise SendError("Twilio's message list had no messages field", retryable=True)
            out += [m for m in page if isinstance(m, dict)]
            nxt = data.get("next_page_uri")
            if not isinstance(nxt, str) or not nxt.startswith("/2010-04-01/"):
                return out
            data = self._get("", url=self.base + nxt, doing="did not list the messages")
        raise SendError("too many messages to look through", retryable=True)  # incomplete: cannot tell

    # -- delivery -------------------------------------------------------------------------------

    def status(self, sid: str) -> tuple[str, int | None, str]:
        """(status, error code, Twilio's error message) of a sent message."""
        if not re.fullmatch(r"[A-Z]{2}\w{1,64}", sid or ""):
            raise SendError(f"not a Twilio message id: {sid[:40]!r}")
        data = self._get(f"Messages/{sid}.json")
        code = data.get("error_code")
        try:
            code = int(code) if code not in (None, "") else None
        except (TypeError, ValueError):
            code = None
        return str(data.get("status") or ""), code, self._scrub(str(data.get("error_message") or ""))


def error_line(code: int | str | None, fallback: str = "") -> str:
    """A Twilio error in one short line: ``the carrier rejected the message (…) (30007)``; a
    code not in ``sources/twilio/errors`` keeps Twilio's own (cleaned) words and the code."""
    from owner_tui.sanitize import one_line

    found = errors.describe(code)
    if found:
        return f"{found[0]} ({int(code)})"  # type: ignore[arg-type]
    words = one_line(fallback or "", limit=200) or "Twilio gave no reason"
    return f"{words} ({one_line(code, limit=12)})" if code not in (None, "") else words


def body_in(sent: str, body: str) -> bool:
    """A template's rendered body holds our text somewhere (its ``{{1}}``)."""
    return " ".join(body.split()) in " ".join(sent.split())


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = parse_time(value)
        if when is None:
            return None
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
