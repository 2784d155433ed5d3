"""Benchmarks that produce ``docs/benchmarks.md``: ``python -m bench [--smoke]``.

Each benchmark module returns ``Row`` values: the samples of one measurement, the target from
issue 7, and the baseline or peer measured in the same run (machines are noisy: a median means
little alone, its ratio to something measured a minute earlier on the same box means more).
This module holds what they share: rows, statistics, timing of whole processes with their
peak RSS, and a description of the machine.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One line of the results table.

    ``limit`` is the target on ``stat`` (the median unless a percentile is named;
    ``better="lower"``: value <= limit; ``"higher"``: value >= limit). ``max_ratio`` bounds median / baseline median (e.g. "<= mbsync's time":
    1.0; "<= 1.2x the empty-store time": 1.2). ``status`` is computed unless a benchmark could
    not run, in which case ``reason`` says why.
    """

    key: str
    what: str
    unit: str
    samples: list[float] = field(default_factory=list)
    target: str = ""
    limit: float | None = None
    better: str = "lower"
    max_ratio: float | None = None
    min_ratio: float | None = None  # value / baseline >= this (e.g. ">= 2x notmuch's rate")
    baseline: str = ""  # what the baseline or peer is, e.g. "mbsync (same mailbox, same run)"
    baseline_samples: list[float] = field(default_factory=list)
    data: str = ""  # the data size, e.g. "1M messages (489k conversations)"
    note: str = ""  # why a target was missed and what would close it; or a remark
    reason: str = ""  # why it was not measured
    smoke: bool = False  # measured at smoke size: targets are not judged
    stat: str = "median"  # what the target is on: "median", "p95", "p99"...
    section: str = "targets"  # "targets" (the table) or "details"

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def value(self) -> float | None:
        """The statistic the target is on (the median unless ``stat`` names a percentile)."""
        if not self.samples:
            return None
        return self.median if self.stat == "median" else percentile(self.samples, float(self.stat[1:]))

    def spread(self) -> str:
        """min-max for a few samples; the interquartile range and the maximum for many."""
        if not self.samples:
            return "-"
        if len(self.samples) < 10:
            return f"{fmt(min(self.samples), self.unit)}–{fmt(max(self.samples), self.unit)}"
        return (f"IQR {fmt(percentile(self.samples, 25), self.unit)}–{fmt(percentile(self.samples, 75), self.unit)},"
                f" max {fmt(max(self.samples), self.unit)}")

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        """Value / the baseline's same statistic."""
        m = self.value
        if not self.baseline_samples or m is None:
            return None
        b = (statistics.median(self.baseline_samples) if self.stat == "median"
             else percentile(self.baseline_samples, float(self.stat[1:])))
        return m / b if b else None

    def as_dict(self) -> dict:
        return {"key": self.key, "what": self.what, "unit": self.unit, "stat": self.stat, "value": self.value,
                "samples": self.samples, "baseline": self.baseline, "baseline_samples": self.baseline_samples,
                "ratio": self.ratio, "target": self.target, "status": self.status, "judged": self.judged, "data": self.data,
                "note": self.note, "reason": self.reason, "section": self.section}

    @property
    def status(self) -> str:
        if not self.samples:
            return "not measured"
        if self.smoke:
            return "smoke"
        if self.limit is None and self.max_ratio is None and self.min_ratio is None:
            return "info"
        ok = True
        if self.limit is not None:
            ok = self.value <= self.limit if self.better == "lower" else self.value >= self.limit
        if self.max_ratio is not None and self.ratio is not None:
            ok = ok and self.ratio <= self.max_ratio
        if self.min_ratio is not None and self.ratio is not None:
            ok = ok and self.ratio >= self.min_ratio
        return "met" if ok else "missed"

    @property
    def judged(self) -> str:
        """What the verdict rests on: a ratio to something measured in the same run, or an
        absolute bound (the issue's own figures)."""
        if self.max_ratio is not None or self.min_ratio is not None:
            return "ratio" + (" and absolute" if self.limit is not None else "")
        return "absolute" if self.limit is not None else "info"


