import os
import random
import sqlite3
import stat
import threading
from datetime import timedelta

import pytest
from sqlite_utils import Database

from owner_tui.aging import to_iso
from owner_tui.config import AgingConfig, Config, OwnerConfig
from owner_tui.records import Cursor, MessageRecord
from owner_tui.store import Store
from owner_tui.store.ingest import rebuild_conversation
from owner_tui.store.queries import ListFilter
from tests.gen import OWNER, generate


def mail(mid, sender="ann@example.com", minutes_ago=60, clock_now=None, **kw):
    from tests.conftest import FROZEN_NOW

    now = clock_now or FROZEN_NOW
    kw.setdefault("subject", "Order question")
    kw.setdefault("text", "Where is my order?")
    kw.setdefault("recipients", (OWNER,))
    return MessageRecord(external_id=mid, sender_handle=sender, sender_name=sender.split("@")[0].title(),
                         sent_at=to_iso(now - timedelta(minutes=minutes_ago)), **kw)


@pytest.fixture
def shop(tmp_path, clock):
    cfg = Config(owner=OwnerConfig(addresses=(OWNER,)))
    s = Store.open(tmp_path / "shop.db", config=cfg, clock=clock)
    yield s, s.ensure_account("imap", "shop", {"address": OWNER})
    s.close()


def awaiting_ids(s):
    return [r["id"] for r in s.page(ListFilter())]


def test_database_is_owner_only_wal_and_migrated(tmp_path):
    s = Store.open(tmp_path / "sub" / "x.db")
    assert stat.S_IMODE(os.stat(tmp_path / "sub" / "x.db").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "sub").st_mode) == 0o700
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    for table in ("accounts", "contacts", "identities", "conversations", "messages", "sync_state", "outbox",
                  "templates", "rules", "events", "messages_fts"):
        assert s.db[table].exists(), table
    s.close()
    Store.open(tmp_path / "sub" / "x.db").close()  # re-open: no migration runs twice


def test_ingest_is_idempotent(shop):
    s, acc = shop
    r1 = s.ingest(acc, [mail("a@x"), mail("b@x", minutes_ago=30)])
    r2 = s.ingest(acc, [mail("a@x"), mail("b@x", minutes_ago=30)])
    assert (r1.new, r1.duplicate) == (2, 0)
    assert (r2.new, r2.duplicate) == (0, 2)
    assert s.message_count() == 2


