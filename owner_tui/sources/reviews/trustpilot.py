"""Trustpilot private service reviews -> records (external-apis.md section 2).

Auth is the password grant with ``Authorization: Basic base64(key:secret)``; ``expires_in``
arrives as a string. Access tokens last 100 hours and Trustpilot answers 429 to over-eager
authentication, so tokens (access and refresh) are kept across runs in the token store
(``tokens.py``: keyring or an owner-only file) and renewed only when expired or refused; a 429
from the token endpoint is waited out (``oauth.grant_with_cooloff``). The refresh path
(``.../refresh``) is UNCONFIRMED: when it fails for any reason but a network error or a 429,
the password grant is run again, which the docs give as the fallback.

Paging is by ``page`` (1-based); the envelope's ``links`` (``rel: "next-page"``) shape is
partly UNCONFIRMED, so the loop continues while there is a next-page link *or* a full page,
and an empty page always ends it. Absolute ``href``s are never followed: the token must only
go to the configured base URL.

Incremental: newest ``createdAt`` first, stop at the saved high water minus
``lookback_days`` (default 30); ``updatedat`` ordering is UNCONFIRMED for this endpoint. A
reply or an edit on an older review, and a deleted review, are caught by the periodic full
pass (``sources/reviews/sync.py``, at most daily), which reads every page and reconciles.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from owner_tui.records import Cursor, MessageRecord
from owner_tui.sources.reviews.common import (
    PullReport,
    Runtime,
    SecretsGetter,
    as_dict,
    base_url,
    edited_after_reply,
    get_secret,
    iso,
    newer,
    opt_int,
    opt_str,
    parse_time,
    reply_external_id,
    stop_before,
    stored_high_water,
    text_field,
)
from owner_tui.sources.reviews.http import Http, NeedsReauth, SourceError
from owner_tui.sources.reviews.oauth import (
    EXPIRY_MARGIN,
    TokenSet,
    cache_key,
    grant_with_cooloff,
    load_tokens,
    save_tokens,
    token_response,
)
from owner_tui.sources.reviews.tokens import TokenStore, forget_process_memory

PLATFORM = "Trustpilot"
API_URL = "https://api.trustpilot.com"
TOKEN_PATH = "/v1/oauth/oauth-business-users-for-applications/accesstoken"
REFRESH_PATH = "/v1/oauth/oauth-business-users-for-applications/refresh"  # UNCONFIRMED
REVIEW_PAGE_URL = "https://www.trustpilot.com/reviews/{id}"
MAX_PAGES = 1000

_CACHE: dict[str, TokenSet] = {}
_LOCK = threading.Lock()


class TrustpilotToken:
    """``TokenSource`` for the business-user token: cached, refreshed, password grant as fallback."""

    def __init__(self, http: Http, *, token_url: str, refresh_url: str, api_key: str, api_secret: str,
                 username: str, password: str, store: TokenStore | None = None) -> None:
        self.http = http
        self.store = store or TokenStore()
        self.token_url = token_url
        self.refresh_url = refresh_url
        self.username = username
        self.password = password
        self.basic = "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode("ascii")
        self.key = cache_key(token_url, api_key, username)
        http.hide(api_key, api_secret, password, self.basic.split()[1])

    def _cached(self) -> TokenSet | None:
        with _LOCK:
            cached = _CACHE.get(self.key)
        if cached is None:
            cached = load_tokens(self.store, self.key, self.http)
            if cached is not None:
                self.http.hide(cached.access_token, cached.refresh_token)
                with _LOCK:
                    _CACHE[self.key] = cached
        return cached

    def token(self) -> str:
        cached = self._cached()
        if cached and cached.expires_at - EXPIRY_MARGIN > self.http.clock():
            self.http.hide(cached.access_token)
            return cached.access_token
        return self.refresh()

    def refresh(self) -> str:
        tokens = grant_with_cooloff(self.http, self.store, self.key, PLATFORM, self._renew)
        with _LOCK:
            _CACHE[self.key] = tokens
        save_tokens(self.store, self.key, tokens, self.http)
        return tokens.access_token

    def _renew(self) -> TokenSet:
        cached = self._cached()
        if cached and cached.refresh_token:
            try:
                return self._grant(self.refresh_url, {"grant_type": "refresh_token",
                                                      "refresh_token": cached.refresh_token})
            except SourceError as exc:
                if exc.status is None or exc.status == 429:  # the network, or too often: not the path
                    raise
                # refresh path missing or token refused: fall back to the password grant
        return self._grant(self.token_url, {"grant_type": "password", "username": self.username,
                                            "password": self.password})

    def _grant(self, url: str, form: dict[str, str]) -> TokenSet:
        try:
            resp = self.http.request("POST", url, data=form, use_auth=False, idempotent=True, retry_429=False,
                                     headers={"Authorization": self.basic})
        except SourceError as exc:
            if form["grant_type"] == "password" and exc.status in (400, 401, 403):
                raise NeedsReauth(f"Trustpilot refused the business login (API key/secret or username/password): "
                                  f"{exc}. Check them in Trustpilot Business (Integrations > API; "
                                  "https://developers.trustpilot.com/authentication) and where owner-tui reads "
                                  "them.", status=exc.status, code=exc.code) from None
            raise
        tokens = token_response(resp.data, PLATFORM, self.http.clock)
        self.http.hide(tokens.access_token, tokens.refresh_token)
        return tokens


def clear_token_cache() -> None:
    with _LOCK:
        _CACHE.clear()
    forget_process_memory()


def connect(options: Mapping[str, Any], secrets_getter: SecretsGetter, runtime: Runtime | None = None) -> Http:
    """An ``Http`` for Trustpilot: 833 calls per 5 minutes is about 166 a minute; keep under it."""
    rt = runtime or Runtime()
    http = rt.http(PLATFORM, options, qpm=150)
    api = api_base(options)
    http.auth = TrustpilotToken(
        http, token_url=base_url(options, "token_url", api + TOKEN_PATH),
        refresh_url=base_url(options, "refresh_url", api + REFRESH_PATH),
        api_key=get_secret(secrets_getter, "api_key", PLATFORM),
        api_secret=get_secret(secrets_getter, "api_secret", PLATFORM),
        username=opt_str(options, "username", PLATFORM),
        password=get_secret(secrets_getter, "password", PLATFORM))
    return http


def api_base(options: Mapping[str, Any]) -> str:
    return base_url(options, "base_url", API_URL)


def reply_id(review: Mapping[str, Any], rid: str) -> str:
    """The reply's external id for this review as it stands (see ``reply_external_id``)."""
    reply = as_dict(review.get("companyReply"))
    return reply_external_id(rid, parse_time(review.get("createdAt")), parse_time(review.get("updatedAt")),
                             newer(parse_time(reply.get("createdAt")), parse_time(reply.get("updatedAt"))))


