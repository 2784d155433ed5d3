"""Response metrics from the store: first response time, reply time, share within the SLA.

Pure computation over store reads (no writes, no Textual), shared by the digest and the
dashboard so both always show the same numbers. The definitions live in README.md
("## Metrics"); in short:

* A **wait** starts where the inbox says a customer starts waiting (``aging.waiting_since``
  rules: the first non-noise inbound message after the owner's last reply, or the latest one
  in ``waiting_since = "latest"`` mode) and ends with the next outbound message (a reply from
  owner-tui, the Sent folder, the owner's phone, a platform reply, or "replied elsewhere"), or
  with the owner marking the conversation done (closed without a reply; left out of times
  and SLA share).
* **Reply time** is the length of every wait ended by a reply; **first response time** is
  the conversation's first non-noise inbound message to the first owner reply after it.
* Every sample belongs to the period in which its wait *started*; replies are counted up to
  ``as_of`` (now), so a Friday message answered on Monday belongs to Friday's week.
* The **SLA share** is answered-within-target over answered plus still-unanswered-and-overdue
  waits; waits still within their target are not judged yet.

Business time uses ``aging.business_seconds`` (opening hours in their own time zone, so a
DST change moves the opening instant, not the length of the opening day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Sequence
from zoneinfo import ZoneInfo

from owner_tui import aging
from owner_tui.config import AgingConfig

if TYPE_CHECKING:
    from owner_tui.store import Store

REPLIED_ELSEWHERE_PREFIX = "replied-elsewhere:"
ALL = "all"


@dataclass(frozen=True)
class Wait:
    """One customer wait: from ``start`` to the reply (``end``), the owner closing it, or open."""

    conversation_id: int
    channel: str
    start: datetime
    end: datetime | None = None  # when the reply or the close happened
    outcome: str = "open"  # "reply", "done" (closed without a reply) or "open"
    first: bool = False  # the conversation's first wait: its start is the first inbound message
    elsewhere: bool = False  # the reply was marked "replied elsewhere"

    @property
    def replied(self) -> bool:
        return self.outcome == "reply"


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of a set of durations, in calendar and business hours."""

    count: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    #: ``None`` when no opening hours are configured (business time would equal calendar time).
    median_business_hours: float | None = None
    p90_business_hours: float | None = None


@dataclass(frozen=True)
class ChannelMetrics:
    channel: str
    first_response: Durations = Durations()
    reply: Durations = Durations()
    waits: int = 0  # waits that started in the period
    answered: int = 0
    sla_met: int = 0
    sla_judged: int = 0  # answered + unanswered and already overdue
    still_waiting: int = 0
    overdue: int = 0  # of those still waiting, past their SLA target
    closed_without_reply: int = 0
    inbound: int = 0  # non-noise inbound messages sent in the period
    replies: int = 0  # outbound messages sent in the period

    @property
    def sla_share(self) -> float | None:
        return self.sla_met / self.sla_judged if self.sla_judged else None


@dataclass(frozen=True)
class PeriodMetrics:
    since: datetime
    until: datetime
    as_of: datetime
    sla_hours: float
    business_hours: bool
    overall: ChannelMetrics
    channels: dict[str, ChannelMetrics] = field(default_factory=dict)


@dataclass(frozen=True)
class DayPoint:
    """One local calendar day for the dashboard chart."""

    day: date
    inbound: int
    replies: int  # waits that started this day and were answered
    median_reply_hours: float | None


# -- statistics ---------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, ``statistics.quantiles``
    "inclusive"): position ``(n - 1) * q`` in the sorted values. ``q = 0.5`` is the median."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def durations(pairs: Iterable[tuple[datetime, datetime]], hours: "aging.BusinessHours | None") -> Durations:
    """Summarise (start, end) pairs; business figures only when opening hours are set."""
    pairs = list(pairs)
    if not pairs:
        return Durations()
    cal = [(b - a).total_seconds() / 3600 for a, b in pairs]
    out = Durations(count=len(pairs), median_hours=percentile(cal, 0.5), p90_hours=percentile(cal, 0.9))
    if hours is not None:
        biz = [aging.business_seconds(a, b, hours) / 3600 for a, b in pairs]
        out = Durations(out.count, out.median_hours, out.p90_hours, percentile(biz, 0.5), percentile(biz, 0.9))
    return out


# -- waits from messages ------------------------------------------------------------------------

