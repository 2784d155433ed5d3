"""Hostile mail: messages built to break naive parsers are stored, with their problems noted.

The corpus is ``tests/corpus/hostile/`` (small hand-made files: broken and reused MIME
boundaries, unknown and lying charsets, RFC 2047 abuse, NUL bytes, missing Date/From/
Message-ID, a reused Message-ID with different content, years 0 and 9999, hostile attachment
names, HTML with scripts) plus cases generated here because they are big or repetitive:
multiparts nested 100 and 1,000 deep, message/rfc822 nested 100 deep, 1 MB header lines,
100,000 header lines, 10,000 parts, HTML bombs (deep nesting, a million entities), and a
50 MB attachment.

Every message goes through the real path (``parse_message`` -> ``Store.ingest``, and the
``owner-tui import`` CLI): none crashes, each is stored (with a problem recorded when it is
broken) or named as skipped, CPU time per message and memory stay within generous bounds.
Hypothesis then fuzzes the parser with arbitrary bytes and with mail-shaped hostile input,
and the store with arbitrary sequences of records (no exception, idempotent, incremental
state equal to a full recompute).

``STATS`` holds the figures for the suite's report.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from owner_tui.config import Config, OwnerConfig
from owner_tui.mail.parse import parse_message
from owner_tui.records import MessageRecord
from owner_tui.reports.export import FORMATS, write_export
from owner_tui.store import Store
from owner_tui.store.ingest import _recompute
from owner_tui.store.queries import ListFilter

CORPUS = Path(__file__).parent / "corpus" / "hostile"
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
OWNER = "shop@example.com"
LONG = os.environ.get("OWNER_TUI_LONG") == "1"
STATS: Counter = Counter()
#: CPU seconds one message may take, parse + ingest (generous: a bound, not a benchmark).
CPU_BOUND = 2.0


def _hdr(subject: str, mid: str, extra: str = "") -> bytes:
    return (f"From: Gen <gen@example.org>\r\nTo: {OWNER}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{mid}@example.org>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n{extra}").encode()


def _nested_multipart(depth: int) -> bytes:
    head = b"".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{i + 1}\"\r\n\r\n".encode()
                    for i in range(depth))
    tail = b"".join(f"\r\n--b{i}--\r\n".encode() for i in reversed(range(depth)))
    return (_hdr(f"multipart nested {depth} deep", f"deep{depth}", 'Content-Type: multipart/mixed; boundary="b0"\r\n')
            + b"\r\n" + head + f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nthe innermost text\r\n".encode() + tail)


def _nested_rfc822(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\r\n\r\ninnermost forwarded text\r\n"
    for i in range(depth):
        inner = f"Subject: fwd {i}\r\nContent-Type: message/rfc822\r\n\r\n".encode() + inner
    return _hdr("message/rfc822 nested", f"rfc822-{depth}", "Content-Type: message/rfc822\r\n") + b"\r\n" + inner


def _html(body: str, mid: str) -> bytes:
    return _hdr(f"html bomb {mid}", mid, "Content-Type: text/html; charset=utf-8\r\n") + b"\r\n" + body.encode()


def generated_small() -> dict[str, bytes]:
    """The generated cases that fit in memory comfortably (all but the 50 MB one)."""
    mb = 1024 * 1024
    return {
        "deep-100.eml": _nested_multipart(100),
        "deep-1000.eml": _nested_multipart(1000),
        "rfc822-100.eml": _nested_rfc822(100),
        "subject-1mb.eml": _hdr("S" * mb, "subj1mb") + b"\r\nbody\r\n",
        "subject-1mb-words.eml": _hdr(" ".join(["=?utf-8?q?=C3=A9t=C3=A9?="] * (mb // 26)), "subjwords")
        + b"\r\nbody\r\n",
        "from-1mb.eml": b"From: " + b"x" * mb + b"@example.org\r\n" + _hdr("long from", "from1mb")[
            len(b"From: Gen <gen@example.org>\r\n"):] + b"\r\nbody\r\n",
        "msgid-1mb.eml": _hdr("long id", "i" * mb) + b"\r\nbody\r\n",
        "header-1mb-folded.eml": _hdr("folded", "fold1mb", "X-Long: " + "\r\n ".join(["word"] * (mb // 8)) + "\r\n")
        + b"\r\nbody\r\n",
        "headers-100k.eml": _hdr("many headers", "many", "".join(f"X-H{i}: v\r\n" for i in range(100_000)))
        + b"\r\nbody\r\n",
        "parts-10k.eml": _hdr("ten thousand parts", "parts", 'Content-Type: multipart/mixed; boundary="p"\r\n')
        + b"\r\n" + b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(10_000)) + b"--p--\r\n",
        "html-deep.eml": _html("<div>" * 100_000 + "deep" + "</div>" * 100_000, "htmldeep"),
        "html-unclosed.eml": _html("<table><tr><td>" * 50_000 + "cells", "htmlunclosed"),
        "html-entities.eml": _html("&amp;" * 1_000_000 + "&#x1F600;" * 100_000, "htmlentities"),
        "html-brs.eml": _html("<br>" * 1_000_000, "htmlbr"),
        "html-attrs.eml": _html("<p " + " ".join(f"a{i}='{i}'" for i in range(200_000)) + ">x</p>", "htmlattrs"),
        "body-20mb-one-line.eml": _hdr("one 20 MB line", "line20", "Content-Type: text/plain\r\n") + b"\r\n"
        + b"a" * (20 * mb) + b"\r\n",
        "nul-flood.eml": _hdr("nuls", "nuls") + b"\r\n" + b"\x00" * mb,
    }


def _corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix == ".eml")


def _ingest_one(store: Store, acc: int, name: str, raw: bytes) -> tuple[MessageRecord, float]:
    t0 = time.process_time()
    rec = parse_message(raw, now=NOW)
    store.ingest(acc, [rec], now=NOW)
    return rec, time.process_time() - t0


@pytest.fixture
def shop(tmp_path):
    store = Store.open(tmp_path / "hostile.db", config=Config(owner=OwnerConfig(addresses=(OWNER,))),
                       clock=lambda: NOW)
    acc = store.ensure_account("files", "hostile", {})
    yield store, acc
    store.close()


def _stored(store: Store, external_id: str) -> dict | None:
    rows = list(store.db.query("SELECT * FROM messages WHERE external_id = ?", [external_id]))
    return rows[0] if rows else None


# -- the corpus through parse + ingest ------------------------------------------------------------

#: Damaged in ways a good parser repairs or ignores: they need no problem recorded.
MAY_BE_CLEAN = {"05-empty-boundary.eml", "16-dup-msgid-a.eml", "17-dup-msgid-b.eml",
                "25-hostile-attachment-names.eml", "26-html-only-script.eml", "29-message-rfc822-loop.eml"}


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_corpus_message_is_stored_with_its_problems(shop, path):
    store, acc = shop
    rec, cpu = _ingest_one(store, acc, path.name, path.read_bytes())
    STATS["corpus"] += 1
    assert cpu < CPU_BOUND, f"{path.name}: {cpu:.2f} s CPU"
    row = _stored(store, rec.external_id)
    assert row is not None, f"{path.name} was not stored"
    if path.name not in MAY_BE_CLEAN:
        assert json.loads(row["problems"]), f"{path.name}: stored without any problem recorded"
    assert row["sent_at"] and row["sent_at"][:4].isdigit() and "1982" <= row["sent_at"][:4] <= "2026"
    for field in ("subject", "sender_name", "sender_handle", "text"):
        assert "\x00" not in (row[field] or ""), field
    if path.name == "26-html-only-script.eml":
        assert "Hello" in row["text"] and "alert" not in row["text"] and "color:red" not in row["text"]


@pytest.mark.parametrize("name", list(generated_small()))
def test_generated_message_is_stored_within_bounds(shop, name):
    store, acc = shop
    raw = generated_small()[name]
    rec, cpu = _ingest_one(store, acc, name, raw)
    STATS["generated"] += 1
    assert cpu < CPU_BOUND, f"{name}: {cpu:.2f} s CPU for {len(raw) / 1e6:.1f} MB"
    row = _stored(store, rec.external_id)
    assert row is not None
    assert len(row["subject"] or "") <= 1000 and len(row["sender_handle"] or "") <= 1000
    assert len(row["text"] or "") <= 1_000_000
    if name.startswith("deep"):
        assert json.loads(row["problems"]), "deep nesting stored without a problem noted"


def test_duplicate_message_id_with_different_content_loses_neither(shop):
    """Two different messages sharing a Message-ID (a broken mailer, or a spoof sent first
    to hide the real one): both are kept, the second with the problem noted; importing
    either again stores nothing new."""
    store, acc = shop
    a = (CORPUS / "16-dup-msgid-a.eml").read_bytes()
    b = (CORPUS / "17-dup-msgid-b.eml").read_bytes()
    for raw in (a, b, a, b):
        store.ingest(acc, [parse_message(raw, now=NOW)], now=NOW)
    texts = sorted(r[0] for r in store.db.execute("SELECT text FROM messages"))
    assert len(texts) == 2, texts
    assert any("different address" in t for t in texts) and any("order a cake" in t for t in texts)
    problems = [json.loads(r[0]) for r in store.db.execute("SELECT problems FROM messages")]
    assert any(any("Message-ID" in p for p in ps) for ps in problems), problems


# -- the CLI on the whole corpus -----------------------------------------------------------------------

def test_import_cli_stores_or_names_every_file(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    for p in CORPUS.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    for name, raw in generated_small().items():  # the big ones are covered in-process above
        if name in ("deep-100.eml", "rfc822-100.eml", "msgid-1mb.eml", "headers-100k.eml"):
            (folder / name).write_bytes(raw)
    db = tmp_path / "cli.db"

    def run():
        return subprocess.run([sys.executable, "-m", "owner_tui", "--db", str(db), "import", str(folder)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    first = run()
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    n_files = len(list(folder.iterdir()))
    with Store.open(db) as store:
        stored = store.message_count()
        problems = store.db.execute("SELECT count(*) FROM messages WHERE problems != '[]'").fetchone()[0]
    # Every file is stored, or named in the summary as skipped (the mbox holds two messages).
    skipped = int(first.stdout.split("files skipped")[0].rsplit(",", 1)[1]) if "skipped" in first.stdout else 0
    assert stored + skipped + 1 >= n_files, (stored, skipped, n_files, first.stdout)
    assert problems >= stored - len(MAY_BE_CLEAN) - 2, (problems, stored)
    second = run()
    assert second.returncode == 0, second.stderr
    assert "imported 0 new" in second.stdout, second.stdout
    with Store.open(db) as store:
        assert store.message_count() == stored
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    STATS["cli-import"] += stored


# -- the 50 MB attachment: CPU and memory in a process of its own ----------------------------------------

_MEASURE = r"""
import json, resource, sys, time, tracemalloc
from pathlib import Path
from owner_tui.store import Store
from owner_tui.sources.files import scan as files
store = Store.open(Path(sys.argv[2]))
acc = store.ensure_account("files", "big", {})
base = resource.getrusage(resource.RUSAGE_SELF)
tracemalloc.start()
cpu0 = time.process_time()
for rec in files.scan(sys.argv[1]):
    store.ingest(acc, [rec])
