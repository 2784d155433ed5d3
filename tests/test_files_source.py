"""sources.files.scan on real on-disk layouts built in tmp_path: Maildir++ (with .Sent), mbox,
directories of .eml, and a mix; with counts, folders, fallbacks and the skipped-file report."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from owner_tui.sources.files.scan import ScanStats, count_messages, scan

CORPUS = Path(__file__).parent / "corpus"
MTIME = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def msg(n: int, *, date: bool = True, sender: str = "customer") -> bytes:
    head = f"From: {sender}{n}@example.com\nTo: owner@shop.example\nSubject: message {n}\n"
    head += f"Message-ID: <m{n}@example.com>\n"
    if date:
        head += f"Date: Tue, 01 Oct 2024 10:{n % 60:02d}:00 +0000\n"
    return (head + f"\nbody {n}\n").encode()


def maildir(root: Path, messages: dict[str, list[bytes]]) -> Path:
    """A Maildir++ tree: key "" is the INBOX at ``root``, ".Sent" etc. are subfolders."""
    for folder, raws in messages.items():
        d = root / folder if folder else root
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if folder:
            (d / "maildirfolder").touch()
        for i, raw in enumerate(raws):
            sub = "new" if i % 3 == 0 else "cur"
            name = f"17000000{i:02d}.M{i}P1.host" + (":2,RS" if sub == "cur" else "")
            p = d / sub / name
            p.write_bytes(raw)
            os.utime(p, (MTIME.timestamp(), MTIME.timestamp()))
    (root / "dovecot-uidlist").write_text("3 V1 N1\n")  # server state, not mail
    return root


def mbox(path: Path, raws: list[bytes]) -> Path:
    with open(path, "wb") as f:
        for raw in raws:
            f.write(b"From MAILER-DAEMON Wed Oct  2 08:30:00 2024\n" + raw + b"\n")
    return path


def run(path, **kw):
    stats = ScanStats()
    records = list(scan(path, stats=stats, **kw))
    return records, stats


def folders(records) -> Counter:
    return Counter(r.folder for r in records)


def test_maildir_with_sent_and_nested_subfolders(tmp_path):
    root = maildir(tmp_path / "Maildir", {
        "": [msg(i) for i in range(5)],
        ".Sent": [msg(i, sender="owner") for i in range(10, 13)],
        ".Archive.2023": [msg(20)],
    })
    (root / "tmp" / "1700.M9P9.host").write_bytes(msg(99))  # a delivery in progress: not read
    records, stats = run(root)
    assert folders(records) == {"INBOX": 5, "Sent": 3, "Archive/2023": 1}
    assert stats.messages == 9 and stats.files == 9 and stats.mailboxes == 3
    assert stats.skipped == []
    assert {r.external_id for r in records} == {
        *(f"m{i}@example.com" for i in (0, 1, 2, 3, 4, 10, 11, 12, 20))}
    flagged = [r for r in records if r.extra.get("maildir_flags")]
    assert flagged and all(r.extra["maildir_flags"] == "RS" for r in flagged)
    assert all(Path(r.extra["file"]).is_file() for r in records)
    assert count_messages(root) == 9


def test_scanning_the_sent_maildir_itself_is_sent(tmp_path):
    root = maildir(tmp_path / "Maildir", {"": [msg(1)], ".Sent": [msg(2)]})
    records, _ = run(root / ".Sent")
    assert [(r.folder, r.external_id) for r in records] == [("Sent", "m2@example.com")]


@pytest.mark.parametrize("name", ["Sent", "Sent Items", "Sent Messages", "sent mail"])
def test_fs_layout_sent_folder_names(tmp_path, name):
    root = maildir(tmp_path / "mail", {"": [msg(1)], name: [msg(2)]})
    records, _ = run(root)
    assert {r.external_id: r.folder for r in records} == {
        "m1@example.com": "INBOX", "m2@example.com": "Sent"}


def test_file_mtime_is_the_fallback_time(tmp_path):
    root = maildir(tmp_path / "Maildir", {"": [msg(1, date=False)]})
    (rec,), _ = run(root)
    assert rec.sent_at == MTIME.isoformat()
    assert "sent time taken from fallback time" in rec.problems


def test_mbox_counts_folder_and_from_line_time(tmp_path):
    path = mbox(tmp_path / "Sent.mbox", [msg(1), msg(2, date=False), msg(3)])
    records, stats = run(path)
    assert [r.external_id for r in records] == ["m1@example.com", "m2@example.com",
                                                 "m3@example.com"]
    assert folders(records) == {"Sent": 3}
    # No Date header: the mbox "From " line's time beats the file's mtime.
    assert records[1].sent_at == "2024-10-02T08:30:00+00:00"
    assert [r.extra["mbox_index"] for r in records] == [0, 1, 2]
    assert stats.mailboxes == 1 and stats.messages == 3
    assert count_messages(path) == 3


def test_mbox_unescaped_from_line_stays_in_the_text_with_a_problem(tmp_path):
    """Issue 14, item 3: the customer's text after an unescaped "From " line was lost."""
    broken = msg(1).replace(b"body 1\n", b"body 1\n\nFrom the desk of the manager:\nhello\n")
    path = mbox(tmp_path / "inbox", [broken, msg(2)])
    records, stats = run(path)
    assert [r.external_id for r in records] == ["m1@example.com", "m2@example.com"]
    assert records[0].folder == "inbox"
    assert "From the desk of the manager:\nhello" in records[0].text
    assert any("kept in the text" in p for p in records[0].problems)
    assert stats.skipped == []


