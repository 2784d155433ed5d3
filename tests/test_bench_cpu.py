"""The bench's whole-process runner counts the CPU a command causes, helpers included."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import run_process

# Burns CPU in a grandchild it never waits for (like a process pool's workers behind a fork
# server), then leaves: the command's own rusage misses that time, the machine's does not.
_ORPHAN_WORK = """
import os, time
if os.fork() == 0:
    t = time.process_time()
    while time.process_time() - t < 0.4:
        pass
    os._exit(0)
time.sleep(0.6)
"""


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="machine CPU is read from Linux /proc/stat")
def test_machine_cpu_counts_helpers_the_command_does_not_wait_for():
    r = run_process([sys.executable, "-S", "-c", _ORPHAN_WORK])
    assert r.returncode == 0
    # At least the grandchild's 0.4 s (less one clock tick at each end); other load only adds.
    assert r.machine_cpu >= 0.35, r
    assert r.seconds >= 0.6
