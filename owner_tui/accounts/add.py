"""Adding an account: the ``[accounts.NAME]`` table written to config.toml (owner-only, atomic),
never a secret, only *how* to get it (``password_cmd``, ``password_env``, ``password_keyring``,
``token_cmd``). Used by ``owner-tui accounts add`` and the TUI's account form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from owner_tui.config import ConfigError, load_config, parse_config
from owner_tui.paths import write_private_text

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string: \" \\ \n \t \uXXXX are the same escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to config.toml")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def render_account(name: str, kind: str, options: Mapping[str, Any]) -> str:
    """The ``[accounts.NAME]`` table as TOML text."""
    lines = [f"[accounts.{_toml_key(name)}]", f"kind = {_toml_value(kind)}"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in options.items() if v is not None and v != []]
    return "\n".join(lines) + "\n"


def add_account(config_path: Path, name: str, kind: str, options: Mapping[str, Any]) -> None:
    """Append the account to config.toml, after checking the whole result still loads.

    Raises ``ConfigError`` (a taken name, a secret written as a value...). The file is
    rewritten atomically with owner-only permissions; the rest of it is kept byte for byte.
    """
    existing = load_config(config_path)  # a broken file is reported, not appended to
    if any(a.name == name for a in existing.accounts):
        raise ConfigError(f"an account named {name!r} already exists", key=f"accounts.{name}", path=config_path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if text and not text.endswith("\n"):
        text += "\n"
    new = text + ("\n" if text else "") + render_account(name, kind, options)
    parse_config(new, config_path)  # refuses e.g. password = "..." before anything is written
    write_private_text(config_path, new)
