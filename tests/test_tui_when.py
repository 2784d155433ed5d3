"""Snooze times: presets and typed times, in the owner's time zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from owner_tui.when import WhenError, describe, parse_when, presets

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # Friday 10:00 UTC
PARIS = ZoneInfo("Europe/Paris")  # UTC+1 in November


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("2h", utc(2026, 11, 20, 12, 0)),
    ("45m", utc(2026, 11, 20, 10, 45)),
    ("1h30m", utc(2026, 11, 20, 11, 30)),
    ("in 2 hours", utc(2026, 11, 20, 12, 0)),
    ("3d", utc(2026, 11, 23, 10, 0)),
    ("1w", utc(2026, 11, 27, 10, 0)),
    ("18:00", utc(2026, 11, 20, 18, 0)),
    ("9:00", utc(2026, 11, 21, 9, 0)),  # already past today: tomorrow
    ("5pm", utc(2026, 11, 20, 17, 0)),
    ("tomorrow", utc(2026, 11, 21, 8, 0)),
    ("tomorrow 14:30", utc(2026, 11, 21, 14, 30)),
    ("fri 9:00", utc(2026, 11, 27, 9, 0)),  # Friday 9:00 has passed: next Friday
    ("fri 11:00", utc(2026, 11, 20, 11, 0)),  # still ahead today
    ("monday", utc(2026, 11, 23, 8, 0)),
    ("Thurs 9am", utc(2026, 11, 26, 9, 0)),
    ("next week", utc(2026, 11, 23, 8, 0)),
    ("this evening", utc(2026, 11, 20, 18, 0)),
    ("2026-12-01 10:00", utc(2026, 12, 1, 10, 0)),
    ("2026-12-01", utc(2026, 12, 1, 8, 0)),
    ("2026-12-01T07:15", utc(2026, 12, 1, 7, 15)),
])
def test_typed_times(text, expected):
    assert parse_when(text, NOW) == expected


def test_typed_times_are_local_to_the_owner():
    # 09:00 in Paris (UTC+1) is 08:00 UTC; a Monday in Paris starts an hour earlier.
    assert parse_when("tomorrow 9:00", NOW, PARIS) == utc(2026, 11, 21, 8, 0)
    assert parse_when("2026-12-01 10:00", NOW, PARIS) == utc(2026, 12, 1, 9, 0)


@pytest.mark.parametrize("text, words", [
    ("", "type a time"),
    ("soon", "cannot read"),
    ("25:00", "not a time"),
    ("13pm", "1 to 12"),
    ("2026-02-30", "not a date"),
    ("2025-01-01 10:00", "already passed"),
    ("5x", "cannot read"),
])
def test_bad_times_say_why(text, words):
    with pytest.raises(WhenError, match=words):
        parse_when(text, NOW)


def test_presets_in_the_morning():
    got = {pid: when for pid, _label, when in presets(NOW)}
    assert got == {"hour": utc(2026, 11, 20, 11, 0), "evening": utc(2026, 11, 20, 18, 0),
                   "morning": utc(2026, 11, 21, 8, 0), "week": utc(2026, 11, 23, 8, 0)}


def test_evening_preset_moves_to_tomorrow_after_six():
    late = datetime(2026, 11, 20, 19, 30, tzinfo=UTC)
    pid, label, when = presets(late)[1]
    assert label == "Tomorrow evening" and when == utc(2026, 11, 21, 18, 0)


def test_next_week_from_a_monday_is_the_following_monday():
    monday = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert presets(monday)[3][2] == utc(2026, 11, 30, 8, 0)


def test_describe_is_local_and_adds_the_year_only_when_needed():
    assert describe(utc(2026, 11, 27, 9, 0), NOW) == "Fri 27 Nov 09:00"
    assert describe(utc(2027, 1, 4, 7, 0), NOW, PARIS) == "Mon 4 Jan 08:00 2027"
