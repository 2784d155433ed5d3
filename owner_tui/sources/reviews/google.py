"""Google Business Profile reviews -> records (external-apis.md section 1).

Accounts come from the Account Management API v1, locations from Business Information v1
(``readMask`` is required there), reviews from My Business v4 -- three hosts, each
configurable (``accounts_url``, ``locations_url``, ``base_url``; ``token_url``) so tests run
against a local server.

One conversation per review (``thread_key`` = reviewId). The review is inbound at its
createTime; ``reviewReply`` becomes an outbound record ``<reviewId>:reply`` at the reply's
updateTime. A review edited after the owner replied gets an extra inbound record
``<reviewId>:edit:<updateTime>`` so it awaits a reply again.

Incremental: reviews come newest ``updateTime`` first (the only time order the API offers),
so paging stops once a review is older than the saved high water minus ``lookback_days``.
The new high water is saved only with the last batch of a location: if the pass is cut off
midway, the next one starts again from the old mark rather than skipping what was missed.
"""

from __future__ import annotations

import re
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
from owner_tui.sources.reviews.http import Http, NeedsReauth, SourceError, clean_text
from owner_tui.sources.reviews.oauth import GOOGLE_TOKEN_URL, RefreshingToken

PLATFORM = "Google"
REVIEWS_URL = "https://mybusiness.googleapis.com"
ACCOUNTS_URL = "https://mybusinessaccountmanagement.googleapis.com"
LOCATIONS_URL = "https://mybusinessbusinessinformation.googleapis.com"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
#: The reviews list takes at most 50 per page today (older clients said 200).
MAX_PAGE = 50
MAX_PAGES = 2000  # a loop guard: 100,000 reviews per location
_PARENT_RE = re.compile(r"^accounts/[^/]+/locations/[^/]+$")
_REJECTED_RE = re.compile(r"REJECT|VIOLAT|FAIL|BLOCK", re.I)


#: Where the owner fixes each state Google reports (the documented pages).
ACCESS_FORM_URL = "https://developers.google.com/my-business/content/prereqs#request-access"
ENABLE_API_URL = "https://developers.google.com/my-business/content/basic-setup#enable-api"
VERIFY_URL = "https://support.google.com/business/answer/7107242"
_CONSOLE = ("https://console.developers.google.com/", "https://console.cloud.google.com/")

QUOTA_HINT = (" If this happens on every sync, the Cloud project may not be approved yet (quota 0): see "
              f"{ACCESS_FORM_URL}.")
QUOTA_ZERO = ("Google has not approved this Cloud project for the Business Profile APIs yet: its quota is 0, "
              "so every call is refused (HTTP 429). Nothing to retry: file Google's 'Application for Basic "
              f"API Access' form ({ACCESS_FORM_URL}) and sync again once it is approved.")


def _error_info(details: list) -> tuple[set[str], dict[str, str]]:
    """Reasons and metadata of ``google.rpc.ErrorInfo`` details (which ones GBP sends is UNCONFIRMED)."""
    reasons: set[str] = set()
    meta: dict[str, str] = {}
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            if isinstance(d.get("reason"), str):
                reasons.add(d["reason"])
            if isinstance(d.get("metadata"), dict):
                meta.update({str(k): str(v) for k, v in d["metadata"].items()})
    return reasons, meta


def classify_error(status: int, code: Any, details: list, message: str) -> SourceError | None:
    """Google answers that need the owner, not a retry: each with what to do and the link.

    Quota 0 (a project not yet approved) is a 429 like any rate limit; it is told apart by
    ErrorInfo ``quota_limit_value: "0"`` or a message saying the limit is 0 (the GBP shape is
    UNCONFIRMED: a 429 without it is retried, and the give-up message names quota 0 as the
    likely cause). A disabled API is a 403 with reason ``SERVICE_DISABLED`` or Google's
    standard "has not been used in project ... or it is disabled" text. An unverified location
    is reported as ``FAILED_PRECONDITION`` or words about verification (UNCONFIRMED).
    """
    reasons, meta = _error_info(details)
    lower = message.lower()
    said = f" (Google said: {clean_text(message, limit=200)})" if message else ""
    if status == 429 and (meta.get("quota_limit_value") == "0" or "limit of 0" in lower
                          or "quota_limit_value: 0" in lower):
        return SourceError(QUOTA_ZERO, False, status=status, code=code, kind="quota0")
    if status == 403 and ("SERVICE_DISABLED" in reasons or "accessNotConfigured" in reasons
                          or "has not been used in project" in lower or "it is disabled" in lower):
        service = meta.get("service") or meta.get("serviceTitle") or "a Business Profile API"
        link = meta.get("activationUrl", "")
        link = link if link.startswith(_CONSOLE) else ENABLE_API_URL
        return SourceError(clean_text(f"{service} is not enabled in your Google Cloud project. Enable it at {link} "
                                      "(and the other Business Profile APIs: see "
                                      f"{ENABLE_API_URL}), wait a few minutes, then sync again.", limit=500) + said,
                           False, status=status, code=code, kind="api_disabled")
    if status in (400, 403, 412) and (code == "FAILED_PRECONDITION" or ("verif" in lower and "location" in lower)):
        return SourceError("This location is not verified on Google, and Google gives reviews only for verified "
                           f"locations. Verify it in your Business Profile ({VERIFY_URL}); it stays marked failing "
                           f"until then while the other locations sync.{said}", False, status=status, code=code,
                           kind="unverified")
    return None


