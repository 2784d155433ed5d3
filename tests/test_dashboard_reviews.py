"""Issue 15 on the dashboard: each review feed's totals ("Yelp shows 3 of 41 reviews", a Google
location's rating and count), drawn inert (a location title is untrusted text)."""

from __future__ import annotations

from owner_tui.screens.dashboard import DashboardScreen
from owner_tui.store.reviews import save_feed_stats
from tests.metrics_sample import Clock, build_sample, open_store
from tests.test_dashboard import Host, plain


async def test_dashboard_lists_review_feed_totals(tmp_path):
    clock = Clock()
    store = build_sample(tmp_path / "s.db", clock)
    yelp = store.ensure_account("yelp", "yelp-shop")
    google = store.ensure_account("google", "gbp")
    save_feed_stats(store, yelp, {"businesses/biz": {"platform": "yelp", "total_reviews": 41, "shown": 3}})
    save_feed_stats(store, google, {"accounts/1/locations/10": {
        "platform": "google", "average_rating": 4.44, "total_reviews": 128, "title": "Main St\x1b[2J[b]x[/b]"}})
    store.close()
    screen = DashboardScreen(lambda: open_store(tmp_path / "s.db", clock))
    async with Host(screen).run_test(size=(110, 70)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        text = plain(screen.query_one("#dash-reviews"))
        assert "yelp-shop: Yelp shows 3 of 41 reviews" in text
        assert "gbp: Main St" in text and "4.4 stars, 128 reviews" in text
        assert "\x1b" not in text and "[b]x[/b]" in text  # shown as text, not markup
