import csv
import io
import json
from datetime import timedelta

import pytest

from owner_tui.aging import to_iso
from owner_tui.records import MessageRecord
from owner_tui.reports.export import FIELDS, write_export
from owner_tui.store.queries import ListFilter


@pytest.fixture
def filled(store):
    acc = store.ensure_account("imap", "shop", {"address": "me@shop.example"})
    now = store.now()
    store.ingest(acc, [
        MessageRecord(external_id="a@x", sender_handle="ann@x.com", sender_name="=HYPERLINK(\"http://evil\")",
                      subject="Order | late\x1b]0;pwn\x07", text="hi", sent_at=to_iso(now - timedelta(hours=30))),
        MessageRecord(external_id="b@x", sender_handle="bob@x.com", sender_name="Bob, Jr.", subject="Cake; big",
                      text="x", sent_at=to_iso(now - timedelta(minutes=20))),
    ])
    g = store.ensure_account("google", "g", {})
    store.ingest(g, [MessageRecord(external_id="r1", channel="google", direction="in", thread_key="r1", rating=1,
                                   text="Awful", sender_name="Dee", sender_handle="g:dee",
                                   url="https://g.example/r1", sent_at=to_iso(now - timedelta(hours=5)))])
    return store


def export(store, fmt, **f):
    buf = io.StringIO()
    n = write_export(store, ListFilter(**f), fmt, buf)
    return n, buf.getvalue()


def test_csv_rows_oldest_first_and_formula_neutralised(filled):
    n, out = export(filled, "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert n == 3 and list(rows[0]) == list(FIELDS)
    assert [r["channel"] for r in rows] == ["email", "google", "email"]
    assert rows[0]["contact"].startswith("'=")
    assert "\x1b" not in out and "\x07" not in out
    assert rows[1]["rating"] == "1" and rows[1]["link"] == "https://g.example/r1"
    assert rows[0]["age"] == "1d6h" and rows[0]["bucket"] == "1-3d"


def test_json_jsonl_markdown_agree(filled):
    _, j = export(filled, "json")
    _, jl = export(filled, "jsonl")
    assert json.loads(j) == [json.loads(line) for line in jl.splitlines()]
    _, md = export(filled, "markdown")
    assert md.count("\n") == 2 + 3 and "Order \\| late" in md
    assert json.loads(export(filled, "json", view="done")[1]) == []


def test_ics_has_a_vtodo_due_at_sla(filled):
    _, ics = export(filled, "ics")
    assert ics.count("BEGIN:VTODO") == 3 and ics.endswith("END:VCALENDAR\r\n")
    assert "DUE:20261123T084000Z" in ics.replace("\r\n ", "")  # Bob: waiting since 08:40 + 24 h -> 08:40
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    assert "Bob\\, Jr." in ics.replace("\r\n ", "") and "Cake\\; big" in ics.replace("\r\n ", "")


def test_filters(filled):
    assert export(filled, "jsonl", channel="google")[0] == 1
    assert export(filled, "jsonl", older_than_hours=24)[0] == 1
    assert export(filled, "jsonl", bucket="lt1h")[0] == 1
    assert export(filled, "jsonl", max_rating=2)[0] == 1


def _contact_of(store, handle):
    return store.db.execute("SELECT contact_id FROM identities WHERE handle = ?", [handle]).fetchone()[0]


def test_a_full_read_names_the_same_address_as_the_list(store):
    """Export reads the whole list with its own query (issue 18: per-read tables instead of
    correlated subqueries, on a second connection in a thread): it must name the very address
    a page of the list names, merged contacts included."""
    acc = store.ensure_account("imap", "shop", {"address": "me@shop.example"})
    g = store.ensure_account("google", "g", {})
    now = store.now()
    recs = []
    for i, (who, name) in enumerate([("ann@x.com", "Ann"), ("ann.work@y.com", "Ann"), ("bob@x.com", "Bob"),
                                     ("cy@x.com", "Cy")]):
        recs.append(MessageRecord(external_id=f"m{i}@x", sender_handle=who, sender_name=name, subject=f"Hello {i}",
                                  text="hi", sent_at=to_iso(now - timedelta(hours=10 - i))))
    store.ingest(acc, recs)
    store.ingest(g, [MessageRecord(external_id="r1", channel="google", thread_key="r1", rating=2, text="meh",
                                   sender_name="Cy", sender_handle="g:cy", sent_at=to_iso(now - timedelta(hours=3)))])
    # Ann writes from two addresses (two on one channel); Cy's review joins his email contact.
    store.merge_contacts(_contact_of(store, "ann@x.com"), _contact_of(store, "ann.work@y.com"))
    store.merge_contacts(_contact_of(store, "cy@x.com"), _contact_of(store, "g:cy"))
    for view in ("all", "awaiting"):
        f = ListFilter(view=view)
        listed = [(r["id"], r["contact_handle"]) for r in store.page(f, limit=1000)]
        assert listed and [(r["id"], r["contact_handle"]) for r in store.iter_rows(f)] == listed
        path, store.path = store.path, None  # the same read on the store's own connection
        try:
            assert [(r["id"], r["contact_handle"]) for r in store.iter_rows(f)] == listed
        finally:
            store.path = path
    handles = dict(listed)
    assert sorted(set(handles.values())) == ["ann.work@y.com", "ann@x.com", "bob@x.com", "cy@x.com"]


def test_a_reader_that_stops_early_stops_the_query_thread(store):
    import threading

    acc = store.ensure_account("imap", "shop", {"address": "me@shop.example"})
    now = store.now()
    store.ingest(acc, [MessageRecord(external_id=f"n{i}@x", sender_handle=f"p{i}@x.com", subject="s", text="t",
                                     sent_at=to_iso(now - timedelta(minutes=i))) for i in range(300)])
    batches = store.iter_batches(ListFilter(view="all"), batch=10)
    cols, rows = next(batches)
    assert len(rows) == 10 and "contact_handle" in cols
    assert any(t.name == "owner-tui-rows" for t in threading.enumerate())
    batches.close()
    assert not any(t.name == "owner-tui-rows" for t in threading.enumerate())