def waits_from(conversation_id: int, channel: str, messages: Iterable[tuple[str, str, bool, str]],
               done_at: Iterable[str] = (), *, mode: str = "first",
               as_of: datetime | str | None = None) -> list[Wait]:
    """Every wait of one conversation. ``messages`` are ``(direction, sent_at, noise,
    external_id)``; ``done_at`` the times the owner marked it done (not undone). Anything
    after ``as_of`` has not happened yet."""
    limit = as_of if isinstance(as_of, str) else (aging.to_iso(as_of) if as_of else None)
    timeline: list[tuple[str, int, str, str]] = []  # (at, order, kind, external_id)
    for direction, sent_at, noise, ext in messages:
        if noise or (limit and sent_at > limit):
            continue
        # Same order as aging.order_key: a reply stamped in the same second answers the message.
        timeline.append((sent_at, 0 if direction == "in" else 1, direction, ext or ""))
    for at in done_at:
        if not limit or at <= limit:
            timeline.append((at, 2, "done", ""))
    timeline.sort()

    waits: list[Wait] = []
    start: str | None = None
    first_pending = True  # the next wait to start is the conversation's first
    is_first = False
    for at, _order, kind, ext in timeline:
        if kind == "in":
            if start is None:
                start, is_first, first_pending = at, first_pending, False
            elif mode == "latest":
                start = at
        elif start is not None:
            outcome = "reply" if kind == "out" else "done"
            waits.append(Wait(conversation_id, channel, aging.parse_iso(start), aging.parse_iso(at), outcome,
                              is_first, ext.startswith(REPLIED_ELSEWHERE_PREFIX)))
            start = None
    if start is not None:
        waits.append(Wait(conversation_id, channel, aging.parse_iso(start), None, "open", is_first))
    return waits


def first_inbound(messages: Iterable[tuple[str, str, bool, str]]) -> str | None:
    ins = [m[1] for m in messages if m[0] == "in" and not m[2]]
    return min(ins) if ins else None


def load_waits(store: "Store", since: datetime, until: datetime, as_of: datetime,
               channel: str | None = None) -> tuple[list[Wait], dict[int, datetime]]:
    """Waits that started in ``[since, until)`` and the first inbound time of each
    conversation involved, read in two queries (conversations marked noise are left out)."""
    lo, hi = aging.to_iso(since), aging.to_iso(until)
    scope = ("SELECT DISTINCT conversation_id FROM messages WHERE direction = 'in' AND noise IS NULL "
             "AND sent_at >= ? AND sent_at < ?")
    chan_sql, args = "", [lo, hi]
    if channel:
        chan_sql, args = " AND c.channel = ?", [lo, hi, channel]
    rows = store.db.execute(
        f"""SELECT m.conversation_id, c.channel, m.direction, m.sent_at, m.noise IS NOT NULL, m.external_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE c.status != 'noise' AND m.conversation_id IN ({scope}){chan_sql}
            ORDER BY m.conversation_id""", args).fetchall()
    done: dict[int, list[str]] = {}
    for cid, at in store.db.execute(
            f"SELECT conversation_id, at FROM events WHERE kind = 'done' AND undone = 0 "
            f"AND conversation_id IN ({scope})", [lo, hi]):
        done.setdefault(cid, []).append(at)
    by_conv: dict[int, tuple[str, list[tuple[str, str, bool, str]]]] = {}
    for cid, chan, direction, sent_at, noise, ext in rows:
        by_conv.setdefault(cid, (chan, []))[1].append((direction, sent_at, bool(noise), ext))
    mode = store.aging.waiting_since
    limit = aging.to_iso(as_of)
    waits: list[Wait] = []
    firsts: dict[int, datetime] = {}
    for cid, (chan, msgs) in by_conv.items():
        fi = first_inbound(msgs)
        if fi:
            firsts[cid] = aging.parse_iso(fi)
        for w in waits_from(cid, chan, msgs, done.get(cid, ()), mode=mode, as_of=limit):
            if since <= w.start < until:
                waits.append(w)
    return waits, firsts


# -- summaries ----------------------------------------------------------------------------------

def summarize(channel: str, waits: Sequence[Wait], firsts: dict[int, datetime], cfg: AgingConfig,
              as_of: datetime, inbound: int = 0, replies: int = 0) -> ChannelMetrics:
    hours = cfg.business_hours
    answered = [w for w in waits if w.replied]
    reply = durations(((w.start, w.end) for w in answered), hours)  # type: ignore[misc]
    # First response: from the conversation's first inbound message (whatever the waiting
    # mode), for the first wait only, and only when a reply (not a close) ended it.
    fr = durations(((firsts.get(w.conversation_id, w.start), w.end) for w in answered if w.first), hours)  # type: ignore[misc]
    met = judged = overdue = 0
    for w in waits:
        due = aging.add_business_seconds(w.start, cfg.sla_hours * 3600, hours)
        if w.replied:
            judged += 1
            met += w.end <= due  # type: ignore[operator]
        elif w.outcome == "open" and due <= as_of:
            judged += 1
            overdue += 1
    open_ = sum(1 for w in waits if w.outcome == "open")
    return ChannelMetrics(
        channel=channel, first_response=fr, reply=reply, waits=len(waits), answered=len(answered),
        sla_met=met, sla_judged=judged, still_waiting=open_, overdue=overdue,
        closed_without_reply=sum(1 for w in waits if w.outcome == "done"), inbound=inbound, replies=replies)


