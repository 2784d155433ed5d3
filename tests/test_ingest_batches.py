"""The speed-ups of issue 18 keep behaviour: the full-text index built per batch is exactly the
index the per-row triggers made, whatever happens to a message inside its own batch."""

from dataclasses import replace
from datetime import timedelta

import pytest

from owner_tui.aging import to_iso
from owner_tui.config import Config, OwnerConfig
from owner_tui.records import MessageRecord
from owner_tui.store import Store
from owner_tui.store.queries import ListFilter
from tests.conftest import FROZEN_NOW
from tests.gen import OWNER, generate


@pytest.fixture
def shop(tmp_path, clock):
    s = Store.open(tmp_path / "shop.db", config=Config(owner=OwnerConfig(addresses=(OWNER,))), clock=clock)
    yield s, s.ensure_account("imap", "shop", {"address": OWNER})
    s.close()


def index_matches_messages(s: Store) -> None:
    """FTS5's own check of an external-content index against its table (rank 1: compare with
    the content): raises "database disk image is malformed" on any missing, stale or extra row."""
    s.db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    assert s.db.execute("SELECT count(*) FROM fts_pending").fetchone()[0] == 0


def at(minutes_ago: int) -> str:
    return to_iso(FROZEN_NOW - timedelta(minutes=minutes_ago))


def test_a_bulk_import_is_searchable_and_the_index_is_exact(shop):
    s, acc = shop
    recs = generate(1200, FROZEN_NOW, seed=7)
    for i in range(0, len(recs), 500):
        s.ingest(acc, recs[i:i + 500])
    index_matches_messages(s)
    word = "xylophonic"
    s.ingest(acc, [MessageRecord(external_id="w@x", sender_handle="w@example.com", sent_at=at(5),
                                 subject="About the cake", text=f"a {word} question", recipients=(OWNER,))])
    assert len(s.page(ListFilter(search=word))) == 1
    index_matches_messages(s)


def test_rows_changed_or_deleted_inside_their_own_batch_are_indexed_as_they_end(shop):
    """In one batch: a review stored then edited (its text changes), an inbound message marked
    answered (a placeholder reply is made) and the real reply (the placeholder is deleted), and a
    reply stored before its parent (re-dated: an update of a non-indexed column)."""
    s, acc = shop
    q = MessageRecord(external_id="q@x", sender_handle="ann@example.com", sent_at=at(300), subject="Cake order",
                      text="Can I order a lemon cake?", recipients=(OWNER,), answered=True)
    reply = MessageRecord(external_id="r@x", direction="out", sender_handle=OWNER, sent_at=at(200),
                          subject="Re: Cake order", text="Yes, lemon cake on Friday", in_reply_to="q@x",
                          recipients=("ann@example.com",))
    child = MessageRecord(external_id="c@x", sender_handle="bob@example.com", sent_at=at(500),
                          subject="Re: Bread", text="Thanks for the sourdough", in_reply_to="p@x",
                          recipients=(OWNER,))
    parent = MessageRecord(external_id="p@x", direction="out", sender_handle=OWNER, sent_at=at(400),
                           subject="Bread", text="Your sourdough is ready", recipients=("bob@example.com",))
    review = MessageRecord(external_id="g1", channel="google", sender_name="Cy", sent_at=at(100),
                           text="Good croissants", rating=4)
    edited = replace(review, text="Great croissants, rude staff", rating=2)
    s.ingest(acc, [q, reply, child, parent, review, edited])
    index_matches_messages(s)
    assert s.db.execute("SELECT count(*) FROM messages WHERE external_id LIKE 'answered-elsewhere:%'"
                        ).fetchone()[0] == 0
    assert len(s.page(ListFilter(search="rude", view="all"))) == 1
    assert len(s.page(ListFilter(search="Good", view="all"))) == 0
    # The same changes across batches (the rows then indexed before they change).
    s.ingest(acc, [replace(edited, text="Rude staff, but the croissants", rating=3)])
    index_matches_messages(s)


def test_a_failed_batch_leaves_no_mark_and_the_next_one_indexes(shop):
    s, acc = shop
    bad = MessageRecord(external_id="", sender_handle="x@example.com", sent_at=at(5))
    with pytest.raises(ValueError):
        s.ingest(acc, [MessageRecord(external_id="ok@x", sender_handle="x@example.com", sent_at=at(6),
                                     text="first"), bad])
    assert s.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    s.ingest(acc, [MessageRecord(external_id="ok@x", sender_handle="x@example.com", sent_at=at(6), text="first")])
    index_matches_messages(s)


def test_a_batch_inside_a_wider_transaction_and_writers_outside_ingest_stay_indexed(shop):
    s, acc = shop
    with s.write():
        s.ingest(acc, generate(40, FROZEN_NOW, seed=3))
        s.ingest(acc, generate(40, FROZEN_NOW, seed=4))
    index_matches_messages(s)
    conv = s.db.execute("SELECT id FROM conversations LIMIT 1").fetchone()[0]
    with s.write():  # any other writer: the triggers index row by row
        s.db.execute("INSERT INTO messages (conversation_id, account_id, direction, external_id, sent_at, "
                     "received_at, subject, text) VALUES (?, ?, 'in', 'raw@x', ?, ?, 'S', 'quinoa')",
                     [conv, acc, at(1), at(1)])
        s.db.execute("UPDATE messages SET noise = 'x' WHERE external_id = 'raw@x'")
    index_matches_messages(s)
    with s.write():
        s.db.execute("UPDATE messages SET text = 'spelt' WHERE external_id = 'raw@x'")
    index_matches_messages(s)
    with s.write():
        s.db.execute("DELETE FROM messages WHERE external_id = 'raw@x'")
    index_matches_messages(s)


