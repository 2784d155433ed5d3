"""TUI: start to first painted inbox, key press to repaint while scrolling, resident memory.

Each run is a fresh process on a pseudo-terminal (the real Linux driver, 120x35), watched
from outside: the clock starts before the process is spawned and stops when the bytes the
app writes contain the oldest conversation's row and the bucket header, so interpreter
start, imports, opening the store and the first queries all count. Key latency is the time
from writing a key (down or page down, in the 100k-row "All" view) to the last byte of the
repaint it causes: output is read until the terminal has been quiet for ``QUIET_S``, and the
time of the last chunk, not the end of the quiet wait, is the sample.

The child runs the app with the clock frozen at the data set's anchor time, so nothing in
the cached store is woken or changed and every run sees the same list.

Stand-alone: ``python -m bench.bench_tui [--runs N] [--small 100] [--big 100000]`` prints a
Markdown table; ``python -m bench`` calls ``run`` for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Callable

COLS, ROWS = 120, 35
QUIET_S = 0.03
KEYS = {"down": "\x1b[B", "pagedown": "\x1b[6~", "up": "\x1b[A", "pageup": "\x1b[5~", "all-view": "6",
        "quit": "\x11"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?")


def _child(store: str, anchor: str) -> None:
    """The measured process: the real app on the real driver, with a frozen clock."""
    from datetime import datetime

    from owner_tui.config import Config
    from owner_tui.tui.app import run

    at = datetime.fromisoformat(anchor)
    run(Path(store), Config(), clock=lambda: at)


class Session:
    """One app process on a pseudo-terminal, read continuously so it never blocks."""

    def __init__(self, store: Path | None, anchor: str, home: Path, argv: list[str] | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OWNER_TUI", "TEXTUAL"))}
        env.update(OWNER_TUI_HOME=str(home), TERM="xterm-256color", COLORTERM="truecolor")
        root = Path(__file__).resolve().parent.parent
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "bench.bench_tui", "--child", str(store), anchor],
            stdin=slave, stdout=slave, stderr=slave, cwd=root, env=env, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.text = ""

    def _read(self, timeout: float) -> float | None:
        """Read what is there (waiting up to ``timeout``); the time it arrived, or None."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return None
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:  # the child closed the terminal
            raise RuntimeError("the app exited: " + _ANSI.sub("", self.text)[-500:]) from None
        at = time.perf_counter()
        self.text += data.decode("utf-8", "replace")
        if len(self.text) > 1 << 20:
            self.text = self.text[-(1 << 19):]
        return at

    def wait_for(self, *needles: str, timeout: float = 60) -> float:
        """Seconds from spawn until every needle has been drawn."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            at = self._read(0.5)
            if at is not None and all(n in _ANSI.sub("", self.text) for n in needles):
                return at - self.t0
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}")
        raise TimeoutError(f"{needles} not drawn within {timeout} s")

    def settle(self) -> None:
        while self._read(QUIET_S * 3) is not None:
            pass

    def key(self, name: str) -> float | None:
        """Milliseconds from writing the key to the last byte of its repaint."""
        self.settle()
        os.write(self.master, KEYS[name].encode())
        t = time.perf_counter()
        last = self._read(2.0)
        if last is None:
            return None
        while (at := self._read(QUIET_S)) is not None:
            last = at
        return (last - t) * 1000

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the app process, from /proc."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        get = lambda k: int(re.search(rf"^{k}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # noqa: E731
        return get("VmRSS"), get("VmHWM")

    def close(self) -> None:
        try:
            os.write(self.master, KEYS["quit"].encode())
            end = time.perf_counter() + 5
            while self.proc.poll() is None and time.perf_counter() < end:
                try:
                    self._read(0.1)
                except RuntimeError:
                    break
        except OSError:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def first_row_marker(store: Path, anchor: str) -> str:
    """Text that appears only once the list's first row is drawn: its contact's name."""
    from datetime import datetime

    from owner_tui.config import Config
    from owner_tui.sanitize import one_line
    from owner_tui.store import Store

    with Store.open(store, config=Config(), clock=lambda: datetime.fromisoformat(anchor)) as s:
        rows = s.page(limit=1)
    if not rows:
        return "Nobody is waiting"
    return one_line(rows[0]["contact_name"] or rows[0]["contact_handle"])[:12]


def first_paint(store: Path, anchor: str, runs: int, log: Callable[[str], None] = print) -> list[float]:
    marker = first_row_marker(store, anchor)
    out = []
    with tempfile.TemporaryDirectory() as home:
        for _ in range(runs):
            s = Session(store, anchor, Path(home))
            try:
                out.append(s.wait_for(marker, "awaiting"))
            finally:
                s.close()
    log(f"   first paint {store.name}: median {statistics.median(out):.3f} s over {runs} runs")
    return out


def demo_marker() -> str:
    """The first row of the demo's list as ``owner-tui demo`` will build it now."""
    from owner_tui.aging import utcnow
    from owner_tui.config import Config, OwnerConfig
    from owner_tui.demo import BUSINESS, OWNER, build_demo
    from owner_tui.sanitize import one_line
    from owner_tui.store import Store

    config = Config(owner=OwnerConfig(name="Sam", business=BUSINESS, addresses=(OWNER,)))
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "demo.db", config=config) as s:
        build_demo(s, utcnow())
        row = s.page(limit=1)[0]
    return one_line(row["contact_name"] or row["contact_handle"])[:12]