def review_records(review: Any, folder: str, report: PullReport) -> list[MessageRecord]:
    """One review -> inbound record, ``companyReply`` as outbound, an edit record if edited after it."""
    if not isinstance(review, dict):
        report.skip("Trustpilot sent a review that is not an object; skipped")
        return []
    rid = review.get("id")
    if not isinstance(rid, str) or not rid:
        report.skip("a Trustpilot review without an id was skipped")
        return []
    problems: list[str] = []
    consumer = as_dict(review.get("consumer"))
    name = text_field(consumer, "displayName", problems, "consumer")
    handle = consumer.get("id") if isinstance(consumer.get("id"), str) else name
    stars = review.get("stars")
    rating = stars if isinstance(stars, int) and not isinstance(stars, bool) and 1 <= stars <= 5 else None
    if rating is None and stars is not None:
        problems.append(f"stars is not 1-5: {str(stars)[:20]!r}")
    created, updated = parse_time(review.get("createdAt")), parse_time(review.get("updatedAt"))
    if created is None:
        problems.append(f"createdAt missing or malformed: {str(review.get('createdAt'))[:40]!r}")
    when = created or updated
    if when is None:
        report.skip(f"Trustpilot review {rid} has no usable time; skipped")
        return []
    url = review.get("url") if isinstance(review.get("url"), str) else REVIEW_PAGE_URL.format(id=rid)
    extra: dict[str, Any] = {"business_unit": folder, "updated_at": review.get("updatedAt")}
    # The private API documents ``referenceEmail`` (top level); ``consumer.email`` is what
    # some clients read (UNCONFIRMED), kept only as a fallback.
    email = review.get("referenceEmail") if isinstance(review.get("referenceEmail"), str) else None
    if email is None and isinstance(consumer.get("email"), str):
        email = consumer["email"]
    if email and "@" in email:
        extra["consumer_email"] = email.strip()[:320]
    if isinstance(review.get("referenceId"), str):
        extra["reference_id"] = review["referenceId"]
    common = dict(channel="trustpilot", thread_key=rid, folder=folder, url=url)
    inbound = MessageRecord(external_id=rid, direction="in", sent_at=iso(when), sender_handle=handle,
                            sender_name=name or "Trustpilot user", subject=text_field(review, "title", problems, "review"),
                            text=text_field(review, "text", problems, "review"), rating=rating,
                            problems=tuple(problems), extra=extra, **common)
    records = [inbound]
    reply = review.get("companyReply")
    if isinstance(reply, dict) and isinstance(reply.get("text"), str) and reply["text"]:
        # An edited reply may carry updatedAt (UNCONFIRMED); the later of the two is when it stood.
        replied = newer(parse_time(reply.get("createdAt")), parse_time(reply.get("updatedAt")))
        records.append(MessageRecord(
            external_id=reply_id(review, rid), direction="out",
            sent_at=iso(replied or when), text=reply["text"],
            problems=() if replied else ("companyReply.createdAt missing or malformed",), **common))
        if edited_after_reply(updated, replied):
            records.append(MessageRecord(
                external_id=f"{rid}:edit:{review.get('updatedAt')}", direction="in", sent_at=iso(updated),
                sender_handle=handle, sender_name=inbound.sender_name, subject=inbound.subject, text=inbound.text,
                rating=rating, extra={**extra, "edit_of": rid}, **common))
    elif reply is not None and not isinstance(reply, dict):
        report.problems.append(f"Trustpilot review {rid}: companyReply is not an object; ignored")
    return records


