"""Shared helpers for the TUI tests: a frozen clock, a small fixture store, waiting for the
app's threads to settle, and reading back what the screen shows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from owner_tui.config import Config, OwnerConfig, SendConfig
from owner_tui.records import MessageRecord
from owner_tui.store import Store

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)  # a Friday
OWNER = "owner@shop.example"


class FrozenClock:
    """The only fake in these tests: time stands still until a test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def iso(clock: FrozenClock, **ago) -> str:
    return (clock.now - timedelta(**ago)).isoformat()


def config(*, undo_seconds: float = 0, **keys) -> Config:
    """The fixture config; sends go at once unless a test asks for the undo window."""
    return Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,), signature="Sam, Corner Shop"), keys=keys,
                  send=SendConfig(undo_seconds=undo_seconds))


def email(ext: str, handle: str, name: str, subject: str, text: str, sent_at: str, **kw) -> MessageRecord:
    return MessageRecord(external_id=ext, channel="email", sender_handle=handle, sender_name=name,
                         recipients=(OWNER,), subject=subject, text=text, sent_at=sent_at, folder="INBOX", **kw)


def review(channel: str, rid: str, name: str, stars: int, text: str, sent_at: str) -> MessageRecord:
    return MessageRecord(external_id=rid, channel=channel, direction="in", sender_handle=f"{channel}:{name.lower()}",
                         sender_name=name, subject=text[:60], text=text, rating=stars, thread_key=rid,
                         sent_at=sent_at, url=f"https://reviews.example/{channel}/{rid}")


def build_store(path: Path, clock: FrozenClock, cfg: Config | None = None) -> dict[str, int]:
    """Five awaiting conversations (one per bucket), one answered, one noise; returns
    conversation ids by a short name."""
    cfg = cfg or config()
    with Store.open(path, config=cfg, clock=clock) as store:
        mail = store.ensure_account("imap", "shop-mail", {"address": OWNER})
        google = store.ensure_account("google", "shop-google", {})
        store.ingest(mail, [
            email("a1@x", "ann@example.com", "Ann Archer", "Wedding cake?", "Do you make wedding cakes?",
                  iso(clock, days=5)),
            email("b1@x", "bob@example.com", "Bob Brown", "Order missing", "My order never came.",
                  iso(clock, hours=30)),
            email("c1@x", "cat@example.com", "Cat Cole", "Allergens", "Sesame in the rye?", iso(clock, hours=6)),
            email("d1@x", "dan@example.com", "Dan Dale", "Opening hours", "Open on Sunday?", iso(clock, hours=2)),
            email("q1@x", "quinn@example.com", "Quinn Quill", "Quote", "Quote for 200 quiches?",
                  iso(clock, days=9)),
            MessageRecord(external_id="q1r@shop", sender_handle=OWNER, sender_name="Sam",
                          recipients=("quinn@example.com",),
                          subject="Re: Quote", text="£180 with delivery.", sent_at=iso(clock, days=8),
                          in_reply_to="q1@x", references=("q1@x",), folder="Sent"),
            email("n1@x", "news@mill.example", "Mill News", "Grain prices", "This week's prices.",
                  iso(clock, hours=3), headers={"list-unsubscribe": "<mailto:u@mill.example>"}),
        ])
        store.ingest(google, [review("google", "g-1", "Gail", 2, "The cake was dry.", iso(clock, minutes=20))])
        ids = {}
        for row in store.db.query("SELECT c.id, ct.name FROM conversations c JOIN contacts ct ON ct.id = c.contact_id"):
            ids[row["name"].split()[0].lower()] = row["id"]
        return ids


async def settle(pilot, rounds: int = 20) -> None:
    """Wait until the app's workers (store threads, page loads) have finished. The live-mail
    watchers (group ``idle``) run until quit, so they are not waited for."""
    from textual.worker import WorkerCancelled

    app = pilot.app

    def finite():
        return [w for w in app.workers if w.group != "idle"]

    await pilot.pause()  # let mount start its workers first: an empty list at once is not "settled"
    for _ in range(rounds):
        pending = finite()
        try:
            if pending:  # an empty list would mean "every worker" to wait_for_complete
                await app.workers.wait_for_complete(pending)
        except WorkerCancelled:  # a refresh superseded by a newer one: normal
            continue
        await pilot.pause()
        if not any(w.is_running for w in finite()):
            break
    await pilot.pause()


def screen_lines(app) -> list[str]:
    """What every visible widget of the current screen draws, as plain text lines, plus a
    check that no drawn segment carries an escape or a raw control character."""
    lines: list[str] = []
    for widget in app.screen.query("*"):
        if not widget.display or not widget.region.area:
            continue
        for strip in widget.render_lines(widget.region.reset_offset):
            text = strip.text
            assert "\x1b" not in text and "\x9b" not in text and "\x00" not in text, repr(text)
            assert "\u202e" not in text, repr(text)
            lines.append(text)
    return lines


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


async def wait_for_palette_hits(pilot, app, timeout: float = 5.0) -> None:
    """The command palette searches after a debounce, later still on a loaded machine: wait
    until it shows hits rather than for a fixed time (a fixed 0.5 s was flaky under load)."""
    import time

    from textual.command import CommandList

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        lists = app.screen.query(CommandList)
        if lists and lists.first().option_count > 0:
            break
    await settle(pilot)


async def run_command(pilot, text: str) -> None:
    """Open the command palette, type ``text``, wait for its hits and take the first."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*text)
    await wait_for_palette_hits(pilot, pilot.app)
    await pilot.press("enter")
    await settle(pilot)
