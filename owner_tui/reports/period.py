"""Reports by period: a week, month, quarter or year, each against the one before.

Figures per channel and overall: messages in, conversations answered, median and p90 reply
and first response times, the share within the SLA (all from ``metrics``, so the digest,
the dashboard and these reports never disagree), the average rating per platform with its
change, the conversations still unanswered when the period ended, and what customers said
most often in low ratings and complaints (``phrases``).

Periods are calendar periods in the configured time zone (``metrics.local_zone``): a month
runs from local midnight on the 1st to local midnight on the 1st of the next, so a month that
crosses a daylight-saving change is 743 or 745 hours long, as it is on the shop's wall. Each
period is measured as it stood at its end: a reply after the end does not count in it, and a
period still running is measured up to now ("so far").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from owner_tui import aging
from owner_tui.reports import metrics, phrases

if TYPE_CHECKING:
    from owner_tui.store import Store

PERIODS = ("week", "month", "quarter", "year")
FORMATS = ("text", "markdown", "html", "json")
LOW_RATING = 2
EPOCH = datetime(1970, 1, 1, tzinfo=aging.UTC)
REVIEW_CHANNELS = ("google", "trustpilot", "yelp", "facebook", "on-site")


# -- calendar -----------------------------------------------------------------------------------

def bounds(period: str, day: date) -> tuple[date, date]:
    """The local dates ``[start, end)`` of the ``period`` that contains ``day``."""
    if period == "week":  # ISO weeks: Monday to Monday
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
    elif period == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    elif period == "year":
        start = date(day.year, 1, 1)
    else:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = start.month - 1 + months
    return start, date(start.year + m // 12, m % 12 + 1, 1)


def previous_start(period: str, start: date) -> date:
    return bounds(period, start - timedelta(days=1))[0]


def label(period: str, start: date) -> str:
    if period == "week":
        iso = start.isocalendar()
        return f"week {iso.week} of {iso.year} (from Mon {start:%d %b})"
    if period == "month":
        return start.strftime("%B %Y")
    if period == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(aging.UTC)


# -- figures ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rating:
    average: float | None
    count: int


@dataclass(frozen=True)
class Figures:
    """One period, measured as it stood at ``as_of`` (its end, or now while it runs)."""

    label: str
    since: datetime
    until: datetime
    as_of: datetime
    complete: bool
    metrics: metrics.PeriodMetrics
    answered: dict[str, int]  # channel (and "all") -> conversations with a wait answered
    unanswered_at_end: dict[str, int]  # channel (and "all") -> conversations waiting at as_of
    ratings: dict[str, Rating]  # platform -> average of the ratings given in the period
    complaints: int  # messages counted as low ratings or complaints
    said: phrases.Said = field(default_factory=phrases.Said)

    def channel(self, name: str) -> metrics.ChannelMetrics:
        if name == metrics.ALL:
            return self.metrics.overall
        return self.metrics.channels.get(name) or metrics.ChannelMetrics(channel=name)


@dataclass(frozen=True)
class PeriodReport:
    period: str
    generated_at: datetime
    timezone: str
    sla_hours: float
    business_hours: bool
    current: Figures
    previous: Figures
    top: list[phrases.Phrase]  # the current period's phrases with the previous period's counts

    @property
    def channels(self) -> list[str]:
        names = set(self.current.metrics.channels) | set(self.previous.metrics.channels)
        names |= {k for k in self.current.unanswered_at_end if k != metrics.ALL}
        names |= {k for k in self.previous.unanswered_at_end if k != metrics.ALL}
        return sorted(names)


def _by_channel(pairs) -> dict[str, int]:
    out: dict[str, int] = {}
    for channel, n in pairs:
        out[channel] = out.get(channel, 0) + n
        out[metrics.ALL] = out.get(metrics.ALL, 0) + n
    return out


def figures(store: "Store", period: str, start: date, now: datetime) -> Figures:
    tz = metrics.local_zone(store.aging)
    end = bounds(period, start)[1]
    since, until = local_midnight(start, tz), local_midnight(end, tz)
    as_of = min(until, now)
    pm = metrics.period_metrics(store, since, until, as_of)
    waits, _ = metrics.load_waits(store, since, until, as_of)
    answered_convs = {(w.channel, w.conversation_id) for w in waits if w.replied}
    answered = _by_channel((ch, 1) for ch, _ in answered_convs)
    # Waiting at the end: every wait started before it (whenever) and still open then.
    before, _ = metrics.load_waits(store, EPOCH, as_of, as_of)
    open_convs = {(w.channel, w.conversation_id) for w in before if w.outcome == "open"}
    unanswered = _by_channel((ch, 1) for ch, _ in open_convs)
    lo, hi = aging.to_iso(since), aging.to_iso(as_of)
    ratings = {ch: Rating(avg, n) for ch, avg, n in store.db.execute(
        """SELECT c.channel, avg(m.rating), count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE m.direction = 'in' AND m.noise IS NULL AND c.status != 'noise' AND m.rating IS NOT NULL
             AND m.sent_at >= ? AND m.sent_at < ? GROUP BY c.channel ORDER BY c.channel""", [lo, hi])}
    texts = [(t or "", r) for t, r in store.db.execute(
        """SELECT m.text, m.rating FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE m.direction = 'in' AND m.noise IS NULL AND c.status != 'noise'
             AND m.sent_at >= ? AND m.sent_at < ? AND (m.rating IS NULL OR m.rating <= ?)
           ORDER BY m.sent_at, m.id""", [lo, hi, LOW_RATING])]
    # The contact line an on-site customer left is for the owner, not for a report's examples.
    complaints = [re.sub(r"(?m)^Phone: .*$", "", t).strip() for t, r in texts if r is not None or phrases.is_complaint(t)]
    return Figures(label(period, start), since, until, as_of, as_of >= until, pm, answered, unanswered, ratings,
                   len(complaints), phrases.said(complaints))


def parse_at(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--at {text!r}: use a date like 2026-11-15") from None


def build_report(store: "Store", period: str, *, at: date | None = None, now: datetime | None = None) -> PeriodReport:
    """The ``period`` containing ``at``; without ``at``, the last complete one (what a cron
    job on the first morning of a month wants)."""
    if period not in PERIODS:
        raise ValueError(f"--period must be one of {', '.join(PERIODS)}")
    now = now or store.now()
    tz = metrics.local_zone(store.aging)
    today = now.astimezone(tz).date()
    if at is None:
        start = previous_start(period, bounds(period, today)[0])
    else:
        if at > today:
            raise ValueError(f"--at {at.isoformat()} is in the future")
        start = bounds(period, at)[0]
    current = figures(store, period, start, now)
    previous = figures(store, period, previous_start(period, start), now)
    top = phrases.compare(current.said, previous.said)
    return PeriodReport(period, now, str(tz), store.aging.sla_hours, store.aging.business_hours is not None,
                        current, previous, top)
