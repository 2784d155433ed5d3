"""Process and socket helpers shared by the loopback test servers."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (servers that need a concrete port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def searchable_by_others(path: Path) -> bool:
    """Whether every directory from / down to ``path`` has the other-execute bit."""
    try:
        return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])
    except OSError:
        return False


def reachable_temp_base() -> str | None:
    """A temp dir unprivileged server processes can reach (None: the default, not root)."""
    if os.geteuid() != 0:
        return None
    for base in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):
        if searchable_by_others(Path(base).resolve()):
            return base
    raise RuntimeError("no temp dir is searchable by other users (/tmp is mode 0700?); "
                       "a server's unprivileged processes, running as nobody, could not reach it")


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is still in process group ``pgid``."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
