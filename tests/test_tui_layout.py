"""Where the TUI's code lives and what it may import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUI_FILES = [ROOT / "owner_tui" / name for name in ("when.py", "templates.py")]
TUI_FILES += sorted((ROOT / "owner_tui" / "tui").rglob("*.py")) + sorted((ROOT / "screens").glob("*.py"))


def test_screens_are_imported_as_owner_tui_screens_only():
    bare = re.compile(r"^\s*(from\s+screens[\s.]|import\s+screens\b)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in TUI_FILES if bare.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_tui_helpers_that_run_in_threads_do_not_import_textual():
    code = ("import sys, owner_tui.tui.jobs, owner_tui.tui.store_thread, owner_tui.when, owner_tui.templates; "
            "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_screen_stylesheet_exists_beside_its_screen():
    for path in sorted((ROOT / "screens").glob("*.py")):
        for css in re.findall(r'CSS_PATH = "([^"]+)"', path.read_text(encoding="utf-8")):
            assert (path.parent / css).is_file(), (path.name, css)
    assert (ROOT / "owner_tui" / "tui" / "app.tcss").is_file()


def test_run_refuses_a_file_that_is_not_a_store_before_taking_the_terminal(tmp_path):
    import pytest

    from owner_tui.config import Config
    from owner_tui.store import StoreError
    from owner_tui.tui.app import run

    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not an owner-tui database"):
        run(bad, Config())
