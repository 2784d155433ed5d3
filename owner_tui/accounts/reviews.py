"""Adding a Trustpilot, Yelp or Facebook account (``owner-tui accounts add trustpilot|yelp|
facebook``): which settings and secrets each needs, and one test call before anything is
written. The config gets only *how* to get each secret (``<name>_cmd`` or ``<name>_env``),
never the secret (``accounts.add`` refuses one).

The test call is the client's own first page (no store is touched). A Trustpilot sign-in made
here is kept in the token store, so the first sync does not sign in again.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    required: bool = True


@dataclass(frozen=True)
class Platform:
    kind: str
    title: str
    settings: tuple[Question, ...]
    secrets: tuple[tuple[str, str], ...]  # (secret name, what it is)
    fixed: Mapping[str, Any] = None  # type: ignore[assignment]
    help_url: str = ""


PLATFORMS: dict[str, Platform] = {
    "trustpilot": Platform(
        "trustpilot", "Trustpilot",
        (Question("business_unit_id", "Business unit id (GET /v1/business-units/find?name=yourdomain shows it)"),
         Question("username", "Trustpilot Business login (email)"),
         Question("author_business_user_id", "Business user id that signs replies (empty: read only)", False)),
        (("api_key", "API key"), ("api_secret", "API secret"), ("password", "Trustpilot Business password")),
        help_url="https://developers.trustpilot.com/authentication"),
    "yelp": Platform(
        "yelp", "Yelp",
        (Question("business_id", "Business id or alias (the part after /biz/ in its Yelp address)"),),
        (("api_key", "Yelp Fusion API key"),),
        help_url="https://docs.developer.yelp.com/docs/places-rate-limiting"),
    "facebook": Platform(
        "facebook", "Facebook",
        (Question("page_id", "Facebook Page id"),),
        (("token", "Page access token (pages_read_user_content)"),),
        fixed={"enabled_ratings": True},
        help_url="https://developers.facebook.com/docs/graph-api/reference/page/ratings/"),
}


def test_call(kind: str, options: Mapping[str, Any], secrets: Callable[[str], str], runtime: Any = None) -> str:
    """One real call with these settings; returns a line for the owner or raises ``SourceError``."""
    from owner_tui.sources.reviews.common import PullReport
    from owner_tui.sources.reviews.sync import CLIENTS

    client = importlib.import_module(CLIENTS[kind])
    report = PullReport()
    pages = client.pull({**options, "reconcile_hours": 0}, secrets, {}, report=report, runtime=runtime)
    try:
        records, _cursor = next(iter(pages))
    except StopIteration:
        records = []
    finally:
        close = getattr(pages, "close", None)
        if close:
            close()
    reviews = sum(1 for r in records if r.direction == "in")
    stats = next(iter(report.stats.values()), {})
    if kind == "yelp" and isinstance(stats.get("total_reviews"), int):
        return f"Yelp answered: {reviews} excerpts of {stats['total_reviews']} reviews."
    return f"{PLATFORMS[kind].title} answered: {reviews} review{'s' if reviews != 1 else ''} on the first page."
