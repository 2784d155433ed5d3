"""Benchmark: `owner-tui sync` of a generated 10,000-message mailbox, against `mbsync`.

    .venv/bin/python bench/bench_sync.py [--messages 10000] [--runs 3] [--noop-runs 5]

Generates a mailbox (INBOX + Sent; plain and HTML mail, threads, newsletters, a few large
attachments), drops it into a throwaway Dovecot's Maildir before start-up, warms Dovecot's
index, then times, as whole processes and in the same run:

* `owner-tui sync --no-send` into a fresh database (full sync), median of ``--runs``;
* `owner-tui sync` again with nothing new (the cron case), median of ``--noop-runs``;
* `mbsync` (isync) pulling INBOX and Sent into a fresh local Maildir, and again with nothing new.

Prints a markdown table. Needs `dovecot` (dovecot-imapd) and `mbsync` (isync).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.dovecot import DovecotServer  # noqa: E402

OWNER = "owner@harbour-bakery.example"
PASSWORD = "bench-password"
WORDS = ("order cake bread delivery tomorrow please thanks invoice question gluten free birthday wedding "
         "pickup saturday price quote allergy dozen croissant sourdough table catering refund late "
         "address change sorry great lovely recommend friday morning afternoon number payment").split()


def _text(rnd: random.Random, words: int) -> str:
    lines, line = [], []
    for _ in range(words):
        line.append(rnd.choice(WORDS))
        if len(line) >= rnd.randint(8, 14):
            lines.append(" ".join(line).capitalize() + ".")
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines) + "\n"


def generate(n: int, seed: int = 7) -> list[tuple[str, bytes, datetime]]:
    """``(folder, raw with LF line ends, date)``: about 85 % INBOX, 15 % Sent replies."""
    rnd = random.Random(seed)
    start = datetime(2025, 1, 1, 8, 0, tzinfo=timezone.utc)
    customers = [f"customer{i}@mail{i % 40}.example" for i in range(1500)]
    out: list[tuple[str, bytes, datetime]] = []
    inbound: list[tuple[str, str, str]] = []  # (msgid, sender, subject)
    for i in range(n):
        when = start + timedelta(minutes=45 * i + rnd.randint(0, 30))
        date = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
        if inbound and rnd.random() < 0.15:  # the owner's reply, filed in Sent
            parent, who, subject = rnd.choice(inbound)
            head = (f"From: Sam <{OWNER}>\nTo: {who}\nSubject: Re: {subject}\nDate: {date}\n"
                    f"Message-ID: <r{i}@harbour-bakery.example>\nIn-Reply-To: <{parent}>\nReferences: <{parent}>\n")
            body = _text(rnd, rnd.randint(20, 120))
            out.append(("Sent", (head + "Content-Type: text/plain; charset=utf-8\n\n" + body).encode(), when))
            continue
        who = rnd.choice(customers)
        subject = f"{rnd.choice(WORDS).capitalize()} {rnd.choice(WORDS)} #{i}"
        msgid = f"m{i}@{who.split('@')[1]}"
        head = f"From: Customer {i} <{who}>\nTo: {OWNER}\nSubject: {subject}\nDate: {date}\nMessage-ID: <{msgid}>\n"
        if rnd.random() < 0.10:
            head += f"List-Unsubscribe: <mailto:unsub@{who.split('@')[1]}>\nPrecedence: bulk\n"
        body = _text(rnd, rnd.randint(40, 600))
        kind = rnd.random()
        if kind < 0.03:  # an attachment: a photo or a PDF, 40-400 kB
            blob = base64.encodebytes(rnd.randbytes(rnd.randint(40_000, 400_000))).decode()
            raw = (head + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n"
                   "Content-Type: text/plain; charset=utf-8\n\n" + body + "--b1\nContent-Type: application/pdf; "
                   "name=\"order.pdf\"\nContent-Disposition: attachment; filename=\"order.pdf\"\n"
                   "Content-Transfer-Encoding: base64\n\n" + blob + "--b1--\n")
        elif kind < 0.25:  # HTML with a plain alternative
            html = "<html><body>" + "".join(f"<p>{p}</p>" for p in body.splitlines()) + "</body></html>\n"
            raw = (head + "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"a1\"\n\n--a1\n"
                   "Content-Type: text/plain; charset=utf-8\n\n" + body + "--a1\nContent-Type: text/html; "
                   "charset=utf-8\n\n" + html + "--a1--\n")
        else:
            raw = head + "Content-Type: text/plain; charset=utf-8\n\n" + body
        inbound.append((msgid, who, subject))
        out.append(("INBOX", raw.encode(), when))
    return out


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    took = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return took, res.stdout + res.stderr


def mbsync_config(base: Path, port: int, *, fsync: bool = True) -> Path:
    cfg = base / ("mbsyncrc" if fsync else "mbsyncrc-nofsync")
    cfg.write_text(("" if fsync else "FSync no\n\n") + f"""IMAPAccount bench
Host 127.0.0.1
Port {port}
User {OWNER}
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore bench-remote
Account bench

MaildirStore bench-local
Path {base}/mail/
Inbox {base}/mail/INBOX
SubFolders Verbatim