def connect(options: Mapping[str, Any], secrets_getter: SecretsGetter, runtime: Runtime | None = None) -> Http:
    """An ``Http`` for Google with a refreshing token (paced to about 300 requests a minute)."""
    rt = runtime or Runtime()
    http = rt.http(PLATFORM, options, qpm=300)
    http.classify = classify_error
    http.auth = RefreshingToken(
        http, token_url=base_url(options, "token_url", GOOGLE_TOKEN_URL),
        client_id=opt_str(options, "client_id", PLATFORM),
        client_secret=get_secret(secrets_getter, "client_secret", PLATFORM),
        refresh_token=get_secret(secrets_getter, "refresh_token", PLATFORM))
    return http


def reviews_base(options: Mapping[str, Any]) -> str:
    return base_url(options, "base_url", REVIEWS_URL) + "/v4"


def _paged(http: Http, url: str, params: dict[str, Any], key: str, report: PullReport) -> Iterator[Any]:
    token, seen = None, set()
    while True:
        data = as_dict(http.get_json(url, {**params, **({"pageToken": token} if token else {})}))
        items = data.get(key)
        yield from items if isinstance(items, list) else []
        token = data.get("nextPageToken")
        if not isinstance(token, str) or not token:
            return
        if token in seen:
            report.problems.append(f"Google repeated a page token while listing {key}; stopped there")
            return
        seen.add(token)


def locations(http: Http, options: Mapping[str, Any], report: PullReport) -> list[tuple[str, str]]:
    """(v4 parent ``accounts/A/locations/L``, title) for every location to read."""
    configured = options.get("locations")
    if configured:
        if not isinstance(configured, list) or not all(isinstance(p, str) and _PARENT_RE.match(p) for p in configured):
            raise SourceError("Google: option locations must be a list like [\"accounts/123/locations/456\"]", False)
        return [(p, "") for p in configured]
    if options.get("account"):
        accounts = [opt_str(options, "account", PLATFORM)]
    else:
        acc_url = base_url(options, "accounts_url", ACCOUNTS_URL) + "/v1/accounts"
        accounts = [a["name"] for a in _paged(http, acc_url, {"pageSize": 20}, "accounts", report)
                    if isinstance(a, dict) and isinstance(a.get("name"), str)]
    found: list[tuple[str, str]] = []
    for account in accounts:
        try:
            found += _account_locations(http, options, account, report)
        except NeedsReauth:
            raise
        except SourceError as exc:
            # One account that cannot list its locations must not hide every other account's.
            exc.folder = account
            report.failures.append(exc)
    return found


def _account_locations(http: Http, options: Mapping[str, Any], account: str,
                       report: PullReport) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    loc_url = f"{base_url(options, 'locations_url', LOCATIONS_URL)}/v1/{account}/locations"
    params = {"readMask": "name,title,storeCode", "pageSize": 100}  # readMask is required
    for loc in _paged(http, loc_url, params, "locations", report):
        name = as_dict(loc).get("name")
        # v1 names look like "locations/{id}" (UNCONFIRMED); v4 wants accounts/{a}/locations/{id}.
        if isinstance(name, str) and re.fullmatch(r"locations/[^/]+", name):
            found.append((f"{account}/{name}", str(loc.get("title") or "")))
        elif isinstance(name, str) and _PARENT_RE.match(name):
            found.append((name, str(loc.get("title") or "")))
        else:
            report.skip(f"Google listed a location with an unexpected name {str(name)[:80]!r}; skipped")
    return found


def reply_state(reply: Mapping[str, Any]) -> tuple[str | None, str]:
    """(moderation state, why) of a ``reviewReply``.

    ReviewReplyState's JSON name and values, and PolicyViolation's shape, are UNCONFIRMED: any
    field whose name holds "state" gives the state, any holding "polic" or "violation" the reason
    (its text values joined), rather than trusting one guessed name.
    """
    state = None
    why: list[str] = []
    for key, value in reply.items():
        low = key.lower()
        if "state" in low and isinstance(value, str) and state is None:
            state = value.strip().upper()[:40] or None
        elif "polic" in low or "violation" in low:
            if isinstance(value, str):
                why.append(value)
            elif isinstance(value, dict):
                why += [str(v) for v in value.values() if isinstance(v, (str, int))]
            elif isinstance(value, list):
                why += [str(v) for v in value if isinstance(v, (str, int))]
    return state, clean_text("; ".join(why), limit=300)


