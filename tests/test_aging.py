from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from owner_tui import aging
from owner_tui.aging import Msg
from owner_tui.config import BusinessHours

UTC = timezone.utc


def t(h, m=0, day=20):
    return aging.to_iso(datetime(2026, 11, day, h, m, tzinfo=UTC))


def test_waiting_since_is_first_inbound_after_last_reply():
    msgs = [Msg("in", t(9)), Msg("out", t(9, 30)), Msg("in", t(10)), Msg("in", t(10, 30))]
    assert aging.recompute(msgs).waiting_since == t(10)
    assert aging.recompute(msgs, "latest").waiting_since == t(10, 30)


def test_owner_reply_last_means_nobody_waits():
    msgs = [Msg("in", t(10)), Msg("out", t(11))]
    s = aging.recompute(msgs)
    assert s.waiting_since is None and s.last_outbound_at == t(11) and s.last_inbound_at == t(10)


def test_noise_never_waits():
    assert aging.recompute([Msg("in", t(10), noise=True)]).waiting_since is None
    # noise after the owner's reply does not reopen the wait
    assert aging.recompute([Msg("in", t(9)), Msg("out", t(10)), Msg("in", t(11), noise=True)]).waiting_since is None


def test_same_second_reply_answers():
    assert aging.recompute([Msg("out", t(10)), Msg("in", t(10))]).waiting_since is None


def test_apply_in_order_equals_recompute_and_out_of_order_asks_for_recompute():
    msgs = [Msg("in", t(9)), Msg("in", t(9, 5)), Msg("out", t(10)), Msg("in", t(12))]
    state = aging.ConvState()
    for m in msgs:
        state = aging.apply(state, m)
    assert state == aging.recompute(msgs)
    assert aging.apply(state, Msg("out", t(11))) is None  # older than the newest message


@pytest.mark.parametrize("seconds,bucket", [(0, "lt1h"), (3599, "lt1h"), (3600, "1-4h"), (4 * 3600, "4-24h"),
                                            (86400, "1-3d"), (3 * 86400 - 1, "1-3d"), (3 * 86400, "gt3d")])
def test_buckets(seconds, bucket):
    assert aging.bucket_for(seconds) == bucket


def test_bucket_bounds_partition_time():
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    for seconds in (10, 3600, 3601, 5 * 3600, 2 * 86400, 10 * 86400):
        since = aging.to_iso(now - timedelta(seconds=seconds))
        hits = [k for k in aging.BUCKET_KEYS
                if (lambda lo, hi: (lo is None or since > lo) and since <= hi)(*aging.bucket_bounds(k, now))]
        assert hits == [aging.bucket_for(seconds)]


def test_format_age():
    assert [aging.format_age(s) for s in (5, 600, 3 * 3600 + 600, 20 * 3600, 86400 + 7200, 5 * 86400,
                                          30 * 86400, 400 * 86400)] == \
        ["5s", "10m", "3h10", "20h", "1d2h", "5d", "4w", "1y"]


LONDON = ZoneInfo("Europe/London")
HOURS = BusinessHours(tz=LONDON, days=frozenset(range(5)), opens=time(9), closes=time(17))


def lon(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LONDON).astimezone(UTC)


def test_business_seconds_skips_nights_and_weekends():
    # Friday 16:00 -> Monday 10:00 is 1 h on Friday + 1 h on Monday.
    assert aging.business_seconds(lon(2026, 11, 20, 16), lon(2026, 11, 23, 10), HOURS) == 2 * 3600
    # Sent at night: the clock starts at opening time.
    assert aging.business_seconds(lon(2026, 11, 17, 22), lon(2026, 11, 18, 9, 30), HOURS) == 1800
    # Without opening hours it is calendar time.
    assert aging.business_seconds(lon(2026, 11, 17, 22), lon(2026, 11, 18, 9, 30), None) == 11.5 * 3600


def test_business_hours_across_dst_change():
    # Clocks go back on Sunday 25 Oct 2026 in London; local 9-17 stays 8 h on both Mondays.
    start, end = lon(2026, 10, 23, 9), lon(2026, 10, 26, 17)
    assert aging.business_seconds(start, end, HOURS) == 16 * 3600


def test_sla_due_with_business_hours():
    # 24 business hours = three 8-hour days: Thursday 15:00 -> Tuesday 15:00 (weekend skipped).
    due = aging.sla_due(aging.to_iso(lon(2026, 11, 19, 15)), 24, HOURS)
    assert due == lon(2026, 11, 24, 15)
    assert aging.sla_due(aging.to_iso(lon(2026, 11, 19, 15)), 24, None) == lon(2026, 11, 20, 15)
