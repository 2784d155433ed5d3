"""One Twilio REST client (API 2010-04-01), shared by the sync, the account test and the sender.

Built on ``sources.reviews.http.Http`` (pacing, 429 with ``Retry-After``, 5xx back-off, a size
cap, secrets scrubbed from errors, no redirects): this adds HTTP Basic auth with the Account
SID and auth token or an API key SID and secret, paging by ``next_page_uri`` (Twilio's list
envelope), and Twilio's error body ``{"code", "message", "more_info", "status"}`` read into
plain words (``errors.ERRORS``). The secret is fetched once, when the client is made, and
lives only in this object.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from owner_tui.sources.reviews.common import Runtime, SecretsGetter, get_secret
from owner_tui.sources.reviews.http import Http, NeedsReauth, SourceError
from owner_tui.sources.twilio.errors import describe, words_for

PLATFORM = "Twilio"
DEFAULT_BASE = "https://api.twilio.com"
API = "/2010-04-01"
#: Twilio's documented default list page is 50, maximum 1000.
PAGE_SIZE = 100
#: A runaway ``next_page_uri`` loop (the same link again) ends here rather than never.
MAX_PAGES = 10_000
#: Twilio documents no request rate for REST reads; one owner's sync stays far below any.
QPM = 600.0


class BasicAuth:
    """``TokenSource`` for ``Http``: the Basic credentials; a 401 is not refreshable."""

    def __init__(self, user: str, secret: str) -> None:
        self._value = base64.b64encode(f"{user}:{secret}".encode()).decode()
        self.secret = secret

    def token(self) -> str:
        return self._value

    def refresh(self) -> str:
        raise wrong_credentials(401, 20003)


def wrong_credentials(status: int | None, code: Any) -> NeedsReauth:
    """Twilio refused the credentials: health shows "wrong credentials", never "retrying"."""
    err = NeedsReauth(f"Twilio: {words_for(20003)}", status=status, code=code)
    err.kind = "credentials"
    return err


def credentials(options: Mapping[str, Any], secrets_getter: SecretsGetter) -> tuple[str, str]:
    """``(user, secret)``: the API key SID and its secret when configured, else the Account SID
    and the auth token."""
    account_sid = str(options.get("account_sid") or "").strip()
    if not account_sid:
        raise SourceError("Twilio: account_sid is missing from this account's configuration", False, kind="config")
    key_sid = str(options.get("api_key_sid") or "").strip()
    try:
        if key_sid:
            return key_sid, get_secret(secrets_getter, "api_key_secret", PLATFORM)
        return account_sid, get_secret(secrets_getter, "auth_token", PLATFORM)
    except SourceError as exc:
        exc.kind = "secret"  # the secret's own source failed (a command, a variable): not Twilio
        raise


def _classify(status: int, code: Any, details: list, message: str) -> SourceError | None:
    """Twilio's own code first: the words say what happened and what to do. Temporary answers
    (429, 5xx) go back to ``Http``'s retry loop (None here)."""
    if status == 429 or status >= 500:
        return None
    found = describe(code)
    if status in (401, 403) and (found is None or code == 20003):
        return wrong_credentials(status, code or 20003)
    if found is None:
        return None
    words, todo, retryable = found
    kind = "credentials" if code == 20008 else "notfound" if code == 20404 else \
        "permission" if code in (20005, 21408) else "config" if code == 21606 else None
    err = SourceError(f"Twilio: {words} (Twilio error {code}): {todo}", retryable, status=status, code=code,
                      kind=kind)
    return err