def is_rejected(state: str | None) -> bool:
    return bool(state and _REJECTED_RE.search(state))


def is_pending(state: str | None) -> bool:
    return bool(state and re.search(r"PENDING|REVIEW|HOLD|MODERAT", state) and not is_rejected(state))


def media_items(review: Mapping[str, Any]) -> list[str]:
    """Links of ``reviewMediaItems`` (photos and videos, added 2026-04; field names of an item
    UNCONFIRMED beyond the thumbnail/video URLs): the first http(s) URL of each item."""
    items = review.get("reviewMediaItems")
    links: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        for key in ("googleUrl", "thumbnailUrl", "videoUrl", "sourceUrl", "url"):
            value = item.get(key)
            if isinstance(value, str) and value.startswith(("https://", "http://")):
                links.append(value[:500])
                break
        else:
            links.append("")
    return links


def reply_id(review: Mapping[str, Any], rid: str) -> str:
    """The reply's external id for this review as it stands (see ``reply_external_id``)."""
    reply = as_dict(review.get("reviewReply"))
    return reply_external_id(rid, parse_time(review.get("createTime")), parse_time(review.get("updateTime")),
                             parse_time(reply.get("updateTime")))


def review_records(review: Any, parent: str, report: PullReport, title: str = "") -> list[MessageRecord]:
    """One review -> its inbound record, the owner's reply, and an edit record if edited after it."""
    if not isinstance(review, dict):
        report.skip(f"Google sent a review that is not an object in {parent}; skipped")
        return []
    rid = review.get("reviewId")
    if not isinstance(rid, str) or not rid:
        name = review.get("name")
        rid = name.rsplit("/", 1)[-1] if isinstance(name, str) and "/reviews/" in name else None
    if not rid:
        report.skip(f"a Google review without a reviewId in {parent} was skipped")
        return []
    problems: list[str] = []
    name = review.get("name") if isinstance(review.get("name"), str) else f"{parent}/reviews/{rid}"
    reviewer = as_dict(review.get("reviewer"))
    anonymous = bool(reviewer.get("isAnonymous"))
    display = text_field(reviewer, "displayName", problems, "reviewer")
    star = review.get("starRating")
    rating = STARS.get(star) if isinstance(star, str) else None
    if star not in STARS and star not in (None, "STAR_RATING_UNSPECIFIED"):
        problems.append(f"unknown starRating {str(star)[:40]!r}")
    comment = text_field(review, "comment", problems, "review")
    created, updated = parse_time(review.get("createTime")), parse_time(review.get("updateTime"))
    if created is None:
        problems.append(f"createTime missing or malformed: {str(review.get('createTime'))[:40]!r}")
    when = created or updated
    if when is None:
        report.skip(f"Google review {rid} has no usable time; skipped")
        return []
    extra = {"name": name, "location": parent, "update_time": review.get("updateTime"),
             "anonymous": anonymous, "rating_only": not comment}
    media = media_items(review)
    if media:
        extra["media"] = media
    if title:
        extra["location_title"] = title
    url = review.get("reviewReplyUrl") if isinstance(review.get("reviewReplyUrl"), str) else None
    common = dict(channel="google", thread_key=rid, folder=parent, url=url)
    # Anonymous reviewers have no name to tell them apart: one contact per review, not one
    # "Anonymous" contact for all. Named reviewers are keyed by name (Google gives no id).
    handle = f"anonymous:{rid}" if anonymous or not display else display
    records = [MessageRecord(
        external_id=rid, direction="in", sent_at=iso(when), sender_handle=handle, sender_name=(display if display and not anonymous else "Anonymous"),
        text=comment, rating=rating, problems=tuple(problems), extra=extra, **common)]

    reply = review.get("reviewReply")
    if isinstance(reply, dict) and isinstance(reply.get("comment"), str) and reply["comment"]:
        state, why = reply_state(reply)
        reply_time = parse_time(reply.get("updateTime"))
        reply_problems = () if reply_time else ("reply updateTime missing or malformed",)
        # Stored whatever its state, with the state: a REJECTED reply is kept for the owner to
        # read but never closes the wait (store.reviews.apply_reply_states), as the customer
        # never saw it; a PENDING one is shown as held by Google.
        reply_extra: dict[str, Any] = {"name": name, "location": parent}
        if state:
            reply_extra["reply_state"] = state
        if why:
            reply_extra["reply_policy"] = why
        records.append(MessageRecord(
            external_id=reply_id(review, rid), direction="out",
            sent_at=iso(reply_time or updated or when), text=reply["comment"], problems=reply_problems,
            extra=reply_extra, **common))
        if is_rejected(state):
            report.problems.append(f"Google did not publish the reply to review {rid} (state {state})")
        else:
            if edited_after_reply(updated, reply_time):
                records.append(MessageRecord(
                    external_id=f"{rid}:edit:{review.get('updateTime')}", direction="in", sent_at=iso(updated),
                    sender_handle=handle, sender_name=records[0].sender_name,
                    text=comment, rating=rating, extra={**extra, "edit_of": rid}, **common))
    elif reply is not None and not isinstance(reply, dict):
        report.problems.append(f"Google review {rid}: reviewReply is not an object; ignored")
    return records


