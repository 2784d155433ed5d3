"""A big CSV export is read in two processes on one snapshot (``store/split_read.py``, issue 18).

What must hold: the two parts of a view (``Store.halves``) take every row exactly once and in
order, with ties and NULLs in the sort keys; the CSV is byte for byte the one-process CSV;
no commit can fall between the two reads' starts, and one after them is seen by neither; and
whatever goes wrong with the second process (it fails, it cannot start, the write lock is
busy), the export is still whole.
"""

from __future__ import annotations

import sqlite3

import pytest

from owner_tui.reports import export
from owner_tui.store import split_read
from owner_tui.store.queries import VIEWS, ListFilter
from tests.test_export_sql_lines import _fill, python_csv, sql_csv
from tests.test_pages import FILTERS, tied  # noqa: F401  (a fixture)
from tests.tui_support import FrozenClock


def _ordered_ids(s, f, now) -> list[int]:
    where, args, order = s._where(f, now)
    return [r[0] for r in s.db.execute(f"SELECT c.id FROM conversations c{where} ORDER BY {order}", args)]


def _ids_where(s, f, now, part) -> set[int]:
    where, args, _order = s._where(f, now)
    where = f"{where} AND {part[0]}" if where else f" WHERE {part[0]}"
    return {r[0] for r in s.db.execute(f"SELECT c.id FROM conversations c{where}", [*args, *part[1]])}


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f"{f.view}-{f.channel or 'any'}")
def test_the_two_halves_take_every_row_once_and_in_order(tied, f):  # noqa: F811
    s = tied
    now = s.now()
    ordered = _ordered_ids(s, f, now)
    assert len(ordered) > 20
    for share in (0.0, 0.1, 0.45, 0.5, 0.77, 0.999, 1.0):
        first, second = s.halves(f, now, share=share)
        a, b = _ids_where(s, f, now, first), _ids_where(s, f, now, second)
        assert not a & b, (f, share)
        assert a | b == set(ordered), (f, share)
        # in order: the first part is a prefix of the view
        assert ordered[:len(a)] == [i for i in ordered if i in a], (f, share)
        if 0 < share < 1:
            assert len(a) == int(len(ordered) * share), (f, share)


def test_halves_of_a_small_view_are_none_and_an_empty_view_parts_cleanly(tied):  # noqa: F811
    s = tied
    now = s.now()
    f = ListFilter(view="all")
    assert s.halves(f, now, min_rows=10**9) is None
    nothing = ListFilter(view="all", channel="no-such-channel")
    first, second = s.halves(nothing, now)
    assert _ids_where(s, nothing, now, first) == _ids_where(s, nothing, now, second) == set()


@pytest.fixture
def big(tmp_path, monkeypatch):
    """The hostile rows of test_export_sql_lines, exported in two processes from any size."""
    store = split_store(tmp_path)
    monkeypatch.setattr(export, "SPLIT_MIN_ROWS", 0)
    monkeypatch.setattr(export, "_cores", lambda: 2)
    yield store
    store.close()


def split_store(tmp_path):
    from owner_tui.store import Store

    store = Store.open(tmp_path / "h.db", clock=FrozenClock())
    _fill(store)
    return store


def _spy(monkeypatch) -> list:
    """Record each split read: [(child process or None)]."""
    seen: list = []
    start = split_read._start_child

    def recording(uri, spill):
        proc = start(uri, spill)
        seen.append(proc)
        return proc

    monkeypatch.setattr(split_read, "_start_child", recording)
    return seen


@pytest.mark.parametrize("view", VIEWS)
def test_the_split_csv_is_the_one_process_csv(big, monkeypatch, view):
    seen = _spy(monkeypatch)
    now = big.now()
    f = ListFilter(view=view)
    assert sql_csv(big, f, now) == python_csv(big, f, now)
    assert len(seen) == 1 and seen[0] is not None, "the export was read in two processes"