def test_directory_of_eml_files_with_junk(tmp_path):
    d = tmp_path / "export"
    (d / "Sent Items").mkdir(parents=True)
    for name in ("rfc2047_headers.eml", "html_only.eml", "no_message_id.eml"):
        (d / name).write_bytes((CORPUS / name).read_bytes())
    (d / "Sent Items" / "reply.eml").write_bytes(msg(7, sender="owner"))
    (d / "bom.eml").write_bytes(b"\xef\xbb\xbf" + msg(8))
    (d / "invoice.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (d / "notes.txt").write_text("Note: not an email at all\n")
    (d / "empty.eml").write_bytes(b"")
    (d / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (d / ".git").mkdir()
    (d / "dangling").symlink_to(d / "nowhere")
    records, stats = run(d)
    assert len(records) == 5
    assert folders(records) == {None: 4, "Sent": 1}
    by_id = {r.external_id: r for r in records}
    assert by_id["m8@example.com"].subject == "message 8"  # a UTF-8 BOM is not a header
    reasons = {Path(p).name: why for p, why in stats.skipped}
    assert reasons == {
        "invoice.pdf": "not an email message or mbox (no mail headers at the start)",
        "notes.txt": "not an email message or mbox (no mail headers at the start)",
        "empty.eml": "empty file",
        ".DS_Store": "hidden file",
        ".git": "hidden directory not scanned",
        "dangling": "broken symbolic link",
    }
    assert count_messages(d) == 5


def test_mixed_directory_of_maildir_mbox_and_eml(tmp_path):
    root = tmp_path / "backup"
    maildir(root / "work", {"": [msg(1), msg(2)], ".Sent": [msg(3)]})
    mbox((root / "old").mkdir(parents=True) or root / "old" / "2019.mbox", [msg(4), msg(5)])
    (root / "loose").mkdir()
    (root / "loose" / "a.eml").write_bytes(msg(6))
    records, stats = run(root)
    assert {r.external_id: r.folder for r in records} == {
        "m1@example.com": "work", "m2@example.com": "work", "m3@example.com": "Sent",
        "m4@example.com": "old/2019", "m5@example.com": "old/2019",
        "m6@example.com": "loose"}
    assert stats.mailboxes == 3 and stats.skipped == []
    assert count_messages(root) == 6


def test_single_eml_file(tmp_path):
    p = tmp_path / "one.eml"
    p.write_bytes((CORPUS / "crlf.eml").read_bytes())
    (rec,), stats = run(p)
    assert rec.external_id == "crlf@example.com" and rec.folder is None
    assert rec.extra["file"] == str(p) and stats.files == 1
    assert count_messages(p) == 1


def test_same_message_in_two_formats_gets_one_id(tmp_path):
    raw = (CORPUS / "no_message_id.eml").read_bytes()
    (tmp_path / "a.eml").write_bytes(raw.replace(b"\n", b"\r\n"))
    mbox(tmp_path / "box", [raw])
    records, _ = run(tmp_path)
    assert len(records) == 2 and len({r.external_id for r in records}) == 1


def test_rescan_is_deterministic(tmp_path):
    maildir(tmp_path / "Maildir", {"": [msg(i) for i in range(6)], ".Sent": [msg(9)]})
    first, _ = run(tmp_path / "Maildir")
    second, _ = run(tmp_path / "Maildir")
    assert [r.external_id for r in first] == [r.external_id for r in second]


def test_progress_every_200_and_at_the_end(tmp_path):
    maildir(tmp_path / "Maildir", {"": [msg(i) for i in range(450)]})
    calls = []
    records = list(scan(tmp_path / "Maildir", on_progress=lambda d, t: calls.append((d, t)),
                        workers=1))
    assert len(records) == 450
    assert calls == [(200, 450), (400, 450), (450, 450)]


def test_missing_path_fails_at_once_with_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scan(tmp_path / "nowhere")  # not only when iterated
    assert count_messages(tmp_path / "nowhere") is None


def test_non_mail_single_file_yields_nothing_and_says_why(tmp_path):
    p = tmp_path / "photo.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    records, stats = run(p)
    assert records == [] and stats.skipped == [(str(p), "not an email message or mbox "
                                                        "(no mail headers at the start)")]


def test_worker_pool_gives_the_same_records_in_the_same_order(tmp_path):
    root = maildir(tmp_path / "Maildir", {"": [msg(i) for i in range(250)], ".Sent": [msg(999)]})
    mbox(tmp_path / "Maildir" / "extra.mbox", [msg(1000)])  # ignored: files beside cur/new
    one, _ = run(root, workers=1)
    two, stats = run(root, workers=2)
    assert [(r.external_id, r.folder, r.sent_at, r.text) for r in one] == [
        (r.external_id, r.folder, r.sent_at, r.text) for r in two]
    assert stats.messages == 251 and stats.files == 251


def test_a_broken_pool_falls_back_to_parsing_here(tmp_path):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from owner_tui.sources.files.parse_jobs import Job, _collect

    p = tmp_path / "a.eml"
    p.write_bytes(msg(1))
    dead: Future = Future()
    dead.set_exception(BrokenProcessPool("a worker was killed"))
    results, broken = _collect([Job(None, {}, 1024, path=str(p))], dead, False)
    assert broken and [r.external_id for r in results] == ["m1@example.com"]


def test_pool_only_for_big_imports_with_an_idle_core(monkeypatch):
    from owner_tui.sources.files import parse_jobs

    monkeypatch.setattr(parse_jobs.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parse_jobs, "idle_cores", lambda: 1.6)
    assert parse_jobs.auto_workers(50_000) == 2
    assert parse_jobs.auto_workers(100) == 1 and parse_jobs.auto_workers(None) == 1
    monkeypatch.setattr(parse_jobs, "idle_cores", lambda: 0.2)
    assert parse_jobs.auto_workers(50_000) == 1  # measured: a busy box loses 10-15 % to IPC


def test_a_core_free_now_counts_not_the_minute_before(monkeypatch):
    """The load average still counts work that just ended; the idle time right now decides."""
    from owner_tui.sources.files import parse_jobs

    monkeypatch.setattr(parse_jobs.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parse_jobs.os, "getloadavg", lambda: (1.6, 1.2, 1.0))  # a bench run just ended
    monkeypatch.setattr(parse_jobs, "idle_cores", lambda: 1.9)
    assert parse_jobs.auto_workers(50_000) == 2
    # Where /proc/stat cannot be read, the load average is the fallback.
    monkeypatch.setattr(parse_jobs, "idle_cores", lambda: None)
    assert parse_jobs.auto_workers(50_000) == 1
    monkeypatch.setattr(parse_jobs.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert parse_jobs.auto_workers(50_000) == 2


def test_idle_cores_reads_the_machine():
    import threading

    from owner_tui.sources.files import parse_jobs

    idle = parse_jobs.idle_cores(0.05)
    if not os.path.exists("/proc/stat"):
        assert idle is None
        return
    assert idle is not None and 0.0 <= idle <= (os.cpu_count() or 1) + 0.01
    # A busy loop on one core shows: at most cores - 1 + slack are idle meanwhile.
    stop = threading.Event()
    threading.Thread(target=lambda: [None for _ in iter(stop.is_set, True)], daemon=True).start()
    try:
        busy = parse_jobs.idle_cores(0.2)
    finally:
        stop.set()
    assert busy is not None and busy <= (os.cpu_count() or 1) - 0.5


def test_skipped_entries_print_as_path_and_reason(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01")
    _, stats = run(tmp_path)
    assert [str(s) for s in stats.skipped] == [
        f"{p}: not an email message or mbox (no mail headers at the start)"]



def test_import_commits_every_few_batches(tmp_path, monkeypatch):
    """``run_import`` stores ``batch`` messages per ingest and commits every
    ``Store.batches`` messages (fewer commits: each writes every index page it touched)."""
    import io

    from owner_tui.sources.files import importer
    from owner_tui.store import Store

    src = tmp_path / "mail"
    src.mkdir()
    for n in range(7):
        (src / f"{n}.eml").write_bytes(msg(n))
    with Store.open(tmp_path / "s.db") as store:
        commits = []
        store.db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        monkeypatch.setattr(store, "batches", lambda every=4, real=store.batches: real(4))
        res = importer.run_import(store, [src], batch=2, err=io.StringIO())
        store.db.conn.set_trace_callback(None)
        assert res.new == 7 and store.message_count() == 7
        # ingests of 2, 2, 2, 1: one commit after the first four messages, one at the end, and
        # the account's own (a commit per ingest would make five)
        assert len(commits) == 3
