"""Incremental IMAP sync against a real Dovecot: first, incremental, no-op, interrupted,
UIDVALIDITY change, Sent detection, folder choice, plain-word errors."""

from __future__ import annotations

import json

import pytest

from owner_tui.sources.imap.connection import ImapSettings, connect
from owner_tui.sources.imap.sync import new_uids, plan_batches, sync_account
from tests.imap_helpers import account, count, deliver, mail, open_store
from tests.servers.proxy import FaultProxy

pytestmark = pytest.mark.servers


def folder(result, name):
    return next(f for f in result.folders if f.folder == name)


def test_first_sync_stores_inbox_and_sent_with_cursors(imap_account, tmp_path):
    for n in (1, 2, 3):
        imap_account.append("INBOX", mail(n))
    imap_account.append("Sent", mail(10, frm=imap_account.user, to="ann@example.net", subject="Re: Question 1",
                                     msgid="r1@example.com", in_reply_to="m1@example.net"))
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account))
    assert res.ok, res.summary()
    assert (folder(res, "INBOX").new, folder(res, "Sent").new) == (3, 1)
    assert [f.role for f in res.folders] == ["inbox", "sent"]

    out = store.db.execute("SELECT direction, folder, extra FROM messages WHERE external_id = 'r1@example.com'").fetchone()
    assert out[0] == "out" and out[1] == "Sent" and json.loads(out[2])["uid"] == 1
    st = store.sync_state(res.account_id, "INBOX")
    assert st["last_uid"] == 3 and st["uidvalidity"] and st["highestmodseq"] and st["last_error"] is None
    # Question 1 was answered from "the phone" (Sent); 2 and 3 still wait.
    waiting = {r[0] for r in store.db.execute("SELECT subject FROM conversations WHERE waiting_since IS NOT NULL")}
    assert waiting == {"Question 2", "Question 3"}