def demo_paint(runs: int, log: Callable[[str], None] = print) -> list[float]:
    """``make demo``'s command on the installed venv: spawn to the demo's first row drawn
    (building the throwaway demo store included)."""
    from . import owner_tui_cmd

    marker = demo_marker()
    out = []
    with tempfile.TemporaryDirectory() as home:
        for _ in range(runs):
            s = Session(None, "", Path(home), argv=[*owner_tui_cmd(), "demo"])
            try:
                out.append(s.wait_for(marker, "awaiting"))
            finally:
                s.close()
    log(f"   first paint of the demo: median {statistics.median(out):.3f} s over {runs} runs")
    return out


def scrolling(store: Path, anchor: str, presses: int, view: str = "all") -> tuple[list[float], tuple[float, float]]:
    """Key latencies while paging down and stepping through a view ("all": every
    conversation, newest first; "awaiting": the inbox itself); and the app's RSS."""
    marker = first_row_marker(store, anchor)
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        s = Session(store, anchor, Path(home))
        try:
            s.wait_for(marker, "awaiting")
            if view == "all":
                s.key("all-view")
                s.settle()
            pattern = ["pagedown"] * 3 + ["down"] * 5 + ["up"] * 2 + ["pagedown"] * 2 + ["pageup"]
            while len(samples) < presses:
                for name in pattern:
                    ms = s.key(name)
                    if ms is not None:
                        samples.append(ms)
            rss = s.rss_mb()
        finally:
            s.close()
    return samples[:presses], rss


def _anchor() -> str:
    from . import generate as gen

    return gen.ANCHOR.isoformat()


