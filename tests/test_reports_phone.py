"""Digest, reports, export and metrics with texts, WhatsApp and missed calls (issue 19): the
channels counted per row with the owner's words for them (Text, WhatsApp, Missed call), the
morning digest naming the missed calls that await a call back, the export giving the number
and a tel: link, and a text that was not delivered not counting as an answer."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from owner_tui.records import MessageRecord, SendResult, channel_label
from owner_tui.reports import digest as dg
from owner_tui.reports import digest_render as dr
from owner_tui.reports import metrics
from owner_tui.reports import period as pr
from owner_tui.reports import period_render as prr
from owner_tui.reports.export import export_rows, write_export
from owner_tui.store import Store, delivery
from owner_tui.store.queries import ListFilter
from tests.tui_support import FrozenClock

CALLER = "+15559870003"


def _in(channel: str, number: str, text: str, at: str, name: str = "") -> MessageRecord:
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    return MessageRecord(external_id=f"{channel}-{number}-{at}", channel=channel, direction="in",
                         sender_handle=prefix + number, sender_name=name, recipients=(prefix + "+15551234567",),
                         text=text, thread_key=number, sent_at=at)


@pytest.fixture
def phone_store(tmp_path):
    clock = FrozenClock()
    store = Store.open(tmp_path / "p.db", clock=clock)
    acc = store.ensure_account("twilio", "texts", {})
    now = clock.now

    def ago(**kw) -> str:
        return (now - timedelta(**kw)).isoformat()

    store.ingest(acc, [
        _in("sms", "+15559870001", "Open Sunday?", ago(hours=5), "Tia Tran"),
        _in("whatsapp", "+15559870002", "Cake for 12?", ago(hours=2), "Wes Wu"),
        _in("call", CALLER, "Missed call (no answer)", ago(hours=3)),
        _in("sms", "+15559870004", "Thanks!", ago(days=1)),
    ])
    # The last one was answered by a text that arrived; a second customer's reply bounced.
    conv = store.db.execute("SELECT conversation_id FROM messages WHERE sender_handle = '+15559870004'").fetchone()[0]
    oid = store.queue_reply(conv, "You're welcome")
    store.outbox_claim(oid, from_status=("queued",))
    store.outbox_finish(oid, SendResult(external_id="SMok", sent_at=ago(hours=20), delivery="delivered"))
    tia = store.db.execute("SELECT conversation_id FROM messages WHERE sender_handle = '+15559870001'").fetchone()[0]
    bad = store.queue_reply(tia, "Yes, 9-1")
    store.outbox_claim(bad, from_status=("queued",))
    store.outbox_finish(bad, SendResult(external_id="SMbad", sent_at=ago(hours=4), delivery="sent"))
    delivery.record(store, bad, "undelivered", "the carrier rejected the message (30007)")
    yield store, clock
    store.close()


def test_channel_labels():
    assert [channel_label(c) for c in ("sms", "whatsapp", "call", "email", "google")] == \
        ["Text", "WhatsApp", "Missed call", "email", "google"]


def test_digest_counts_the_new_channels_and_names_the_missed_calls(phone_store):
    store, clock = phone_store
    d = dg.build_digest(store, now=clock.now)
    assert set(d.by_channel) == {"sms", "whatsapp", "call"}  # the bounced text left Tia waiting
    assert sum(d.by_channel["sms"].values()) == 1
    assert [(i.number, i.channel) for i in d.missed_calls] == [(CALLER, "call")]
    text = dr.render_text(d)
    assert "Missed calls to call back (1)" in text and CALLER in text
    for label in ("Text", "WhatsApp", "Missed call"):
        assert label in text
    data = json.loads(dr.render_json(d))
    assert data["missed_calls"][0]["number"] == CALLER
    assert set(data["awaiting"]["by_channel"]) == {"sms", "whatsapp", "call"}
    md = dr.render_markdown(d)
    assert "Missed calls to call back" in md and "Missed call" in md


def test_no_missed_calls_section_when_none_await(phone_store):
    store, clock = phone_store
    conv = store.db.execute("SELECT id FROM conversations WHERE channel = 'call'").fetchone()[0]
    store.mark_done(conv)
    d = dg.build_digest(store, now=clock.now)
    assert d.missed_calls == [] and "Missed calls to call back" not in dr.render_text(d)


def test_metrics_per_channel_and_an_undelivered_text_is_no_answer(phone_store):
    store, clock = phone_store
    p = metrics.period_metrics(store, clock.now - timedelta(days=7), clock.now, clock.now)
    assert {"sms", "whatsapp", "call"} <= set(p.channels)
    sms = p.channels["sms"]
    assert sms.waits == 2 and sms.answered == 1  # Tia's bounced reply answered nothing
    assert sms.still_waiting == 1


def test_period_report_rows_carry_the_labels(phone_store):
    store, clock = phone_store
    r = pr.build_report(store, "week", at=clock.now.date(), now=clock.now)
    text = prr.render_text(r)
    assert "Text" in text and "WhatsApp" in text and "Missed call" in text
    assert {"sms", "whatsapp", "call"} <= set(json.loads(prr.render_json(r))["current"]["channels"])


def test_export_gives_the_number_and_a_tel_link(phone_store):
    store, clock = phone_store
    rows = {r["channel"]: r for r in export_rows(store, ListFilter(), clock.now)}
    assert rows["call"]["address"] == CALLER and rows["call"]["link"] == f"tel:{CALLER}"
    assert rows["whatsapp"]["address"] == "+15559870002" and rows["whatsapp"]["link"] == "tel:+15559870002"
    buf = io.StringIO()
    write_export(store, ListFilter(), "csv", buf, clock.now)
    got = {r["channel"]: r for r in csv.DictReader(io.StringIO(buf.getvalue()))}
    # A leading + would start a spreadsheet formula: neutralised, the number kept.
    assert got["call"]["address"] == "'" + CALLER


def test_export_of_a_hostile_number_has_no_link(tmp_path):
    clock = FrozenClock()
    with Store.open(tmp_path / "h.db", clock=clock) as store:
        acc = store.ensure_account("twilio", "texts", {})
        store.ingest(acc, [_in("call", "+1555=cmd|' /C calc'!A0", "x", (clock.now - timedelta(hours=1)).isoformat())])
        [row] = list(export_rows(store, ListFilter(), clock.now))
        assert row["link"] == ""