def _has_next_link(links: Any) -> bool:
    return isinstance(links, list) and any(isinstance(l, dict) and l.get("rel") == "next-page" for l in links)


def pull(options: Mapping[str, Any], secrets_getter: SecretsGetter, cursor_by_folder: Mapping[str, Any],
         *, report: PullReport | None = None, runtime: Runtime | None = None
         ) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    """Yield (records, cursor) per page of the business unit's private reviews."""
    report = report if report is not None else PullReport()
    unit = opt_str(options, "business_unit_id", PLATFORM)
    folder = f"business-units/{unit}"
    per_page = opt_int(options, "per_page", 100, 1, 100)
    previous = stored_high_water(cursor_by_folder, folder)
    stop_at = stop_before(previous, options, default_days=30)
    newest: datetime | None = previous
    with connect(options, secrets_getter, runtime) as http:
        url = f"{api_base(options)}/v1/private/business-units/{unit}/reviews"
        try:
            for page in range(1, MAX_PAGES + 1):
                data = http.get_json(url, {"page": page, "perPage": per_page, "orderBy": "createdat.desc"})
                if not isinstance(data, dict):
                    raise SourceError("Trustpilot sent an unexpected reply for the reviews (not a JSON object)", True)
                reviews = data.get("reviews") if isinstance(data.get("reviews"), list) else []
                records: list[MessageRecord] = []
                reached_old = False
                seen = report.seen.setdefault(folder, set())
                for review in reviews:
                    if isinstance(as_dict(review).get("id"), str):
                        seen.add(review["id"])
                        reply = as_dict(review.get("companyReply"))
                        report.replied[review["id"]] = isinstance(reply.get("text"), str) and bool(reply["text"])
                    created = parse_time(as_dict(review).get("createdAt"))
                    if stop_at is not None and created is not None and created < stop_at:
                        reached_old = True
                        break
                    records.extend(review_records(review, folder, report))
                    newest = newer(newest, created)
                more = _has_next_link(data.get("links")) or len(reviews) >= per_page
                done = reached_old or not reviews or not more
                if done and not reached_old and stop_at is None:
                    report.complete.add(folder)
                high = newest if done else previous
                yield records, Cursor(folder=folder, high_water=iso(high) if high else None)
                if done:
                    return
        except SourceError as exc:
            exc.folder = exc.folder or folder
            raise