def test_no_commit_falls_between_the_two_reads_and_one_after_is_seen_by_neither(big, monkeypatch):
    now = big.now()
    f = ListFilter(view="all")
    before = python_csv(big, f, now)
    writer = sqlite3.connect(str(big.path), timeout=0, isolation_level=None)
    start, send = split_read._start_child, split_read._send_query
    blocked: list[str] = []

    def start_then_try_to_write(uri, spill):
        proc = start(uri, spill)
        try:  # both reads have started; the lock is still held
            writer.execute("DELETE FROM conversations WHERE id = (SELECT max(id) FROM conversations)")
        except sqlite3.OperationalError as exc:
            blocked.append(str(exc))
        return proc

    def write_then_send(proc, second):
        # The lock is gone: a sync commits before either part is read. Every row but one
        # moves to the other part (the order flips), and one row goes.
        writer.execute("UPDATE conversations SET last_activity_at = '1999-01-01T00:00:00+00:00' "
                       "WHERE last_activity_at > (SELECT min(last_activity_at) FROM conversations)")
        writer.execute("DELETE FROM conversations WHERE id = (SELECT min(id) FROM conversations)")
        return send(proc, second)

    child_rows = split_read._child_rows
    used: list = []
    monkeypatch.setattr(split_read, "_start_child", start_then_try_to_write)
    monkeypatch.setattr(split_read, "_send_query", write_then_send)
    monkeypatch.setattr(split_read, "_child_rows", lambda proc: used.append(child_rows(proc)) or used[-1])
    got = sql_csv(big, f, now)
    writer.close()
    assert blocked and "locked" in blocked[0]
    assert used and used[0], "the second part came from the child (not the parent's fallback)"
    assert got == before
    assert python_csv(big, f, now) != before, "the writes did change the store"


def test_a_second_process_that_fails_leaves_the_export_whole(big, monkeypatch):
    send = split_read._send_query
    seen: list = []

    def bad_sql(proc, second):
        seen.append(proc)
        return send(proc, ("SELECT no_such_column FROM conversations", []))

    monkeypatch.setattr(split_read, "_send_query", bad_sql)
    now = big.now()
    f = ListFilter(view="all")
    assert sql_csv(big, f, now) == python_csv(big, f, now)
    assert seen and seen[0] is not None and seen[0].returncode == 1, "the child started, then failed"


def test_a_second_process_that_cannot_start_leaves_the_export_whole(big, monkeypatch, tmp_path):
    monkeypatch.setattr(split_read.sys, "executable", str(tmp_path / "no-python"))
    seen = _spy(monkeypatch)
    now = big.now()
    f = ListFilter(view="awaiting")
    assert sql_csv(big, f, now) == python_csv(big, f, now)
    assert seen == [None]


def test_a_busy_store_is_read_in_one_process(big, monkeypatch):
    """A sync writing a batch holds the write lock: the export does not wait past
    LOCK_TIMEOUT_S and reads in one process."""
    monkeypatch.setattr(split_read, "LOCK_TIMEOUT_S", 0.05)
    seen = _spy(monkeypatch)
    other = sqlite3.connect(str(big.path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        now = big.now()
        f = ListFilter(view="all")
        assert sql_csv(big, f, now) == python_csv(big, f, now)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert seen == [], "no second process was started"


def test_a_read_only_store_is_read_in_one_process(big, monkeypatch, tmp_path):
    seen = _spy(monkeypatch)
    monkeypatch.setattr(split_read.sqlite3, "connect", _refusing_writes(sqlite3.connect))
    now = big.now()
    f = ListFilter(view="all")
    assert sql_csv(big, f, now) == python_csv(big, f, now)
    assert seen == []


def _refusing_writes(connect):
    """``sqlite3.connect`` whose plain (writable) connections open read-only, as for a store
    file the user may only read."""
    def opened(database, *args, **kw):
        if not kw.get("uri"):
            from urllib.parse import quote

            return connect(f"file:{quote(str(database))}?mode=ro", *args, uri=True, **kw)
        return connect(database, *args, **kw)
    return opened


def test_the_child_refuses_a_row_with_a_nul(tmp_path):
    """The child's rows end in NUL: a row holding one would shift every row after it, so the
    child fails instead and the parent reads that part itself."""
    db = tmp_path / "n.db"
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("a",), ("b\x00c",)])
    conn.commit()
    conn.close()
    rows = list(split_read.split_read(db, ("SELECT x FROM t WHERE x = 'a'", []), ("SELECT x FROM t", []), 10,
                                      lambda conn, cols, rows: [r[0] for r in rows]))
    assert rows == [["a"], ["a", "b\x00c"]]