cpu = time.process_time() - cpu0
peak = tracemalloc.get_traced_memory()[1]
# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size (the pytest process
# can be 300+ MB by then), while VmHWM belongs to this process's own address space.
hwm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"cpu": cpu, "peak": peak, "rss": hwm, "base_rss": base.ru_maxrss * 1024}))
"""


@pytest.fixture(scope="module")
def big_import(tmp_path_factory):
    """One 50 MB attachment (68 MB as base64), imported by ``files.scan`` + ``Store.ingest``
    in a fresh process that reports its own CPU time and peak RSS."""
    tmp_path = tmp_path_factory.mktemp("big")
    mb = 1024 * 1024
    path = tmp_path / "big.eml"
    with open(path, "wb") as fh:
        fh.write(_hdr("a 50 MB attachment", "big50", 'Content-Type: multipart/mixed; boundary="z"\r\n') + b"\r\n")
        fh.write(b"--z\r\nContent-Type: text/plain\r\n\r\nPlease find the plans attached.\r\n")
        fh.write(b"--z\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
                 b"Content-Disposition: attachment; filename=\"plans.bin\"\r\n\r\n")
        chunk = base64.encodebytes(os.urandom(57 * 1024)).replace(b"\n", b"\r\n")  # 76-char lines
        for _ in range(50 * mb // (57 * 1024)):
            fh.write(chunk)
        fh.write(b"\r\n--z--\r\n")
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(tmp_path / "big.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    STATS["generated"] += 1
    STATS["big_cpu_ms"] = int(m["cpu"] * 1000)
    STATS["big_rss_mb"] = int(m["rss"] / mb)
    with Store.open(tmp_path / "big.db") as store:
        row = store.db.execute("SELECT text, attachments, raw, problems FROM messages").fetchone()
    return m, row


def test_50mb_attachment_is_stored_within_the_cpu_bound(big_import):
    m, row = big_import
    assert "plans attached" in row[0]
    att = json.loads(row[1])
    assert att and att[0]["filename"] == "plans.bin" and att[0]["size"] >= 49 * 1024 * 1024
    assert row[2] is None, "a 70 MB raw message was stored whole in the database"
    assert m["cpu"] < 2 * CPU_BOUND, f"{m['cpu']:.2f} s CPU for the 50 MB message"


def test_50mb_attachment_stays_under_300_mb(big_import):
    m, _ = big_import
    assert m["rss"] < 300 * 1024 * 1024, f"peak RSS {m['rss'] / 1024 / 1024:.0f} MB for the 50 MB message"


# -- hypothesis: the parser never raises --------------------------------------------------------------

FUZZ = 1000 if LONG else 150

_PIECES = st.sampled_from([
    "From: ", "To: ", "Cc: ", "Subject: ", "Date: ", "Message-ID: ", "In-Reply-To: ", "References: ",
    "Content-Type: ", "Content-Transfer-Encoding: ", "Content-Disposition: ", "MIME-Version: 1.0",
    "multipart/mixed; boundary=", "text/plain; charset=", "text/html", "message/rfc822", "base64",
    "quoted-printable", "=?utf-8?q?", "=?utf-8?b?", "=?x-unknown?q?", "?=", "=0D=0A", "=E2=82", "<", ">",
    "@", ",", ";", '"', "\\", "\r\n", "\n", "\r", "\r\n\r\n", " ", "\t", "--", "--b", "--b--", "\x00", "\x1b[2J",
    "\u202e", "Sat, 01 Jan 0000 00:00:00 +0000", "Fri, 31 Dec 9999 23:59:59 -9959", "&amp;", "<div>", "</div>",
    "é", "😀", "\udcff", "filename*=utf-8''%FF", "boundary=\"b\"", "charset=utf-16",
])
_MAILISH = st.lists(_PIECES | st.text(max_size=20), max_size=80).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogateescape"))


@settings(max_examples=FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=4096) | _MAILISH)
def test_parser_never_raises_on_any_input(raw):
    STATS["fuzz-parse"] += 1
    t0 = time.process_time()
    rec = parse_message(raw, now=NOW)
    assert time.process_time() - t0 < CPU_BOUND
    assert isinstance(rec, MessageRecord) and rec.external_id
    assert parse_message(raw, now=NOW).external_id == rec.external_id, "the same bytes must get the same id"
    for value in (rec.subject, rec.sender_name, rec.sender_handle, rec.external_id, *rec.recipients):
        assert "\n" not in value and "\r" not in value and "\x00" not in value


# -- hypothesis: any sequence of records into the store ------------------------------------------------

_IDS = [f"m{i}@x.example" for i in range(12)]
_PEOPLE = ["ann@cust.example", "bob@cust.example", OWNER, "noreply@news.example", ""]
_SUBJECTS = ["Order", "Re: Order", "RE: re: Order", "", "Fwd: Order", "Question", "=?utf-8?q?x?="]


@st.composite
def _email(draw) -> MessageRecord:
    sender = draw(st.sampled_from(_PEOPLE))
    refs = tuple(draw(st.lists(st.sampled_from(_IDS), max_size=3)))
    minutes = draw(st.integers(0, 60 * 24 * 30))
    when = draw(st.sampled_from([(NOW - timedelta(minutes=minutes)).isoformat(), "", "garbage",
                                 "0000-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"]))
    headers = draw(st.sampled_from([{}, {"auto-submitted": "auto-replied"}, {"list-id": "<l.x>"},
                                    {"precedence": "bulk"}]))
    return MessageRecord(
        external_id=draw(st.sampled_from(_IDS)), sender_handle=sender, sender_name=draw(st.text(max_size=5)),
        recipients=(OWNER,) if sender != OWNER else ("ann@cust.example",), subject=draw(st.sampled_from(_SUBJECTS)),
        text=draw(st.sampled_from(["hi", "thanks!", "", "x" * 50])), sent_at=when,
        in_reply_to=refs[-1] if refs and draw(st.booleans()) else None, references=refs, headers=headers,
        folder=draw(st.sampled_from([None, "INBOX", "Sent"])),
        direction=draw(st.sampled_from([None, None, "in", "out"])))


@st.composite
def _review(draw) -> MessageRecord:
    rid = draw(st.sampled_from(["r1", "r2", "r3"]))
    reply = draw(st.booleans())
    minutes = draw(st.integers(0, 60 * 24 * 30))
    return MessageRecord(
        external_id=f"{rid}:reply" if reply else rid, channel="google", direction="out" if reply else "in",
        thread_key=rid, sent_at=(NOW - timedelta(minutes=minutes)).isoformat(), sender_handle=f"g:{rid}",
        sender_name="R", rating=None if reply else draw(st.integers(1, 5)), text=draw(st.sampled_from(["", "ok", "bad"])))


def _expected_count(batches) -> int:
    """Messages the store must hold: one per (account, id), plus one per other sender that
    reused an email's Message-ID (kept apart, never dropped as a duplicate)."""
    first: dict[tuple, str] = {}
    reused: set[tuple] = set()
    for batch in batches:
        for r in batch:
            key = (r.channel == "email", r.external_id)
            sender = r.sender_handle.lower()
            if key not in first:
                first[key] = sender
            elif r.channel == "email" and first[key] and sender and first[key] != sender:
                reused.add((key, sender, r.subject, r.text))
    return len(first) + len(reused)