def test_thread_by_headers_and_reply_closes_wait(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x", minutes_ago=120)])
    s.ingest(acc, [mail("b@x", minutes_ago=60, subject="Re: Order question", in_reply_to="<a@x>", references=("<a@x>",))])
    [conv] = s.page(ListFilter())
    assert conv["message_count"] == 2
    assert conv["waiting_since"] == to_iso(s.now() - timedelta(minutes=120))  # first inbound, not latest
    s.ingest(acc, [mail("r@shop.example", sender=OWNER, minutes_ago=10, recipients=("ann@example.com",),
                        in_reply_to="<b@x>", references=("<a@x>", "<b@x>"))])
    assert awaiting_ids(s) == []


def test_reply_arriving_before_its_parent_joins_the_same_conversation(shop):
    s, acc = shop
    s.ingest(acc, [mail("child@x", minutes_ago=30, in_reply_to="<root@x>", references=("<root@x>",))])
    s.ingest(acc, [mail("root@x", minutes_ago=90)])
    assert s.db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1
    [conv] = s.page(ListFilter())
    assert conv["waiting_since"] == to_iso(s.now() - timedelta(minutes=90))  # out of order: recomputed


def test_subject_fallback_joins_headerless_reply_from_same_contact(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x", minutes_ago=300)])
    s.ingest(acc, [mail("b@x", minutes_ago=100, subject="RE: Order question")])  # no threading headers
    s.ingest(acc, [mail("c@x", sender="bob@example.com", minutes_ago=50, subject="Re: Order question")])
    convs = s.db.execute("SELECT count(*) FROM conversations").fetchone()[0]
    assert convs == 2  # Bob's mail is another contact's conversation


def test_sent_folder_and_owner_address_are_outbound(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x", minutes_ago=100)])
    # A reply from the phone: not from a configured address, but found in the Sent folder.
    s.ingest(acc, [mail("p@phone", sender="owner.phone@other.example", minutes_ago=10, folder="Sent",
                        recipients=("ann@example.com",), in_reply_to="<a@x>")])
    assert awaiting_ids(s) == []
    msgs = s.messages(s.db.execute("SELECT id FROM conversations").fetchone()[0])
    assert [m["direction"] for m in msgs] == ["in", "out"]


@pytest.mark.parametrize("headers,sender", [
    ({"auto-submitted": "auto-replied"}, "ann@example.com"),
    ({"list-id": "<news.example.com>"}, "news@example.com"),
    ({"list-unsubscribe": "<mailto:u@x>"}, "news@example.com"),
    ({"precedence": "bulk"}, "promo@example.com"),
    ({"return-path": "<>"}, "someone@example.com"),
    ({}, "MAILER-DAEMON@mx.example.com"),
    ({}, "no-reply@service.example.com"),
])
def test_noise_is_kept_but_never_waits(shop, headers, sender):
    s, acc = shop
    res = s.ingest(acc, [mail("n@x", sender=sender, headers=headers)])
    assert res.noise == 1 and s.message_count() == 1
    assert awaiting_ids(s) == []
    assert s.count(ListFilter(view="noise")) == 1


def test_auto_submitted_no_is_not_noise(shop):
    s, acc = shop
    s.ingest(acc, [mail("n@x", headers={"auto-submitted": "no"})])
    assert len(awaiting_ids(s)) == 1


def test_rule_marks_sender_noise_and_undo_restores(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x", sender="pest@spam.example")])
    [cid] = awaiting_ids(s)
    s.add_rule("@spam.example", "noise", conv_id=cid)
    assert awaiting_ids(s) == []
    s.ingest(acc, [mail("b@x", sender="other@spam.example", subject="More")])
    assert awaiting_ids(s) == []  # the rule applies to new mail too
    s.undo()
    assert cid in awaiting_ids(s)


def test_done_then_new_inbound_reopens(shop, clock):
    s, acc = shop
    s.ingest(acc, [mail("a@x", minutes_ago=100)])
    [cid] = awaiting_ids(s)
    s.mark_done(cid)
    assert awaiting_ids(s) == []
    s.ingest(acc, [mail("old@x", minutes_ago=50, in_reply_to="<a@x>")])  # written before "done"
    assert awaiting_ids(s) == []
    clock.advance(minutes=5)
    s.ingest(acc, [mail("new@x", minutes_ago=0, clock_now=clock.now, in_reply_to="<a@x>")])
    assert awaiting_ids(s) == [cid]


def test_snooze_hides_until_time_and_new_mail_wakes(shop, clock):
    s, acc = shop
    s.ingest(acc, [mail("a@x"), mail("b@x", sender="bob@example.com", subject="Other")])
    a, b = awaiting_ids(s)
    s.snooze(a, clock.now + timedelta(hours=1))
    s.snooze(b, clock.now + timedelta(hours=3))
    assert awaiting_ids(s) == []
    clock.advance(hours=1, minutes=1)
    assert s.wake_snoozed() == [a]
    assert awaiting_ids(s) == [a]
    s.ingest(acc, [mail("b2@x", sender="bob@example.com", minutes_ago=0, clock_now=clock.now,
                        subject="Re: Other", in_reply_to="<b@x>")])
    assert sorted(awaiting_ids(s)) == sorted([a, b])
    with pytest.raises(ValueError):
        s.snooze(a, clock.now - timedelta(minutes=1))


def test_snooze_can_ignore_a_short_thanks(tmp_path, clock):
    cfg = Config(owner=OwnerConfig(addresses=(OWNER,)), aging=AgingConfig(snooze_ignores_thanks=True))
    s = Store.open(tmp_path / "t.db", config=cfg, clock=clock)
    acc = s.ensure_account("imap", "shop", {})
    s.ingest(acc, [mail("a@x")])
    [a] = awaiting_ids(s)
    s.snooze(a, clock.now + timedelta(days=1))
    clock.advance(minutes=1)
    s.ingest(acc, [mail("t@x", minutes_ago=0, clock_now=clock.now, text="Thanks!", in_reply_to="<a@x>")])
    assert awaiting_ids(s) == []
    s.ingest(acc, [mail("q@x", minutes_ago=0, clock_now=clock.now, text="Actually, one more question?",
                        in_reply_to="<a@x>")])
    assert awaiting_ids(s) == [a]


def test_replied_elsewhere_closes_and_undo_reopens(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x")])
    [a] = awaiting_ids(s)
    s.mark_replied_elsewhere(a)
    assert awaiting_ids(s) == [] and s.conversation(a)["replied_elsewhere"] == 1
    s.undo()
    assert awaiting_ids(s) == [a] and s.conversation(a)["replied_elsewhere"] == 0


def test_review_awaits_until_reply_and_edit_updates(shop):
    s, _ = shop
    g = s.ensure_account("google", "g", {})
    rev = MessageRecord(external_id="r1", channel="google", direction="in", thread_key="r1", rating=2,
                        text="Cold coffee", sender_name="Dee", sender_handle="g:dee", sent_at=to_iso(s.now()))
    s.ingest(g, [rev])
    [cid] = awaiting_ids(s)
    assert s.conversation(cid)["rating"] == 2
    res = s.ingest(g, [MessageRecord(**{**rev.__dict__, "text": "Cold coffee, rude staff", "rating": 1})])
    assert res.updated == 1 and s.conversation(cid)["rating"] == 1
    s.ingest(g, [MessageRecord(external_id="r1:reply", channel="google", direction="out", thread_key="r1",
                               text="Sorry", sent_at=to_iso(s.now()))])
    assert awaiting_ids(s) == []


def test_rating_only_positive_reviews_setting(tmp_path, clock):
    cfg = Config(aging=AgingConfig(positive_rating_only_awaits=False))
    s = Store.open(tmp_path / "t.db", config=cfg, clock=clock)
    g = s.ensure_account("google", "g", {})
    s.ingest(g, [MessageRecord(external_id=f"r{i}", channel="google", direction="in", thread_key=f"r{i}",
                               rating=stars, text=text, sent_at=to_iso(clock.now))
                 for i, (stars, text) in enumerate([(5, ""), (4, ""), (2, ""), (5, "Lovely")])])
    assert sorted(r["rating"] for r in s.page(ListFilter())) == [2, 5]


def test_cursor_saved_with_batch_and_rolled_back_with_it(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x")], Cursor(folder="INBOX", uidvalidity=7, last_uid=1))
    assert s.sync_state(acc, "INBOX")["last_uid"] == 1
    bad = MessageRecord(external_id="")  # invalid: the whole batch and its cursor roll back
    with pytest.raises(ValueError):
        s.ingest(acc, [mail("b@x"), bad], Cursor(folder="INBOX", uidvalidity=7, last_uid=2))
    assert s.sync_state(acc, "INBOX")["last_uid"] == 1
    assert s.message_count() == 1


def test_problems_are_recorded_not_dropped(shop):
    s, acc = shop
    res = s.ingest(acc, [MessageRecord(external_id="sha256:abc", sender_handle="x@y", sent_at="garbage",
                                       problems=("no Message-ID; synthetic id used",))])
    assert res.new == 1 and res.problems == 1
    row = s.db.execute("SELECT problems FROM messages").fetchone()[0]
    assert "synthetic" in row and "no usable date" in row


def test_fts_search_finds_subject_body_and_name(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x", text="The croissants were stale"), mail("b@x", sender="zoe@x.com", subject="Cake")])
    assert len(s.page(ListFilter(search="croissants"))) == 1
    assert len(s.page(ListFilter(search="Zoe"))) == 1
    assert len(s.page(ListFilter(search='"unbalanced quote'))) == 0  # no FTS syntax error


def test_filters_bucket_channel_rating(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x", minutes_ago=30), mail("b@x", sender="b@y.com", subject="B", minutes_ago=60 * 30)])
    g = s.ensure_account("google", "g", {})
    s.ingest(g, [MessageRecord(external_id="r", channel="google", direction="in", thread_key="r", rating=1,
                               sent_at=to_iso(s.now() - timedelta(hours=2)))])
    assert s.bucket_counts() == {"lt1h": 1, "1-4h": 1, "4-24h": 0, "1-3d": 1, "gt3d": 0}
    assert len(s.page(ListFilter(bucket="1-3d"))) == 1
    assert [r["channel"] for r in s.page(ListFilter(channel="google"))] == ["google"]
    assert len(s.page(ListFilter(max_rating=2))) == 1
    assert [r["subject"] for r in s.page(ListFilter())][0] == "B"  # oldest wait first


def test_outbox_at_most_once_claim_and_finish(shop):
    s, acc = shop
    s.ingest(acc, [mail("a@x")])
    [cid] = awaiting_ids(s)
    s.save_draft(cid, "draft text")
    oid = s.queue_reply(cid, "Hello Ann")
    assert s.draft(cid) is None  # the draft became the outbox row
    assert s.outbox_claim(oid) is True
    assert s.outbox_claim(oid) is False  # a second worker cannot take it
    s.outbox_fail(oid, "server unreachable")
    assert s.outbox(status="failed")[0]["body"] == "Hello Ann"  # the text is kept
    assert s.outbox_claim(oid) is True
    from owner_tui.records import SendResult

    out = s.outgoing(oid)
    assert out.to == ("ann@example.com",) and out.in_reply_to == "a@x"
    s.outbox_finish(oid, SendResult(external_id=out.message_id, sent_at=to_iso(s.now())))
    assert awaiting_ids(s) == []
    assert s.outbox(status="sent")[0]["attempts"] == 2


def test_incremental_state_equals_full_recompute(tmp_path, clock):
    """2,000+ messages ingested in a shuffled order and in batches: every conversation's
    derived state must equal a rebuild from its messages."""
    cfg = Config(owner=OwnerConfig(addresses=(OWNER,)))
    s = Store.open(tmp_path / "big.db", config=cfg, clock=clock)
    acc = s.ensure_account("imap", "shop", {})
    g = s.ensure_account("google", "g", {})
    records = generate(2400, clock.now, seed=3)
    random.Random(5).shuffle(records)
    for i in range(0, len(records), 150):
        batch = records[i:i + 150]
        s.ingest(acc, [r for r in batch if r.channel == "email"])
        s.ingest(g, [r for r in batch if r.channel != "email"])
    assert s.message_count() == 2400
    cols = ("id, waiting_since, last_inbound_at, last_outbound_at, last_message_at, message_count, "
            "last_activity_at")
    before = s.db.execute(f"SELECT {cols} FROM conversations ORDER BY id").fetchall()
    with s.write():
        for (cid,) in s.db.execute("SELECT id FROM conversations").fetchall():
            rebuild_conversation(s, cid)
    after = s.db.execute(f"SELECT {cols} FROM conversations ORDER BY id").fetchall()
    assert before == after
    awaiting = s.count(ListFilter())
    assert 0 < awaiting < len(before)  # the mailbox has both waiting and answered threads


def test_concurrent_writers_do_not_fail(tmp_path, clock):
    path = tmp_path / "c.db"
    Store.open(path).close()
    errors = []

    def writer(n):
        try:
            st = Store.open(path, clock=clock)
            acc = st.ensure_account("imap", "shop", {})
            for i in range(30):
                st.ingest(acc, [mail(f"w{n}-{i}@x", sender=f"c{n}@x.com")])
            st.close()
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    st = Store.open(path)
    assert st.message_count() == 120


def test_followup_lists_email_the_owner_wrote_last_not_review_replies(shop, clock):
    s, acc = shop
    s.ingest(acc, [mail("q@x", minutes_ago=60 * 24 * 6),
                   mail("r@shop.example", sender=OWNER, minutes_ago=60 * 24 * 5, recipients=("ann@example.com",),
                        in_reply_to="<q@x>")])
    g = s.ensure_account("google", "g", {})
    s.ingest(g, [MessageRecord(external_id="rv", channel="google", direction="in", thread_key="rv", rating=5,
                               sent_at=to_iso(clock.now - timedelta(days=9))),
                 MessageRecord(external_id="rv:reply", channel="google", direction="out", thread_key="rv",
                               sent_at=to_iso(clock.now - timedelta(days=8)))])
    assert [r["channel"] for r in s.page(ListFilter(view="followup"))] == ["email"]


def test_owner_machine_mail_does_not_start_a_followup(shop, clock):
    s, acc = shop
    s.ingest(acc, [mail("digest@shop.example", sender=OWNER, minutes_ago=60 * 24 * 5, recipients=(OWNER,),
                        headers={"auto-submitted": "auto-generated"}, subject="owner-tui digest")])
    assert s.count(ListFilter(view="followup")) == 0


def test_every_view_pages_off_an_index(shop):
    s, _ = shop
    from owner_tui.store.queries import VIEWS

    for view in VIEWS:
        where, args, order = s._where(ListFilter(view=view), s.now())
        plan = " ".join(r[3] for r in s.db.execute(
            f"EXPLAIN QUERY PLAN SELECT c.id FROM conversations c{where} ORDER BY {order} LIMIT 200", args))
        assert "INDEX" in plan and "TEMP B-TREE" not in plan, (view, plan)


def test_noise_view_sorted_by_newest_activity(shop):
    s, acc = shop
    s.ingest(acc, [mail("n1@x", sender="news@a.example", subject="A", minutes_ago=300,
                        headers={"precedence": "bulk"}),
                   mail("n2@x", sender="news@b.example", subject="B", minutes_ago=10, headers={"precedence": "bulk"})])
    rows = s.page(ListFilter(view="noise"))
    assert [r["subject"] for r in rows] == ["B", "A"] and all(r["last_activity_at"] for r in rows)


def test_upgrade_from_first_schema_backfills_activity(tmp_path, clock):
    from sqlite_utils import Database

    from owner_tui.store.schema import migrations

    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="m002_view_indexes")
    old = Store(db, path, clock=clock)
    acc = old.ensure_account("imap", "shop", {})
    db.execute("INSERT INTO conversations (account_id, channel, external_key, created_at) VALUES (?, 'email', 'k', ?)",
               [acc, "2026-01-01T00:00:00+00:00"])
    db.execute("INSERT INTO messages (conversation_id, account_id, direction, external_id, sent_at, received_at) "
               "VALUES (1, ?, 'in', 'm', '2026-02-03T04:05:06+00:00', '2026-02-03T04:05:06+00:00')", [acc])
    db.conn.commit()
    db.close()
    s = Store.open(path, clock=clock)
    assert s.conversation(1)["last_activity_at"] == "2026-02-03T04:05:06+00:00"


def test_many_connections_opening_a_new_database_at_once(tmp_path):
    """The TUI's reader and writer threads and a cron sync can all open a fresh file together:
    exactly one migrates, none fails (seen in CI as 'table accounts already exists')."""
    # 12 openers x 15 rounds: with 6 x 5 the "database is locked" from the switch to WAL
    # (SQLite answers it at once, without the busy handler) showed in 1 to 10 runs of 30.
    for round_ in range(15):
        path = tmp_path / f"fresh{round_}.db"
        errors: list[Exception] = []
        barrier = threading.Barrier(12)

        def opener():
            try:
                barrier.wait()
                Store.open(path).close()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=opener) for _ in range(12)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        s = Store.open(path)
        applied = s.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        from owner_tui.store.schema import migrations

        assert applied == len(migrations.pending(Database(memory=True)))  # each migration exactly once
        s.close()


def test_migration_scripts_split_where_sqlite_says_a_statement_ends():
    """A trigger body and a string literal hold ";" of their own (issue 14: the old split
    on every ";" broke on the first trigger)."""
    from owner_tui.store.schema import statements

    script = """
        CREATE TABLE t (x TEXT);
        CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN
            UPDATE t SET x = x || ';' WHERE rowid = new.rowid;
            SELECT 1;
        END;
        INSERT INTO t VALUES ('a;b')
    """
    parts = statements(script)
    assert len(parts) == 3, parts
    db = Database(memory=True)
    for p in parts:
        db.execute(p)
    assert db.execute("SELECT x FROM t").fetchone()[0] == "a;b;"


def test_contact_search_takes_percent_and_underscore_literally(store):
    acc = store.ensure_account("files", "files", {})
    store.ingest(acc, [
        MessageRecord(external_id="a@x", sender_handle="ann_lee@example.net", sender_name="Ann 100%",
                      subject="s", text="t", sent_at="2026-11-20T10:00:00+00:00"),
        MessageRecord(external_id="b@x", sender_handle="annxlee@example.net", sender_name="Bob 1000",
                      subject="s", text="t", sent_at="2026-11-20T10:00:00+00:00"),
    ])
    assert [r["handle"] for r in store.find_contacts("ann_lee")] == ["ann_lee@example.net"]
    assert [r["name"] for r in store.find_contacts("100%")] == ["Ann 100%"]
    assert store.find_contacts("%") == [] or all("%" in r["name"] + r["handle"] for r in store.find_contacts("%"))


def test_sqlite_utils_plugins_never_run_on_the_owners_connection(tmp_path):
    """An installed sqlite-utils plugin gets ``prepare_connection`` on every Database(conn):
    it must not be handed the owner's mail (issue 14)."""
    from sqlite_utils import hookimpl
    from sqlite_utils.plugins import pm

    called = []

    class Plugin:
        @hookimpl
        def prepare_connection(self, conn):
            called.append(conn)

    plugin = Plugin()
    pm.register(plugin, name="test-spy")
    try:
        Store.open(tmp_path / "p.db").close()
    finally:
        pm.unregister(plugin)
    assert called == []


def _open_at_once(path, barrier, results):
    barrier.wait()
    try:
        Store.open(path).close()
        results.put(None)
    except Exception as exc:  # pragma: no cover - reported by the test
        results.put(repr(exc))


def test_many_processes_opening_a_new_database_at_once(tmp_path):
    """The same race across processes (the TUI and a cron sync on a new install), where it
    is real parallelism: on the old code 1 to 4 of 80 opens failed with 'is not an owner-tui
    database (database is locked)' in every run."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    errors = []
    for round_ in range(10):
        barrier, results = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_open_at_once, args=(tmp_path / f"p{round_}.db", barrier, results))
                 for _ in range(8)]
        for p in procs:
            p.start()
        errors += [e for e in (results.get(timeout=60) for _ in procs) if e]
        for p in procs:
            p.join()
    assert errors == []


def test_schema_version_counts_the_migrations():
    """``PRAGMA user_version`` says "every migration is applied": it must be bumped with each new one."""
    from owner_tui.store.db import SCHEMA_VERSION
    from owner_tui.store.schema import migrations

    assert SCHEMA_VERSION == len(migrations._migrations)


def test_an_up_to_date_database_opens_without_the_migration_machinery(tmp_path):
    """Issue 18: ``owner-tui status`` and the cron sync open a current store with sqlite3 alone;
    sqlite_utils and the migrations load only when there is something to migrate."""
    import subprocess
    import sys

    path = tmp_path / "s.db"
    Store.open(path).close()
    code = ("import sys; from owner_tui.store import Store; s = Store.open(sys.argv[1]); "
            "print(s.db.execute('SELECT count(*) FROM messages').fetchone()[0], "
            "'sqlite_utils' in sys.modules, 'owner_tui.store.schema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False", "False"]


def test_a_database_migrated_before_user_version_is_recorded_once(tmp_path):
    """A store every migration was applied to by an older owner-tui (``user_version`` 0) opens
    through the migration check, which records the version; nothing is migrated twice."""
    from owner_tui.store.db import SCHEMA_VERSION

    path = tmp_path / "s.db"
    Store.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 0")
    raw.commit()
    raw.close()
    with Store.open(path) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        applied = s.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert applied == SCHEMA_VERSION


def test_query_rows_are_dicts_with_duplicate_names_kept_apart(tmp_path):
    with Store.open(tmp_path / "s.db") as s:
        rows = list(s.db.query("SELECT 1 AS id, 2 AS id, 'x' AS name"))
        assert rows == [{"id": 1, "id_2": 2, "name": "x"}]
        with pytest.raises(ValueError):
            s.db.query("UPDATE accounts SET name = name")
        assert s.db.quote_fts('cake NOT "lemon tart" OR') == '"cake" "NOT" "lemon tart" "OR"'
