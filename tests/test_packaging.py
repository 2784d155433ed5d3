"""The card's layout: top-level screens/ installed as owner_tui.screens, .tcss included."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_no_code_imports_bare_screens():
    bad = []
    for path in [*ROOT.glob("owner_tui/**/*.py"), *ROOT.glob("screens/**/*.py"), *ROOT.glob("tests/**/*.py"),
                 *ROOT.glob("bench/**/*.py")]:
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(from\s+screens(\.|\s)|import\s+screens\b)", line):
                bad.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert bad == []


#: The only modules of the package that may import Textual (plus owner_tui.screens).
UI_MODULES = {"owner_tui/app.py", "owner_tui/keys.py", "owner_tui/live_mail.py"}


def test_store_and_sources_never_import_textual():
    bad = []
    for path in ROOT.glob("owner_tui/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in UI_MODULES or rel.startswith("owner_tui/widgets/"):
            continue
        if re.search(r"^\s*(from|import)\s+textual", path.read_text(encoding="utf-8"), re.M):
            bad.append(rel)
    assert bad == []


def test_core_modules_load_without_textual():
    """Every non-UI module, imported for real: none pulls Textual in (also not indirectly)."""
    core = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
                  for p in ROOT.glob("owner_tui/**/*.py")
                  if p.relative_to(ROOT).as_posix() not in UI_MODULES and "widgets" not in p.parts
                  and p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for m in {core!r}:\n    importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_wheel_contains_screens_and_stylesheets(tmp_path):
    res = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    [wheel] = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    screens = [n for n in names if n.startswith("owner_tui/screens/")]
    assert "owner_tui/screens/__init__.py" in screens
    expected_tcss = {f"owner_tui/screens/{p.name}" for p in (ROOT / "screens").glob("*.tcss")}
    assert expected_tcss and expected_tcss <= set(names)
    assert not any(n.startswith("screens/") for n in names)