class TwilioClient:
    """Reads (and, for the sender, writes) one Twilio account's resources."""

    def __init__(self, options: Mapping[str, Any], secrets_getter: SecretsGetter, *,
                 runtime: Runtime | None = None) -> None:
        self.options = options
        self.account_sid = str(options.get("account_sid") or "").strip()
        user, secret = credentials(options, secrets_getter)
        base = options.get("base_url", DEFAULT_BASE)
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise SourceError(f"Twilio: base_url must be an http(s) address, not {base!r}", False, kind="config")
        self.base = base.rstrip("/")
        runtime = runtime or Runtime()
        self.auth = BasicAuth(user, secret)
        self.http: Http = runtime.http(PLATFORM, options, auth=self.auth, qpm=QPM, auth_scheme="Basic")
        self.http.hide(secret, self.auth.token())
        self.http.classify = _classify
        size = options.get("page_size", PAGE_SIZE)
        self.page_size = size if isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 1000 \
            else PAGE_SIZE

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "TwilioClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------------------------

    def path(self, resource: str) -> str:
        """``Messages.json`` -> ``/2010-04-01/Accounts/AC.../Messages.json``."""
        return f"{API}/Accounts/{self.account_sid}/{resource}"

    def url(self, path_or_uri: str) -> str:
        """A path, or a ``*_uri`` from Twilio (relative to the API host), as a full URL on the
        configured base. An absolute URL on another host is refused: it would carry our
        credentials elsewhere."""
        if path_or_uri.startswith(("http://", "https://")):
            mine, theirs = urlsplit(self.base), urlsplit(path_or_uri)
            if (theirs.scheme, theirs.netloc) != (mine.scheme, mine.netloc):
                raise SourceError(f"Twilio sent a link to another host ({theirs.netloc}); not followed.", False)
            return path_or_uri
        return self.base + (path_or_uri if path_or_uri.startswith("/") else "/" + path_or_uri)

    def link(self, uri: str) -> str:
        """A resource's address for the owner to open (a media file, a recording): the
        resource ``uri`` without ``.json`` (UNCONFIRMED for media; see TWILIO.md)."""
        return self.url(uri.removesuffix(".json")) if uri else ""

    # -- requests ----------------------------------------------------------------------------

    def get(self, path_or_uri: str, params: Mapping[str, Any] | None = None) -> dict:
        try:
            data = self.http.get_json(self.url(path_or_uri), params=params)
        except SourceError as exc:
            raise _worded(exc) from None
        if not isinstance(data, dict):
            raise SourceError("Twilio sent something other than a JSON object; nothing was saved from it.", True)
        return data

    def post(self, resource: str, data: Mapping[str, Any] | list[tuple[str, str]]) -> dict:
        """A form-encoded POST (``Messages.json`` to send). Not retried once it may have reached
        Twilio: the outbox verifies an unknown outcome by listing the messages instead."""
        try:
            resp = self.http.request("POST", self.url(self.path(resource)), data=data, idempotent=False)
        except SourceError as exc:
            raise _worded(exc) from None
        if not isinstance(resp.data, dict):
            raise SourceError("Twilio answered the send with something other than a JSON object.", True)
        return resp.data

    def pages(self, resource: str, key: str, params: Mapping[str, Any] | None = None) -> Iterator[list[dict]]:
        """Each page's items of a list resource (``Calls.json``, or a ``/2010-04-01/...`` path
        from a ``subresource_uris``), following ``next_page_uri`` until it is null.

        The first request carries ``params`` and ``PageSize``; later ones are exactly the link
        Twilio gave (its ``PageToken`` is opaque). A repeated link ends the listing."""
        query = {"PageSize": self.page_size, **(params or {})}
        data = self.get(resource if resource.startswith("/") else self.path(resource), query)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            items = data.get(key)
            if not isinstance(items, list):
                raise SourceError(f"Twilio's {resource} list has no {key!r} list; nothing was saved from it.", True)
            yield [i for i in items if isinstance(i, dict)]
            nxt = data.get("next_page_uri")
            if not isinstance(nxt, str) or not nxt or nxt in seen:
                return
            seen.add(nxt)
            data = self.get(nxt)

    def account(self) -> dict:
        """``GET /Accounts/{Sid}.json``: the test call (credentials, the account's status)."""
        return self.get(f"{API}/Accounts/{self.account_sid}.json")


def _worded(exc: SourceError) -> SourceError:
    """A temporary failure after the retries, with Twilio's code in words when it gave one."""
    if exc.code is None or str(exc).startswith("Twilio: ") or describe(exc.code) is None:
        return exc
    words, todo, _ = describe(exc.code)  # type: ignore[misc]
    out = SourceError(f"Twilio: {words} (Twilio error {exc.code}): {todo}", exc.retryable, status=exc.status,
                      code=exc.code, folder=exc.folder, kind=exc.kind)
    out.retry_after = exc.retry_after
    return out


def as_int(value: Any, default: int = 0) -> int:
    """Twilio sends counts as strings ("2") in some fields and numbers in others."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
