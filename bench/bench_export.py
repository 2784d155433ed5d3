"""Export 100k conversations to CSV, whole process: ``owner-tui export --view all -o file.csv``.

Timed as a cron job or a script meets it: interpreter start, imports, opening the store,
streaming every row. Peak RSS comes from ``wait4`` for that one process. "Flat memory" is
shown by the same export at a tenth of the size: the peak should barely move. The time
baseline is ``owner-tui --version``, the floor every command pays.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from . import Row, clean_env, datasets, explain_if_missed, owner_tui_cmd, run_process
from . import generate as gen


def _export(store: Path, repeat: int) -> tuple[list[float], list[float], int, str]:
    times, rss = [], []
    rows, err = 0, ""
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env(Path(tmp) / "home")
        out = Path(tmp) / "out.csv"
        for _ in range(repeat):
            r = run_process([*owner_tui_cmd(), "--db", str(store), "export", "--view", "all", "--format", "csv",
                             "-o", str(out)], env=env)
            if r.returncode != 0:
                return [], [], 0, (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
            times.append(r.seconds)
            rss.append(r.max_rss_mb)
            rows = sum(1 for _ in out.open(encoding="utf-8")) - 1
    return times, rss, rows, err


def run(*, conversations: int, smoke: bool, repeat: int, rebuild: bool = False,
        log: Callable[[str], None] = print) -> list[Row]:
    big = datasets.cached_store(conversations=conversations, rebuild=rebuild, log=log)
    small_n = max(1000, conversations // 10)
    small = datasets.cached_store(conversations=small_n, rebuild=rebuild, log=log)
    log(f"export: {gen.human(conversations)} conversations × {repeat}, interleaved with `owner-tui --version`")
    times, floor, rss, rows = [], [], [], 0
    what = f"export {gen.human(conversations)} conversations to CSV (whole process)"
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env(Path(tmp))
        for _ in range(repeat):
            floor.append(run_process([*owner_tui_cmd(), "--version"], env=env).seconds)
            t, r, rows, err = _export(big, 1)
            if err:
                return [Row(key="export_time", what=what, unit="s", reason=f"export failed: {err}",
                            target="<= 1.0 s"),
                        Row(key="export_rss", what="export: peak RSS", unit="MB", reason=f"export failed: {err}")]
            times += t
            rss += r
    _t, small_rss, small_rows, _e = _export(small, max(1, repeat // 2))
    off = smoke or conversations != 100_000
    time_row = Row(key="export_time", what=what, unit="s", samples=times, target="<= 1.0 s", limit=1.0,
                   baseline="`owner-tui --version` (start-up floor)", baseline_samples=floor,
                   data=f"{rows:,} rows written", smoke=off)
    with tempfile.TemporaryDirectory() as tmp:
        explain_if_missed(time_row, ["--db", str(big), "export", "--view", "all", "--format", "csv", "-o",
                                     str(Path(tmp) / "out.csv")], env=clean_env(Path(tmp) / "home"))
    return [
        time_row,
        Row(key="export_rss", what="export: peak RSS (flat memory)", unit="MB", samples=rss,
            target="flat: <= 1.25x the RSS at a tenth of the rows", max_ratio=1.25,
            baseline=f"same export of {small_rows:,} rows", baseline_samples=small_rss,
            data=f"{rows:,} rows", smoke=off),
    ]
