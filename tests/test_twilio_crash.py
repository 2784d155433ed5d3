"""kill -9 during a Twilio sync (issue 19): ``owner-tui sync`` in a subprocess, killed while the
contract server holds back the next page, then run again: nothing doubled, nothing missed, and
each run resumes at the page the killed one was waiting for.

Deterministic: the kill lands when the server has *received* the request for page k+1, which
the sync sends only after page k's batch and cursor were committed (one transaction).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from owner_tui.store import Store
from tests.servers.twilio_api import BUSINESS, twilio  # noqa: F401
from tests.test_crash_safety import _assert_state_is_a_recompute, _check_integrity

ROOT = Path(__file__).resolve().parent.parent
T0 = (datetime.now(UTC) - timedelta(hours=10)).replace(microsecond=0)
N, SIZE = 23, 5


def _config(home: Path, server) -> None:
    opts = server.options(page_size=SIZE)
    lines = ["[accounts.phone]", 'kind = "twilio"']
    for k, v in opts.items():
        lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v!r}".replace("'", '"'))
    (home / "config.toml").write_text("\n".join(lines) + "\n")


def _wait_for_page(server, page: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s.path.endswith("/Messages.json") and s.query.get("Page") == str(page) for s in server.requests("GET")):
            return
        if proc.poll() is not None:
            raise AssertionError(f"the sync ended before asking for page {page}: {proc.communicate()}")
        time.sleep(0.005)
    raise AssertionError(f"no request for page {page}")


def test_kill_9_mid_paging_then_resume_misses_nothing_and_doubles_nothing(twilio, tmp_path):  # noqa: F811
    home = Path(os.environ["OWNER_TUI_HOME"])
    for i in range(N):
        twilio.add_message(f"+1555100{i:04d}", BUSINESS, f"text {i}", when=T0 + timedelta(minutes=i))
    twilio.add_call("+15551009999", BUSINESS, status="no-answer", when=T0)
    _config(home, twilio)
    env = {**os.environ, "TWILIO_TEST_TOKEN": twilio.auth_token}
    db = home / "owner-tui.db"
    for k in range(3):
        twilio.slows.clear()
        twilio.slow("/2010-04-01/Accounts/", 8.0, page_from=k + 1)
        twilio.log.clear()
        proc = subprocess.Popen([sys.executable, "-m", "owner_tui", "sync", "--no-send"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for_page(twilio, k + 1, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        _check_integrity(db)
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            token = conn.execute("SELECT page_token FROM sync_state WHERE folder = ?",
                                 [f"messages:to:{BUSINESS}"]).fetchone()[0]
        assert stored == SIZE * (k + 1), (k, stored)
        assert f"Page={k + 1}" in token
        if k:  # this run started where the killed one was waiting, not from the top
            first = next(s for s in twilio.requests("GET") if s.path.endswith("/Messages.json"))
            assert first.query.get("Page") == str(k)
    twilio.slows.clear()
    done = subprocess.run([sys.executable, "-m", "owner_tui", "sync", "--no-send"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_integrity(db)
    with Store.open(db) as store:
        ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
        assert len(ids) == len(set(ids)) == N + 1
        assert set(ids) == {m["sid"] for m in twilio.messages} | {c["sid"] for c in twilio.calls}
        _assert_state_is_a_recompute(store)
        state = store.sync_state(store.accounts()[0]["id"], f"messages:to:{BUSINESS}")
        assert state["page_token"] is None and state["high_water"] == (T0 + timedelta(minutes=N - 1)).isoformat()