def test_sync_never_marks_mail_as_read(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    sync_account(open_store(tmp_path / "db"), account(imap_account))
    with imap_account.client() as c:
        c.select_folder("INBOX", readonly=True)
        assert b"\\Seen" not in c.get_flags([1])[1]  # BODY.PEEK[] and EXAMINE leave it unread


def test_incremental_sync_fetches_only_new_messages(imap_account, tmp_path):
    for n in range(1, 4):
        imap_account.append("INBOX", mail(n))
    store = open_store(tmp_path / "db")
    sync_account(store, account(imap_account))
    for n in range(4, 6):
        imap_account.append("INBOX", mail(n))
    res = sync_account(store, account(imap_account))
    inbox = folder(res, "INBOX")
    assert (inbox.fetched, inbox.new, inbox.duplicate) == (2, 2, 0)
    assert count(store) == 5
    assert store.sync_state(res.account_id, "INBOX")["last_uid"] == 5


def test_nothing_new_skips_select_and_fetch(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    store = open_store(tmp_path / "db")
    sync_account(store, account(imap_account))
    res = sync_account(store, account(imap_account))
    assert all(f.skipped and f.fetched == 0 for f in res.folders), res.summary()
    assert "nothing new" in res.summary()

    # A flag change (read on the phone) moves HIGHESTMODSEQ but brings nothing to fetch:
    # skipped via UIDNEXT, and the new modseq is remembered for the next run.
    with imap_account.client() as c:
        c.select_folder("INBOX")
        c.add_flags([1], [b"\\Seen"])
    before = store.sync_state(res.account_id, "INBOX")["highestmodseq"]
    res = sync_account(store, account(imap_account))
    assert folder(res, "INBOX").skipped
    assert store.sync_state(res.account_id, "INBOX")["highestmodseq"] > before


def test_uid_range_star_quirk_is_filtered(imap_account):
    for n in (1, 2):
        imap_account.append("INBOX", mail(n))
    with connect(ImapSettings.from_account(account(imap_account))) as c:
        c.select_folder("INBOX", readonly=True)
        assert c.search(["UID", "3:*"]) == [2]  # the server's answer: "*" is the highest UID
        assert new_uids(c, 2) == []
        assert new_uids(c, 1) == [2]


def test_batches_bounded_by_count_and_bytes():
    sizes = [(u, 10) for u in range(1, 8)]
    assert plan_batches(sizes, 3) == [[1, 2, 3], [4, 5, 6], [7]]
    assert plan_batches([(1, 60), (2, 60), (3, 200), (4, 1)], 10, max_bytes=100) == [[1], [2], [3], [4]]


def test_interrupted_sync_resumes_without_duplicates_or_loss(imap_account, tmp_path):
    total = 30
    deliver(imap_account, "INBOX", [mail(n, pad=20_000) for n in range(1, total + 1)])
    store = open_store(tmp_path / "db")
    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        proxy.cut_after(300_000, "down")  # about half the mailbox, mid-batch
        cut = account(imap_account, port=proxy.port, batch_size=5)
        res = sync_account(store, cut)
    inbox = folder(res, "INBOX")
    assert inbox.error and "closed the connection" in inbox.error, res.summary()
    stored = count(store)
    assert 0 < stored < total
    st = store.sync_state(res.account_id, "INBOX")
    assert st["last_uid"] == stored and stored % 5 == 0  # whole batches only, cursor with them
    assert st["highestmodseq"] is None  # an unfinished folder is never taken for unchanged
    assert st["last_error"] == inbox.error

    res = sync_account(store, account(imap_account, batch_size=5))
    inbox = folder(res, "INBOX")
    assert res.ok, res.summary()
    assert (inbox.fetched, inbox.new, inbox.duplicate) == (total - stored, total - stored, 0)
    ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
    assert sorted(ids) == sorted(f"m{n}@example.net" for n in range(1, total + 1))


def test_uidvalidity_change_remaps_by_message_id(imap_account, tmp_path):
    raws = [mail(n) for n in range(1, 5)] + [mail(5, msgid=None, subject="no id")]
    deliver(imap_account, "INBOX", raws)
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account))
    uv1 = store.sync_state(res.account_id, "INBOX")["uidvalidity"]
    assert count(store) == 5

    imap_account.reset_uidvalidity("INBOX")
    imap_account.append("INBOX", mail(6))
    res = sync_account(store, account(imap_account))
    inbox = folder(res, "INBOX")
    assert res.ok, res.summary()
    assert inbox.reset and inbox.remapped == 4
    # Only the new message and the one without Message-ID (known by content) are downloaded.
    assert (inbox.fetched, inbox.new, inbox.duplicate) == (2, 1, 1)
    assert count(store) == 6
    st = store.sync_state(res.account_id, "INBOX")
    assert st["uidvalidity"] != uv1 and st["last_uid"] == 6
    extras = [json.loads(r[0]) for r in store.db.execute(
        "SELECT extra FROM messages WHERE external_id LIKE 'm%@example.net' AND external_id != 'm6@example.net'")]
    assert {e["uidvalidity"] for e in extras} == {st["uidvalidity"]}
    # And the next sync is a no-op again.
    assert folder(sync_account(store, account(imap_account)), "INBOX").skipped


def test_owner_address_in_inbox_is_outbound(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    # A reply the owner sent from another client with a copy to herself, landing in INBOX.
    imap_account.append("INBOX", mail(2, frm="owner@example.com", to="ann@example.net", subject="Re: Question 1",
                                      in_reply_to="m1@example.net"))
    store = open_store(tmp_path / "db")
    sync_account(store, account(imap_account))
    row = store.db.execute("SELECT direction FROM messages WHERE external_id = 'm2@example.net'").fetchone()
    assert row[0] == "out"
    assert count(store, "SELECT count(*) FROM conversations WHERE waiting_since IS NOT NULL") == 0


def test_sent_folder_override_and_extra_folders(imap_account, tmp_path):
    with imap_account.client() as c:
        c.create_folder("Sent Items")
        c.create_folder("Support")
    imap_account.append("Sent Items", mail(1, frm=imap_account.user, to="bob@example.net", msgid="s1@x"))
    imap_account.append("Support", mail(2))
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account, sent_folder="sent items", folders=["Support"]))
    assert res.ok, res.summary()
    assert [(f.folder, f.role, f.new) for f in res.folders] == [
        ("INBOX", "inbox", 0), ("Sent Items", "sent", 1), ("Support", "extra", 1)]


