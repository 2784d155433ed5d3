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

from . import Row, clean_env, datasets, explain_if_missed, interleaved, owner_tui_cmd, run_process
from . import generate as gen

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


class _Notmuch:
    """``notmuch new`` on the Maildir into a fresh database each run (its config and database
    outside the Maildir, so the cached files are never written to).

    Each run gets a directory of its own and nothing is deleted until the end: deleting files
    just before a timed run makes the next run's writes slower on this VM's ext4 (it made
    mbsync 3-6x slower, issue 18), so neither side pays for the other's clean-up."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root, self.tmp = root, tmp
        self.runs = 0

    def __call__(self) -> float:
        cfg, db = self.tmp / f"notmuch-config-{self.runs}", self.tmp / f"notmuch-db-{self.runs}"
        self.runs += 1
        cfg.write_text(_NOTMUCH_CONFIG.format(db=db, root=self.root, owner=gen.OWNER))
        db.mkdir()
        r = run_process(["notmuch", f"--config={cfg}", "new", "--quiet"],
                        env={"PATH": "/usr/bin:/bin", "HOME": str(self.tmp)})
        if r.returncode != 0:
            raise RuntimeError(f"notmuch new failed: {r.stderr.strip()[-200:]}")
        return r.seconds


class _Import:
    """``owner-tui --db fresh.db import MAILDIR``, whole process, a fresh store each run."""

    def __init__(self, root: Path, tmp: Path, name: str = "import") -> None:
        self.root, self.tmp, self.name = root, tmp, name
        self.env = clean_env(tmp / "home")
        self.rss: list[float] = []
        self.summary = ""
        self.runs = 0

    def args(self, db: Path) -> list[str]:
        return ["--db", str(db), "import", str(self.root)]

    def __call__(self) -> float:
        db = self.tmp / f"{self.name}-{self.runs}.db"
        self.runs += 1
        r = run_process([*owner_tui_cmd(), *self.args(db)], env=self.env)
        if r.returncode != 0:
            raise RuntimeError("owner-tui import failed: "
                               + (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1])
        self.rss.append(r.max_rss_mb)
        self.summary = r.stdout.strip()
        return r.seconds  # the store stays until the end (see ``_Notmuch``)


def _attribution(n: int, repeat: int = 3) -> dict[str, float]:
    """In-process on a smaller Maildir (medians of ``repeat``): parse alone in one process
    (``files.scan``, ``workers=1``), ``store.ingest`` alone on the records it produced, and the
    same ingest without the full-text index (to size its share)."""
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
                if not fts:  # neither the per-batch index (m008) nor the per-row trigger
                    store.db.execute("DROP TRIGGER IF EXISTS messages_ai")
                    store._index_pending = lambda s=store: s.db.execute("DELETE FROM fts_pending")
                acc = store.ensure_account("files", "files", {})
                t0 = time.perf_counter()
                for i in range(0, len(recs), 500):
                    store.ingest(acc, recs[i:i + 500])
                out.append(len(recs) / (time.perf_counter() - t0))
    med = statistics.median
    return {"parse": med(parse), "ingest": med(ingest), "fts_share": 1 - med(ingest) / med(no_fts), "n": len(recs)}


def run(*, files: int, smoke: bool, repeat: int, rebuild: bool = False, growth: int | None = None,
        log: Callable[[str], None] = print) -> list[Row]:
    import statistics

    what = f"file import of a Maildir, {gen.human(files)} files (`owner-tui import`, whole process)"
    target = ">= 2x the rate of `notmuch new`"
    if importlib.util.find_spec("owner_tui.sources.files.scan") is None:
        return [Row(key="import_rate", what=what, unit="msg/s", target=target,
                    reason="owner_tui/sources/files/scan.py (the Maildir reader) is not in the tree yet")]
    root = datasets.cached_maildir(files, rebuild=rebuild)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    data = f"{files:,} files, {size / files / 1024:.1f} kB average; INBOX + Sent"
    log(f"import: {gen.human(files)} files × {repeat}, owner-tui and notmuch interleaved")
    with tempfile.TemporaryDirectory() as tmp:
        ours = _Import(root, Path(tmp))
        peer_err = "" if shutil.which("notmuch") else "notmuch not installed (apt-get install -y notmuch)"
        try:
            if peer_err:
                secs, peer_secs = interleaved(repeat, ours)[0], []
            else:
                secs, peer_secs = interleaved(repeat, ours, _Notmuch(root, Path(tmp)))
        except RuntimeError as exc:
            return [Row(key="import_rate", what=what, unit="msg/s", target=target, reason=str(exc), data=data)]
        rates, peer = [files / s for s in secs], [files / s for s in peer_secs]
        row = Row(key="import_rate", what=what, unit="msg/s", samples=rates, target=target, min_ratio=2.0,
                  better="higher", baseline="`notmuch new` on the same files" + (f" ({peer_err})" if peer_err else ""),
                  baseline_samples=peer, data=data, smoke=smoke or files != 10_000,
                  note=f"owner-tui said: {ours.summary}." if ours.summary else "")
        explain_if_missed(row, ours.args(Path(tmp) / "profiled.db"), env=ours.env)
        rows = [row, Row(key="import_rss", what="import: peak RSS", unit="MB", samples=list(ours.rss), data=data,
                         section="details")]
        if row.status == "missed" or smoke:
            a = _attribution(1_000)
            rows += [Row(key="import_parse_rate", what="import: parsing alone, one process (files.scan, workers=1)",
                         unit="msg/s", samples=[a["parse"]], data=f"{a['n']:,} files", section="details",
                         note=f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"),
                     Row(key="import_ingest_rate", what="import: store.ingest alone on the parsed records",
                         unit="msg/s", samples=[a["ingest"]], data=f"{a['n']:,} records", section="details",
                         note=f"the FTS5 index is {a['fts_share']:.0%} of it (its trigger dropped on a scratch store)")]
        if growth:
            big_root = datasets.cached_maildir(growth, rebuild=rebuild)
            log(f"import: growth, {gen.human(growth)} files × 2, interleaved with {gen.human(files)} imports")
            big = _Import(big_root, Path(tmp), "big")
            # S B S B S: the baseline measured next to the big runs, so drift falls on both
            small_secs, big_secs = [ours()], []
            for _ in range(2):
                big_secs.append(big())
                small_secs.append(ours())
            grow = Row(key="import_growth", what=f"Maildir import of {gen.human(growth)} files against "
                       f"{gen.human(files)}", unit="s", samples=big_secs,
                       target=f"<= {growth / files * 1.1:.0f}x the {gen.human(files)} time",
                       max_ratio=growth / files * 1.1,
                       baseline=f"the {gen.human(files)} import, run before and after each big one",
                       baseline_samples=small_secs, data=f"{growth:,} files (same generator)", smoke=smoke,
                       note=f"owner-tui said: {big.summary}. Time, not rate: linear growth is {growth // files}x.")
            explain_if_missed(grow, big.args(Path(tmp) / "profiled-big.db"), env=big.env)
            rows.append(grow)
        else:
            rows.append(Row(key="import_growth", what="Maildir import of 100k files against 10k", unit="s",
                            target="<= 11x the 10k time", reason="not run at this size (`python -m bench` runs it)"))
    return rows
