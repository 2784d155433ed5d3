"""Yelp review excerpts -> records (external-apis.md section 3). Read-only.

The Fusion/Places API returns at most three review *excerpts* in Yelp's own order and offers
no owner-reply endpoint. So Yelp is a hint, not a full feed: each record carries the review
page ``url`` so the owner can read it whole and reply on Yelp (``send/manual.py``).

``time_created`` has no zone (``"YYYY-MM-DD HH:MM:SS"``); Yelp gives it in Pacific time
(issue 15; external-apis.md had it as UNCONFIRMED), so it is read as ``America/Los_Angeles``
(daylight saving included) unless the account's ``timezone`` option says otherwise. A time
that would lie in the future is a sign the zone is wrong: it is clamped to now, with a problem.

The response's ``total`` is kept as the feed's stats (``PullReport.stats``), so the owner sees
"Yelp shows 3 of 41 reviews" in the conversation and the dashboard: the rest are only on Yelp.

A trial (Starter) key is answered 404 on the reviews endpoint (issue 15). Yelp's body for it is
UNCONFIRMED, so a 404 whose code is not ``BUSINESS_NOT_FOUND`` is reported as "this key may
not include reviews" with the plan page, and ``BUSINESS_NOT_FOUND`` as a wrong business id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from owner_tui.records import Cursor, MessageRecord
from owner_tui.sources.reviews.common import (
    PullReport,
    Runtime,
    SecretsGetter,
    as_dict,
    base_url,
    get_secret,
    iso,
    newer,
    opt_str,
    stored_high_water,
    text_field,
)
from owner_tui.sources.reviews.http import SourceError, StaticToken

PLATFORM = "Yelp"
API_URL = "https://api.yelp.com"
#: Yelp's time zone for ``time_created`` (Pacific, where Yelp is).
YELP_TZ = "America/Los_Angeles"
PLANS_URL = "https://docs.developer.yelp.com/docs/places-rate-limiting"
TRIAL_404 = ("Yelp answered 404 for this business's reviews although the business id is accepted elsewhere: "
             "a trial (Starter) API key does not include review excerpts. Upgrade the plan "
             f"({PLANS_URL}) or remove this account; nothing else is wrong.")
#: The daily cap (300 calls/24 h on the trial) resets at midnight UTC: no use retrying now.
FATAL_CODES = ("ACCESS_LIMIT_REACHED",)


def _time(value: Any, tz: ZoneInfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=tz)).astimezone(UTC)


def review_record(review: Any, folder: str, tz: ZoneInfo, report: PullReport) -> MessageRecord | None:
    if not isinstance(review, dict):
        report.skip("Yelp sent a review that is not an object; skipped")
        return None
    rid = review.get("id")
    if not isinstance(rid, str) or not rid:
        report.skip("a Yelp review without an id was skipped")
        return None
    problems: list[str] = []
    user = as_dict(review.get("user"))
    rating = review.get("rating")
    if not (isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5):
        if rating is not None:
            problems.append(f"rating is not 1-5: {str(rating)[:20]!r}")
        rating = None
    created = _time(review.get("time_created"), tz)
    if created is None:
        report.skip(f"Yelp review {rid} has no usable time_created; skipped")
        return None
    url = review.get("url") if isinstance(review.get("url"), str) else None
    if url is None:
        problems.append("no review page url")
    return MessageRecord(
        external_id=rid, channel="yelp", direction="in", sent_at=iso(created),
        sender_handle=user.get("id") if isinstance(user.get("id"), str) else "",
        sender_name=text_field(user, "name", problems, "user") or "Yelp user",
        text=text_field(review, "text", problems, "review"), rating=rating, thread_key=rid, url=url,
        folder=folder, problems=tuple(problems),
        extra={"excerpt": True, "profile_url": user.get("profile_url"), "time_zone": str(tz)})


def pull(options: Mapping[str, Any], secrets_getter: SecretsGetter, cursor_by_folder: Mapping[str, Any],
         *, report: PullReport | None = None, runtime: Runtime | None = None
         ) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    """One call, one batch: Yelp has no paging for these excerpts."""
    report = report if report is not None else PullReport()
    business = opt_str(options, "business_id", PLATFORM)
    folder = f"businesses/{business}"
    try:
        tz = ZoneInfo(str(options.get("timezone", YELP_TZ)))
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"Yelp: timezone {options.get('timezone')!r} is not a known time zone", False) from None
    rt = runtime or Runtime()
    key = get_secret(secrets_getter, "api_key", PLATFORM)
    params = {"locale": options["locale"]} if isinstance(options.get("locale"), str) else None
    with rt.http(PLATFORM, options, qpm=60, auth=StaticToken(key, PLATFORM), fatal_codes=FATAL_CODES) as http:
        http.hide(key)
        try:
            data = http.get_json(f"{base_url(options, 'base_url', API_URL)}/v3/businesses/{business}/reviews", params)
        except SourceError as exc:
            exc.folder = folder
            if exc.code == "ACCESS_LIMIT_REACHED":
                exc.message = "Yelp's daily call limit for this API key is used up; it resets at midnight UTC."
                exc.args = (exc.message,)
            elif exc.status == 404 and exc.code in ("BUSINESS_NOT_FOUND", "BUSINESS_UNAVAILABLE"):
                exc.message = (f"Yelp has no business {business!r}: check business_id in config.toml "
                               "(the part after /biz/ in the business's Yelp address).")
                exc.args = (exc.message,)
            elif exc.status == 404:
                exc.message, exc.kind = TRIAL_404, "trial_key"
                exc.args = (exc.message,)
            raise
    reviews = as_dict(data).get("reviews")
    if not isinstance(reviews, list):
        raise SourceError("Yelp sent an unexpected reply (no reviews list)", True, folder=folder)
    now = rt.wallclock()
    records = []
    for x in reviews:
        r = review_record(x, folder, tz, report)
        if r is None:
            continue
        if datetime.fromisoformat(r.sent_at) > now + timedelta(minutes=5):
            r = replace(r, sent_at=iso(now), problems=(*r.problems, f"time_created {x.get('time_created')!r} "
                                                       f"read in {tz} lies in the future; the time of sync is used"))
        records.append(r)
    total = as_dict(data).get("total")
    if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
        report.stats[folder] = {"platform": "yelp", "total_reviews": total, "shown": len(reviews)}
    high = stored_high_water(cursor_by_folder, folder)
    for r in records:
        high = newer(high, datetime.fromisoformat(r.sent_at))
    yield records, Cursor(folder=folder, high_water=iso(high) if high else None)
