"""HTTP plumbing shared by the review-platform clients and reply senders.

Why one helper: every platform needs the same care, and getting it wrong in one place leaks a
token or hammers an API. ``Http`` owns one ``httpx.Client`` (explicit timeouts, no redirects:
a redirect must never carry our bearer token to another host), paces requests to the
platform's documented quota, retries 429 and 5xx with exponential backoff honouring
``Retry-After``, refreshes the token once on 401, caps the response size and turns truncated or
garbage JSON into a plain ``SourceError``. ``sleep`` and the clocks are injectable so tests
never wait for real.

Error messages are shown to the owner: plain words, the platform's own explanation when it
gave one, and never a token, a header or a query string (Graph API paging links, for one,
carry ``access_token=`` in the URL).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, Mapping, Protocol
from urllib.parse import urlsplit

import httpx

#: connect/pool short, read/write generous: review pages are small but APIs can be slow.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
#: A page of 50 Google reviews with 4 KB comments is well under 1 MB; 8 MB means something is wrong.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
USER_AGENT = "owner-tui/0.1 (+https://github.com/owner-tui)"

_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})")
_QUERY_SECRET_RE = re.compile(r"(?i)(access_token|refresh_token|apikey|api_key|client_secret|code|password)=[^&\s\"']+")


class SourceError(Exception):
    """A platform call failed. ``str(err)`` is safe to show the owner (no secrets).

    ``retryable``: trying again later may help (timeout, 5xx, rate limit); ``False`` means the
    owner has to change something (credentials, permissions, configuration).
    ``status`` is the HTTP status if there was one; ``code`` the platform's error code
    (``"invalid_grant"``, ``"RESOURCE_EXHAUSTED"``, Graph API ``12``...); ``folder`` the feed
    (location, business unit) the error belongs to, for ``store.set_sync_error``.
    """

    def __init__(self, message: str, retryable: bool = False, *, status: int | None = None,
                 code: str | int | None = None, folder: str | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.code = code
        self.folder = folder
        #: For the account-health model: ``reauth``, ``permission``, ``rate``, ``server``...
        self.kind = kind or error_kind(status, code, retryable)
        #: Seconds the platform asked us to wait (``Retry-After``), when it said.
        self.retry_after: float | None = None
        #: The platform's structured error details (Google ``error.details``), for the clients
        #: that tell quota 0 or a disabled API apart from an ordinary refusal.
        self.details: list[Any] = []


class NeedsReauth(SourceError):
    """The saved sign-in is no longer accepted (revoked/expired refresh token, bad API key).

    Only the owner can fix it, by signing in again; retrying is pointless.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | int | None = None) -> None:
        super().__init__(message, False, status=status, code=code, kind="reauth")


#: The platforms' own error codes -> a kind. Google's canonical ``status`` names; Yelp's string
#: codes; Graph API's numeric codes (190 token, 10/200 permission, 4/17/32/613 rate, 1/2 service);
#: OAuth's ``invalid_grant``/``invalid_client``. Trustpilot's body shape is UNCONFIRMED, so it
#: falls back to the HTTP status.
PLATFORM_CODES: dict[str | int, str] = {
    "UNAUTHENTICATED": "reauth", "PERMISSION_DENIED": "permission", "RESOURCE_EXHAUSTED": "rate",
    "NOT_FOUND": "notfound", "INTERNAL": "server", "UNAVAILABLE": "server", "DEADLINE_EXCEEDED": "server",
    "FAILED_PRECONDITION": "permission", "INVALID_ARGUMENT": "config",
    "TOKEN_INVALID": "reauth", "TOKEN_MISSING": "reauth", "UNAUTHORIZED_ACCESS_TOKEN": "reauth",
    "ACCESS_LIMIT_REACHED": "rate", "TOO_MANY_REQUESTS_PER_SECOND": "rate", "BUSINESS_UNAVAILABLE": "notfound",
    "BUSINESS_NOT_FOUND": "notfound", "INTERNAL_ERROR": "server", "VALIDATION_ERROR": "config",
    190: "reauth", 102: "reauth", 10: "permission", 200: "permission", 4: "rate", 17: "rate", 32: "rate",
    613: "rate", 1: "server", 2: "server",
    "invalid_grant": "reauth", "invalid_client": "reauth", "unauthorized_client": "reauth",
}
#: What each kind means for the owner, added to a refusal's message.
KIND_WORDS = {
    "permission": "this login has no permission for that business or location",
    "notfound": "the business or location was not found: check its id in config.toml",
    "config": "the platform rejected a setting of this account: check config.toml",
    "reauth": "the saved sign-in is no longer accepted: sign in again",
}


