"""``python -m bench [--smoke] [--sizes 1k,10k,100k,1M] [--only NAME] [--out docs/benchmarks.md]``

Runs every benchmark and writes one Markdown file: the machine, the command, and for each row
of issue 7 the median (or the percentile the target is on), the spread, the baseline or peer
measured in the same run, the target and whether it is met. A benchmark that cannot run (a
module not written yet, a missing binary, an error) still gets its rows, saying why.
``--smoke`` runs everything at the smallest size in well under a minute (CI runs it so the
suite cannot rot); its figures are not judged against the targets.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

from . import ROOT, Row, machine, not_measured, tool_version
from .generate import sizes_arg
from .report import render

#: The issues' tables (7, then 18's targets): every one of these rows appears in the output,
#: measured or not.
EXPECTED: list[tuple[str, str, str, str]] = [
    ("tui_first_paint", "TUI start to first painted inbox, 100k conversations", "<= 0.6 s and <= 1.2x empty store",
     "tui"),
    ("demo_first_paint", "`make demo` to the first painted inbox (installed venv, demo store built)", "<= 1 s",
     "tui"),
    ("tui_key_p50", "key press to repaint while scrolling a 100k list (p50)", "p50 <= 10 ms", "tui"),
    ("tui_key_p99", "key press to repaint while scrolling a 100k list (p99)", "p99 <= 33 ms", "tui"),
    ("page_first", "one page (200 rows) of the aging list", "<= 15 ms", "store"),
    ("page_slowest", "slowest list page or count at 1M messages", "<= 15 ms", "store"),
    ("sync_full", "full sync of a 10k-message mailbox from local Dovecot (INBOX + Sent)",
     "<= mbsync with `FSync no`, same run", "sync"),
    ("sync_noop", "`owner-tui sync` with nothing new (whole process)", "<= 2.5x mbsync's", "sync"),
    ("sync_growth", "full sync of 100k messages against 10k", "<= 11x the 10k time", "sync"),
    ("import_rate", "file import of a Maildir, 10k files (`owner-tui import`, whole process)",
     ">= 2x the rate of `notmuch new`", "import"),
    ("import_growth", "Maildir import of 100k files against 10k", "<= 11x the 10k time", "import"),
    ("startup_status", "`owner-tui status` (whole process)", "<= 4x `python -c pass`", "startup"),
    ("startup_help", "`owner-tui --help` (whole process)", "<= 4x `python -c pass`", "startup"),
    ("idle_visible", "new message in Dovecot to visible in the open TUI (IDLE)", "<= 2 s", "sync"),
    ("export_time", "export 100k conversations to CSV (whole process)", "<= 1.0 s", "export"),
    ("export_rss", "export: peak RSS (flat memory)", "flat", "export"),
    ("fts_p95", "full-text search, 300k messages", "p95 <= 100 ms", "search"),
    ("tui_rss", "memory: TUI with 1M messages (RSS)", "<= 120 MB", "tui"),
    ("sync_rss", "memory: sync of 10k messages (RSS)", "<= 150 MB", "sync"),
    ("parse_rss", "memory: peak RSS for one message, worst of six shapes", "<= 3x size + 150 MB", "memory"),
]
BENCHES = ("startup", "store", "search", "export", "import", "tui", "sync", "memory")


def _call(module: str, log, **kwargs) -> list[Row]:
    """Run ``bench.<module>.run`` with the keyword arguments it accepts."""
    mod = importlib.import_module(f"bench.{module}")
    fn = mod.run
    params = inspect.signature(fn).parameters
    accepted = {k: v for k, v in kwargs.items() if k in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())}
    result = fn(**accepted, log=log) if "log" in params else fn(**accepted)
    return [r if isinstance(r, Row) else Row(**r) for r in result]


def _peer_module(name: str) -> str | None:
    """Why a benchmark written by someone else cannot run yet, or None when it can."""
    if importlib.util.find_spec(f"bench.{name}") is None:
        return f"bench/{name}.py is not in the tree yet"
    return None


def run_all(args: argparse.Namespace, log) -> list[Row]:
    smoke = args.smoke
    sizes = sizes_arg(args.sizes) if args.sizes else ([1_000] if smoke else [1_000, 10_000, 100_000, 1_000_000])
    repeat = 3 if smoke else 20
    small = min(sizes)
    plans = {
        "startup": ("bench_startup", dict(smoke=smoke, repeat=5 if smoke else 21)),
        "store": ("bench_store", dict(sizes=sizes, smoke=smoke, repeat=repeat)),
        "search": ("bench_search", dict(messages=small if smoke else 300_000, smoke=smoke, repeat=2 if smoke else 5)),
        "export": ("bench_export", dict(conversations=1_000 if smoke else 100_000, smoke=smoke,
                                        repeat=2 if smoke else 5)),
        "import": ("bench_import", dict(files=1_000 if smoke else 10_000, smoke=smoke, repeat=1 if smoke else 3,
                                        growth=None if smoke else 100_000)),
        "tui": ("bench_tui", dict(smoke=smoke, sizes=sizes, repeat=repeat)),
        "sync": ("bench_sync", dict(smoke=smoke, sizes=sizes, repeat=1 if smoke else 3,
                                    growth=None if smoke else 100_000)),
        "memory": ("bench_memory", dict(smoke=smoke)),
    }
    rows: list[Row] = []
    for name in BENCHES:
        module, kwargs = plans[name]
        if args.only and name not in args.only:
            rows += [not_measured(k, w, "not run (--only)", target=t) for k, w, t, src in EXPECTED if src == name]
            continue
        missing = _peer_module(module)
        if missing:
            rows += [not_measured(k, w, missing, target=t) for k, w, t, src in EXPECTED if src == name]
            continue
        log(f"== {name}")
        t0 = time.perf_counter()
        try:
            got = _call(module, log, rebuild=args.rebuild, **kwargs)
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc(file=sys.stderr)
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            got = [not_measured(k, w, reason, target=t) for k, w, t, src in EXPECTED if src == name]
        log(f"   {name}: {time.perf_counter() - t0:.1f} s")
        rows += got
    present = {r.key for r in rows}
    for k, w, t, src in EXPECTED:
        if k not in present:
            rows.append(not_measured(k, w, f"bench_{src} gives no `{k}` row yet", target=t))
    source = {k: src for k, _w, _t, src in EXPECTED}
    for r in rows:
        if r.status == "missed" and not r.note and r.key in source:
            r.note = f"missed; bench_{source[r.key]} gives no analysis of this row yet."
    order = {k: i for i, (k, *_rest) in enumerate(EXPECTED)}
    rows.sort(key=lambda r: (r.section != "targets", order.get(r.key, len(order))))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="smallest sizes, few repeats, targets not judged")
    p.add_argument("--sizes", help="store sizes for the aging-list rows, e.g. 1k,10k,100k,1M")
    p.add_argument("--only", action="append", choices=BENCHES, help="run only this benchmark (repeatable)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--json", type=Path, help="also write every row and sample as JSON here")
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached stores and Maildirs in bench/out/")
    args = p.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # Whole-process rows time what an installed owner-tui does: run from compiled bytecode. With
    # PYTHONDONTWRITEBYTECODE set (or after an edit) every run would compile the sources again.
    import compileall

    for pkg in ("owner_tui", "screens"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)

    command = "python -m bench" + (" " + shlex.join(argv if argv is not None else sys.argv[1:]) if (
        argv if argv is not None else sys.argv[1:]) else "")
    info = machine()
    peers = {"mbsync": tool_version("mbsync", "--version"), "notmuch": tool_version("notmuch", "--version"),
             "dovecot": tool_version("dovecot", "--version")}
    t0 = time.perf_counter()
    rows = run_all(args, log)
    elapsed = time.perf_counter() - t0
    if hasattr(os, "getloadavg"):
        info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows, info=info, peers=peers, command=command, elapsed=elapsed, smoke=args.smoke),
                        encoding="utf-8")
    if args.json:
        import json

        args.json.write_text(json.dumps({"machine": info, "peers": peers, "command": command, "smoke": args.smoke,
                                         "rows": [r.as_dict() for r in rows]}, indent=1), encoding="utf-8")
    log(f"wrote {args.out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
