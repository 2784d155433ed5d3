"""Where owner-tui keeps its files: platformdirs locations, or one folder under OWNER_TUI_HOME.

Nothing is created on import; ``ensure_private_dir`` makes a folder (mode 0700) when a command
actually needs it, and ``private_file`` opens files with owner-only permissions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "owner-tui"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "owner-tui.db"

    @property
    def drafts_dir(self) -> Path:
        return self.data_dir / "drafts"

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "owner-tui.log"


def get_paths(env: dict[str, str] | None = None) -> Paths:
    """The locations in force: ``OWNER_TUI_HOME`` (all in one folder) or platformdirs."""
    env = os.environ if env is None else env
    home = env.get("OWNER_TUI_HOME")
    if home:
        base = Path(home).expanduser()
        return Paths(config_dir=base, data_dir=base, state_dir=base / "state")
    import platformdirs

    return Paths(
        config_dir=Path(platformdirs.user_config_dir(APP)),
        data_dir=Path(platformdirs.user_data_dir(APP)),
        state_dir=Path(platformdirs.user_state_dir(APP)),
    )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents readable by the owner only.

    Folders that already exist are left alone: the database may live in a shared folder such
    as ``/tmp``, and tightening that would break every other user of it.
    """
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask
    return path


def make_private(path: Path) -> None:
    """Restrict an existing file to the owner (database, its WAL, config, tokens).

    Only takes rights away (group and others): a file the owner made read-only stays
    read-only."""
    try:
        mode = os.stat(path).st_mode & 0o7777
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
    except FileNotFoundError:
        pass


def write_private_text(path: Path, text: str) -> None:
    """Write a file that only the owner can read, atomically (write + rename)."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
