"""A terminal that goes away ends the app (a closed window, a dropped SSH session).

Under ``make demo`` the hang-up signal stops at make, and Textual's input thread then spins at
100% CPU on the dead terminal for ever (Textual PR #6690, still open). The app notices the
hang-up itself and ends. Run here on a real pseudo-terminal whose child ignores SIGHUP, as one
under make effectively does, and whose master side is then closed.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="pseudo-terminal test (Linux)")


def test_the_app_ends_when_its_terminal_is_gone(tmp_path):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OWNER_TUI", "TEXTUAL"))}
    env.update(OWNER_TUI_HOME=str(tmp_path), TERM="xterm-256color")

    def child() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "owner_tui", "demo"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, preexec_fn=child)
    os.close(slave)
    try:
        seen, end = b"", time.monotonic() + 60
        while b"awaiting" not in seen and time.monotonic() < end and proc.poll() is None:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    seen += os.read(master, 1 << 16)
                except OSError:
                    break
        assert b"awaiting" in seen, seen[-500:]
        os.close(master)
        master = -1
        proc.wait(timeout=20)  # without the watch: still running, at 100% CPU
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
