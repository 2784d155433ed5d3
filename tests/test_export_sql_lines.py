"""CSV export writes most lines in SQLite (``reports/export._csv_line_sql``, issue 18): they
must be byte for byte what the Python path writes (``export_tuples``, ``spreadsheet_safe``,
``csv.writer``), hostile rows included, and only the rows SQL cannot vouch for may go the
Python way."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from owner_tui.aging import to_iso
from owner_tui.config import AgingConfig, BusinessHours, Config
from owner_tui.records import MessageRecord
from owner_tui.reports import export
from owner_tui.store import Store
from owner_tui.store.queries import ListFilter
from tests.tui_support import FrozenClock

#: (contact name, subject, excerpt, url): cells SQL must write as they are, and cells it must
#: leave to Python (formula starts, spaces, controls, escapes, bidi, long text, the mark).
CELLS = [
    ("Ann Lee", "Cake order", "hi", None),
    ("Bob, Jr.", 'He said "soon", ok', "x", None),
    ("=HYPERLINK(\"http://evil\")", "fine", "x", None),
    ("Cy", "+1 for the bagels", "x", None),
    ("Dee", "-minus", "x", None),
    ("Eve", "@here", "x", None),
    ("Fay", "|pipe", "x", None),
    ("Gus", "\tTabbed", "x", None),
    ("Hal", "\rCR first", "x", None),
    (" Ivy", "lead space", "x", None),
    ("Jo ", "trail space", "x", None),
    ("Kim", "double  space", "x", None),
    ("Lu", "Order | late\x1b]0;pwn\x07", "x", None),
    ("Mo\u202etxt.exe", "bidi", "x", None),
    ("Ned", "zero\u200bwidth", "x", None),
    ("Oz", "non\u00a0breaking", "x", None),
    ("Pia \u00a4 mark", "the mark \u00a4 in text", "x", None),
    ("Quinn", "line\nbreak", "x", None),
    ("Rae", "x" * 300, "x", None),
    ("Sam", "y" * 301, "x", None),
    ("T" * 200, "long name ok", "x", None),
    ("U" * 201, "long name cut", "x", None),
    ("", "no name: the address", "x", None),
    ("Vi", "", "excerpt, when no subject", None),
    ("Wu", "url", "x", "https://example.test/r?a=1,b=\"2\""),
    ("Xe", "url odd", "x", "=cmd|' /C calc'!A0"),
    ("Yo", "Écoute — ça va? 王芳", "x", None),
    ("Zed", "ends with comma,", "x", None),
    ("Ab\x00cd", "nul", "x", None),
    (" =SUM(A1)", "a space, then a formula", "x", None),
    ("Af", " ", "x", None),
    ("Ac", "del\x7fchar", "x", None),
    ("Ad", "c1\x85next", "x", None),
]


def python_csv(store, f, now) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(export.FIELDS)
    export._write_csv_rows(export.export_tuples(store, f, now), w)
    return buf.getvalue()


def sql_csv(store, f, now) -> str:
    buf = io.StringIO()
    export.write_export(store, f, "csv", buf, now=now)
    return buf.getvalue()


def _fill(store: Store) -> None:
    now = store.now()
    mail = store.ensure_account("imap", "shop", {"address": "me@shop.example"})
    recs = []
    ages = [timedelta(seconds=5), timedelta(seconds=59), timedelta(minutes=1), timedelta(minutes=59, seconds=59),
            timedelta(hours=1), timedelta(hours=3, minutes=7), timedelta(hours=9, minutes=59), timedelta(hours=10, minutes=1),
            timedelta(hours=23, minutes=59, seconds=59), timedelta(days=1), timedelta(days=2, hours=5),
            timedelta(days=3, hours=1), timedelta(days=13, hours=23), timedelta(days=14), timedelta(days=200),
            timedelta(days=364, hours=23), timedelta(days=365), timedelta(days=800), -timedelta(seconds=30),
            -timedelta(hours=2)]
    for i, (name, subject, excerpt, url) in enumerate(CELLS):
        recs.append(MessageRecord(external_id=f"m{i}@x", sender_handle=f"p{i}@x.com", sender_name=f"P{i}",
                                  subject=f"s{i}", text="hello", sent_at=to_iso(now - ages[i % len(ages)])))
    # The owner wrote last in a few (the follow-up list), once on a time the store would not write.
    recs.append(MessageRecord(external_id="f1@x", sender_handle="me@shop.example", recipients=("fo@x.com",),
                              subject="Quote", text="here", direction="out", sent_at=to_iso(now - timedelta(days=5))))
    store.ingest(mail, recs)
    g = store.ensure_account("google", "g", {})
    store.ingest(g, [MessageRecord(external_id="r1", channel="google", thread_key="r1", rating=2, text="Meh, slow",
                                   sender_name="Rev", sender_handle="g:rev", url="https://g.example/r1",
                                   sent_at=to_iso(now - timedelta(hours=5)))])
    texts = store.ensure_account("twilio", "texts", {})
    store.ingest(texts, [
        MessageRecord(external_id="t1", channel="sms", direction="in", sender_handle="+15559870001", sender_name="Tia",
                      recipients=("+15551234567",), text="Open Sunday?", thread_key="+15559870001",
                      sent_at=to_iso(now - timedelta(hours=4))),
        MessageRecord(external_id="t2", channel="whatsapp", direction="in", sender_handle="whatsapp:+15559870002",
                      recipients=("whatsapp:+15551234567",), text="Cake for 12?", thread_key="+15559870002",
                      sent_at=to_iso(now - timedelta(hours=2))),
    ])
    db = store.db
    for i, (name, subject, excerpt, url) in enumerate(CELLS):
        conv, contact = db.execute("SELECT c.id, c.contact_id FROM conversations c JOIN messages m "
                                   "ON m.conversation_id = c.id WHERE m.external_id = ?", [f"m{i}@x"]).fetchone()
        db.execute("UPDATE conversations SET subject = ?, excerpt = ?, url = ? WHERE id = ?", [subject, excerpt, url, conv])
        db.execute("UPDATE contacts SET name = ? WHERE id = ?", [name, contact])
    # a 'name:' address, a store time in another format, a rating stored as text, statuses
    first = db.execute("SELECT id, contact_id FROM conversations ORDER BY id LIMIT 4").fetchall()
    db.execute("UPDATE identities SET handle = 'name:Jo Bloggs' WHERE contact_id = ?", [first[0][1]])
    db.execute("UPDATE conversations SET waiting_since = replace(waiting_since, 'T', ' ') WHERE id = ?", [first[1][0]])
    db.execute("UPDATE conversations SET status = 'done', status_at = ? WHERE id = ?", [to_iso(now), first[2][0]])
    db.execute("UPDATE conversations SET status = 'snoozed', snoozed_until = ? WHERE id = ?",
               [to_iso(now + timedelta(days=1)), first[3][0]])
    db.execute("UPDATE conversations SET last_outbound_at = '' WHERE waiting_since IS NULL AND channel = 'email' "
               "AND id = (SELECT max(id) FROM conversations WHERE channel = 'email')")
    db.conn.commit()


@pytest.fixture(params=["file", "inline"])
def hostile(request, tmp_path):
    store = Store.open(tmp_path / "h.db", clock=FrozenClock())
    _fill(store)
    if request.param == "inline":
        store.path = None  # the same read on the store's own connection
    yield store
    store.close()


@pytest.mark.parametrize("view", ["all", "awaiting", "followup", "done", "snoozed"])
def test_sql_lines_are_the_python_lines(hostile, view):
    now = hostile.now()
    f = ListFilter(view=view)
    assert sql_csv(hostile, f, now) == python_csv(hostile, f, now)


def test_sql_lines_with_a_clock_between_seconds_and_filters(hostile):
    now = hostile.now() + timedelta(microseconds=999_999)
    for f in (ListFilter(view="all"), ListFilter(view="awaiting", channel="email"),
              ListFilter(view="awaiting", older_than_hours=1.5), ListFilter(view="awaiting", bucket="4-24h"),
              ListFilter(view="all", search="hello"), ListFilter(view="all", max_rating=3),
              ListFilter(view="noise")):
        assert sql_csv(hostile, f, now) == python_csv(hostile, f, now)


def test_untrusted_text_never_starts_a_formula(hostile):
    rows = list(csv.reader(io.StringIO(sql_csv(hostile, ListFilter(view="all"), hostile.now()))))[1:]
    untrusted = [r[i] for r in rows for i in export._UNTRUSTED]
    assert len(untrusted) == 4 * len(rows) > 100
    assert not [cell for cell in untrusted if cell.startswith(("=", "+", "-", "@", "\t", "\r", "|"))]
    assert "\x1b" not in "".join(untrusted) and "\u202e" not in "".join(untrusted)


def test_only_the_odd_rows_go_the_python_way(hostile, monkeypatch):
    """SQL writes the plain rows; the rows with a cell ``_line`` or ``spreadsheet_safe`` would
    change (and the phone channels) are read again by id and written by Python."""
    from owner_tui.store import queries

    asked: list[int] = []
    real = queries.rows_by_id

    def spy(conn, ids):
        asked.extend(ids)
        return real(conn, ids)

    monkeypatch.setattr(queries, "rows_by_id", spy)
    now = hostile.now()
    out = sql_csv(hostile, ListFilter(view="all"), now)
    assert out == python_csv(hostile, ListFilter(view="all"), now)
    names = dict(hostile.db.execute("SELECT c.id, COALESCE(ct.name, '') FROM conversations c "
                                    "LEFT JOIN contacts ct ON ct.id = c.contact_id").fetchall())
    odd = {names[i] for i in asked}
    total = hostile.count(ListFilter(view="all"))
    assert 0 < len(asked) < total
    # (Bob's wait is stored as "2026-11-19 10:00:01+00:00": SQLite reads it, Python writes it)
    for plain in ("Ann Lee", "Vi", "Wu", "Yo", "Zed", "T" * 200, "Rae", "Rev", " Ivy", "Jo ", "Af"):
        assert plain not in odd
    for name in ("Bob, Jr.", "=HYPERLINK(\"http://evil\")", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", " =SUM(A1)", "Kim", "Lu",
                 "Mo\u202etxt.exe", "Ned", "Oz", "Pia \u00a4 mark", "Quinn", "Sam", "U" * 201, "Xe", "Ab\x00cd",
                 "Ac", "Ad", "Tia"):
        assert name in odd, name


def test_opening_hours_and_a_fractional_sla_write_every_row_in_python(tmp_path, monkeypatch):
    hours = BusinessHours(tz=ZoneInfo("Europe/London"), days=frozenset(range(5)), opens=time(9), closes=time(17))
    for aging in (AgingConfig(business_hours=hours), AgingConfig(sla_hours=1.0001)):
        store = Store.open(tmp_path / f"b{id(aging)}.db", config=Config(aging=aging), clock=FrozenClock())
        _fill(store)
        monkeypatch.setattr(export, "_CsvBatch", lambda *a: pytest.fail("SQL lines with opening hours"))
        now = store.now()
        assert sql_csv(store, ListFilter(view="all"), now) == python_csv(store, ListFilter(view="all"), now)
        monkeypatch.undo()
        store.close()


def test_a_batch_check_finds_each_odd_line():
    lines = ["\u00a4a\u00a4,email,\u00a4b\u00a4,\u00a4c\u00a4,,,,,,open,\u00a4\u00a4,1",
             "\u00a4a \u00a4,email,\u00a4b\u00a4,\u00a4c\u00a4,,,,,,open,\u00a4\u00a4,2",
             "\x0399",
             "\u00a4a\u00a4,email,\u00a4b\u00a4,\u00a4=c\u00a4,,,,,,open,\u00a4\u00a4,4",
             "\u00a4a\u00a4,email,\u00a4b\u00a4,\u00a4c\u00a4,,,,,,open,\u00a4\u00a4,5"]
    assert export._odd_lines("".join(lines), lines) == {1, 2, 3}
    assert [export._line_id(line) for line in lines] == [1, 2, 99, 4, 5]
    assert export._finish([lines[0], lines[4]]) == "a,email,b,c,,,,,,open,,1\na,email,b,c,,,,,,open,,5\n"
    quoted = "\u00a4a,b\u00a4,email,\u00a4\"q\"\u00a4,\u00a4c\u00a4,,,,,,open,\u00a4\u00a4,6"
    assert export._finish([quoted]) == '"a,b",email,"""q""",c,,,,,,open,,6\n'
    assert export._finish(["\u00a4a\u00a4,email,\u00a4b\u00a4,\u00a4c\nd\u00a4,,,,,,open,\u00a4\u00a4,7"]) is None


def test_the_day_a_store_time_is_read_the_same_way(tmp_path):
    """A time SQLite would read but Python would refuse (30 February) is left to Python,
    which says so as it did before."""
    store = Store.open(tmp_path / "t.db", clock=FrozenClock())
    _fill(store)
    store.db.execute("UPDATE conversations SET waiting_since = '2026-02-30T10:00:00+00:00' WHERE id = "
                     "(SELECT min(id) FROM conversations WHERE waiting_since IS NOT NULL)")
    store.db.conn.commit()
    with pytest.raises(ValueError):
        sql_csv(store, ListFilter(view="all"), store.now())
    store.close()
