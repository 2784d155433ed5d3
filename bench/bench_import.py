"""Maildir import, whole process: ``owner-tui --db fresh.db import MAILDIR`` on 10k files, with
``notmuch new`` indexing the very same files in the same run as the peer.

Each run starts from an empty store (and an empty notmuch database), so both do the full work:
read every file, parse it, store or index it. msg/s = files / wall seconds of the process.
notmuch keeps its database outside the Maildir (``database.mail_root``), so the cached Maildir
is never written to.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import Row, clean_env, datasets, owner_tui_cmd, run_process
from . import generate as gen

TARGET = 2000.0

_NOTMUCH_CONFIG = """[database]
path={db}
mail_root={root}
[user]
name=Sam
primary_email={owner}
[new]
tags=unread;inbox;
ignore=maildirfolder
[maildir]
synchronize_flags=true
"""


def _notmuch(root: Path, files: int, repeat: int) -> tuple[list[float], str]:
    if not shutil.which("notmuch"):
        return [], "notmuch not installed (apt-get install -y notmuch)"
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config"
        db = Path(tmp) / "db"
        cfg.write_text(_NOTMUCH_CONFIG.format(db=db, root=root, owner=gen.OWNER))
        for _ in range(repeat):
            shutil.rmtree(db, ignore_errors=True)
            db.mkdir()
            r = run_process(["notmuch", f"--config={cfg}", "new", "--quiet"],
                            env={"PATH": "/usr/bin:/bin", "HOME": tmp})
            if r.returncode != 0:
                return [], f"notmuch new failed: {r.stderr.strip()[-200:]}"
            rates.append(files / r.seconds)
    return rates, ""


def _owner_tui(root: Path, files: int, repeat: int) -> tuple[list[float], list[float], str, str]:
    rates, rss, summary = [], [], ""
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env(Path(tmp) / "home")
        for i in range(repeat):
            db = Path(tmp) / f"import{i}.db"
            r = run_process([*owner_tui_cmd(), "--db", str(db), "import", str(root)], env=env)
            if r.returncode != 0:
                return [], [], "", (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
            rates.append(files / r.seconds)
            rss.append(r.max_rss_mb)
            summary = r.stdout.strip()
            for p in Path(tmp).glob(f"import{i}.db*"):
                p.unlink()
    return rates, rss, summary, ""


def _attribution(n: int, repeat: int = 3) -> dict[str, float]:
    """In-process on a smaller Maildir (medians of ``repeat``): parse alone in one process
    (``files.scan``, ``workers=1``), ``store.ingest`` alone on the records it produced, and the
    same ingest with the FTS5 insert trigger dropped (to size the full-text index's share)."""
    import statistics
    import time

    from owner_tui.sources.files import scan as src
    from owner_tui.store import Store

    root = datasets.cached_maildir(n)
    parse, ingest, no_fts = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        recs = list(src.scan(root, workers=1))
        parse.append(len(recs) / (time.perf_counter() - t0))
        for fts, out in ((True, ingest), (False, no_fts)):
            with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "s.db") as store:
                if not fts:
                    store.db.execute("DROP TRIGGER IF EXISTS messages_ai")
                acc = store.ensure_account("files", "files", {})
                t0 = time.perf_counter()
                for i in range(0, len(recs), 500):
                    store.ingest(acc, recs[i:i + 500])
                out.append(len(recs) / (time.perf_counter() - t0))
    med = statistics.median
    return {"parse": med(parse), "ingest": med(ingest), "fts_share": 1 - med(ingest) / med(no_fts), "n": len(recs)}


def run(*, files: int, smoke: bool, repeat: int, rebuild: bool = False,
        log: Callable[[str], None] = print) -> list[Row]:
    what = f"file import of a Maildir, {gen.human(files)} files (`owner-tui import`, whole process)"
    if importlib.util.find_spec("owner_tui.sources.files.scan") is None:
        return [Row(key="import_rate", what=what, unit="msg/s", target=">= 2,000 msg/s",
                    reason="owner_tui/sources/files/scan.py (the Maildir reader) is not in the tree yet")]
    root = datasets.cached_maildir(files, rebuild=rebuild)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    log(f"import: {gen.human(files)} files × {repeat} (owner-tui, then notmuch)")
    rates, rss, summary, err = _owner_tui(root, files, repeat)
    peer, peer_err = _notmuch(root, files, repeat)
    data = f"{files:,} files, {size / files / 1024:.1f} kB average; INBOX + Sent"
    if err:
        return [Row(key="import_rate", what=what, unit="msg/s", target=">= 2,000 msg/s",
                    reason=f"owner-tui import failed: {err}", data=data)]
    import statistics

    note = f"owner-tui said: {summary}." if summary else ""
    extra: list[Row] = []
    if smoke or statistics.median(rates) < TARGET:
        a = _attribution(1_000)
        serial = 1 / (1 / a["parse"] + 1 / a["ingest"])
        load = os.getloadavg()[0]
        note += (f" Where the time goes (in-process, {a['n']:,} of the same kind of files): parsing alone runs at "
                 f"{a['parse']:,.0f} msg/s in one process and `store.ingest` alone at {a['ingest']:,.0f} msg/s, so "
                 f"one process tops out near {serial:,.0f} msg/s. `owner-tui import` moves parsing to two worker "
                 "processes only when the load average leaves a core idle (`parse_jobs.auto_workers`; it was "
                 f"{load:.1f} on {os.cpu_count()} cores at the end of this benchmark); on two free cores the "
                 f"ceiling is about {2 * serial:,.0f} msg/s. "
                 "So on a shared box the figure swings with the load (see the spread). Closing the gap for good "
                 "means cheaper parsing: the stdlib feedparser compiles a new boundary regex for every multipart "
                 "message (unique boundaries defeat the `re` cache) and HTML-only newsletters go through "
                 "HTML-to-text; and cheaper ingest, where keeping the FTS5 index up to date is "
                 f"{a['fts_share']:.0%} of the work (measured here by dropping its trigger on a scratch store).")
        extra = [Row(key="import_parse_rate", what="import: parsing alone, one process (files.scan, workers=1)",
                     unit="msg/s", samples=[a["parse"]], data=f"{a['n']:,} files", section="details"),
                 Row(key="import_ingest_rate", what="import: store.ingest alone on the parsed records",
                     unit="msg/s", samples=[a["ingest"]], data=f"{a['n']:,} records", section="details")]
    return [
        *extra,
        Row(key="import_rate", what=what, unit="msg/s", samples=rates, target=">= 2,000 msg/s", limit=TARGET,
            better="higher", baseline="`notmuch new` on the same files" + (f" ({peer_err})" if peer_err else ""),
            baseline_samples=peer, data=data, note=note,
            smoke=smoke or files != 10_000),
        Row(key="import_rss", what="import: peak RSS", unit="MB", samples=rss, data=data, section="details"),
    ]
