"""Response metrics against hand-computed values (see tests/metrics_sample.py for the sums)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from owner_tui.reports import metrics
from owner_tui.reports.metrics import Wait, percentile, waits_from
from tests.metrics_sample import HOURS, NOW, Clock, add, build_sample, open_store, utc


@pytest.fixture
def sample(tmp_path):
    store = build_sample(tmp_path / "s.db")
    yield store
    store.close()


def period(store, since=utc(19, 0), until=None):
    return metrics.period_metrics(store, since, until or NOW, NOW)


# -- pure parts -------------------------------------------------------------------------------

def test_percentile_interpolates_between_closest_ranks():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([1, 8, 18, 169], 0.5) == 13  # (8 + 18) / 2
    assert percentile([169, 1, 18, 8], 0.9) == pytest.approx(123.7)  # 18 + 0.7 * 151


def test_waits_follow_the_inbox_rules():
    msgs = [("in", "2026-10-22T09:00:00+00:00", False, "a"), ("in", "2026-10-22T08:00:00+00:00", True, "n"),
            ("in", "2026-10-22T09:30:00+00:00", False, "b"), ("out", "2026-10-22T10:00:00+00:00", False, "c"),
            ("out", "2026-10-22T10:05:00+00:00", False, "d"), ("in", "2026-10-22T12:00:00+00:00", False, "e")]
    first = waits_from(1, "email", msgs)
    assert [(w.start, w.end, w.outcome, w.first) for w in first] == [
        (utc(22, 9), utc(22, 10), "reply", True), (utc(22, 12), None, "open", False)]
    latest = waits_from(1, "email", msgs, mode="latest")
    assert latest[0].start == utc(22, 9, 30)  # the latest inbound before the reply


def test_same_second_reply_answers_and_done_closes_without_reply():
    msgs = [("out", "2026-10-22T09:00:00+00:00", False, "x"), ("in", "2026-10-22T09:00:00+00:00", False, "y")]
    assert waits_from(1, "email", msgs) == [Wait(1, "email", utc(22, 9), utc(22, 9), "reply", True)]
    done = waits_from(1, "email", [("in", "2026-10-22T09:00:00+00:00", False, "y")],
                      ["2026-10-22T11:00:00+00:00"])
    assert done == [Wait(1, "email", utc(22, 9), utc(22, 11), "done", True)]


def test_nothing_after_as_of_has_happened():
    msgs = [("in", "2026-10-22T09:00:00+00:00", False, "a"), ("out", "2026-10-22T10:00:00+00:00", False, "b")]
    assert waits_from(1, "email", msgs, as_of=utc(22, 9, 30))[0].outcome == "open"


# -- the sample store -------------------------------------------------------------------------

def test_reply_time_per_channel_in_calendar_and_business_hours(sample):
    m = period(sample)
    email, google = m.channels["email"], m.channels["google"]
    # email waits c: .25 1 8 18 169 ; b: .25 1 2 5 40
    assert email.reply.count == 5
    assert email.reply.median_hours == pytest.approx(8)
    assert email.reply.p90_hours == pytest.approx(108.6)  # 18 + 0.6 * 151
    assert email.reply.median_business_hours == pytest.approx(2)
    assert email.reply.p90_business_hours == pytest.approx(26)  # 5 + 0.6 * 35
    # google waits c: 25 68.5 69 ; b: 0 3.5 4 (weekend reply = 0 business hours; DST night = 25 h)
    assert google.reply.count == 3
    assert google.reply.median_hours == pytest.approx(68.5)
    assert google.reply.p90_hours == pytest.approx(68.9)
    assert google.reply.median_business_hours == pytest.approx(3.5)
    assert google.reply.p90_business_hours == pytest.approx(3.9)
    # overall c: .25 1 8 18 25 68.5 69 169 ; b: 0 .25 1 2 3.5 4 5 40
    assert m.overall.reply.median_hours == pytest.approx(21.5)
    assert m.overall.reply.p90_hours == pytest.approx(99)
    assert m.overall.reply.median_business_hours == pytest.approx(2.75)
    assert m.overall.reply.p90_business_hours == pytest.approx(15.5)


def test_first_response_counts_each_conversation_once_from_its_first_real_message(sample):
    m = period(sample)
    # email: E1 18, E2 8, E3 169, E4 1 (from 09:00Z, not the 08:00Z auto-reply; not 12:00Z)
    assert m.channels["email"].first_response.count == 4
    assert m.channels["email"].first_response.median_hours == pytest.approx(13)
    assert m.channels["email"].first_response.p90_hours == pytest.approx(123.7)
    assert m.channels["email"].first_response.median_business_hours == pytest.approx(3.5)
    assert m.channels["email"].first_response.p90_business_hours == pytest.approx(29.5)
    # overall c: 1 8 18 25 68.5 69 169 ; b: 0 1 2 3.5 4 5 40 (G4 closed, G5 G6 open: no sample)
    assert m.overall.first_response.count == 7
    assert m.overall.first_response.median_hours == pytest.approx(25)
    assert m.overall.first_response.p90_hours == pytest.approx(109)
    assert m.overall.first_response.median_business_hours == pytest.approx(3.5)
    assert m.overall.first_response.p90_business_hours == pytest.approx(19)


def test_sla_share_judges_answered_and_overdue_waits(sample):
    m = period(sample)
    email, google = m.channels["email"], m.channels["google"]
    assert (email.sla_met, email.sla_judged) == (3, 5)  # E2 and E3 late
    # G1 exactly at its deadline (met), G2, G3 met (DST-shifted deadline), G5 overdue,
    # G6 not due yet (not judged), G4 closed without a reply (not judged).
    assert (google.sla_met, google.sla_judged) == (3, 4)
    assert google.sla_share == pytest.approx(0.75)
    assert (google.still_waiting, google.overdue, google.closed_without_reply) == (2, 1, 1)
    assert (m.overall.sla_met, m.overall.sla_judged) == (6, 9)
    assert metrics.format_share(m.overall) == "67% (6/9)"


def test_replied_elsewhere_counts_as_a_reply_at_that_time(sample):
    waits, _ = metrics.load_waits(sample, utc(23, 0), utc(24, 0), NOW)
    g1 = [w for w in waits if w.channel == "google" and w.start == utc(23, 14)]
    assert len(g1) == 1 and g1[0].replied and g1[0].elsewhere and g1[0].end == utc(26, 11)


def test_message_counts_leave_noise_out(sample):
    m = period(sample)
    assert (m.channels["email"].inbound, m.channels["email"].replies) == (6, 5)  # not the auto-reply
    assert (m.channels["google"].inbound, m.channels["google"].replies) == (6, 3)
    assert (m.overall.waits, m.overall.answered) == (11, 8)  # 5 email + G1..G6


def test_a_wait_belongs_to_the_period_it_started_in(sample):
    # Friday 23 only: G1 and G3 started then (answered on Monday, still counted), nothing else.
    m = period(sample, utc(23, 0), utc(24, 0))
    assert m.overall.reply.count == 2
    assert m.overall.reply.median_hours == pytest.approx(68.75)
    assert set(m.channels) == {"google"}


def test_without_opening_hours_business_figures_are_absent_and_sla_is_calendar(tmp_path):
    store = build_sample(tmp_path / "c.db", business=False, sla=24)
    m = period(store)
    assert m.overall.reply.median_business_hours is None and not m.business_hours
    # calendar 24 h: email .25 1 8 18 met, 169 late; google 25 68.5 69 late, G5 (Mon 09:00Z) overdue
    assert (m.channels["email"].sla_met, m.channels["email"].sla_judged) == (4, 5)
    assert (m.channels["google"].sla_met, m.channels["google"].sla_judged) == (0, 4)
    store.close()


def test_latest_mode_measures_from_the_latest_message(tmp_path):
    store = open_store(tmp_path / "l.db", Clock(), mode="latest", business=False)
    acc = store.ensure_account("imap", "a", {})
    add(store, acc, "email", "L1", [("in", utc(22, 9)), ("in", utc(22, 9, 30)), ("out", utc(22, 10))])
    m = period(store)
    assert m.overall.reply.median_hours == pytest.approx(0.5)
    assert m.overall.first_response.median_hours == pytest.approx(1)  # first response: first message
    store.close()


def test_undone_close_does_not_count(tmp_path):
    clock = Clock()
    store = open_store(tmp_path / "u.db", clock, business=False)
    acc = store.ensure_account("imap", "a", {})
    cid = add(store, acc, "email", "U1", [("in", utc(26, 9)), ("out", utc(26, 15))])
    clock.now = utc(26, 10)
    store.mark_done(cid)
    store.undo()
    clock.now = NOW
    m = period(store)
    assert m.overall.closed_without_reply == 0
    assert m.overall.reply.median_hours == pytest.approx(6)
    store.close()


def test_daily_series_counts_local_days(sample):
    days = metrics.daily_series(sample, 9, NOW)
    assert [d.day.day for d in days] == list(range(19, 28))
    by = {d.day.day: d for d in days}
    # inbound (non-noise) per local day: E3 19th; E1 20th; E2 21st; E4 x3 22nd; G1 G3 23rd;
    # G2 24th; G4 G5 26th; G6 27th.
    assert [by[d].inbound for d in range(19, 28)] == [1, 1, 1, 3, 2, 1, 0, 2, 1]
    assert by[23].median_reply_hours == pytest.approx(68.75) and by[23].replies == 2
    assert by[22].median_reply_hours == pytest.approx(0.625)  # 1 and 0.25
    assert by[25].median_reply_hours is None


def test_local_day_boundary_uses_the_time_zone(tmp_path):
    # 23:30 UTC on 23 October is 00:30 BST on the 24th.
    store = open_store(tmp_path / "z.db", Clock())
    acc = store.ensure_account("imap", "a", {})
    add(store, acc, "email", "Z", [("in", utc(23, 23, 30))])
    by = {d.day.day: d.inbound for d in metrics.daily_series(store, 5, NOW)}
    assert by[24] == 1 and by[23] == 0
    store.close()


def test_week_comparison_is_rolling(sample):
    wk = metrics.week_comparison(sample, NOW)
    assert wk.this_week.since == NOW - timedelta(days=7)
    # this week starts Tue 20 12:00Z: E1 E2 E4(x2) G1 G2 G3 answered; E3 (Mon 19) is last week.
    assert wk.this_week.overall.answered == 7
    assert wk.last_week.overall.answered == 1
    assert wk.last_week.overall.reply.median_hours == pytest.approx(169)


def test_business_hours_helper_matches_the_sample_sums():
    # The sample's comments rely on these; checked directly so a wrong sum is easy to find.
    from owner_tui.aging import add_business_seconds, business_seconds
    assert business_seconds(utc(19, 9), utc(26, 10), HOURS) / 3600 == pytest.approx(40)
    assert business_seconds(utc(24, 9), utc(25, 10), HOURS) == 0
    assert add_business_seconds(utc(23, 13), 4 * 3600, HOURS) == utc(26, 10)


def test_format_hours():
    assert metrics.format_hours(None) == "-"
    assert metrics.format_hours(0.25) == "15m"
    assert metrics.format_hours(21.5) == "21.5h"
    assert metrics.format_hours(169) == "7.0d"


def test_daily_volume_in_a_half_hour_zone(tmp_path):
    # Asia/Kolkata is UTC+5:30: 18:45 UTC on the 23rd is 00:15 on the 24th there.
    from owner_tui.config import AgingConfig, Config
    from owner_tui.store import Store

    store = Store.open(tmp_path / "k.db", config=Config(aging=AgingConfig(timezone="Asia/Kolkata")), clock=Clock())
    acc = store.ensure_account("imap", "a", {})
    add(store, acc, "email", "K1", [("in", utc(23, 18, 45))])
    add(store, acc, "email", "K2", [("in", utc(23, 18, 15))])
    by = {d.day.day: d.inbound for d in metrics.daily_series(store, 5, NOW)}
    assert (by[23], by[24]) == (1, 1)
    store.close()