def test_a_batch_knows_what_is_stored_and_what_repeats_inside_it(shop):
    """``prefetch`` looks a batch's ids up in one query: an id stored by an earlier batch and an
    id repeated later in the same batch are both duplicates, never a second row."""
    s, acc = shop
    first = MessageRecord(external_id="a@x", sender_handle="ann@example.com", sent_at=at(60), subject="Cake",
                          text="A lemon cake?", recipients=(OWNER,))
    s.ingest(acc, [first])
    again = MessageRecord(external_id="b@x", sender_handle="bob@example.com", sent_at=at(50), subject="Bread",
                          text="Sourdough today?", recipients=(OWNER,))
    res = s.ingest(acc, [first, again, again, replace(again, subject="Bread (resent)")])
    assert (res.new, res.duplicate) == (1, 3)
    assert s.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2


def test_a_big_batch_gives_sqlite_a_bigger_page_cache(shop):
    """A sync or import (a batch of 100 or more) raises SQLite's page cache for the store; the
    TUI's small writes keep the default."""
    from owner_tui.store import BIG_BATCH, INGEST_CACHE_KIB

    s, acc = shop
    default = s.db.execute("PRAGMA cache_size").fetchone()[0]
    s.ingest(acc, generate(10, FROZEN_NOW, seed=3))
    assert s.db.execute("PRAGMA cache_size").fetchone()[0] == default  # the TUI's small writes: unchanged
    s.ingest(acc, generate(BIG_BATCH, FROZEN_NOW, seed=4))
    assert s.db.execute("PRAGMA cache_size").fetchone()[0] == -INGEST_CACHE_KIB


def test_a_contact_seen_again_in_a_batch_keeps_the_name_rules(shop):
    """The per-batch contact cache: the same sender twice is one contact, and a name learnt later
    (a number first known bare, then named) still reaches the contact."""
    s, acc = shop
    recs = [MessageRecord(external_id=f"SM{i}", channel="sms", sender_handle="+447700900123", sent_at=at(90 - i),
                          text="Table for two tonight?", thread_key="sms:+447700900123",
                          sender_name="" if i == 0 else "Ann Baker") for i in range(3)]
    s.ingest(acc, recs)
    rows = s.db.execute("SELECT c.name FROM contacts c JOIN identities i ON i.contact_id = c.id "
                        "WHERE i.channel = 'phone' AND i.handle = '+447700900123'").fetchall()
    assert rows == [("Ann Baker",)]


def test_batches_commit_every_n_and_keep_what_was_stored_when_one_fails(shop):
    """``Store.batches``: ingests share a transaction until ``every`` messages; a batch that
    fails is rolled back alone and the ones before it are committed, cursor and all."""
    from owner_tui.records import Cursor

    s, acc = shop
    recs = generate(9, FROZEN_NOW, seed=11)
    with s.batches(every=4) as tx:
        tx.ingest(acc, recs[0:2], Cursor("INBOX", 1, 2))
        assert s.db.conn.in_transaction  # 2 of 4: still open
        tx.ingest(acc, recs[2:4], Cursor("INBOX", 1, 4))
        assert not s.db.conn.in_transaction  # 4: committed
        tx.ingest(acc, recs[4:6], Cursor("INBOX", 1, 6))
        with pytest.raises(ValueError, match="external_id"):  # the second record is broken
            tx.ingest(acc, [recs[6], replace(recs[7], external_id="")], Cursor("INBOX", 1, 8))
        assert not s.db.conn.in_transaction
    assert s.message_count() == 6
    assert s.sync_state(acc, "INBOX")["last_uid"] == 6
    index_matches_messages(s)


def test_an_open_batch_is_invisible_to_readers_until_committed(shop, tmp_path):
    import sqlite3

    s, acc = shop
    other = sqlite3.connect(str(s.path))
    try:
        with s.batches(every=100) as tx:
            tx.ingest(acc, generate(3, FROZEN_NOW, seed=12))
            assert other.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
            tx.commit()
            assert other.execute("SELECT count(*) FROM messages").fetchone()[0] == 3
    finally:
        other.close()


def test_a_group_of_batches_is_indexed_once_at_its_commit_and_exactly(shop):
    """``Batches`` defers the full-text index to its commit (one FTS insert per group, not one
    per ``ingest``); a row changed by a later batch of the same group is indexed as it ends,
    and a search finds the group's messages once it is committed."""
    s, acc = shop
    seen: list[str] = []
    s.db.conn.set_trace_callback(seen.append)
    review = MessageRecord(external_id="g1", channel="google", sender_name="Cy", sent_at=at(100),
                           text="Good croissants", rating=4)
    try:
        with s.batches(every=10_000) as tx:
            tx.ingest(acc, generate(30, FROZEN_NOW, seed=21))
            tx.ingest(acc, [review])
            tx.ingest(acc, [replace(review, text="Great croissants, rude staff", rating=2)])
            tx.ingest(acc, generate(30, FROZEN_NOW, seed=22))
            assert not [q for q in seen if q.startswith("INSERT INTO messages_fts (rowid")]
        fts_inserts = [q for q in seen if q.startswith("INSERT INTO messages_fts (rowid")]
    finally:
        s.db.conn.set_trace_callback(None)
    assert len(fts_inserts) == 1
    index_matches_messages(s)
    assert len(s.page(ListFilter(search="rude", view="all"))) == 1
    assert len(s.page(ListFilter(search="Good", view="all"))) == 0
