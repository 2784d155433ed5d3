"""A page past the middle of a view is read from the far end of the index (``Store.page`` with
``total``): it must give exactly the rows and order the plain OFFSET read gives, for every view,
at every offset, with ties in the sort keys and NULLs in them."""

import random
from datetime import timedelta

import pytest

from owner_tui.aging import to_iso
from owner_tui.store import Store
from owner_tui.store.queries import _COLUMNS, VIEWS, ListFilter, mirror_order


def _reference(s: Store, f: ListFilter, offset: int, limit: int, now) -> list[tuple]:
    """The page as it was read before (ids by OFFSET from the top), kept here verbatim."""
    where, args, order = s._where(f, now)
    sql = (f"SELECT {_COLUMNS} FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id "
           f"WHERE c.id IN (SELECT c.id FROM conversations c{where} ORDER BY {order} LIMIT ? OFFSET ?) "
           f"ORDER BY {order}")
    return [tuple(r) for r in s.db.execute(sql, [*args, limit, offset])]


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    """~600 conversations whose sort keys take few values (many ties, so only ``id`` orders
    them) and are often NULL, in every status, on two channels."""
    from tests.conftest import FROZEN_NOW

    s = Store.open(tmp_path_factory.mktemp("pages") / "tied.db", clock=lambda: FROZEN_NOW)
    acc = s.ensure_account("imap", "shop", {"address": "owner@shop.example"})
    rnd = random.Random(18)
    old = [to_iso(FROZEN_NOW - timedelta(days=d)) for d in (40, 30, 20, 10)]

    def maybe_null():
        return None if rnd.random() < 0.3 else rnd.choice(old)

    rows = []
    for i in range(600):
        status = rnd.choice(("open", "open", "open", "snoozed", "done", "noise"))
        waiting = rnd.choice(old) if status == "open" and rnd.random() < 0.5 else None
        rows.append((acc, rnd.choice(("email", "email", "google")), f"k{i}", status, maybe_null(), waiting,
                     rnd.choice(old) if waiting is None and rnd.random() < 0.8 else maybe_null(),
                     maybe_null(), maybe_null(), maybe_null(), to_iso(FROZEN_NOW)))
    rnd.shuffle(rows)  # ids are not in key order
    s.db.execute("BEGIN")
    s.db.conn.executemany(
        "INSERT INTO conversations (account_id, channel, external_key, status, status_at, waiting_since, "
        "last_outbound_at, last_message_at, snoozed_until, last_activity_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    s.db.execute("COMMIT")
    yield s
    s.close()


FILTERS = [ListFilter(view=v) for v in VIEWS] + [ListFilter(view="all", channel="google"),
                                                 ListFilter(view="done", channel="email")]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f"{f.view}-{f.channel or 'any'}")
def test_a_page_read_from_the_far_end_equals_the_offset_read(tied, f):
    s = tied
    now = s.now()
    total = s.count(f, now)
    where, args, order = s._where(f, now)
    keys = order.replace(" DESC", "").split(", ")[0]
    assert total > 20, "the store must hold enough rows of this view"
    nulls = s.db.execute(f"SELECT count(*) FROM conversations c{where}{' AND' if where else ' WHERE'} "
                         f"{keys} IS NULL", args).fetchone()[0]
    ties = total - s.db.execute(f"SELECT count(DISTINCT {keys}) FROM conversations c{where}", args).fetchone()[0]
    assert ties > total // 2, "the view's sort key must be mostly ties"
    if f.view in ("snoozed", "done", "noise", "all"):
        assert nulls, "NULL keys must be in this view"
    for limit in (1, 7, 200):
        offsets = set(range(total + 3)) if limit == 7 else {
            0, 1, total // 2 - 1, total // 2, total // 2 + 1, total - limit, total - limit + 3, total - 1,
            total, total + 5}
        for offset in sorted(o for o in offsets if o >= 0):
            want = _reference(s, f, offset, limit, now)
            got = [tuple(r.values()) for r in s.page(f, offset, limit, now, total=total)]
            assert got == want, (f, offset, limit, total)
            assert [tuple(r.values()) for r in s.page(f, offset, limit, now)] == want