def test_missing_folder_is_one_clear_error(imap_account, tmp_path):
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account, folders=["Nope"]))
    assert not res.ok
    assert res.error.startswith("folder 'Nope' does not exist on the server") and "INBOX" in res.error
    res = sync_account(store, account(imap_account, sent_folder="Gesendet"))
    assert "folder 'Gesendet' does not exist" in res.error


def test_wrong_password_is_plain_words_and_recorded(imap_account, tmp_path):
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account, password_cmd="printf %s hunter2-wrong"))
    assert not res.ok
    assert "wrong user name or password" in res.error and imap_account.user in res.error
    assert "hunter2" not in res.error and "Traceback" not in res.error
    assert store.sync_state(res.account_id, "")["last_error"] == res.error


def test_failing_password_command_is_reported(imap_account, tmp_path):
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account, password_cmd="echo gpg-said-PLANTED >&2; exit 3"))
    assert res.error == ("could not get the password: mail: password_cmd exited with status 3 "
                         "(run it yourself to see why)")
    # The command's stderr (gpg, pass) is never shown nor stored (issue 14, item 11).
    stored = " ".join(str(r[0]) for r in store.db.execute("SELECT last_error FROM sync_state"))
    assert "PLANTED" not in stored and "PLANTED" not in res.error


def test_a_multi_line_password_command_logs_in_with_its_first_line(imap_account, tmp_path):
    """``pass show`` prints the password, then more fields: only the first line is sent."""
    imap_account.append("INBOX", mail(1))
    cmd = f"printf '%s\\nlogin: {imap_account.user}\\nurl: imap.example\\n' '{imap_account.password}'"
    res = sync_account(open_store(tmp_path / "db"), account(imap_account, password_cmd=cmd))
    assert res.ok, res.error


def test_messages_vanishing_on_the_server_stay_local(imap_account, tmp_path):
    for n in (1, 2):
        imap_account.append("INBOX", mail(n))
    store = open_store(tmp_path / "db")
    sync_account(store, account(imap_account))
    with imap_account.client() as c:
        c.select_folder("INBOX")
        c.delete_messages([1, 2])
        c.expunge()
    imap_account.append("INBOX", mail(3))
    res = sync_account(store, account(imap_account))
    assert folder(res, "INBOX").new == 1 and count(store) == 3