def _snapshot(store: Store) -> list[tuple]:
    return store.db.execute(
        "SELECT id, status, waiting_since, last_inbound_at, last_outbound_at, last_message_at, message_count "
        "FROM conversations ORDER BY id").fetchall()


@settings(max_examples=FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(_email() | _review(), max_size=8), min_size=1, max_size=6))
def test_any_sequence_of_records_ingests_idempotently_and_equals_a_recompute(batches):
    STATS["fuzz-ingest"] += 1
    store = Store.open(":memory:", config=Config(owner=OwnerConfig(addresses=(OWNER,))), clock=lambda: NOW)
    try:
        mail = store.ensure_account("imap", "shop", {"address": OWNER})
        google = store.ensure_account("google", "g", {})

        def feed():
            for batch in batches:
                for acc, recs in ((mail, [r for r in batch if r.channel == "email"]),
                                  (google, [r for r in batch if r.channel != "email"])):
                    if recs:
                        store.ingest(acc, recs, now=NOW)

        feed()
        before = _snapshot(store)
        count = store.message_count()
        feed()  # everything again: nothing new, nothing changes
        assert store.message_count() == count
        assert _snapshot(store) == before
        assert count == _expected_count(batches), "a message was lost or doubled"
        for cid, *_ in before:
            state = _recompute(store.db, cid, store.aging.waiting_since)
            row = store.db.execute("SELECT waiting_since, last_inbound_at, last_outbound_at, last_message_at "
                                   "FROM conversations WHERE id = ?", [cid]).fetchone()
            assert tuple(row) == (state.waiting_since, state.last_inbound_at, state.last_outbound_at,
                                  state.last_message_at), f"conversation {cid}: incremental != recompute"
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Whatever went in, every way of showing it still works (dates at the calendar's edge!).
        for view in ("awaiting", "followup", "all"):
            for fmt in FORMATS:
                write_export(store, ListFilter(view=view), fmt, io.StringIO(), now=NOW)
        store.bucket_counts(NOW)
    finally:
        store.close()


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if STATS:
        print(f"\nhostile mail: {dict(STATS)}")
