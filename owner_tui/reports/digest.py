"""The morning digest: what waits now, what came in since the last digest, low ratings, and
this week against last week; printed (Rich on a terminal, plain text in a pipe, markdown,
html, json: ``digest_render``) or mailed (``digest_mail``) so cron can deliver it.

Building reads the store only; the one write is remembering when a digest was last
delivered (``digest_state``, keyed by destination, so a manual look in the terminal does not
empty the morning mail). Textual is never imported here: ``owner-tui digest`` runs from cron.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from owner_tui import aging
from owner_tui.reports import metrics
from owner_tui.sanitize import one_line
from owner_tui.store.health import Health
from owner_tui.store.queries import ListFilter

if TYPE_CHECKING:
    from owner_tui.store import Store

OLDEST = 10
LIST_LIMIT = 10
LOW_RATING = 2
DEFAULT_SINCE = timedelta(hours=24)
FORMATS = ("text", "markdown", "html", "json")


@dataclass(frozen=True)
class Item:
    """One conversation line: untrusted text already cleaned for any output."""

    conversation_id: int
    channel: str
    contact: str
    text: str  # subject (email) or review excerpt
    at: str  # waiting since / sent at / last outbound, UTC ISO
    age_seconds: float
    rating: int | None = None
    bucket: str = ""
    overdue: bool = False
    state: str = ""  # the conversation now: "waiting", "answered", "done" or "snoozed"
    number: str = ""  # a missed call's number (to call back)


@dataclass(frozen=True)
class Digest:
    generated_at: datetime
    since: datetime
    since_source: str  # "last digest", "--since" or "last 24 h"
    timezone: str
    sla_hours: float
    business_hours: bool
    awaiting_total: int
    overdue_total: int
    buckets: dict[str, int]
    by_channel: dict[str, dict[str, int]]  # channel -> bucket -> count
    oldest: list[Item]
    arrived_total: int
    arrived_by_channel: dict[str, int]
    arrived: list[Item]
    low_ratings: list[Item]
    followup_days: int
    followups_total: int
    followups: list[Item]
    period: metrics.PeriodMetrics
    weeks: metrics.WeekComparison
    notes: list[str] = field(default_factory=list)
    #: Every account's health and the outbox (``store.health``): the digest opens with the
    #: accounts that fail, are stale or never synced, since the lists below may miss their mail.
    health: Health | None = None
    #: Missed calls awaiting a call back, oldest first (issue 19).
    missed_calls: list[Item] = field(default_factory=list)


# -- last digest time -------------------------------------------------------------------------

def state_key(mail_to: str | None) -> str:
    return f"last_digest_at:mail:{mail_to.strip().lower()}" if mail_to else "last_digest_at:terminal"


def get_state(store: "Store", key: str) -> str | None:
    """A value from ``digest_state`` (a table of the schema, migration m005)."""
    row = store.db.execute("SELECT value FROM digest_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_state(store: "Store", key: str, value: str) -> None:
    with store.write():
        store.db.execute("INSERT INTO digest_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                         [key, value, store.now_iso()])


# -- parsing the command's times --------------------------------------------------------------

_SPAN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_span(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``2w``."""
    m = _SPAN.fullmatch(text.lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a length of time; use a number and a unit, e.g. 24h, 7d, 2w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_since(text: str, now: datetime, store: "Store") -> datetime:
    """A span back from now (``24h``, ``3d``) or a local date/time (``2026-10-26``,
    ``2026-10-26 08:00``; the configured time zone unless an offset is given)."""
    if _SPAN.fullmatch(text.lower()):
        return now - parse_span(text)
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: use a span like 24h or 3d, or a date like 2026-10-26") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=metrics.local_zone(store.aging))
    dt = dt.astimezone(aging.UTC)
    if dt > now:
        raise ValueError(f"--since {text!r} is in the future")
    return dt


# -- building ---------------------------------------------------------------------------------

def _text_of(row: dict) -> str:
    text = row.get("subject") if row.get("channel") == "email" else (row.get("excerpt") or row.get("subject"))
    return one_line(text or "", limit=80)


def _contact_of(row: dict) -> str:
    return one_line(row.get("contact_name") or (row.get("contact_handle") or "").removeprefix("name:"), limit=40)


def _item(row: dict, at: str, now: datetime, cfg, **extra) -> Item:
    age = aging.age_seconds(at, now) if at else 0.0
    return Item(row["id"], row["channel"], _contact_of(row), _text_of(row), at, age, row.get("rating"), **extra)


def build_digest(store: "Store", *, now: datetime | None = None, since: datetime | None = None,
                 period: timedelta = timedelta(days=7), key: str = state_key(None)) -> Digest:
    """Everything the digest shows, computed once and rendered by any format."""
    now = now or store.now()
    cfg = store.aging
    if since is not None:
        source = "--since"
    else:
        last = get_state(store, key)
        since, source = (aging.parse_iso(last), "last digest") if last else (now - DEFAULT_SINCE, "last 24 h")

    buckets = store.bucket_counts(now)
    channels = [r[0] for r in store.db.execute(
        "SELECT DISTINCT channel FROM conversations WHERE status = 'open' AND waiting_since IS NOT NULL "
        "ORDER BY channel")]
    by_channel = {ch: store.bucket_counts(now, ch) for ch in channels}
    oldest = []
    for r in store.page(ListFilter(), 0, OLDEST, now):
        age = aging.age_seconds(r["waiting_since"], now)
        due = aging.sla_due(r["waiting_since"], cfg.sla_hours, cfg.business_hours)
        oldest.append(_item(r, r["waiting_since"], now, cfg, bucket=aging.bucket_for(age), overdue=due <= now,
                            state="waiting"))
    overdue_total = _overdue_count(store, now)

    lo, hi = aging.to_iso(since), aging.to_iso(now)
    arrived_by_channel = {ch: n for ch, n in store.db.execute(
        """SELECT c.channel, count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE m.direction = 'in' AND m.noise IS NULL AND c.status != 'noise' AND m.sent_at > ? AND m.sent_at <= ?
           GROUP BY c.channel ORDER BY c.channel""", [lo, hi])}
    arrived = [_item(r, r["at"], now, cfg, state=_state(r))
               for r in _conversation_rows(store, """
                   SELECT m.conversation_id AS cid, max(m.sent_at) AS at FROM messages m
                   JOIN conversations c ON c.id = m.conversation_id
                   WHERE m.direction = 'in' AND m.noise IS NULL AND c.status != 'noise' AND m.sent_at > ?
                     AND m.sent_at <= ?
                   GROUP BY m.conversation_id ORDER BY at DESC LIMIT ?""", [lo, hi, LIST_LIMIT])]
    # The message's own rating (the conversation's is the latest review's), lowest first.
    low = [_item(r, r["at"], now, cfg, state=_state(r))
           for r in _conversation_rows(store, """
               SELECT m.conversation_id AS cid, m.sent_at AS at, m.rating AS rating FROM messages m
               JOIN conversations c ON c.id = m.conversation_id
               WHERE m.direction = 'in' AND m.rating IS NOT NULL AND m.rating <= ? AND c.status != 'noise'
                 AND m.sent_at > ? AND m.sent_at <= ?
               ORDER BY m.rating, m.sent_at DESC LIMIT 50""", [LOW_RATING, lo, hi])]

    missed = []
    for r in _conversation_rows(store, """
            SELECT c.id AS cid, c.waiting_since AS at FROM conversations c
            WHERE c.channel = 'call' AND c.status = 'open' AND c.waiting_since IS NOT NULL
            ORDER BY c.waiting_since LIMIT ?""", [LIST_LIMIT]):
        caller = store.db.execute("SELECT sender_handle FROM messages WHERE conversation_id = ? AND direction = 'in' "
                                  "ORDER BY sent_at DESC LIMIT 1", [r["id"]]).fetchone()
        age = aging.age_seconds(r["at"], now)
        missed.append(_item(r, r["at"], now, cfg, bucket=aging.bucket_for(age), state="waiting",
                            number=one_line(caller[0] if caller else "", limit=40)))

    fl = ListFilter(view="followup")
    followups = [_item(r, r["last_outbound_at"], now, cfg) for r in store.page(fl, 0, LIST_LIMIT, now)]

    return Digest(
        generated_at=now, since=since, since_source=source, timezone=str(metrics.local_zone(cfg)),
        sla_hours=cfg.sla_hours, business_hours=cfg.business_hours is not None,
        awaiting_total=sum(buckets.values()), overdue_total=overdue_total, buckets=buckets,
        by_channel=by_channel, oldest=oldest, arrived_total=sum(arrived_by_channel.values()),
        arrived_by_channel=arrived_by_channel, arrived=arrived, low_ratings=low,
        followup_days=cfg.followup_days, followups_total=store.count(fl, now), followups=followups,
        period=metrics.period_metrics(store, now - period, now, now), weeks=metrics.week_comparison(store, now),
        health=store.health(now=now), missed_calls=missed)


def _state(conv: dict) -> str:
    if conv["waiting_since"] is None:
        return "answered"
    return "waiting" if conv["status"] == "open" else conv["status"]


def _conversation_rows(store: "Store", sql: str, args: list) -> list[dict]:
    """Rows of ``sql`` (which yields ``cid`` and ``at``) joined with their conversation."""
    out = []
    for hit in store.db.query(sql, args):
        conv = store.conversation(hit["cid"])
        if conv is None:
            continue
        handle = store.db.execute(
            "SELECT handle FROM identities WHERE contact_id = ? ORDER BY channel = 'email' DESC, id LIMIT 1",
            [conv["contact_id"]]).fetchone()
        out.append({**conv, **hit, "contact_handle": handle[0] if handle else ""})
    return out


def _overdue_count(store: "Store", now: datetime) -> int:
    """Waits past their SLA target. The deadline depends on opening hours, so it is worked
    out per wait; only waits older than the target in calendar time can be overdue."""
    cfg = store.aging
    cutoff = aging.to_iso(now - timedelta(hours=cfg.sla_hours))
    n = 0
    for (since,) in store.db.execute("SELECT waiting_since FROM conversations WHERE status = 'open' "
                                     "AND waiting_since IS NOT NULL AND waiting_since <= ?", [cutoff]):
        n += aging.sla_due(since, cfg.sla_hours, cfg.business_hours) <= now
    return n