def test_cursor_saved_with_its_batch(imap_account, tmp_path):
    """The cursor and its batch are one transaction: a batch that fails to store leaves the
    old cursor, so the next sync fetches it again."""
    for n in range(1, 5):
        imap_account.append("INBOX", mail(n))
    store = open_store(tmp_path / "db")
    calls = {"n": 0}
    real = store.ingest

    def flaky(account_id, records, cursor=None, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(account_id, records, cursor, **kw)

    store.ingest = flaky
    res = sync_account(store, account(imap_account, batch_size=2), folders=["INBOX"])
    assert "disk full" in folder(res, "INBOX").error
    assert store.sync_state(res.account_id, "INBOX")["last_uid"] == 2 and count(store) == 2
    store.ingest = real
    res = sync_account(store, account(imap_account, batch_size=2), folders=["INBOX"])
    assert folder(res, "INBOX").new == 2 and count(store) == 4


def test_parse_pool_gives_the_same_store_as_inline(imap_account, tmp_path):
    from owner_tui.sources.imap.sync import ParsePool

    deliver(imap_account, "INBOX", [mail(n) for n in range(1, 41)])
    imap_account.append("Sent", mail(50, frm=imap_account.user, to="ann@example.net", msgid="r@x",
                                     in_reply_to="m3@example.net"))
    inline, pooled = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    sync_account(inline, account(imap_account, batch_size=7))
    with ParsePool(workers=2, min_messages=1) as pool:
        res = sync_account(pooled, account(imap_account, batch_size=7), parse_pool=pool)
        assert pool._executor is not None  # the workers did the parsing
    assert res.ok, res.summary()
    q = "SELECT external_id, direction, sent_at, subject, text, folder, extra FROM messages ORDER BY external_id"
    assert list(inline.db.execute(q)) == list(pooled.db.execute(q))
    q = "SELECT external_key, waiting_since FROM conversations ORDER BY external_key"
    assert list(inline.db.execute(q)) == list(pooled.db.execute(q))


def test_interrupted_sync_with_parse_pool_keeps_whole_batches(imap_account, tmp_path):
    from owner_tui.sources.imap.sync import ParsePool

    deliver(imap_account, "INBOX", [mail(n, pad=20_000) for n in range(1, 31)])
    store = open_store(tmp_path / "db")
    with ParsePool(workers=2, min_messages=1) as pool, FaultProxy(imap_account.host, imap_account.port) as proxy:
        proxy.cut_after(300_000, "down")
        res = sync_account(store, account(imap_account, port=proxy.port, batch_size=5), parse_pool=pool)
    assert folder(res, "INBOX").error
    stored = count(store)
    assert 0 < stored < 30 and store.sync_state(res.account_id, "INBOX")["last_uid"] == stored
    res = sync_account(store, account(imap_account, batch_size=5))
    assert folder(res, "INBOX").duplicate == 0 and count(store) == 30


def test_only_big_messages_are_sized_before_batching(imap_account):
    from owner_tui.sources.imap.sync import LARGE, _sizes

    for n, pad in ((1, 0), (2, 200_000), (3, 0), (4, 120_000)):
        imap_account.append("INBOX", mail(n, pad=pad))
    with connect(ImapSettings.from_account(account(imap_account))) as c:
        c.select_folder("INBOX", readonly=True)
        got = dict(_sizes(c, [2, 3, 4]))
        real = {u: d[b"RFC822.SIZE"] for u, d in c.fetch([2, 4], ["RFC822.SIZE"]).items()}
    assert got == {2: real[2], 3: LARGE, 4: real[4]} and real[2] > 200_000


def test_xoauth2_uses_the_token_command_and_says_why_it_failed(imap_account, tmp_path):
    # This Dovecot offers no XOAUTH2: the refusal must still be one plain line, token unshown.
    acc = account(imap_account, password_cmd=None, token_cmd="printf %s ya29.secret-token")
    assert ImapSettings.from_account(acc).auth == "xoauth2"
    res = sync_account(open_store(tmp_path / "db"), acc)
    assert res.error.startswith(f"XOAUTH2 login refused for {imap_account.user}: the token from token_cmd")
    assert "ya29" not in res.error
    res = sync_account(open_store(tmp_path / "db2"), account(imap_account, password_cmd=None,
                                                              token_cmd="exit 4"))
    assert res.error == ("could not get the access token: mail: token_cmd exited with status 4 "
                         "(run it yourself to see why)")


def test_reply_being_sent_elsewhere_counts_once_confirmed(imap_account, tmp_path):
    """Another owner-tui (the laptop) files its reply in Sent marked $OwnerTuiSending, and
    confirms it after SMTP. This sync skips the marked copy, keeps its UID in the cursor, and
    takes it in once the mark is gone, even though later mail moved the cursor past it."""
    from owner_tui.sources.imap.sent import PENDING

    imap_account.append("INBOX", mail(1))
    reply = mail(2, frm=imap_account.user, to="ann@example.net", subject="Re: Question 1", msgid="laptop@x",
                 in_reply_to="m1@example.net")
    uid = imap_account.append("Sent", reply, flags=[b"\\Seen", PENDING])
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_account))
    st = store.sync_state(res.account_id, "Sent")
    assert folder(res, "Sent").new == 0 and json.loads(st["page_token"]) == {"pending": [uid]}
    assert count(store, "SELECT count(*) FROM conversations WHERE waiting_since IS NOT NULL") == 1

    imap_account.append("Sent", mail(3, frm=imap_account.user, to="bob@example.net", msgid="other@x"))
    assert folder(sync_account(store, account(imap_account)), "Sent").new == 1  # still marked: skipped
    with imap_account.client() as c:
        c.select_folder("Sent")
        c.remove_flags([uid], [PENDING])
    res = sync_account(store, account(imap_account))
    assert folder(res, "Sent").new == 1
    assert store.sync_state(res.account_id, "Sent")["page_token"] is None
    assert count(store, "SELECT count(*) FROM conversations WHERE waiting_since IS NOT NULL") == 0
    assert folder(sync_account(store, account(imap_account)), "Sent").skipped


