"""The layout: top-level screens/ installed as owner_tui.screens with its .tcss, Textual only in
the UI folders, and no import cycle between modules (ARCHITECTURE.md)."""

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


#: The only folders that may import Textual: the app and what only it uses, and the screens.
UI_FOLDERS = ("owner_tui/tui/", "screens/")


def _is_ui(rel: str) -> bool:
    return rel.startswith(UI_FOLDERS)


def test_only_the_ui_folders_import_textual():
    bad = []
    for path in [*ROOT.glob("owner_tui/**/*.py"), *ROOT.glob("screens/**/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if _is_ui(rel):
            continue
        if re.search(r"^\s*(from|import)\s+textual", path.read_text(encoding="utf-8"), re.M):
            bad.append(rel)
    assert bad == []


def test_no_import_cycle_between_modules():
    """Lazy imports inside functions count too: a cycle hidden in a function is still a cycle."""
    from tests.import_graph import cycles, graph

    g = graph()
    assert len(g) > 60  # the scan found the package
    assert cycles(g) == []


def test_the_cycle_check_finds_a_cycle():
    from tests.import_graph import cycles

    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_on_disk_is_installed():
    """A new folder under owner_tui/ that pyproject.toml does not list would be missing from the wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("owner_tui/**/__init__.py")}
    on_disk.add("owner_tui.screens")
    assert on_disk == listed


def test_core_modules_load_without_textual():
    """Every non-UI module, imported for real: none pulls Textual in (also not indirectly)."""
    core = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
                  for p in ROOT.glob("owner_tui/**/*.py")
                  if not _is_ui(p.relative_to(ROOT).as_posix()) and p.name != "__main__.py")
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
    assert "owner_tui/tui/app.tcss" in names
    screens = [n for n in names if n.startswith("owner_tui/screens/")]
    assert "owner_tui/screens/__init__.py" in screens
    expected_tcss = {f"owner_tui/screens/{p.name}" for p in (ROOT / "screens").glob("*.tcss")}
    assert expected_tcss and expected_tcss <= set(names)
    assert not any(n.startswith("screens/") for n in names)