def test_a_page_past_the_middle_reads_the_index_backwards(tied):
    """The far end is used at all: the plan of a late page walks the index in reverse."""
    s = tied
    seen: list[str] = []
    s.db.conn.set_trace_callback(seen.append)
    try:
        f = ListFilter(view="all")
        total = s.count(f)
        s.page(f, total - 10, 10, total=total)
        s.page(f, 0, 10, total=total)
    finally:
        s.db.conn.set_trace_callback(None)
    pages = [q for q in seen if "LIMIT" in q]
    assert "ORDER BY c.last_activity_at ASC, c.id ASC LIMIT" in pages[0]
    assert "ORDER BY c.last_activity_at DESC, c.id DESC LIMIT" in pages[1]


def test_mirror_order_flips_every_term_and_refuses_what_it_cannot_mirror():
    assert mirror_order("c.waiting_since, c.id") == "c.waiting_since DESC, c.id DESC"
    assert mirror_order("c.status_at DESC, c.id DESC") == "c.status_at ASC, c.id ASC"
    for bad in ("c.subject COLLATE NOCASE, c.id", "c.status_at DESC NULLS LAST, c.id", "c.status_at"):
        with pytest.raises(ValueError):
            mirror_order(bad)


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    """Messages in conversations of every view: "cake" in most of them (a dense word), "rye" in
    a few, "Baker" as a contact's name, so searches take either way."""
    from tests.conftest import FROZEN_NOW
    from tests.gen import OWNER, generate

    from owner_tui.config import Config, OwnerConfig
    from owner_tui.records import MessageRecord

    s = Store.open(tmp_path_factory.mktemp("search") / "s.db", clock=lambda: FROZEN_NOW,
                   config=Config(owner=OwnerConfig(addresses=(OWNER,))))
    acc = s.ensure_account("imap", "shop", {"address": OWNER})
    rnd = random.Random(7)
    recs = generate(400, FROZEN_NOW, seed=5)
    recs = [r.__class__(**{**r.__dict__, "text": r.text + (" cake" if rnd.random() < 0.8 else "")
                           + (" rye" if rnd.random() < 0.05 else "")}) for r in recs]
    recs.append(MessageRecord(external_id="baker@x", sender_handle="ann@example.com", sender_name="Ann Baker",
                              sent_at=to_iso(FROZEN_NOW - timedelta(hours=3)), subject="Hello",
                              text="Just a question", recipients=(OWNER,)))
    s.ingest(acc, recs)
    yield s
    s.close()


SEARCH_FILTERS = [ListFilter(view=v, search=q) for v in VIEWS for q in ("cake", "rye", "Baker", "cake rye", "nothing")]


@pytest.mark.parametrize("f", SEARCH_FILTERS, ids=lambda f: f"{f.view}-{f.search}")
def test_a_common_word_walks_the_view_and_finds_the_same_rows(searchable, monkeypatch, f):
    """``_dense_search_page`` (each conversation tested in the view's order) gives the page
    the id-set way gives, at every offset; a walk out of time falls back to the id-set way."""
    from owner_tui.store import queries
    from tests.conftest import FROZEN_NOW

    s = searchable
    monkeypatch.setattr(queries, "DENSE_BUDGET_S", 30.0)  # a loaded machine never runs out here
    for offset in (0, 7, 50, 200, 10_000):
        monkeypatch.setattr(queries, "DENSE_HITS", 10**9)  # the id-set way only
        want = [tuple(r.values()) for r in s.page(f, offset, 13, now=FROZEN_NOW)]
        assert want == _reference(s, f, offset, 13, FROZEN_NOW)
        monkeypatch.setattr(queries, "DENSE_HITS", 3)  # "cake" (and its pair) are dense now
        dense = s._dense_search_page(f, offset, 13, FROZEN_NOW)
        if f.search in ("cake", "cake rye"):
            assert dense is not None
        if dense is not None:
            assert [tuple(r.values()) for r in dense] == want
        assert [tuple(r.values()) for r in s.page(f, offset, 13, now=FROZEN_NOW)] == want
        monkeypatch.setattr(queries, "DENSE_BUDGET_S", -1.0)  # no time at all: a long walk gives up
        out_of_time = s._dense_search_page(f, offset, 13, FROZEN_NOW)
        assert out_of_time is None or [tuple(r.values()) for r in out_of_time] == want
        if f.view == "all" and f.search == "cake":
            assert out_of_time is None  # 400 conversations to walk: interrupted, not finished
        assert [tuple(r.values()) for r in s.page(f, offset, 13, now=FROZEN_NOW)] == want
        monkeypatch.setattr(queries, "DENSE_BUDGET_S", 30.0)
    # the walk's time limit is gone afterwards: a long query on the same connection runs on
    assert s.db.execute("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 300000) "
                        "SELECT count(*) FROM n").fetchone()[0] == 300000