def error_kind(status: int | None, code: str | int | None, retryable: bool) -> str:
    """A platform failure's kind, from its own code first, else the HTTP status."""
    if code is not None and code in PLATFORM_CODES:
        return PLATFORM_CODES[code]
    if status == 401:
        return "reauth"
    if status == 403:
        return "permission"
    if status == 404:
        return "notfound"
    if status == 429:
        return "rate"
    if status is not None and status >= 500:
        return "server"
    if status is None and retryable:
        return "unreachable"
    return "protocol"


class TokenSource(Protocol):
    """Gives the current access token; ``refresh`` gets a new one (called once on a 401)."""

    def token(self) -> str: ...

    def refresh(self) -> str: ...


class StaticToken:
    """A key that cannot be refreshed (Yelp API key, a Facebook Page token)."""

    def __init__(self, value: str, platform: str, what: str = "API key") -> None:
        self._value = value
        self.platform = platform
        self.what = what

    def token(self) -> str:
        return self._value

    def refresh(self) -> str:
        raise NeedsReauth(f"{self.platform} refused the saved {self.what}; check it and save it again.", status=401)


@dataclass
class Pacer:
    """Spaces requests at least ``interval`` seconds apart (300 QPM -> 0.2 s).

    Smoothing beats bursting: quotas are per minute, and a burst of 300 followed by a minute's
    silence trips the limiter on the next sync.
    """

    interval: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = None

    def wait(self) -> None:
        if self.interval <= 0:
            return
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            self.sleep(self.interval - (now - self._last))
        self._last = self.clock()


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` is either delay-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def platform_error(data: Any) -> tuple[str | None, str | int | None]:
    """Pull (message, code) out of the error bodies these platforms send.

    Google ``{"error": {"code", "message", "status"}}``; OAuth ``{"error": "invalid_grant",
    "error_description"}``; Yelp ``{"error": {"code", "description"}}`` (its partner APIs:
    ``{"error": {"id", "description", "http_code"}}``); Graph API
    ``{"error": {"message", "code"}}``; Trustpilot's shape is UNCONFIRMED, so ``message`` /
    ``error`` / ``details`` / ``errors`` are all read defensively.
    """
    if not isinstance(data, dict):
        return None, None
    err = data.get("error")
    if isinstance(err, dict):
        msg = err.get("message") or err.get("description") or err.get("error_user_msg")
        code = err.get("status") if isinstance(err.get("status"), str) else None
        if code is None:
            code = err.get("code")  # Yelp's string code, Graph API's number
        if code is None and isinstance(err.get("id"), str):
            code = err["id"]  # Yelp's partner APIs: {"error": {"id", "description", "http_code"}}
        return (str(msg) if msg else None), code
    if isinstance(err, str):
        desc = data.get("error_description")
        return (f"{err}: {desc}" if desc else err), err
    for key in ("message", "details", "errorMessage"):
        if isinstance(data.get(key), str) and data[key]:
            return data[key], data.get("code") or data.get("errorCode")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return str(first.get("message") or first.get("description") or first), first.get("code")
        return str(first), None
    return None, None


def clean_text(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """Make platform text safe for an error message: no secrets, no control chars, short."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[hidden]")
    text = _BEARER_RE.sub(_hide_credential, text)
    text = _QUERY_SECRET_RE.sub(r"\1=[hidden]", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hide_credential(m: re.Match) -> str:
    # A token has a digit or mixed case; "Basic authentication required" has neither.
    word = m.group(2)
    looks_secret = any(c.isdigit() for c in word) or (word != word.lower() and word != word.upper())
    return f"{m.group(1)} [hidden]" if looks_secret else m.group(0)


def where(url: str) -> str:
    """Host and path of a URL for messages: the query string may carry a secret."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


@dataclass
class Response:
    status: int
    data: Any  # parsed JSON, or None for an empty body
    headers: Mapping[str, str] = field(default_factory=dict)


class Http:
    """One platform's HTTP client: pacing, retries, one refresh on 401, size cap, typed errors."""

    def __init__(self, platform: str, *, auth: TokenSource | None = None, auth_scheme: str = "Bearer",
                 qpm: float = 300.0, max_attempts: int = 5, backoff: float = 1.0, max_backoff: float = 60.0,
                 max_wait: float = 300.0, max_bytes: int = DEFAULT_MAX_BYTES,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None, wallclock: Callable[[], datetime] | None = None,
                 fatal_codes: Iterable[str | int] = (), headers: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.platform = platform
        self.auth = auth
        self.auth_scheme = auth_scheme
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        #: Longest Retry-After we will sleep through inline; longer means "come back later".
        self.max_wait = max_wait
        self.max_bytes = max_bytes
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.wallclock = wallclock or (lambda: datetime.now(UTC))
        #: Platform error codes never retried inline (e.g. Yelp's daily ACCESS_LIMIT_REACHED).
        self.fatal_codes = set(fatal_codes)
        #: A platform's own reading of an error answer: ``(status, code, details, message)`` ->
        #: a ``SourceError`` to raise at once (quota 0, API not enabled...), or None.
        self.classify: Callable[[int, Any, list, str], SourceError | None] | None = None
        self.pacer = Pacer(60.0 / qpm if qpm > 0 else 0.0, self.clock, self.sleep)
        self._secrets: set[str] = set()
        self.requests = 0  # how many went on the wire: for tests and `doctor`
        self.client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                                   headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                                            **(headers or {})})

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Http":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hide(self, *values: str | None) -> None:
        """Remember secret values so they are scrubbed from any error text."""
        self._secrets.update(v for v in values if v)

    def _clean(self, text: str) -> str:
        return clean_text(text, self._secrets)

    # -- requests ----------------------------------------------------------------------------

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", url, params=params).data

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, data: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, use_auth: bool = True,
                idempotent: bool | None = None, attempts: int | None = None,
                retry_429: bool = True) -> Response:
        """Send one request, with retries; return the parsed response or raise ``SourceError``.

        ``retry_429=False`` hands a 429 straight back (with ``retry_after``) to a caller that
        waits it out itself (the token endpoints: ``oauth.grant_with_cooloff``).
        ``idempotent`` defaults to true for GET/PUT/DELETE. A non-idempotent request (a POST
        that creates a reply) is retried only when the platform certainly did not act on it
        (429, or the connection never opened); otherwise the error is ``retryable`` and the
        outbox's verify step decides, so a reply is never posted twice.
        """
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        try:
            return self._request(method, url, params, json_body, data, headers, use_auth, idempotent,
                                 attempts or self.max_attempts, retry_429)
        except SourceError as exc:
            if exc.status is not None and not exc.details:
                exc.details = getattr(self, "_last_details", [])
            raise

    def _request(self, method: str, url: str, params: Any, json_body: Any, data: Any,
                 headers: Mapping[str, str] | None, use_auth: bool, idempotent: bool,
                 max_attempts: int, retry_429: bool = True) -> Response:
        self._last_details: list[Any] = []
        attempt = 0
        refreshed = False
        while True:
            hdrs = dict(headers or {})
            if use_auth and self.auth is not None:
                token = self.auth.token()
                self.hide(token)
                hdrs["Authorization"] = f"{self.auth_scheme} {token}"
            self.pacer.wait()
            self.requests += 1
            try:
                status, resp_headers, body = self._send(method, url, params, json_body, data, hdrs)
            except httpx.TimeoutException as exc:
                # A read timeout on a POST may mean the platform did act: do not resend.
                not_sent = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                if (idempotent or not_sent) and attempt + 1 < max_attempts:
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise SourceError(f"{self.platform} did not answer in time ({where(url)}); try again later.",
                                  True) from None
            except httpx.TransportError as exc:
                not_sent = isinstance(exc, httpx.ConnectError)
                if (idempotent or not_sent) and attempt + 1 < max_attempts:
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                kind = "could not connect to" if not_sent else "lost the connection to"
                raise SourceError(f"{self.platform}: {kind} {urlsplit(url).netloc} "
                                  f"({type(exc).__name__}); try again later.", True) from None

            if 200 <= status < 300:
                return Response(status, self._parse(body, url), resp_headers)

            parsed = _try_json(body)
            pmsg, pcode = platform_error(parsed)
            err = parsed.get("error") if isinstance(parsed, dict) else None
            self._last_details = [d for d in err.get("details", []) if isinstance(d, dict)] \
                if isinstance(err, dict) and isinstance(err.get("details"), list) else []
            if self.classify is not None:
                special = self.classify(status, pcode, self._last_details, pmsg or "")
                if special is not None:
                    special.details = self._last_details
                    raise special
            detail = f": {self._clean(pmsg)}" if pmsg else ""
            if status == 401 and use_auth and self.auth is not None and not refreshed:
                refreshed = True
                self.hide(self.auth.refresh())
                continue
            if status == 401:
                again = " even after a fresh sign-in" if refreshed else ""
                raise NeedsReauth(f"{self.platform} refused the credentials{again} (HTTP 401){detail}",
                                  status=401, code=pcode)
            retryable = status == 429 or status >= 500
            if pcode is not None and pcode in self.fatal_codes:
                raise SourceError(f"{self.platform} refused the request (HTTP {status}){detail}", retryable,
                                  status=status, code=pcode)
            if retryable and (idempotent or status == 429):  # a 429 was certainly not acted on
                wait = parse_retry_after(resp_headers.get("retry-after"), self.wallclock())
                if wait is not None and wait > self.max_wait:
                    exc = SourceError(f"{self.platform} asks us to wait {_human(wait)} before trying again "
                                      f"(HTTP {status}){detail}", True, status=status, code=pcode)
                    exc.retry_after = wait
                    raise exc
                if attempt + 1 < max_attempts and (retry_429 or status != 429):
                    self.sleep(wait if wait is not None else self._backoff(attempt))
                    attempt += 1
                    continue
                what = "is limiting how fast we may call it" if status == 429 else "is having trouble"
                exc = SourceError(f"{self.platform} {what} (HTTP {status}, gave up after {attempt + 1} tries)"
                                  f"{detail}; try again later.", True, status=status, code=pcode)
                exc.retry_after = wait
                raise exc
            if retryable:
                raise SourceError(f"{self.platform} had a problem (HTTP {status}){detail}; it may or may not "
                                  "have acted on the request.", True, status=status, code=pcode)
            if 300 <= status < 400:
                raise SourceError(f"{self.platform} answered with a redirect (HTTP {status}) for {where(url)}; "
                                  "check the configured base URL.", False, status=status)
            kind = error_kind(status, pcode, False)
            words = f"; {KIND_WORDS[kind]}" if kind in KIND_WORDS else ""
            raise SourceError(f"{self.platform} refused the request (HTTP {status}){detail or ' at ' + where(url)}"
                              f"{words}", False, status=status, code=pcode, kind=kind)

    def _backoff(self, attempt: int) -> float:
        # Deterministic exponential backoff; one owner's app needs no jitter against a herd.
        return min(self.max_backoff, self.backoff * (2 ** attempt))

    def _send(self, method: str, url: str, params: Any, json_body: Any, data: Any,
              headers: dict[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        with self.client.stream(method, url, params=params, json=json_body, data=data, headers=headers) as resp:
            length = resp.headers.get("content-length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                raise SourceError(f"{self.platform} sent a response of {int(length)} bytes, more than the "
                                  f"{self.max_bytes}-byte limit ({where(url)}).", False, status=resp.status_code)
            buf = bytearray()
            for chunk in resp.iter_bytes():
                buf += chunk
                if len(buf) > self.max_bytes:
                    raise SourceError(f"{self.platform} sent more than the {self.max_bytes}-byte limit "
                                      f"({where(url)}); stopped reading.", False, status=resp.status_code)
            return resp.status_code, resp.headers, bytes(buf)

    def _parse(self, body: bytes, url: str) -> Any:
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise SourceError(f"{self.platform} sent a reply that is not valid JSON ({len(body)} bytes from "
                              f"{where(url)}); it may have been cut off. Nothing was saved from it; "
                              "try again later.", True) from None


def _try_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
