"""A hand-computed sample store for the metrics, digest and dashboard tests.

Opening hours Mon-Fri 09:00-17:00 Europe/London, SLA 4 business hours. British Summer Time
ends on Sunday 25 October 2026 (01:00 UTC): before it local = UTC+1, after it local = UTC.
The clock is frozen at Tuesday 27 October 2026 12:00 UTC (12:00 local).

Every expected number in the tests was worked out by hand from the comments below
(c = calendar hours, b = business hours, due = the SLA deadline in UTC).
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from owner_tui.config import AgingConfig, BusinessHours, Config
from owner_tui.records import MessageRecord
from owner_tui.store import Store

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
HOURS = BusinessHours(tz=LONDON, days=frozenset(range(5)), opens=time(9), closes=time(17))
NOW = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)


class Clock:
    """The only fake in these tests: a settable clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def utc(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat()


def open_store(path: Path, clock: Clock, *, business: bool = True, sla: float = 4.0,
               mode: str = "first") -> Store:
    aging = AgingConfig(sla_hours=sla, timezone="Europe/London", business_hours=HOURS if business else None,
                        waiting_since=mode)
    return Store.open(path, config=Config(aging=aging), clock=clock)


def add(store: Store, account: int, channel: str, key: str, seq: list[tuple[str, datetime]], *,
        name: str = "", subject: str = "", rating: int | None = None, noise_at: tuple[datetime, ...] = (),
        received: datetime | None = None) -> int:
    """Ingest one conversation; ``seq`` is ``[("in" | "out", when), ...]``. Returns its id."""
    recs = []
    for n, (direction, when) in enumerate(seq):
        recs.append(MessageRecord(
            external_id=f"{key}-{n}", channel=channel, direction=direction, sent_at=iso(when),
            sender_handle=(f"{key}@customer.example" if direction == "in" else "owner@shop.example"),
            sender_name=name if direction == "in" else "Owner", subject=subject or f"About {key}",
            text=f"message {n} of {key}", thread_key=key, rating=rating if direction == "in" and n == 0 else None))
    for n, when in enumerate(noise_at):
        recs.append(MessageRecord(
            external_id=f"{key}-noise-{n}", channel=channel, direction="in", sent_at=iso(when),
            sender_handle=f"{key}@customer.example", text="I am out of office", thread_key=key,
            headers={"auto-submitted": "auto-replied"}))
    store.ingest(account, recs, now=received)
    return store.db.execute("SELECT id FROM conversations WHERE external_key = ?", [key]).fetchone()[0]


def build_sample(path: Path, clock: Clock | None = None, **kw) -> Store:
    """The sample: five email waits, four Google conversations answered/closed/open."""
    clock = clock or Clock()
    store = open_store(path, clock, **kw)
    mail = store.ensure_account("imap", "shop", {"address": "owner@shop.example"})
    google = store.ensure_account("google", "shop-google", {})
    # E1 overnight: Tue 20 16:00 BST -> Wed 21 10:00 BST. c 18, b 1+1 = 2, due Wed 11:00Z: met.
    add(store, mail, "email", "E1", [("in", utc(20, 15)), ("out", utc(21, 9))], name="Ann")
    # E2 reply after closing time: Wed 21 12:00 BST -> 20:00 BST. c 8, b 5, due 15:00Z: missed.
    add(store, mail, "email", "E2", [("in", utc(21, 11)), ("out", utc(21, 19))], name="Bob")
    # E3 a whole week: Mon 19 10:00 BST -> Mon 26 10:00 GMT. c 169, b 7+4*8+1 = 40: missed.
    add(store, mail, "email", "E3", [("in", utc(19, 9)), ("out", utc(26, 10))], name="Cat")
    # E4 an auto-reply (noise) first, then two messages and a reply (one wait, "first" mode),
    # then a second wait. Waits: 09:00Z -> 10:00Z (c 1, b 1) and 12:00Z -> 12:15Z (c .25, b .25).
    add(store, mail, "email", "E4", [("in", utc(22, 9)), ("in", utc(22, 9, 30)), ("out", utc(22, 10)),
                                     ("in", utc(22, 12)), ("out", utc(22, 12, 15))],
        name="Dan", noise_at=(utc(22, 8),))
    # G1 weekend and DST, replied elsewhere: Fri 23 15:00 BST -> Mon 26 11:00 GMT.
    # c 69 (wall clock says 68: the night of 25 October has 25 hours), b 2+2 = 4,
    # due Mon 11:00Z exactly: met (a reply at the deadline is in time).
    g1 = add(store, google, "google", "G1", [("in", utc(23, 14))], name="Eve", rating=2)
    clock.now = utc(26, 11)
    store.mark_replied_elsewhere(g1)
    # G2 Saturday message, Sunday reply across the DST change: c 25, b 0, due Mon 13:00Z: met.
    add(store, google, "google", "G2", [("in", utc(24, 9)), ("out", utc(25, 10))], name="Fay", rating=5)
    # G3 the SLA deadline moves with DST: Fri 23 14:00 BST -> Mon 26 09:30 GMT. c 68.5,
    # b 3+0.5 = 3.5; due = 3 h on Friday + 1 h on Monday = 10:00Z (09:00Z if BST were kept): met.
    add(store, google, "google", "G3", [("in", utc(23, 13)), ("out", utc(26, 9, 30))], name="Gus", rating=4)
    # G4 closed without a reply at Mon 26 10:30Z.
    g4 = add(store, google, "google", "G4", [("in", utc(26, 10))], name="Hal", rating=1)
    clock.now = utc(26, 10, 30)
    store.mark_done(g4)
    # G5 still waiting and overdue: due Mon 13:00Z. G6 still waiting, due Tue 15:00Z.
    add(store, google, "google", "G5", [("in", utc(26, 9))], name="Ivy", rating=3)
    add(store, google, "google", "G6", [("in", utc(27, 11))], name="Jo", rating=5)
    clock.now = NOW
    return store