def run(*, smoke: bool, sizes: list[int], repeat: int, rebuild: bool = False,
        log: Callable[[str], None] = print) -> list:
    from . import Row, datasets, percentile
    from . import generate as gen

    anchor = _anchor()
    big_n = 1_000 if smoke else 100_000
    small = datasets.cached_store(conversations=100, rebuild=rebuild, log=log)
    big = datasets.cached_store(conversations=big_n, rebuild=rebuild, log=log)
    runs = max(3, min(repeat, 10))
    small_t, big_t, demo_t = [], [], []
    for _ in range(runs):  # interleaved, so drift in the load falls on all three alike
        small_t += first_paint(small, anchor, 1, log)
        big_t += first_paint(big, anchor, 1, log)
        demo_t += demo_paint(1, log)
    presses = 15 if smoke else 300
    # The same presses on a 1k-conversation list, interleaved in thirds (A B A B A B): what a
    # press costs this machine when the list's size plays no part, read beside the absolute bound.
    mid = datasets.cached_store(conversations=1_000, rebuild=rebuild, log=log)
    keys, mid_keys = [], []
    thirds = 1 if smoke else 3
    for _ in range(thirds):
        keys += scrolling(big, anchor, -(-presses // thirds))[0]
        mid_keys += scrolling(mid, anchor, -(-presses // thirds))[0]
    inbox_keys, _rss = scrolling(big, anchor, presses, view="awaiting")
    biggest = max(sizes)
    rss_store = datasets.cached_store(messages=biggest, rebuild=rebuild, log=log)
    _k, (rss_now, rss_peak) = scrolling(rss_store, anchor, 10 if smoke else 20)
    data = f"{gen.human(big_n)} conversations; {COLS}x{ROWS} pseudo-terminal"
    # Measured, not guessed: how a press on the big list compares with one on a small list.
    key_note = (f"the same presses on a 1k-conversation list, interleaved: p50 {percentile(mid_keys, 50):.1f} ms, "
                f"p99 {percentile(mid_keys, 99):.1f} ms (the big list: p50 {percentile(keys, 50):.1f}, "
                f"p99 {percentile(keys, 99):.1f}); a ratio near 1 says the time goes to drawing the changed "
                "lines on this machine, not to the list's size") if keys and mid_keys else ""
    demo_row = Row(key="demo_first_paint", what="`make demo` to the first painted inbox (installed venv, demo store "
                   "built)", unit="s", samples=demo_t, target="<= 1 s", limit=1.0,
                   baseline="the TUI on a 100-conversation store, no store to build", baseline_samples=small_t,
                   data=f"`owner-tui demo` (what `make demo` runs once .venv is installed); {COLS}x{ROWS} "
                        "pseudo-terminal", smoke=smoke)
    if demo_row.status == "missed":
        from . import explain_if_missed

        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("OWNER_TUI")}
            explain_if_missed(demo_row, ["demo", "--print"], env={**env, "OWNER_TUI_HOME": home})
    rows = [
        demo_row,
        Row(key="tui_first_paint", what=f"TUI start to first painted inbox, {gen.human(big_n)} conversations",
            unit="s", samples=big_t, target="<= 0.6 s and <= 1.2x empty store", limit=0.6, max_ratio=1.2,
            baseline="same, 100-conversation store", baseline_samples=small_t, data=data, smoke=smoke),
        Row(key="tui_key_p50", what=f"key press to repaint while scrolling a {gen.human(big_n)} list (p50)",
            unit="ms", samples=keys, stat="p50", target="p50 <= 10 ms", limit=10, data=data + ", All view",
            baseline="same presses, 1k-conversation list (interleaved)", baseline_samples=mid_keys, smoke=smoke,
            note=key_note),
        Row(key="tui_key_p99", what=f"key press to repaint while scrolling a {gen.human(big_n)} list (p99)",
            unit="ms", samples=keys, stat="p99", target="p99 <= 33 ms", limit=33, data=data + ", All view",
            baseline="same presses, 1k-conversation list (interleaved)", baseline_samples=mid_keys, smoke=smoke,
            note=key_note),
        Row(key="tui_rss", what=f"memory: TUI with {gen.human(biggest)} messages (peak RSS)", unit="MB",
            samples=[rss_peak], target="<= 120 MB", limit=120, data="after first paint and scrolling; "
            f"RSS then {rss_now:.0f} MB", smoke=smoke or biggest != 1_000_000),
        Row(key="tui_key_awaiting", what="key press to repaint while scrolling the Awaiting view (p50)", unit="ms",
            samples=inbox_keys, stat="p50", data=data + ", Awaiting view", section="details"),
        Row(key="tui_key_awaiting_p99", what="key press to repaint while scrolling the Awaiting view (p99)",
            unit="ms", samples=inbox_keys, stat="p99", data=data + ", Awaiting view", section="details"),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_tui", description=__doc__.splitlines()[0])
    p.add_argument("--child", nargs=2, metavar=("STORE", "ANCHOR"), help=argparse.SUPPRESS)
    p.add_argument("--runs", type=int, default=7, help="processes per store (median reported)")
    p.add_argument("--small", type=int, default=100, help="conversations in the small store")
    p.add_argument("--big", type=int, default=100_000, help="conversations in the big store")
    p.add_argument("--presses", type=int, default=300, help="key presses for the latency figures")
    args = p.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    from . import datasets, percentile

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    anchor = _anchor()
    small = datasets.cached_store(conversations=args.small, log=log)
    big = datasets.cached_store(conversations=args.big, log=log)
    small_t = first_paint(small, anchor, args.runs, log)
    big_t = first_paint(big, anchor, args.runs, log)
    keys, (rss_now, rss_peak) = scrolling(big, anchor, args.presses)
    inbox_keys, _rss = scrolling(big, anchor, args.presses, view="awaiting")
    med_s, med_b = statistics.median(small_t), statistics.median(big_t)
    print(f"| measurement ({COLS}x{ROWS} pseudo-terminal, {args.runs} processes each) | value |")
    print("|---|---|")
    print(f"| first painted inbox, {args.small:,} conversations (median) | {med_s:.3f} s "
          f"(min {min(small_t):.3f}, max {max(small_t):.3f}) |")
    print(f"| first painted inbox, {args.big:,} conversations (median) | {med_b:.3f} s "
          f"(min {min(big_t):.3f}, max {max(big_t):.3f}) |")
    print(f"| ratio big / small | {med_b / med_s:.2f}x |")
    print(f"| key to repaint, scrolling {args.big:,} rows (All view), {len(keys)} presses | "
          f"p50 {percentile(keys, 50):.1f} ms, p99 {percentile(keys, 99):.1f} ms, max {max(keys):.1f} ms |")
    print(f"| key to repaint, scrolling the Awaiting view of the same store, {len(inbox_keys)} presses | "
          f"p50 {percentile(inbox_keys, 50):.1f} ms, p99 {percentile(inbox_keys, 99):.1f} ms, "
          f"max {max(inbox_keys):.1f} ms |")
    print(f"| app RSS after scrolling ({args.big:,} conversations) | {rss_now:.0f} MB (peak {rss_peak:.0f} MB) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