def test_answered_in_another_client_closes_the_wait_at_the_next_sync(imap_account, tmp_path):
    """Issue 12: the owner answered from a client that keeps no Sent copy; that client flagged
    the question \\Answered. With CONDSTORE the next sync sees the flag (only flags changed, so
    no new UID) and closes the wait as "answered elsewhere"; a question already answered in
    Sent, or one flagged before the first sync, is handled the same way."""
    for n in (1, 2, 3):
        imap_account.append("INBOX", mail(n))
    store = open_store(tmp_path / "db")
    sync_account(store, account(imap_account))
    waiting = lambda: {r[0] for r in store.db.execute(  # noqa: E731
        "SELECT subject FROM conversations WHERE waiting_since IS NOT NULL")}
    assert waiting() == {"Question 1", "Question 2", "Question 3"}
    with imap_account.client() as c:
        c.select_folder("INBOX")
        c.add_flags([2], [b"\\Answered"])
    res = sync_account(store, account(imap_account))
    assert res.ok, res.summary()
    assert waiting() == {"Question 1", "Question 3"}
    note = store.db.execute("SELECT notes FROM messages WHERE direction = 'out'").fetchone()[0]
    assert "answered elsewhere" in note
    # Flag plus a new message in the same sync; and a message flagged before its first sync.
    with imap_account.client() as c:
        c.select_folder("INBOX")
        c.add_flags([3], [b"\\Answered"])
    imap_account.append("INBOX", mail(4), flags=[b"\\Answered"])
    sync_account(store, account(imap_account))
    assert waiting() == {"Question 1"}
    sync_account(store, account(imap_account))  # nothing changed: nothing added twice
    assert count(store, "SELECT count(*) FROM messages WHERE direction = 'out'") == 3



def test_a_slow_network_never_holds_the_write_lock(imap_account, tmp_path):
    """Batches share a transaction (``Store.batches``) but it is committed before the sync waits
    on the network: the TUI's own writes (snooze, close) never queue behind a download."""
    import sqlite3
    import threading

    deliver(imap_account, "INBOX", [mail(n) for n in range(1, 7)])
    store = open_store(tmp_path / "db")
    store.close()
    locked: list[str] = []
    done = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(str(tmp_path / "db"), timeout=0.2, isolation_level=None)
        try:
            while not done.is_set():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    locked.append(str(exc))
                done.wait(0.01)
        finally:
            conn.close()

    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        proxy.latency(0.3)  # every server reply takes 0.3 s
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        try:
            store = open_store(tmp_path / "db")
            res = sync_account(store, account(imap_account, port=proxy.port, batch_size=2), folders=["INBOX"])
        finally:
            done.set()
            t.join(5)
    assert folder(res, "INBOX").new == 6 and count(store) == 6
    assert locked == []