def _message_counts(store: "Store", since: datetime, until: datetime) -> dict[tuple[str, str], int]:
    """(channel, direction) -> messages sent in the period (inbound: non-noise only)."""
    counts: dict[tuple[str, str], int] = {}
    for chan, direction, n in store.db.execute(
            """SELECT c.channel, m.direction, count(*) FROM messages m
               JOIN conversations c ON c.id = m.conversation_id
               WHERE m.sent_at >= ? AND m.sent_at < ? AND c.status != 'noise'
                 AND (m.direction = 'out' OR m.noise IS NULL)
               GROUP BY c.channel, m.direction""", [aging.to_iso(since), aging.to_iso(until)]):
        counts[(chan, direction)] = n
    return counts


def period_metrics(store: "Store", since: datetime, until: datetime | None = None,
                   as_of: datetime | None = None) -> PeriodMetrics:
    """Metrics per channel and overall for waits that started in ``[since, until)``."""
    as_of = as_of or store.now()
    until = until or as_of
    cfg = store.aging
    waits, firsts = load_waits(store, since, until, as_of)
    counts = _message_counts(store, since, until)
    channels = sorted({w.channel for w in waits} | {c for c, _ in counts})
    per = {ch: summarize(ch, [w for w in waits if w.channel == ch], firsts, cfg, as_of,
                         counts.get((ch, "in"), 0), counts.get((ch, "out"), 0)) for ch in channels}
    overall = summarize(ALL, waits, firsts, cfg, as_of, sum(v for (_, d), v in counts.items() if d == "in"),
                        sum(v for (_, d), v in counts.items() if d == "out"))
    return PeriodMetrics(since, until, as_of, cfg.sla_hours, cfg.business_hours is not None, overall, per)


def local_zone(cfg: AgingConfig) -> ZoneInfo:
    """Days are counted in the opening hours' zone, else the configured time zone."""
    if cfg.business_hours is not None:
        return cfg.business_hours.tz
    try:
        return ZoneInfo(cfg.timezone or "UTC")
    except Exception:  # config validated the name; a store opened without config has UTC
        return ZoneInfo("UTC")


def daily_series(store: "Store", days: int, as_of: datetime | None = None) -> list[DayPoint]:
    """The last ``days`` local days up to today: inbound volume and median reply time of the
    waits that started that day (the dashboard chart)."""
    as_of = as_of or store.now()
    tz = local_zone(store.aging)
    today = as_of.astimezone(tz).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=tz).astimezone(aging.UTC)
    waits, _ = load_waits(store, since, as_of, as_of)
    by_day: dict[date, list[float]] = {}
    for w in waits:
        if w.replied:
            by_day.setdefault(w.start.astimezone(tz).date(), []).append((w.end - w.start).total_seconds() / 3600)  # type: ignore[operator]
    inbound: dict[date, int] = {}
    # Counted per UTC hour in SQL, then each hour placed on its local day: exact while the
    # zone's offsets are whole hours (per minute otherwise: India, Newfoundland, ...).
    whole = all((dt.utcoffset() or timedelta()).total_seconds() % 3600 == 0
                for dt in (since.astimezone(tz), as_of.astimezone(tz)))
    width, tail = (13, ":00:00+00:00") if whole else (16, ":00+00:00")
    for slot, n in store.db.execute(
            f"""SELECT substr(m.sent_at, 1, {width}), count(*) FROM messages m
                JOIN conversations c ON c.id = m.conversation_id
                WHERE m.direction = 'in' AND m.noise IS NULL AND c.status != 'noise'
                  AND m.sent_at >= ? AND m.sent_at <= ? GROUP BY 1""", [aging.to_iso(since), aging.to_iso(as_of)]):
        d = aging.parse_iso(slot + tail).astimezone(tz).date()
        inbound[d] = inbound.get(d, 0) + n
    out = []
    for i in range(days):
        d = first_day + timedelta(days=i)
        vals = by_day.get(d, [])
        out.append(DayPoint(d, inbound.get(d, 0), len(vals), percentile(vals, 0.5)))
    return out


@dataclass(frozen=True)
class WeekComparison:
    this_week: PeriodMetrics
    last_week: PeriodMetrics


def week_comparison(store: "Store", as_of: datetime | None = None) -> WeekComparison:
    """The last seven days against the seven before (rolling, so Monday morning is not empty)."""
    as_of = as_of or store.now()
    week = timedelta(days=7)
    return WeekComparison(period_metrics(store, as_of - week, as_of, as_of),
                          period_metrics(store, as_of - 2 * week, as_of - week, as_of))


def format_hours(value: float | None) -> str:
    """``42m``, ``3.5h``, ``2.1d``: short and readable for a digest line."""
    if value is None:
        return "-"
    if value < 1:
        return f"{round(value * 60)}m"
    if value < 48:
        return f"{value:.1f}h"
    return f"{value / 24:.1f}d"


def format_share(metrics: ChannelMetrics) -> str:
    share = metrics.sla_share
    return "-" if share is None else f"{share * 100:.0f}% ({metrics.sla_met}/{metrics.sla_judged})"
