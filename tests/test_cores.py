"""Worker pools are sized from the cores this process may use, leaving one to the store."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from owner_tui import cores
from owner_tui.sources.imap import parse as imap_parse


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_usable_cores_follows_the_affinity_not_the_machine():
    # A process pinned to one core (taskset, a container's cpuset) may use one core, however
    # many the machine has.
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from owner_tui.cores import usable_cores; print(usable_cores())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize(("usable", "workers"), [(1, 1), (2, 1), (3, 2), (5, 4), (64, 4)])
def test_parse_workers_leave_a_core_to_the_store(monkeypatch, usable, workers):
    monkeypatch.setattr(cores, "usable_cores", lambda: usable)
    assert imap_parse.default_workers() == workers
    assert imap_parse.ParsePool().workers == workers
    assert imap_parse.ParsePool(workers=3).workers == 3  # an explicit count is kept
