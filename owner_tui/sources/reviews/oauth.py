"""OAuth 2.0 for Google Business Profile: refresh tokens, and the installed-app consent flow.

The refresh token is the only long-lived secret; it lives wherever the owner keeps secrets
(command, environment, keyring), never in the config file or the database. Access tokens are
kept across runs (``tokens.TokenStore``: the keyring, or an owner-only file), so neither the
TUI nor a cron ``owner-tui sync`` hits the token endpoint more than the token's lifetime asks.
A 429 from a token endpoint is waited out (``grant_with_cooloff``): inline when the wait is
short, otherwise remembered so later runs do not ask again before it is over.

Consent (RFC 8252, native apps): open the browser at the consent page with
``access_type=offline`` and ``prompt=consent`` (without them Google returns a refresh token
only on the very first consent), PKCE S256 (RFC 7636) and a random ``state``; receive the
code on a loopback redirect at ``http://127.0.0.1:<random port>/``; exchange it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets as _secrets
import threading
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from owner_tui.sources.reviews.http import Http, NeedsReauth, SourceError
from owner_tui.sources.reviews.tokens import TokenStore, forget_process_memory

GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"
#: Renew this many seconds before the stated expiry, so a call never leaves with a dying token.
EXPIRY_MARGIN = 60.0


@dataclass
class TokenSet:
    access_token: str
    expires_at: float  # on the monotonic clock of the process that got it
    refresh_token: str | None = None
    scope: str = ""


#: access tokens by hash(token_url, client_id, refresh_token); memory only, never written out.
_CACHE: dict[str, TokenSet] = {}
_CACHE_LOCK = threading.Lock()


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def clear_token_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
    forget_process_memory()


#: Wait this long after a token endpoint's 429 that gave no Retry-After (Trustpilot documents
#: the 429 but not how long it lasts: UNCONFIRMED; a quarter of an hour is a guess that errs long).
AUTH_COOLOFF = 900.0


def _hhmm(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def grant_with_cooloff(http: Http, store: TokenStore, key: str, platform: str,
                       grant: Callable[[], "TokenSet"]) -> "TokenSet":
    """Run a token grant, waiting out a 429 instead of retrying at once.

    A short Retry-After (up to ``http.max_wait``) is slept through once, inline. A longer one,
    or a 429 without Retry-After, is remembered as ``not_before`` in the token store: until
    then no run asks the endpoint again, and the sync says when it will.
    """
    now = http.wallclock().timestamp()
    entry = store.get(key) or {}
    not_before = entry.get("not_before")
    if isinstance(not_before, (int, float)) and not_before > now:
        raise SourceError(f"{platform} asked owner-tui to sign in less often; it waits until {_hhmm(not_before)} "
                          "before asking for a new token (nothing to change on your side).", True, status=429,
                          kind="rate")
    for attempt in (0, 1):
        try:
            tokens = grant()
        except SourceError as exc:
            if exc.status != 429:
                raise
            wait = exc.retry_after
            if attempt == 0 and wait is not None and wait <= http.max_wait:
                http.sleep(wait)
                continue
            until = http.wallclock().timestamp() + (wait if wait is not None else AUTH_COOLOFF)
            store.update(key, not_before=until)
            raise SourceError(f"{platform} refused a new sign-in because owner-tui signed in too often (HTTP 429); "
                              f"it waits until {_hhmm(until)} before trying again (nothing to change on your "
                              "side).", True, status=429, kind="rate") from None
        if entry.get("not_before") is not None:
            store.update(key, not_before=None)
        return tokens
    raise AssertionError("unreachable")


def save_tokens(store: TokenStore, key: str, tokens: "TokenSet", http: Http) -> None:
    """Persist a token set with its expiry on the wall clock (the monotonic one dies with the process)."""
    left = tokens.expires_at - http.clock()
    store.put(key, {"access_token": tokens.access_token, "expires_at": http.wallclock().timestamp() + left,
                    "refresh_token": tokens.refresh_token, "scope": tokens.scope})


def load_tokens(store: TokenStore, key: str, http: Http) -> "TokenSet | None":
    """A stored token set, its expiry moved onto this process's monotonic clock; None if none."""
    entry = store.get(key)
    if not entry or not isinstance(entry.get("access_token"), str) or not entry["access_token"]:
        return None
    expires = entry.get("expires_at")
    if not isinstance(expires, (int, float)):
        return None
    left = expires - http.wallclock().timestamp()
    refresh = entry.get("refresh_token") if isinstance(entry.get("refresh_token"), str) else None
    return TokenSet(entry["access_token"], http.clock() + left, refresh, str(entry.get("scope") or ""))


