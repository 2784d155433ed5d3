"""Hostile files and real-world mbox shapes for ``owner-tui import`` (issue 14, items 1, 3, 4, 16).

A FIFO, a socket or a device in a Maildir or a folder must never be opened for reading (a
FIFO made ``import`` wait for ever); a symbolic link never takes the import out of the folder
it was given; mbox text is never lost to an unescaped "From " line; a BOM, blank lines
first, CR-only endings and an obsolete ``From  :`` header are read, not skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from owner_tui.sources.files.scan import ScanStats, scan


def msg(n: int, body: str = "") -> bytes:
    return (f"From: customer{n}@example.com\nTo: owner@shop.example\nSubject: message {n}\n"
            f"Message-ID: <m{n}@example.com>\nDate: Tue, 01 Oct 2024 10:{n:02d}:00 +0000\n\n"
            f"{body or f'body {n}'}\n").encode()


def run(path):
    stats = ScanStats()
    return list(scan(path, stats=stats, workers=1)), stats


def maildir(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def _import(path: Path, home: Path, timeout: float = 20) -> subprocess.CompletedProcess:
    env = {**os.environ, "OWNER_TUI_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "owner_tui", "import", str(path)], env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# -- item 1: FIFOs, sockets, devices ----------------------------------------------------------

def test_a_fifo_socket_or_device_in_a_maildir_never_hangs_the_import(tmp_path):
    md = maildir(tmp_path / "Maildir")
    (md / "cur" / "1700000000.M1.host:2,S").write_bytes(msg(1))
    os.mkfifo(md / "cur" / "1700000001.M2.host:2,S")
    os.mkfifo(md / "new" / "1700000002.M3.host")
    os.mkfifo(tmp_path / "Maildir" / "stray-fifo.eml")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(md / "new" / "1700000003.M4.host"))
    try:
        proc = _import(md, tmp_path / "home")  # before the fix: hung until the timeout
    finally:
        sock.close()
    assert proc.returncode == 0, proc.stderr
    assert "imported 1 new" in proc.stdout and "Traceback" not in proc.stderr
    records, stats = run(md)
    reasons = {Path(p).name: r for p, r in stats.skipped}
    assert reasons["1700000001.M2.host:2,S"].startswith("a named pipe (FIFO)")
    assert reasons["1700000002.M3.host"].startswith("a named pipe (FIFO)")
    assert reasons["1700000003.M4.host"].startswith("a socket")
    assert [r.external_id for r in records] == ["m1@example.com"]


def test_a_fifo_given_as_the_path_or_in_a_folder_is_skipped_with_its_reason(tmp_path):
    d = tmp_path / "export"
    d.mkdir()
    (d / "a.eml").write_bytes(msg(1))
    os.mkfifo(d / "b.eml")
    records, stats = run(d)
    assert [r.external_id for r in records] == ["m1@example.com"]
    assert [(Path(p).name, r.split(",")[0]) for p, r in stats.skipped] == [("b.eml", "a named pipe (FIFO)")]
    records, stats = run(d / "b.eml")
    assert records == [] and "FIFO" in stats.skipped[0].reason


def test_a_device_linked_into_the_folder_is_not_read(tmp_path):
    md = maildir(tmp_path / "Maildir")
    (md / "cur" / "1700000000.M1.host:2,S").write_bytes(msg(1))
    os.symlink("/dev/zero", md / "cur" / "1700000001.M2.host:2,S")
    proc = _import(md, tmp_path / "home")  # before the fix: read /dev/zero without bound
    assert proc.returncode == 0 and "imported 1 new" in proc.stdout, proc.stdout + proc.stderr


# -- item 4: symbolic links stay inside the folder ---------------------------------------------

def test_links_out_of_the_folder_are_not_followed_links_inside_are(tmp_path):
    outside = tmp_path / "someone-else"
    outside.mkdir()
    (outside / "secret.eml").write_bytes(msg(9))
    md = maildir(tmp_path / "Maildir")
    (md / "cur" / "1700000000.M1.host:2,S").write_bytes(msg(1))
    os.symlink(outside / "secret.eml", md / "cur" / "1700000001.M2.host:2,S")
    os.symlink(outside / "secret.eml", md / "new" / "1700000003.M4.host")
    os.symlink("../cur/1700000000.M1.host:2,S", md / "new" / "1700000002.M3.host")  # inside: fine
    d = tmp_path / "export"
    d.mkdir()
    os.symlink(outside / "secret.eml", d / "x.eml")
    for path in (md, d):
        records, stats = run(path)
        assert "m9@example.com" not in {r.external_id for r in records}
        assert any("out of the imported folder" in r for _, r in stats.skipped), stats.skipped
    records, _ = run(md)
    assert [r.external_id for r in records] == ["m1@example.com", "m1@example.com"]


# -- items 3 and 16: mbox without loss -----------------------------------------------------------

ENV = b"From MAILER-DAEMON Wed Oct  2 08:30:00 2024\n"


def test_mbox_from_lines_in_bodies_never_lose_or_forge(tmp_path):
    forged_block = ("Hello,\n\nFrom what I saw\nSubject: not a header\n\nthe rest of my complaint\n"
                    ">From quoted text\n>>From deeper\n")
    data = ENV + msg(1, forged_block) + b"\n" + ENV + msg(2) + b"\n"
    path = tmp_path / "inbox.mbox"
    path.write_bytes(data)
    records, stats = run(path)
    assert [r.external_id for r in records] == ["m1@example.com", "m2@example.com"]
    text = records[0].text
    assert "From what I saw" in text and "the rest of my complaint" in text
    assert "\nFrom quoted text" in text and "\n>From deeper" in text  # mboxrd unescaping
    assert any("kept in the text" in p for p in records[0].problems)
    assert stats.skipped == []


def test_mbox_with_a_bom_blank_lines_first_cr_only_and_mixed_endings(tmp_path):
    base = ENV + msg(1) + b"\n" + ENV + msg(2) + b"\n"
    cases = {
        "bom.mbox": b"\xef\xbb\xbf" + base,
        "blank.mbox": b"\n  \n\t\n" + base,
        "cr.mbox": base.replace(b"\n", b"\r"),
        "mixed.mbox": (ENV + msg(1)).replace(b"\n", b"\r\n") + b"\n" + ENV + msg(2) + b"\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        records, stats = run(tmp_path / name)
        assert [r.external_id for r in records] == ["m1@example.com", "m2@example.com"], (name, stats.skipped)
        assert all(r.subject.startswith("message") for r in records), name


def test_eml_with_blank_lines_first_cr_only_and_an_obsolete_from_header(tmp_path):
    cases = {
        "iphone.eml": b"\n" + msg(1),
        "exchange.eml": b"   \r\n" + msg(2).replace(b"\n", b"\r\n"),
        "mac.eml": msg(3).replace(b"\n", b"\r"),
        "obs.eml": msg(4).replace(b"From: customer4", b"From  : customer4"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    records, stats = run(tmp_path)
    assert stats.skipped == []
    got = {r.extra["file"].rsplit("/", 1)[1]: r for r in records}
    assert set(got) == set(cases)
    for name, r in got.items():
        assert r.subject.startswith("message"), (name, r.problems)
        assert r.sender_handle.startswith("customer"), (name, r.problems)


def test_one_bad_header_never_costs_the_others():
    """A To: header with many ':' made the address parser recurse until RecursionError and
    the message lost its From, Subject, Date and Message-ID (issue 14, item 16)."""
    from owner_tui.mail.parse import parse_message

    raw = (b"From: Ann <ann@example.net>\nTo: " + b"a:" * 5000 + b"b@example.com\nSubject: Refund\n"
           b"Message-ID: <keep@x>\nDate: Tue, 01 Oct 2024 10:00:00 +0000\n\nhello\n")
    rec = parse_message(raw)
    assert (rec.sender_handle, rec.subject, rec.external_id, rec.sent_at) == \
        ("ann@example.net", "Refund", "keep@x", "2024-10-01T10:00:00+00:00"), rec.problems
    assert any("To" in p for p in rec.problems), rec.problems
