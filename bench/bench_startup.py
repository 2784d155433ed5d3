"""Start-up, whole process: ``owner-tui status`` and ``owner-tui --help`` against the
interpreter's own floor, ``python -c pass`` with the same Python (the venv's, ``site`` and the
editable install's finder included), run interleaved (pass, status, help, pass, ...).

``status`` reads a real store: one IMAP account synced an hour ago, a config naming it, the
outbox empty. It is what a monitoring check runs every few minutes, and the same path (config,
store, health) the cron sync walks before its first network byte.

A row that misses carries ``python -X importtime`` of one run: the modules that cost the most.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import Row, clean_env, interleaved, owner_tui_cmd, run_process

CONFIG = """[owner]
addresses = ["sam@bakery.example"]

[accounts.shop]
kind = "imap"
host = "imap.bakery.example"
user = "sam@bakery.example"
password_env = "OT_BENCH_PW"
"""


def _home(tmp: Path) -> Path:
    from owner_tui.config import load_config
    from owner_tui.store import Store

    home = tmp / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    config = load_config(home / "config.toml")
    with Store.open(home / "owner-tui.db", config=config) as store:
        acc = store.ensure_account("imap", "shop", {"address": "sam@bakery.example"})
        store.sync_started(acc)
        store.sync_succeeded(acc)
        store.sync_ended(acc)
    return home


def importtime(args: list[str], env: dict, top: int = 12) -> str:
    """``python -X importtime`` of one ``owner-tui ARGS``: the imports with the most cumulative
    time (microseconds), as text for a missed row's note."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "owner_tui", *args], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.replace("import time:", "").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    rows.sort(reverse=True)
    body = "\n".join(f"{cum:>9,} {own:>8,}  {name}" for cum, own, name in rows[:top])
    return f"python -X importtime -m owner_tui {' '.join(args)}, top {top} by cumulative µs:\n" \
           f"{'cumul.':>9} {'own':>8}  module\n{body}"


def run(*, smoke: bool, repeat: int, rebuild: bool = False, log: Callable[[str], None] = print) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        home = _home(Path(tmp))
        env = {**clean_env(home), "OT_BENCH_PW": "x"}
        cmd = owner_tui_cmd()
        log(f"startup: python -c pass, status, --help × {repeat}, interleaved")

        def timed(argv: list[str]) -> Callable[[], float]:
            return lambda: run_process(argv, env=env).seconds

        for argv in ([sys.executable, "-c", "pass"], [*cmd, "status"], [*cmd, "--help"]):  # warm the page cache
            run_process(argv, env=env)
        floor, status, helptext = interleaved(repeat, timed([sys.executable, "-c", "pass"]),
                                              timed([*cmd, "status"]), timed([*cmd, "--help"]))
        base = f"`python -c pass`, same Python ({Path(sys.executable).name} of the venv)"
        rows = [
            Row(key="startup_status", what="`owner-tui status` (whole process)", unit="s", samples=status,
                target="<= 4x `python -c pass`", max_ratio=4.0, baseline=base, baseline_samples=floor,
                data="one IMAP account synced an hour ago; config and store on disk", smoke=smoke),
            Row(key="startup_help", what="`owner-tui --help` (whole process)", unit="s", samples=helptext,
                target="<= 4x `python -c pass`", max_ratio=4.0, baseline=base, baseline_samples=floor,
                data="prints every command's summary", smoke=smoke),
        ]
        for row, args in zip(rows, (["status"], ["--help"])):
            if row.status == "missed":
                row.note = "```\n" + importtime(args, env) + "\n```"
        return rows
