"""Facebook Page ratings (recommendations) -> records (external-apis.md section 4).

Behind a flag on purpose: Meta's Recommendation reference says the object is deprecated from
Graph API v22.0 (error code 12) while the ``/ratings`` page still shows v25 examples. So the
account must say ``enabled_ratings = true``, the version is pinned (``api_version``, default
v21.0), and a refusal is explained in plain words rather than retried.

Paging follows ``paging.cursors.after`` against the configured base URL; the ``paging.next``
link is only a "there is more" signal, never fetched: it embeds ``access_token=`` in its query
and points at whatever host Meta chose. The token goes in the Authorization header instead.
A recommendation has no ``id``; ``open_graph_story.id`` is the external id.
"""

from __future__ import annotations

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
    get_secret,
    iso,
    newer,
    opt_int,
    opt_str,
    parse_time,
    stored_high_water,
    text_field,
)
from owner_tui.sources.reviews.http import NeedsReauth, SourceError, StaticToken

PLATFORM = "Facebook"
GRAPH_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
FIELDS = "created_time,recommendation_type,review_text,rating,has_rating,has_review,open_graph_story,reviewer"
MAX_PAGES = 1000
#: Graph API throttling codes (UNCONFIRMED for this edge); they arrive as HTTP 400/403.
THROTTLED = {4, 17, 32, 613}
PERMISSION = {10, 200, 283}


def explain(exc: SourceError, version: str) -> SourceError:
    """Turn a Graph API error code into advice the owner can act on."""
    code = exc.code
    if code == 12:
        return SourceError(f"Facebook no longer serves Page ratings on Graph API {version}: Meta deprecated "
                           "recommendations from v22.0 (error 12). Set api_version to an older version while "
                           "it lasts, or remove this account.", False, status=exc.status, code=code)
    if code in PERMISSION:
        return SourceError("Facebook refused to show the Page's ratings: the Page token needs the "
                           f"pages_read_user_content permission from someone who moderates the Page; see "
                           f"https://developers.facebook.com/docs/permissions/ ({exc})",
                           False, status=exc.status, code=code)
    if code == 190:
        return NeedsReauth("Facebook no longer accepts the saved Page access token (expired or revoked); "
                           "create a new one (https://developers.facebook.com/docs/pages-api/getting-started/) "
                           "and save it again.", status=exc.status, code=code)
    if code in THROTTLED:
        return SourceError("Facebook is limiting how often this app may call it; try again later.", True,
                           status=exc.status, code=code)
    return exc


def rating_record(item: Any, folder: str, report: PullReport) -> MessageRecord | None:
    if not isinstance(item, dict):
        report.skip("Facebook sent a rating that is not an object; skipped")
        return None
    story = as_dict(item.get("open_graph_story"))
    sid = story.get("id")
    if not isinstance(sid, str) or not sid:
        report.skip("a Facebook recommendation without open_graph_story.id was skipped")
        return None
    problems: list[str] = []
    created = parse_time(item.get("created_time"))
    if created is None:
        report.skip(f"Facebook recommendation {sid} has no usable created_time; skipped")
        return None
    rating = item.get("rating")  # legacy 1-5; recommendation_type replaced it in 2018
    if not (isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5):
        rating = None
    kind = item.get("recommendation_type")
    subject = {"positive": "Recommends", "negative": "Does not recommend"}.get(kind, "") if isinstance(kind, str) else ""
    reviewer = as_dict(item.get("reviewer"))  # often withheld by Graph
    return MessageRecord(
        external_id=sid, channel="facebook", direction="in", sent_at=iso(created),
        sender_handle=reviewer.get("id") if isinstance(reviewer.get("id"), str) else "",
        sender_name=text_field(reviewer, "name", problems, "reviewer") or "Facebook user",
        subject=subject, text=text_field(item, "review_text", problems, "rating"), rating=rating,
        thread_key=sid, url=f"https://www.facebook.com/{sid}", folder=folder, problems=tuple(problems),
        extra={"recommendation_type": kind if isinstance(kind, str) else None})


def pull(options: Mapping[str, Any], secrets_getter: SecretsGetter, cursor_by_folder: Mapping[str, Any],
         *, report: PullReport | None = None, runtime: Runtime | None = None
         ) -> Iterator[tuple[list[MessageRecord], Cursor]]:
    """Yield (records, cursor) per page of ratings. Ratings come newest first; all pages are read
    (pages are small and the edge is capped), the high water is only informative."""
    report = report if report is not None else PullReport()
    if options.get("enabled_ratings") is not True:
        raise SourceError("Facebook Page ratings are switched off for this account: Meta deprecated them from "
                          "Graph API v22.0. Set enabled_ratings = true to try anyway.", False)
    page_id = opt_str(options, "page_id", PLATFORM)
    version = str(options.get("api_version", DEFAULT_VERSION))
    folder = f"pages/{page_id}"
    limit = opt_int(options, "page_size", 25, 1, 100)
    token = get_secret(secrets_getter, "token", PLATFORM)
    rt = runtime or Runtime()
    url = f"{base_url(options, 'base_url', GRAPH_URL)}/{version}/{page_id}/ratings"
    high: datetime | None = stored_high_water(cursor_by_folder, folder)
    previous = high
    with rt.http(PLATFORM, options, qpm=60, auth=StaticToken(token, PLATFORM, "Page access token")) as http:
        http.hide(token)
        after: str | None = None
        for _ in range(MAX_PAGES):
            params = {"fields": FIELDS, "limit": limit, **({"after": after} if after else {})}
            try:
                data = http.get_json(url, params)
            except SourceError as exc:
                err = explain(exc, version)
                err.folder = folder
                raise err from None
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise SourceError("Facebook sent an unexpected reply for the ratings (no data list)", True,
                                  folder=folder)
            records = [r for r in (rating_record(x, folder, report) for x in data["data"]) if r is not None]
            for r in records:
                high = newer(high, datetime.fromisoformat(r.sent_at))
            paging = as_dict(data.get("paging"))
            nxt = as_dict(paging.get("cursors")).get("after")
            done = not paging.get("next") or not isinstance(nxt, str) or not nxt or nxt == after
            mark = high if done else previous
            yield records, Cursor(folder=folder, high_water=iso(mark) if mark else None)
            if done:
                return
            after = nxt
