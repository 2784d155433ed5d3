"""Access tokens kept across runs, so a cron ``owner-tui sync`` does not sign in afresh each time.

Trustpilot's access token lasts 100 hours and Trustpilot answers 429 to too-frequent
authentication (external-apis.md 2.1); Google's lasts an hour. Each run used to start with an
empty in-memory cache, so every cron run did a password grant. Tokens now live in the system
keyring when one works (``keyring`` installed and a real backend), else in an owner-only file
``tokens.json`` (mode 0600, folder 0700) in the state folder. Never in the config, the
database, a log or an error message.

An entry is keyed by a hash of (token URL, client id, login) and holds the access token, its
expiry on the wall clock (the monotonic clock does not survive the process), a refresh token
when the platform issues one, and ``not_before``: when the token endpoint answered 429, the
time before which no run asks it again (the wait is carried over to the next run instead of
retrying at once).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

KEYRING_SERVICE = "owner-tui:tokens"
_LOCK = threading.Lock()
#: Process memory in front of the file/keyring (and the only store when neither works).
_MEMORY: dict[str, dict[str, Any]] = {}


def _keyring():
    """The keyring module if it has a backend that really stores secrets, else None."""
    if os.environ.get("OWNER_TUI_TOKEN_STORE", "").lower() == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail, null
    except Exception:  # not installed (it is an optional extra)
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)) or getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


def token_file() -> Path:
    from owner_tui.paths import get_paths

    return get_paths().state_dir / "tokens.json"


class TokenStore:
    """get/put/drop token entries (plain dicts) by key; failures to persist never stop a sync."""

    def __init__(self, path: Path | None = None, *, use_keyring: bool | None = None) -> None:
        self.path = path
        self.keyring = _keyring() if use_keyring is None else (_keyring() if use_keyring else None)

    def _file(self) -> Path:
        return self.path or token_file()

    def _read_file(self) -> dict[str, Any]:
        try:
            data = json.loads(self._file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        with _LOCK:
            if key in _MEMORY:
                return dict(_MEMORY[key])
            entry: Any = None
            if self.keyring is not None:
                try:
                    raw = self.keyring.get_password(KEYRING_SERVICE, key)
                    entry = json.loads(raw) if raw else None
                except Exception:
                    entry = None
            else:
                entry = self._read_file().get(key)
            if isinstance(entry, dict):
                _MEMORY[key] = entry
                return dict(entry)
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        with _LOCK:
            _MEMORY[key] = dict(entry)
            try:
                if self.keyring is not None:
                    self.keyring.set_password(KEYRING_SERVICE, key, json.dumps(entry))
                    return
                from owner_tui.paths import write_private_text

                data = self._read_file()
                data[key] = entry
                write_private_text(self._file(), json.dumps(data, indent=1, sort_keys=True))
            except Exception:
                pass  # a cache: the next run signs in again, which is what happened before

    def update(self, key: str, **changes: Any) -> None:
        entry = self.get(key) or {}
        entry.update(changes)
        self.put(key, entry)

    def drop(self, key: str) -> None:
        with _LOCK:
            _MEMORY.pop(key, None)
            try:
                if self.keyring is not None:
                    self.keyring.delete_password(KEYRING_SERVICE, key)
                    return
                data = self._read_file()
                if data.pop(key, None) is not None:
                    from owner_tui.paths import write_private_text

                    write_private_text(self._file(), json.dumps(data, indent=1, sort_keys=True))
            except Exception:
                pass


def forget_process_memory() -> None:
    """As if a new process started: the next ``get`` reads the file or keyring again."""
    with _LOCK:
        _MEMORY.clear()