Channel bench
Far :bench-remote:
Near :bench-local:
Patterns INBOX Sent
Create Near
Sync Pull
SyncState *
""")
    return cfg


def count_maildir(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--noop-runs", type=int, default=5)
    args = ap.parse_args()
    if shutil.which("mbsync") is None:
        raise SystemExit("mbsync not found: apt-get install -y isync")

    mails = generate(args.messages)
    size = sum(len(r) for _, r, _ in mails)
    work = Path(tempfile.mkdtemp(prefix="otbench-"))
    os.chmod(work, 0o755)
    server = DovecotServer(tmpdir=work / "dc", users={OWNER: PASSWORD})
    for folder in ("INBOX", "Sent"):
        chosen = [(r, d) for f, r, d in mails if f == folder]
        server.deliver_files(folder, [r for r, _ in chosen], dates=[d for _, d in chosen])
    server.start()
    try:
        with server.client(OWNER) as c:  # build Dovecot's index once, for every contender alike
            for folder in ("INBOX", "Sent"):
                c.select_folder(folder, readonly=True)
                c.search(["ALL"])
        cfg = work / "config.toml"
        cfg.write_text(f"""[owner]
addresses = ["{OWNER}"]
[accounts.bench]
kind = "imap"
host = "127.0.0.1"
port = {server.port}
security = "none"
user = "{OWNER}"
password_env = "BENCH_PW"
""")
        env = {**os.environ, "BENCH_PW": PASSWORD, "OWNER_TUI_HOME": str(work / "home")}
        py = sys.executable
        full, noop, mb_full, mb_noop, mbn_full = [], [], [], [], []
        db = work / "db.sqlite"
        mbcfg = mbsync_config(work, server.port)
        mbcfg_nofsync = mbsync_config(work, server.port, fsync=False)
        for run in range(args.runs):
            for p in work.glob("db.sqlite*"):
                p.unlink()
            took, out = timed([py, "-m", "owner_tui", "--config", str(cfg), "--db", str(db), "sync", "--no-send"], env)
            full.append(took)
            print(f"owner-tui full #{run + 1}: {took:.2f} s  {out.strip()}", file=sys.stderr)
            shutil.rmtree(work / "mail", ignore_errors=True)
            (work / "mail").mkdir()
            took, _ = timed(["mbsync", "-c", str(mbcfg), "-a", "-q"])
            mb_full.append(took)
            print(f"mbsync full #{run + 1}: {took:.2f} s ({count_maildir(work / 'mail')} files)", file=sys.stderr)
            shutil.rmtree(work / "mail")
            (work / "mail").mkdir()
            took, _ = timed(["mbsync", "-c", str(mbcfg_nofsync), "-a", "-q"])
            mbn_full.append(took)
            print(f"mbsync FSync no #{run + 1}: {took:.2f} s", file=sys.stderr)
        for _ in range(args.noop_runs):
            noop.append(timed([py, "-m", "owner_tui", "--config", str(cfg), "--db", str(db), "sync", "--no-send"],
                              env)[0])
            mb_noop.append(timed(["mbsync", "-c", str(mbcfg), "-a", "-q"])[0])
        import sqlite3

        stored = sqlite3.connect(db).execute("SELECT count(*) FROM messages").fetchone()[0]
        db_mb = sum(p.stat().st_size for p in work.glob("db.sqlite*")) / 1e6
        n = args.messages
        med = statistics.median
        print(f"\nMailbox: {n:,} messages ({sum(f == 'INBOX' for f, _, _ in mails):,} INBOX, "
              f"{sum(f == 'Sent' for f, _, _ in mails):,} Sent), {size / 1e6:.0f} MB; Dovecot on 127.0.0.1, "
              f"{os.cpu_count()} CPUs. owner-tui stored {stored:,} messages ({db_mb:.0f} MB database).\n")
        print("| tool | full sync (median) | msgs/s | nothing-new sync (median) |")
        print("|---|---|---|---|")
        print(f"| `owner-tui sync` (parse, thread, classify, store) | {med(full):.2f} s | {n / med(full):,.0f} | "
              f"{med(noop) * 1000:.0f} ms |")
        version = subprocess.run(["mbsync", "--version"], capture_output=True, text=True).stdout.split()[-1]
        print(f"| `mbsync` (isync {version}, copies files; fsync per message, its default) | {med(mb_full):.2f} s | "
              f"{n / med(mb_full):,.0f} | {med(mb_noop) * 1000:.0f} ms |")
        print(f"| `mbsync` with `FSync no` | {med(mbn_full):.2f} s | {n / med(mbn_full):,.0f} | |")
        print(f"\nRuns: full {', '.join(f'{t:.2f}' for t in full)} s / mbsync {', '.join(f'{t:.2f}' for t in mb_full)} s"
              f" / mbsync FSync no {', '.join(f'{t:.2f}' for t in mbn_full)} s; "
              f"nothing-new {', '.join(f'{t * 1000:.0f}' for t in noop)} ms / mbsync "
              f"{', '.join(f'{t * 1000:.0f}' for t in mb_noop)} ms.")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