def expires_in(value: Any, default: float = 3600.0) -> float:
    """``expires_in`` is a number for Google and a *string* ("359999") for Trustpilot."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if seconds > 0 else default


def token_response(data: Any, platform: str, clock: Callable[[], float]) -> TokenSet:
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise SourceError(f"{platform}'s token endpoint answered without an access token.", True)
    refresh = data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None
    return TokenSet(data["access_token"], clock() + expires_in(data.get("expires_in")), refresh,
                    str(data.get("scope", "")))


class RefreshingToken:
    """A ``TokenSource`` that renews Google access tokens with the stored refresh token."""

    def __init__(self, http: Http, *, token_url: str, client_id: str, client_secret: str,
                 refresh_token: str, platform: str = "Google", store: TokenStore | None = None) -> None:
        self.http = http
        self.store = store or TokenStore()
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.platform = platform
        self.key = cache_key(token_url, client_id, refresh_token)
        http.hide(client_secret, refresh_token)

    def token(self) -> str:
        with _CACHE_LOCK:
            cached = _CACHE.get(self.key)
        if cached is None:
            cached = load_tokens(self.store, self.key, self.http)
        if cached and cached.expires_at - EXPIRY_MARGIN > self.http.clock():
            self.http.hide(cached.access_token)
            return cached.access_token
        return self.refresh()

    def refresh(self) -> str:
        return grant_with_cooloff(self.http, self.store, self.key, self.platform, self._refresh).access_token

    def _refresh(self) -> TokenSet:
        try:
            resp = self.http.request("POST", self.token_url, use_auth=False, idempotent=True, retry_429=False, data={
                "grant_type": "refresh_token", "refresh_token": self.refresh_token,
                "client_id": self.client_id, "client_secret": self.client_secret})
        except SourceError as exc:
            if exc.code == "invalid_grant":
                self.store.drop(self.key)
                raise NeedsReauth(f"{self.platform} no longer accepts the saved sign-in: the consent was revoked "
                                  "or has expired (unused for 6 months, a password change, or an app still in "
                                  "'Testing' whose tokens last 7 days). Sign in again with `owner-tui accounts "
                                  "add google`; see https://myaccount.google.com/permissions for the apps you "
                                  "allowed.", status=exc.status, code=exc.code) from None
            if exc.code in ("invalid_client", "unauthorized_client"):
                raise NeedsReauth(f"{self.platform} refused this app's client id or secret ({exc.code}); "
                                  "check client_id and the client_secret setting.",
                                  status=exc.status, code=exc.code) from None
            raise
        tokens = token_response(resp.data, self.platform, self.http.clock)
        # A refresh answer normally carries no new refresh token: keep the old one.
        tokens.refresh_token = tokens.refresh_token or self.refresh_token
        self.http.hide(tokens.access_token, tokens.refresh_token)
        with _CACHE_LOCK:
            _CACHE[self.key] = tokens
        # The refresh token itself stays where the owner keeps secrets: only the access token
        # and its expiry go to the token store.
        save_tokens(self.store, self.key, TokenSet(tokens.access_token, tokens.expires_at, None, tokens.scope),
                    self.http)
        return tokens


# -- installed-app consent flow ------------------------------------------------------------------

def make_pkce() -> tuple[str, str]:
    """(code_verifier, code_challenge) for PKCE S256: 43-128 unreserved chars, SHA-256, base64url."""
    verifier = _secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def consent_url(auth_url: str, *, client_id: str, redirect_uri: str, scope: str, state: str,
                code_challenge: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "access_type": "offline",  # ask for a refresh token...
        "prompt": "consent",  # ...and get one even if the owner consented before
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{auth_url}{'&' if '?' in auth_url else '?'}{urlencode(params)}"


_DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>owner-tui</title>"
              b"<p>Signed in. You can close this tab and go back to owner-tui.</p>")


class LoopbackReceiver:
    """A one-shot HTTP server on 127.0.0.1 (random port) that catches the OAuth redirect.

    Only 127.0.0.1 is bound: the code must not be reachable from the network. Requests that
    carry neither ``code`` nor ``error`` (a favicon fetch) are answered 404 and ignored.
    """

    def __init__(self) -> None:
        self.result: dict[str, str] | None = None
        self._event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if ("code" not in query and "error" not in query) or receiver._event.is_set():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.result = query
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(_DONE_PAGE)))
                self.end_headers()
                self.wfile.write(_DONE_PAGE)
                receiver._event.set()

            def log_message(self, *args: Any) -> None:  # the query holds the code: never log it
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="oauth-loopback", daemon=True)

    def __enter__(self) -> "LoopbackReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, timeout: float) -> dict[str, str] | None:
        return self.result if self._event.wait(timeout) else None


def run_consent_flow(http: Http, *, client_id: str, client_secret: str, scope: str = GBP_SCOPE,
                     auth_url: str = GOOGLE_AUTH_URL, token_url: str = GOOGLE_TOKEN_URL,
                     open_browser: Callable[[str], Any] = webbrowser.open, timeout: float = 300.0,
                     say: Callable[[str], None] = lambda _msg: None) -> TokenSet:
    """Sign the owner in and return tokens including the refresh token to save.

    ``open_browser`` gets the consent URL (tests pass an HTTP client that plays the browser);
    ``say`` shows the URL too, for a machine where no browser opens.
    """
    verifier, challenge = make_pkce()
    state = _secrets.token_urlsafe(24)
    http.hide(client_secret, verifier)
    with LoopbackReceiver() as receiver:
        url = consent_url(auth_url, client_id=client_id, redirect_uri=receiver.redirect_uri, scope=scope,
                          state=state, code_challenge=challenge)
        say(f"Open this page to sign in (waiting {timeout:.0f} s): {url}")
        open_browser(url)
        answer = receiver.wait(timeout)
    if answer is None:
        raise SourceError(f"No answer from the sign-in page within {timeout:.0f} s; nothing was changed.", True)
    if answer.get("state") != state:
        raise SourceError("The sign-in answer did not match this request (state mismatch); nothing was "
                          "changed. Try again.", False)
    if "error" in answer:
        raise SourceError(f"Sign-in was not completed: {answer['error']}.", False)
    resp = http.request("POST", token_url, use_auth=False, idempotent=False, data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": receiver.redirect_uri,
        "client_id": client_id, "client_secret": client_secret, "code_verifier": verifier})
    tokens = token_response(resp.data, "Google", http.clock)
    if not tokens.refresh_token:
        raise SourceError("Google signed you in but sent no refresh token, so owner-tui could not sync "
                          "unattended. Remove owner-tui's access in your Google account and try again.", False)
    http.hide(tokens.access_token, tokens.refresh_token)
    with _CACHE_LOCK:
        _CACHE[cache_key(token_url, client_id, tokens.refresh_token)] = tokens
    return tokens
