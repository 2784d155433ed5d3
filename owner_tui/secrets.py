"""Fetch an account's secret when it is needed, from where the owner keeps it.

Three ways, as terminal mail clients do (aerc's ``source-cred-cmd``, himalaya's ``auth.cmd``):
``<name>_cmd`` runs with ``sh -c`` and the first line of its stdout is the secret (``pass show``
prints the password first, then other fields; aerc, himalaya and git credential helpers read
it the same way);
``<name>_env`` names an environment variable; ``<name>_keyring = true`` asks the system
keyring (service ``owner-tui:<account>``, user ``<name>``). The secret is never logged, and
errors say which source failed without echoing what it printed: a command's stderr is never
shown or stored (a failing ``pass`` or ``gpg`` may print part of what it decrypted).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

KEYRING_SERVICE = "owner-tui"


class SecretError(Exception):
    """The secret could not be fetched; the message is safe to show."""


def describe_source(options: Mapping[str, Any], name: str) -> str | None:
    """Which way this secret is configured, for ``doctor`` and error messages."""
    if options.get(f"{name}_cmd"):
        return f"{name}_cmd"
    if options.get(f"{name}_env"):
        return f"{name}_env ({options[f'{name}_env']})"
    if options.get(f"{name}_keyring"):
        return f"{name}_keyring"
    return None


def resolve_secret(options: Mapping[str, Any], name: str, account: str, *, timeout: float = 30.0,
                   env: Mapping[str, str] | None = None) -> str:
    """Return the secret ``name`` ("password", "refresh_token", ...) for ``account``."""
    env = os.environ if env is None else env
    cmd = options.get(f"{name}_cmd")
    if cmd:
        import subprocess  # only a *_cmd secret needs it: kept off the start-up path

        try:
            proc = subprocess.run(["sh", "-c", str(cmd)] if isinstance(cmd, str) else [str(c) for c in cmd],
                                  capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SecretError(f"{account}: {name}_cmd did not finish within {timeout:.0f} s") from None
        except OSError as exc:
            raise SecretError(f"{account}: {name}_cmd could not run: {exc.strerror}") from None
        if proc.returncode != 0:
            raise SecretError(f"{account}: {name}_cmd exited with status {proc.returncode} "
                              f"(run it yourself to see why)")
        lines = proc.stdout.decode("utf-8", "replace").lstrip("\r\n").splitlines()
        value = lines[0].strip() if lines else ""
        if not value:
            raise SecretError(f"{account}: {name}_cmd printed nothing on its first line")
        return value
    var = options.get(f"{name}_env")
    if var:
        value = env.get(str(var), "")
        if not value:
            raise SecretError(f"{account}: environment variable {var} is not set")
        return value
    if options.get(f"{name}_keyring"):
        try:
            import keyring  # optional extra: pip install 'owner-tui[keyring]'
            from keyring.errors import KeyringError
        except ImportError:
            raise SecretError(f"{account}: {name}_keyring needs the keyring package "
                              "(pip install 'owner-tui[keyring]')") from None
        try:
            value = keyring.get_password(f"{KEYRING_SERVICE}:{account}", name)
        except KeyringError as exc:
            raise SecretError(f"{account}: the system keyring is not available ({type(exc).__name__}); "
                              f"use {name}_cmd or {name}_env instead") from None
        if not value:
            raise SecretError(f"{account}: no {name} in the keyring for service {KEYRING_SERVICE}:{account}")
        return value
    raise SecretError(f"{account}: no way to get the {name}: set {name}_cmd, {name}_env or {name}_keyring")


def store_in_keyring(account: str, name: str, value: str) -> None:
    """Save a secret (e.g. a refresh token from a consent flow) in the system keyring."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise SecretError("the keyring package is not installed (pip install 'owner-tui[keyring]')") from None
    try:
        keyring.set_password(f"{KEYRING_SERVICE}:{account}", name, value)
    except KeyringError as exc:
        raise SecretError(f"could not save to the system keyring ({type(exc).__name__})") from None