def not_measured(key: str, what: str, reason: str, **kw) -> Row:
    return Row(key=key, what=what, unit=kw.pop("unit", ""), reason=reason, **kw)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    import math

    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("msg/s", "rows"):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def timed(fn: Callable[[], object], repeat: int, warmup: int = 1) -> list[float]:
    """Wall times in ms of ``repeat`` calls after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


@dataclass
class ProcResult:
    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    #: CPU seconds the whole machine spent while the command ran (``/proc/stat``: user, nice,
    #: system, irq, softirq), so the command's own helpers count too: worker processes it does
    #: not wait for, and a server it talks to. Only meaningful on a quiet machine; NaN where
    #: ``/proc/stat`` cannot be read.
    machine_cpu: float = float("nan")


# Runs the command as its grandchild and reports that process's own wall time and peak RSS.
# Why a launcher: on Linux a child's ru_maxrss starts at its parent's RSS (fork copies the
# page counts; vfork/posix_spawn share the mm until exec), so timing a command straight from
# this process, which holds stores and samples, would report our RSS, not the command's.
# It also reads the machine's busy CPU ticks before and after (see ``ProcResult.machine_cpu``).
_LAUNCHER = """import os, sys, time
def busy():
    try:
        with open("/proc/stat", "rb") as fh:
            f = fh.readline().split()
        return sum(int(x) for x in f[1:4] + f[6:8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")
c0 = busy()
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(sys.argv[1], "w") as fh:
    fh.write(f"{seconds} {usage.ru_maxrss} {busy() - c0}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(cmd: Sequence[str], *, env: dict | None = None, cwd: Path | None = None,
                timeout: float = 600) -> ProcResult:
    """Run a whole process (through ``_LAUNCHER``); its wall time and its own peak RSS."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage"
        proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(report), *cmd], capture_output=True,
                              env=env, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
        try:
            seconds, rss_kb, cpu = report.read_text().split()
        except (OSError, ValueError):
            seconds, rss_kb, cpu = "nan", "0", "nan"
        return ProcResult(float(seconds), int(rss_kb) / 1024, proc.returncode,
                          proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"), float(cpu))


def owner_tui_cmd() -> list[str]:
    """The installed console script (what a cron job runs), else ``python -m owner_tui``."""
    script = Path(sys.executable).parent / "owner-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "owner_tui"]


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNER_TUI")}
    env["OWNER_TUI_HOME"] = str(home)
    return env


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    import sqlite3

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "load average at start": " ".join(f"{x:.2f}" for x in load),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def tool_version(cmd: str, *args: str) -> str | None:
    if not shutil.which(cmd):
        return None
    try:
        out = subprocess.run([cmd, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else cmd


def interleaved(runs: int, *contenders: Callable[[], float]) -> list[list[float]]:
    """Run each contender in turn, ``runs`` rounds (A B A B ...), so that drift in the
    machine's load falls on all of them alike; one list of samples per contender."""
    out: list[list[float]] = [[] for _ in contenders]
    for _ in range(runs):
        for samples, fn in zip(out, contenders):
            samples.append(fn())
    return out


def profile_process(args: Sequence[str], *, env: dict | None = None, cwd: Path | None = None,
                    top: int = 14, timeout: float = 600) -> str:
    """One run of ``owner-tui ARGS`` under cProfile: the functions with the most own time
    (where the time went), as text for a missed row's note."""
    import io
    import pstats
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prof"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "owner_tui", *args],
                              env=env, cwd=cwd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        if not out.exists():
            return f"(profile failed: exit {proc.returncode}: {proc.stderr.decode(errors='replace')[-200:]})"
        buf = io.StringIO()
        stats = pstats.Stats(str(out), stream=buf)
        stats.sort_stats("tottime").print_stats(top)
    lines = [ln.rstrip() for ln in buf.getvalue().splitlines()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    body = [ln.replace(str(ROOT) + "/", "").replace(sys.prefix, "<venv>") for ln in lines[start:] if ln.strip()]
    total = next((ln.strip() for ln in lines if "function calls" in ln), "")
    return f"cProfile of one run ({wall:.2f} s with the profiler; {total}), top {top} by own time:\n" + \
        "\n".join(body)


def explain_if_missed(row: "Row", args: Sequence[str], **kw) -> None:
    """A missed row says why, measured: append a profile of one run of the same command."""
    if row.status == "missed":
        prof = profile_process(args, **kw)
        row.note = (row.note + "\n\n" if row.note else "") + "```\n" + prof + "\n```"
