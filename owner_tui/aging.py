"""Who awaits a reply, since when, and how late that is: pure functions, no I/O.

Definitions (design.md): a conversation awaits a reply when its latest non-noise message is
inbound. *Waiting since* is the first inbound message after the owner's last reply
(``mode="first"``, the default) or the latest inbound message (``mode="latest"``).
Times are UTC ISO-8601 strings in one fixed format (``to_iso``), so they sort as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from owner_tui.config import BusinessHours

UTC = timezone.utc

#: (key, label, upper bound in seconds) from the freshest to the oldest wait.
BUCKETS: tuple[tuple[str, str, float], ...] = (
    ("lt1h", "< 1 h", 3600),
    ("1-4h", "1-4 h", 4 * 3600),
    ("4-24h", "4-24 h", 24 * 3600),
    ("1-3d", "1-3 days", 3 * 86400),
    ("gt3d", "> 3 days", float("inf")),
)
BUCKET_KEYS = tuple(b[0] for b in BUCKETS)


def to_iso(dt: datetime) -> str:
    """The one time format in the store: UTC, seconds precision, ``+00:00``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Msg:
    """What the aging rules need from a message."""

    direction: str  # "in" or "out"
    sent_at: str
    noise: bool = False


@dataclass(frozen=True)
class ConvState:
    waiting_since: str | None = None
    last_inbound_at: str | None = None
    last_outbound_at: str | None = None
    last_message_at: str | None = None  # the newest non-noise message


def order_key(m: Msg) -> tuple[str, int]:
    # An owner reply stamped in the same second as an inbound message answers it.
    return (m.sent_at, 0 if m.direction == "in" else 1)


def recompute(messages: Iterable[Msg], mode: str = "first") -> ConvState:
    """The state of a conversation from all its messages, in any order."""
    state = ConvState()
    for m in sorted((m for m in messages if not m.noise), key=order_key):
        state = _step(state, m, mode)
    return state


def _step(state: ConvState, m: Msg, mode: str) -> ConvState:
    if m.direction == "in":
        since = m.sent_at if (mode == "latest" or state.waiting_since is None) else state.waiting_since
        return ConvState(since, m.sent_at, state.last_outbound_at, m.sent_at)
    return ConvState(None, state.last_inbound_at, m.sent_at, m.sent_at)


def apply(state: ConvState, m: Msg, mode: str = "first") -> ConvState | None:
    """Fold one new message into the state; ``None`` when it arrived out of order and the
    caller must ``recompute`` from all messages (a Sent folder synced late, an old import)."""
    if m.noise:
        return state
    if state.last_message_at is not None:
        last = (state.last_message_at, 1 if state.last_message_at == state.last_outbound_at else 0)
        if order_key(m) < last:
            return None
    return _step(state, m, mode)


# -- buckets and ages ---------------------------------------------------------------------------

def bucket_for(age_seconds: float) -> str:
    for key, _label, upper in BUCKETS:
        if age_seconds < upper:
            return key
    return BUCKETS[-1][0]


def bucket_label(key: str) -> str:
    return dict((k, label) for k, label, _ in BUCKETS)[key]


def bucket_bounds(key: str, now: datetime) -> tuple[str | None, str | None]:
    """``(oldest, newest)`` waiting_since values (ISO) that fall in bucket ``key`` at ``now``:
    ``oldest < waiting_since <= newest``; ``None`` means unbounded."""
    lower = 0.0
    for k, _label, upper in BUCKETS:
        if k == key:
            newest = to_iso(now - timedelta(seconds=lower))
            oldest = None if upper == float("inf") else to_iso(now - timedelta(seconds=upper))
            return oldest, newest
        lower = upper
    raise ValueError(f"unknown bucket {key!r}")


def format_age(seconds: float) -> str:
    """Short, stable-width-ish ages: ``45s``, ``12m``, ``3h``, ``2d``, ``5w``, ``1y``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h{m:02d}" if h < 10 and m else f"{h}h"
    if s < 14 * 86400:
        d, h = divmod(s // 3600, 24)
        return f"{d}d{h}h" if d < 3 and h else f"{d}d"
    if s < 365 * 86400:
        return f"{s // (7 * 86400)}w"
    return f"{s // (365 * 86400)}y"


def age_seconds(waiting_since: str, now: datetime) -> float:
    return (now - parse_iso(waiting_since)).total_seconds()


# -- business hours and the SLA -----------------------------------------------------------------

def _open_intervals(start: datetime, end: datetime, hours: BusinessHours):
    """Yield the (UTC) open intervals of each local day overlapping [start, end)."""
    day = start.astimezone(hours.tz).date() - timedelta(days=1)
    last = end.astimezone(hours.tz).date() + timedelta(days=1)
    while day <= last:
        if day.weekday() in hours.days:
            o = datetime.combine(day, hours.opens, tzinfo=hours.tz).astimezone(UTC)
            c = datetime.combine(day, hours.closes, tzinfo=hours.tz).astimezone(UTC)
            lo, hi = max(o, start), min(c, end)
            if hi > lo:
                yield lo, hi
        day += timedelta(days=1)


def business_seconds(start: datetime, end: datetime, hours: BusinessHours | None) -> float:
    """Seconds between two instants that fall inside opening hours (calendar seconds without)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    return sum((hi - lo).total_seconds() for lo, hi in _open_intervals(start, end, hours))


def add_business_seconds(start: datetime, seconds: float, hours: BusinessHours | None) -> datetime:
    """The instant when ``seconds`` of (business) time have passed after ``start``."""
    if hours is None or not hours.days:
        return start + timedelta(seconds=seconds)
    remaining = seconds
    day = start.astimezone(hours.tz).date()
    for _ in range(3660):  # ten years of days: an SLA beyond that is a configuration error
        if day.weekday() in hours.days:
            o = datetime.combine(day, hours.opens, tzinfo=hours.tz).astimezone(UTC)
            c = datetime.combine(day, hours.closes, tzinfo=hours.tz).astimezone(UTC)
            lo = max(o, start)
            if c > lo:
                avail = (c - lo).total_seconds()
                if avail >= remaining:
                    return lo + timedelta(seconds=remaining)
                remaining -= avail
        day += timedelta(days=1)
    raise ValueError("SLA target too far in the future for the configured opening hours")


def sla_due(waiting_since: str, sla_hours: float, hours: BusinessHours | None) -> datetime:
    return add_business_seconds(parse_iso(waiting_since), sla_hours * 3600, hours)
