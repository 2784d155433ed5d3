"""Adding a Google Business Profile: keep the refresh token safe (``owner-tui accounts add google``
in ``cli/accounts.py`` signs in and picks locations).

The consent flow (``sources/reviews/oauth.py``) opens Google's page and catches the answer on a
loopback port. The refresh token it returns is a long-lived secret: it goes to the system
keyring when one is available, else to an owner-only token file that the config reads with
``refresh_token_cmd`` — never into config.toml and never onto the screen.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Callable

from owner_tui.paths import write_private_text
from owner_tui.secrets import SecretError, store_in_keyring


def save_refresh_token(name: str, token: str, store: str, token_dir: Path,
                       say: Callable[[str], object] = lambda _text: None) -> dict[str, Any]:
    """Keep the refresh token; returns the config options that read it back. ``say`` hears why
    the keyring was passed over."""
    if store in ("auto", "keyring"):
        try:
            store_in_keyring(name, "refresh_token", token)
            return {"refresh_token_keyring": True}
        except SecretError as exc:
            if store == "keyring":
                raise
            say(f"note: {exc}; keeping the token in an owner-only file instead")
    path = token_dir / f"{name}.refresh-token"
    write_private_text(path, token + "\n")
    return {"refresh_token_cmd": f"cat {shlex.quote(str(path))}"}