def pull(options: Mapping[str, Any], secrets_getter: SecretsGetter, cursor_by_folder: Mapping[str, Any],
         *, report: PullReport | None = None, runtime: Runtime | None = None
         ) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    """Yield (records, cursor) per page of reviews, location by location.

    One location failing (not verified, no permission) does not stop the others; the failures
    are raised together at the end. A revoked sign-in (``NeedsReauth``) stops at once.
    """
    report = report if report is not None else PullReport()
    page_size = min(opt_int(options, "page_size", MAX_PAGE, 1, 200), MAX_PAGE)
    with connect(options, secrets_getter, runtime) as http:
        try:
            parents = locations(http, options, report)
        except SourceError as exc:  # the account list itself (quota 0, API disabled, sign-in)
            if exc.status == 429 and exc.kind == "rate":
                exc.message = exc.args[0] + QUOTA_HINT
                exc.args = (exc.message,)
            raise
        for parent, title in parents:
            try:
                yield from _pull_location(http, options, parent, title, cursor_by_folder, page_size, report)
            except NeedsReauth:
                raise
            except SourceError as exc:
                exc.folder = parent
                if exc.status == 429 and exc.kind == "rate":
                    exc.message = exc.args[0] + QUOTA_HINT
                    exc.args = (exc.message,)
                report.failures.append(exc)
    if report.failures:
        first = report.failures[0]
        feeds = len(parents) + sum(1 for f in report.failures if f.folder and "/locations/" not in f.folder)
        raise SourceError(f"{len(report.failures)} of {feeds} Google locations or accounts could not be read; "
                          f"first, {first.folder}: {first}", first.retryable, status=first.status,
                          code=first.code, folder=first.folder, kind=first.kind)


def _pull_location(http: Http, options: Mapping[str, Any], parent: str, title: str,
                   cursor_by_folder: Mapping[str, Any], page_size: int, report: PullReport
                   ) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    previous = stored_high_water(cursor_by_folder, parent)
    stop_at = stop_before(previous, options, default_days=7)
    newest: datetime | None = previous
    url = f"{reviews_base(options)}/{parent}/reviews"
    token: str | None = None
    seen_tokens: set[str] = set()
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"pageSize": page_size, "orderBy": "updateTime desc"}
        if token:
            params["pageToken"] = token
        data = http.get_json(url, params)
        if not isinstance(data, dict):
            raise SourceError(f"Google sent an unexpected reply for {parent}'s reviews (not a JSON object)", True)
        reviews = data.get("reviews") if isinstance(data.get("reviews"), list) else []
        stats = {k: data[k] for k in ("averageRating", "totalReviewCount")
                 if isinstance(data.get(k), (int, float)) and not isinstance(data.get(k), bool)}
        if stats:
            report.stats[parent] = {"platform": "google", "average_rating": stats.get("averageRating"),
                                    "total_reviews": stats.get("totalReviewCount"), "title": title}
        records: list[MessageRecord] = []
        reached_old = False
        seen = report.seen.setdefault(parent, set())
        for review in reviews:
            rid = as_dict(review).get("reviewId")
            if isinstance(rid, str):
                seen.add(rid)
                reply = as_dict(as_dict(review).get("reviewReply"))
                report.replied[rid] = isinstance(reply.get("comment"), str) and bool(reply["comment"])
            updated = parse_time(as_dict(review).get("updateTime"))
            if stop_at is not None and updated is not None and updated < stop_at:
                reached_old = True  # everything after this is older still: updateTime desc
                break
            records.extend(review_records(review, parent, report, title))
            newest = newer(newest, updated)
        token = data.get("nextPageToken") if isinstance(data.get("nextPageToken"), str) else None
        if token in seen_tokens:
            report.problems.append(f"Google repeated a page token for {parent}; stopped there")
            token = None
        done = reached_old or not token
        if done and not reached_old and stop_at is None:
            report.complete.add(parent)  # every review of the location was listed
        high = newest if done else previous
        yield records, Cursor(folder=parent, high_water=iso(high) if high else None)
        if done:
            return
        seen_tokens.add(token)