class _SlowPool:
    """A ParsePool whose one "worker" is a thread taking ``seconds`` a batch, and which says
    when each batch was handed over (the pipeline's order is what is tested here)."""

    workers = 1
    min_messages = 1

    def __init__(self, events: list, seconds: float) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.events, self.seconds = events, seconds
        self.threads = ThreadPoolExecutor(1)

    def executor(self):
        pool = self

        class Recording:
            def submit(self, fn, items, *args):
                import time

                pool.events.append(("parse", items[0][0] if items else None))
                return pool.threads.submit(lambda: (time.sleep(pool.seconds), fn(items, *args))[1])

        return Recording()


def test_later_batches_are_fetched_and_parsed_while_one_is_stored(imap_account, tmp_path):
    """The sync's pipeline runs ahead of the store by up to AHEAD batches (one batch ahead left
    the parsers idle whenever a store took longer than a parse)."""
    from owner_tui.sources.imap.sync import AHEAD

    deliver(imap_account, "INBOX", [mail(n) for n in range(1, 13)])
    store = open_store(tmp_path / "db")
    events: list = []
    real = store.ingest

    def ingest(account_id, records, cursor=None, **kw):
        events.append(("store", records[0].extra.get("uid") if records else None))
        return real(account_id, records, cursor, **kw)

    store.ingest = ingest
    pool = _SlowPool(events, 0.15)  # local Dovecot serves a batch in milliseconds
    try:
        res = sync_account(store, account(imap_account, batch_size=2), folders=["INBOX"], parse_pool=pool)
    finally:
        pool.threads.shutdown()
    assert folder(res, "INBOX").new == 12 and count(store) == 12
    kinds = [k for k, _ in events]
    assert kinds.count("store") == 6 and kinds.count("parse") == 6
    assert kinds.index("store") == AHEAD >= 2, events  # AHEAD batches parsed before the first is stored
    # and the store never falls more than AHEAD batches behind the parsers
    parsed = stored = 0
    for kind in kinds:
        parsed += kind == "parse"
        stored += kind == "store"
        assert stored <= parsed <= stored + AHEAD


def test_a_stop_request_keeps_whole_batches_and_the_next_sync_resumes(imap_account, tmp_path):
    deliver(imap_account, "INBOX", [mail(n) for n in range(1, 21)])
    store = open_store(tmp_path / "db")
    asked = {"n": 0}

    def stop() -> bool:
        asked["n"] += 1
        return asked["n"] >= 2  # asked once per downloaded batch: stop at the second

    res = sync_account(store, account(imap_account, batch_size=2), folders=["INBOX"], should_stop=stop)
    stored = count(store)
    assert 2 <= stored < 20 and stored % 2 == 0
    assert store.sync_state(res.account_id, "INBOX")["last_uid"] == stored
    res = sync_account(store, account(imap_account, batch_size=2), folders=["INBOX"])
    assert folder(res, "INBOX").duplicate == 0 and folder(res, "INBOX").new == 20 - stored and count(store) == 20


@pytest.mark.parametrize("sent", ["Gesendet", "Éléments envoyés", "Posta inviata"])
def test_a_sent_folder_named_in_the_owners_language_is_found_without_special_use(imap_plain_account, tmp_path,
                                                                               sent):
    """A server without SPECIAL-USE flags whose Sent is named in the owner's language:
    IMAPClient only tries English names, so the owner's replies were never read."""
    with imap_plain_account.client() as c:
        assert not any(b"\\Sent" in flags for flags, _, _ in c.list_folders())
        c.create_folder(sent)
        c.create_folder("Entwürfe")
    imap_plain_account.append("INBOX", mail(1))
    imap_plain_account.append(sent, mail(2, frm="rosie@alias.example", to="ann@example.net", subject="Re: Question 1",
                                          in_reply_to="m1@example.net"))
    store = open_store(tmp_path / "db")
    res = sync_account(store, account(imap_plain_account))
    assert res.ok, res.summary()
    assert [(f.folder, f.role) for f in res.folders] == [("INBOX", "inbox"), (sent, "sent")]
    assert count(store, "SELECT count(*) FROM conversations WHERE waiting_since IS NOT NULL") == 0
