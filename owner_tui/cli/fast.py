"""The ``owner-tui`` entry point: ``owner-tui sync`` with nothing new is answered by
``quick_sync`` before click and the rest load (issue 18); everything else, and any sync that
finds something to do, goes to the full command line in ``cli.root``."""

from __future__ import annotations

import sys


def main() -> None:
    if "sync" in sys.argv[1:]:
        from owner_tui.quick_sync import run

        code = run(sys.argv[1:])
        if code is not None:
            sys.exit(code)
    from owner_tui.cli.root import main as full

    full()
