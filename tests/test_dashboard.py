"""The dashboard screen opens, reads the numbers in a worker, and shows them."""

from __future__ import annotations

import pytest
from owner_tui.screens.dashboard import DashboardScreen, column_chart
from rich.console import Console
from textual.app import App
from textual.widgets import Static

from owner_tui.records import MessageRecord
from owner_tui.reports.metrics import DayPoint
from owner_tui.store import Store
from tests.metrics_sample import Clock, build_sample, open_store


@pytest.fixture
def sample_path(tmp_path):
    clock = Clock()
    store = build_sample(tmp_path / "s.db", clock)
    acc = store.ensure_account("imap", "shop", None)
    store.ingest(acc, [MessageRecord(
        external_id="h1", direction="in", sent_at="2026-10-27T10:00:00+00:00", thread_key="H1",
        sender_handle="m@evil.example", sender_name="Mallory\x1b]0;owned\x07", subject="[b]Refund[/b] now", text="x")])
    store.close()
    return tmp_path / "s.db"


class Host(App):
    def __init__(self, screen: DashboardScreen) -> None:
        super().__init__()
        self.dash = screen

    def on_mount(self) -> None:
        self.push_screen(self.dash)


def plain(widget: Static) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(widget.content)
    return console.export_text()


def opener(path, clock=None):
    clock = clock or Clock()
    return lambda: open_store(path, clock)


async def test_dashboard_shows_the_numbers(sample_path):
    screen = DashboardScreen(opener(sample_path))
    async with Host(screen).run_test(size=(110, 60)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        q = screen.query_one
        status = plain(q("#dash-status", Static))
        # G5, G6 and the new message; G5 is past its target
        assert "3 awaiting · 1 past the 4 h business target · 2 new in the last 24 h" in status
        buckets = plain(q("#dash-buckets", Static))
        assert "1-3 days    1" in buckets and "1-4 h    2" in buckets
        weeks = plain(q("#dash-weeks", Static))
        assert "18.0h" in weeks and "7.0d" in weeks  # median reply this week vs last (hand-computed)
        channels = plain(q("#dash-channels", Static))
        # four weeks: every sample wait; overall reply median 21.5 h, p90 99 h, 6 of 9 in time
        assert "21.5h" in channels and "4.1d" in channels and "67% (6/9)" in channels
        oldest = plain(q("#dash-oldest", Static))
        assert "Ivy" in oldest and "overdue" in oldest
        assert "[b]Refund[/b]" in oldest and "\x1b" not in oldest and "Mallory" in oldest
        chart = plain(q("#dash-reply-chart", Static))
        assert "7.0d ┤" in chart  # the tallest day: Monday 19th, E3 waited 169 h
        assert "30 Sep" in chart and "19 Oct" in chart and "26 Oct" in chart  # first day and Mondays
        volume = plain(q("#dash-volume-chart", Static))
        assert "3 ┤" in volume  # the busiest day: Thursday 22nd, E4's three messages (not its auto-reply)
        assert screen.data is not None and len(screen.data.days) == 28


async def test_dashboard_weeks_key_and_back(sample_path):
    screen = DashboardScreen(opener(sample_path), weeks=2)
    async with Host(screen).run_test(size=(100, 50)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert len(screen.data.days) == 14
        await pilot.press("w")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.weeks == 4 and len(screen.data.days) == 28
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen


async def test_dashboard_reports_a_failure_instead_of_crashing(tmp_path):
    def broken() -> Store:
        raise OSError("disk on fire")

    screen = DashboardScreen(broken)
    async with Host(screen).run_test(size=(100, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "Could not read the numbers: disk on fire" in plain(screen.query_one("#dash-status", Static))


def test_column_chart_scales_to_the_tallest_value():
    from datetime import date

    days = [DayPoint(date(2026, 10, 18 + i), 0, 0, None) for i in range(3)]
    text = column_chart([2.0, None, 1.0], days, colour="blue", fmt=lambda v: f"{v:g}", height=2, cell=2).plain
    lines = text.splitlines()
    assert lines[0] == "2 ┤█     "  # 2 of 2: full on both rows; 1 of 2: bottom row only
    assert lines[1] == "  │█ · █ "  # no reply that day: a dot
    assert lines[3] == "   18 Oct"  # Monday 19th would overlap the first date: left out


async def test_eight_weeks_fit_80_columns(sample_path):
    screen = DashboardScreen(opener(sample_path), weeks=8)
    async with Host(screen).run_test(size=(80, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        panel = screen.query_one("#dash-reply-chart", Static)
        lines = plain(panel).splitlines()
        assert len(screen.data.days) == 56
        assert len(lines) == 6  # four bar rows, the base line, the dates: nothing wrapped
        assert max(len(ln.rstrip()) for ln in lines) <= panel.content_size.width
