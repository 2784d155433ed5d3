"""The inbox: the aging list, its header, views, filters, search, refresh and selection."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from owner_tui.screens.inbox import REFRESH_SECONDS

from owner_tui.config import AgingConfig
from owner_tui.records import MessageRecord
from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from owner_tui.tui.widgets import aging_list
from owner_tui.tui.widgets.bucket_bar import BucketBar
from owner_tui.tui.widgets.rows import BUCKET_STYLES, row_segments
from tests.tui_support import (
    FrozenClock,
    build_store,
    config,
    email,
    iso,
    screen_text,
    settle,
)


@pytest.fixture
def setup(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    return tmp_path / "t.db", clock, ids


def make_app(path: Path, clock, **kw) -> OwnerApp:
    return OwnerApp(path, config(), clock=clock, exports_dir=path.parent / "exports", **kw)


def visible_ids(app) -> list[int]:
    lst = app.inbox.aging_list
    return [lst.row_at(i)["id"] for i in range(lst.total)]


async def test_awaiting_list_is_oldest_first_with_bucket_header(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert visible_ids(app) == [ids["ann"], ids["bob"], ids["cat"], ids["dan"], ids["gail"]]
        text = screen_text(app)
        assert "5 awaiting" in text and "oldest 5d" in text
        for chip in ("<1h 1", "1-4h 1", "4-24h 1", "1-3d 1", ">3d 1"):
            assert chip in text
        lines = [ln for ln in text.splitlines() if "Ann Archer" in ln or "Gail" in ln]
        assert any("5d" in ln and "! email" in ln and "Wedding cake?" in ln for ln in lines)  # ! = past the 24 h SLA
        assert any("★★☆☆☆" in ln and "The cake was dry." in ln and "google" in ln for ln in lines)
        assert "Awaiting 5" in text and "No answer yet 1" in text and "Noise 1" in text and "All 7" in text


def test_badges_use_one_colour_per_bucket(setup):
    path, clock, _ids = setup
    with Store.open(path, clock=clock) as store:
        rows = store.page()
    cfg = AgingConfig()
    badge_styles = [row_segments("awaiting", r, clock(), 80, cfg)[0].style for r in rows]
    # ann >3d, bob 1-3d, cat 4-24h, dan 1-4h, gail <1h
    assert badge_styles == [BUCKET_STYLES[k] for k in ("gt3d", "1-3d", "4-24h", "1-4h", "lt1h")]
    assert len(set(BUCKET_STYLES.values())) == 5
    for r in rows:
        line = row_segments("awaiting", r, clock(), 80, cfg)
        assert sum(len(s.text) for s in line) == 80


@pytest.mark.parametrize("key, view, expected", [
    ("2", "followup", ["quinn"]), ("5", "noise", ["mill"]), ("3", "snoozed", []), ("4", "done", []),
])
async def test_number_keys_switch_views(setup, key, view, expected):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert app.inbox.filter.view == view
        assert visible_ids(app) == [ids[n] for n in expected]
        if not expected:
            assert "Nothing" in screen_text(app)
        await pilot.press("6")
        await settle(pilot)
        assert app.inbox.aging_list.total == 7


async def test_clicking_a_view_tab_and_a_bucket_chip_filters_with_the_mouse(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.click("#view-noise")
        await settle(pilot)
        assert app.inbox.filter.view == "noise"
        await pilot.click("#view-awaiting")
        await settle(pilot)
        bar = app.inbox.query_one(BucketBar)
        start = next(s for s, _e, k in bar._spans if k == "1-3d")
        await pilot.click("#buckets", offset=(start + 1, 0))
        await settle(pilot)
        assert app.inbox.filter.bucket == "1-3d"
        assert visible_ids(app) == [ids["bob"]]
        assert "Filtered:" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.inbox.filter.bucket is None and app.inbox.aging_list.total == 5


async def test_search_uses_full_text_and_escape_clears(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"sesame", "enter")
        await settle(pilot)
        assert app.inbox.filter.search == "sesame"
        assert visible_ids(app) == [ids["cat"]]
        await pilot.press("escape")
        await settle(pilot)
        assert app.inbox.filter.search is None and app.inbox.aging_list.total == 5


async def test_search_escape_while_typing_only_closes_the_box(setup):
    path, clock, _ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("slash", "x", "escape")
        await settle(pilot)
        assert app.inbox.filter.view == "followup" and app.inbox.filter.search is None
        assert app.focused is app.inbox.aging_list


async def test_filter_dialog_channel_and_rating(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        from textual.widgets import Select

        app.screen.query_one("#channel", Select).value = "google"
        app.screen.query_one("#rating", Select).value = "low"
        await pilot.press("ctrl+s")
        await settle(pilot)
        f = app.inbox.filter
        assert (f.channel, f.min_rating, f.max_rating) == ("google", 1, 2)
        assert visible_ids(app) == [ids["gail"]]
        await pilot.press("f")
        await settle(pilot)
        await pilot.click("#clear")
        await settle(pilot)
        assert app.inbox.filter.channel is None and app.inbox.aging_list.total == 5


async def test_selection_survives_a_refresh_when_rows_move(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down")
        assert app.inbox.aging_list.selected_id == ids["bob"]
        # Someone who has waited longer than everybody arrives (an old message synced late).
        with Store.open(path, clock=clock) as store:
            acc = store.ensure_account("imap", "shop-mail")
            store.ingest(acc, [email("z1@x", "zed@example.com", "Zed Zane", "Old one", "Hello?", iso(clock, days=7))])
        app.inbox.reload()
        await settle(pilot)
        lst = app.inbox.aging_list
        assert lst.total == 6 and lst.cursor == 2 and lst.selected_id == ids["bob"]


async def test_cursor_moves_to_the_next_row_when_the_selected_one_leaves(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down", "d")
        await settle(pilot)
        assert app.inbox.aging_list.selected_id == ids["cat"]


async def test_ages_move_on_and_snoozes_wake_on_the_timer(setup):
    path, clock, ids = setup
    assert 30 <= REFRESH_SECONDS <= 60
    with Store.open(path, clock=clock) as store:
        store.snooze(ids["cat"], clock() + timedelta(hours=1))
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert ids["cat"] not in visible_ids(app)
        assert any("2h" in ln and "Dan Dale" in ln for ln in screen_text(app).splitlines())
        clock.advance(hours=2)
        app.inbox.reload(wake=True)  # what the refresh timer runs
        await settle(pilot)
        assert ids["cat"] in visible_ids(app)
        assert any("4h" in ln and "Dan Dale" in ln for ln in screen_text(app).splitlines())
        assert any("came back" in n for n in app.notices)


async def test_enter_and_double_click_open_the_conversation(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        from owner_tui.screens.conversation import ConversationScreen

        await pilot.click("#list", offset=(20, 2))
        await settle(pilot)
        assert app.inbox.aging_list.selected_id == ids["cat"]
        await pilot.click("#list", offset=(20, 2), times=2)
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.conversation_id == ids["cat"]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.conversation_id == ids["cat"]


@pytest.fixture
def big_store(tmp_path):
    """2,500 awaiting conversations, inserted in one batch."""
    clock = FrozenClock()
    path = tmp_path / "big.db"
    with Store.open(path, clock=clock) as store:
        acc = store.ensure_account("imap", "m", {"address": "me@shop.example"})
        store.ingest(acc, [email(f"m{i}@x", f"p{i}@example.com", f"Person {i:04d}", f"Subject {i}", "hi",
                                 iso(clock, minutes=10 + i)) for i in range(2500)])
    return path, clock


async def test_the_list_holds_only_pages_near_the_screen(big_store):
    path, clock = big_store
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        assert lst.total == 2500
        assert lst.cached_rows <= 3 * aging_list.PAGE
        assert "Person 2499" in screen_text(app)  # oldest first
        await pilot.press("end")
        await settle(pilot)
        assert lst.cursor == 2499 and lst.selected_row["contact_name"] == "Person 0000"
        assert "Person 0000" in screen_text(app)
        for _ in range(30):
            await pilot.press("pageup")
        await settle(pilot)
        assert lst.cached_rows <= aging_list.MAX_PAGES * aging_list.PAGE
        assert lst.selected_row["contact_name"] == f"Person {2499 - lst.cursor:04d}"


async def test_the_list_asks_for_a_page_with_its_row_count(big_store, monkeypatch):
    """The count lets the store read a page past the middle from the bottom of the index
    (a short walk instead of a long OFFSET); the rows drawn are the same."""
    path, clock = big_store
    calls: list[tuple[int, int | None]] = []
    page = Store.page

    def spy(self, f, offset=0, limit=200, now=None, total=None):
        calls.append((offset, total))
        return page(self, f, offset, limit, now, total=total)

    monkeypatch.setattr(Store, "page", spy)
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        lst = app.inbox.aging_list
        assert lst.selected_row["contact_name"] == "Person 0000"
        deep = [(o, t) for o, t in calls if o >= 2000]
        assert deep and all(t == 2500 for _o, t in deep), calls
        for _ in range(3):
            await pilot.press("pageup")
        await settle(pilot)
        assert lst.selected_row["contact_name"] == f"Person {2499 - lst.cursor:04d}"


async def test_rows_of_a_page_not_yet_loaded_draw_as_placeholders(big_store):
    path, clock = big_store
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        lst.scroll_to(y=2000, animate=False)
        strip = lst.render_line(0)  # drawn before the page arrives: no store access here
        assert strip.text.strip() == "…"
        await settle(pilot)
        assert "Person" in lst.render_line(0).text


async def test_a_new_message_on_a_done_conversation_reopens_it_in_the_list(setup):
    path, clock, ids = setup
    with Store.open(path, clock=clock) as store:
        store.mark_done(ids["bob"])
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert ids["bob"] not in visible_ids(app)
        clock.advance(minutes=5)
        with Store.open(path, clock=clock) as store:
            acc = store.ensure_account("imap", "shop-mail")
            store.ingest(acc, [MessageRecord(external_id="b2@x", sender_handle="bob@example.com", sender_name="Bob",
                                             subject="Re: Order missing", text="Still nothing!", in_reply_to="b1@x",
                                             sent_at=iso(clock, minutes=1), folder="INBOX")])
        app.inbox.reload()
        await settle(pilot)
        assert ids["bob"] in visible_ids(app)


async def test_noise_rows_show_the_age_of_their_newest_message(setup):
    path, clock, ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        [line] = [ln for ln in screen_text(app).splitlines() if "Mill News" in ln]
        assert line.split()[0] == "3h"  # the newsletter came three hours ago


async def test_the_objects_every_session_keeps_are_frozen_out_of_the_collector(setup):
    """Issue 18: a full garbage collection over Textual's ~60k long-lived objects paused key
    presses for tens of ms (the key p99 row); once the app has started they are frozen."""
    import gc

    gc.unfreeze()
    path, clock, _ids = setup
    app = make_app(path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.pause(0.7)
        assert gc.get_freeze_count() > 1000


def test_a_drawn_line_stays_the_same_for_as_long_as_steady_seconds_says():
    """The list reuses a drawn line for ``steady_seconds``: within that time ``row_segments``
    must draw exactly the same line (age text, bucket colour, overdue flag) at any moment."""
    import random
    from datetime import timedelta

    from owner_tui.tui.widgets.rows import steady_seconds
    from tests.tui_support import NOW

    from datetime import time
    from zoneinfo import ZoneInfo

    from owner_tui.aging import BusinessHours

    rnd = random.Random(7)
    # Opening hours put the reply target's due time on the clock's minute, not the age's.
    hours = BusinessHours(tz=ZoneInfo("Europe/London"), days=frozenset(range(5)), opens=time(9, 30),
                          closes=time(17))
    cfgs = [AgingConfig(), AgingConfig(sla_hours=1), AgingConfig(sla_hours=0.01),
            AgingConfig(sla_hours=1, business_hours=hours), AgingConfig(sla_hours=0.5, business_hours=hours)]
    # Ages near every unit and bucket bound, and snoozes ending on both sides of now.
    bounds = [0, 1, 59, 60, 61, 3599, 3600, 3601, 4 * 3600, 36000, 86400, 3 * 86400, 14 * 86400, 365 * 86400]
    checked = 0
    for _ in range(3000):
        secs = rnd.choice(bounds) + rnd.choice((-1.5, -0.5, -0.001, 0, 0.001, 0.5, 1.5, 30, rnd.uniform(-90, 90)))
        cfg = rnd.choice(cfgs)
        if cfg.business_hours is not None:  # waits from before the shop opened (NOW is 10:00 London)
            secs = rnd.choice((1200, 1800, 2400, 3000, 3500)) + rnd.uniform(0, 59)
        at = (NOW - timedelta(seconds=secs)).isoformat()
        row = {"id": 1, "status": rnd.choice(("open", "open", "done", "snoozed", "noise")), "channel": "email",
               "contact_name": "Ann", "subject": "Cake", "waiting_since": rnd.choice((at, None)),
               "snoozed_until": (NOW + timedelta(seconds=secs)).isoformat(), "last_outbound_at": at,
               "status_at": at, "last_message_at": rnd.choice((at, None)), "seen_at": at, "rating": None,
               "message_count": 2}
        view = rnd.choice(("awaiting", "followup", "snoozed", "done", "noise", "all"))
        now = NOW + timedelta(seconds=rnd.choice((0, 0.25, 0.999)))
        if cfg.business_hours is not None:  # due at 10:00:00 (half an hour) falls inside the age's minute
            now -= timedelta(seconds=rnd.uniform(0, 90))
        steady = steady_seconds(view, row, now, cfg)
        assert steady >= 0
        drawn = row_segments(view, row, now, 100, cfg)
        for t in (0.0, min(steady, 1e6) * rnd.random(), min(steady, 1e6) - 1e-3, min(steady, 1e6) * 0.999):
            if 0 <= t < steady:
                assert row_segments(view, row, now + timedelta(seconds=t), 100, cfg) == drawn, (view, secs, t, steady)
                checked += 1
    assert checked > 3000


async def test_scrolling_redraws_only_rows_it_has_not_drawn(big_store, monkeypatch):
    """A scroll by one row redraws every visible line, but all but one are rows already drawn:
    their lines are reused, not built again."""
    path, clock = big_store
    calls: list[str] = []
    real = aging_list.row_segments

    def spy(view, row, *a, **kw):
        calls.append(row["contact_name"])
        return real(view, row, *a, **kw)

    monkeypatch.setattr(aging_list, "row_segments", spy)
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        height = lst.scrollable_content_region.height
        for _ in range(height - 1):
            await pilot.press("down")
        await settle(pilot)
        assert lst.scroll_offset.y == 0 and lst.cursor == height - 1
        calls.clear()
        await pilot.press("down")  # one row scrolls in
        await settle(pilot)
        assert lst.scroll_offset.y == 1
        # The new row (with the cursor on it) and the row the cursor left; nothing else.
        assert len(calls) <= 3, calls
        assert "Person 2499" not in screen_text(app) and f"Person {2499 - height:04d}" in screen_text(app)


async def test_a_reused_line_is_drawn_again_once_its_age_moves_on(big_store):
    path, clock = big_store
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        first = lst.render_line(1).text  # "Person 2498", waiting 2508 minutes: "1d17h"
        assert first == lst.render_line(1).text and "1d17h" in first
        clock.advance(hours=1)
        assert "1d18h" in lst.render_line(1).text


async def test_moving_the_cursor_within_the_screen_redraws_two_lines(big_store, monkeypatch):
    path, clock = big_store
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        drawn: list[int] = []
        real = type(lst).render_line
        monkeypatch.setattr(type(lst), "render_line", lambda self, y: drawn.append(y) or real(self, y))
        await pilot.press("down")
        await settle(pilot)
        assert lst.cursor == 1 and lst.scroll_offset.y == 0
        assert sorted(set(drawn)) == [0, 1], drawn


async def test_a_page_fetched_ahead_repaints_the_list_only_when_it_is_on_screen(big_store):
    path, clock = big_store
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        repaints: list[tuple] = []
        real = lst.refresh
        lst.refresh = lambda *a, **kw: repaints.append(a) or real(*a, **kw)
        await lst._load(5, lst._generation, lst.filter, lst.total)  # rows 1000-1199, off screen
        assert lst.row_at(1000) is not None and repaints == []
        lst._pages.pop(0)
        await lst._load(0, lst._generation, lst.filter, lst.total)  # the rows on screen
        assert repaints


async def test_the_scrollbar_is_redrawn_only_when_its_thumb_moves(big_store):
    path, clock = big_store
    app = make_app(path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lst = app.inbox.aging_list
        bar = lst.vertical_scrollbar
        redrawn: list[float] = []
        real = bar.refresh
        bar.refresh = lambda *a, **kw: redrawn.append(bar.position) or real(*a, **kw)
        drawn = bar.render_lines(bar.size.region)  # the thumb at the top
        lst.scroll_to(y=1, animate=False)
        await pilot.pause()
        assert bar.position == 1 and redrawn == []  # 2,500 rows: one row is not an eighth of a cell
        assert [s.text for s in bar.render_lines(bar.size.region)] == [s.text for s in drawn]
        lst.scroll_to(y=1200, animate=False)
        await pilot.pause()
        assert bar.position == 1200 and redrawn == [1200]
        await settle(pilot)
        assert [s.text for s in bar.render_lines(bar.size.region)] != [s.text for s in drawn]
        # The thumb's eighths change whenever the bar's own drawing changes, at any position.
        from textual.scrollbar import ScrollBarRender

        def drawing(position):
            return [str(seg) for seg in ScrollBarRender.render_bar(
                size=bar.size.height, virtual_size=bar.window_virtual_size, window_size=bar.window_size,
                position=position, vertical=True).segments]

        previous = None
        for y in range(0, 2500 - bar.window_size + 1):
            bar.set_reactive(type(bar).position, y)
            now = (aging_list._thumb_eighths(bar), drawing(y))
            if previous is not None and now[1] != previous[1]:
                assert now[0] != previous[0], y
            previous = now
