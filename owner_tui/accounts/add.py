"""Adding an account: the ``[accounts.NAME]`` table written to config.toml (owner-only, atomic),
never a secret, only *how* to get it (``password_cmd``, ``password_env``, ``password_keyring``,
``token_cmd``). Used by ``owner-tui accounts add`` and the TUI's account form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import tomli_w

from owner_tui.config import ConfigError, load_config, parse_config
from owner_tui.paths import write_private_text


def render_account(name: str, kind: str, options: Mapping[str, Any]) -> str:
    """The ``[accounts.NAME]`` table as TOML text, written by ``tomli_w`` (hand-made TOML
    wrote a DEL character raw, which no TOML reader accepts)."""
    table = {"kind": kind, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()
                              if v is not None and v != []}}
    for key, value in [("name", name), *table.items()]:
        for text in (value if isinstance(value, list) else [value]):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise ConfigError(f"{key}: not valid text (a stray surrogate character)",
                                      key=f"accounts.{key}") from None
    try:
        return tomli_w.dumps({"accounts": {name: table}}, multiline_strings=False)
    except TypeError as exc:
        raise ConfigError(f"cannot be written to config.toml: {exc}", key=f"accounts.{name}") from None


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
