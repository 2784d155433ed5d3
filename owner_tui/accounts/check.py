"""Testing a mail account: connect with its settings and say, one line per step, exactly what
works and what failed: the secret, DNS, connection, TLS/certificate, login, folders, SMTP.

Blocking: the TUI calls ``check_account`` from a worker thread; ``owner-tui accounts test``
prints its lines.
"""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from owner_tui.config import AccountConfig, ConfigError


@dataclass(frozen=True)
class Check:
    step: str
    ok: bool | None  # None: a warning, not a failure
    detail: str

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "warn"}[self.ok]
        return f"{mark} {self.step}: {self.detail}"


_STEP_OF_KIND = {"dns": "dns", "refused": "connect", "timeout": "connect", "unreachable": "connect",
                 "closed": "connect", "tls": "tls", "certificate": "tls", "login": "login", "secret": "password",
                 "folder": "folders", "config": "config", "protocol": "login", "authorization": "login",
                 "expired": "login", "unavailable": "login", "privacy": "tls", "contactadmin": "login",
                 "limit": "login", "overquota": "folders", "permission": "folders", "server": "login"}


def check_account(account: AccountConfig, *, secrets: Callable[[str], str] | None = None) -> list[Check]:
    """Run the checks in order and stop at the first failure (later steps depend on it)."""
    from owner_tui.secrets import describe_source
    from owner_tui.sources.imap.connection import ImapSettings, close, connect
    from owner_tui.sources.imap.errors import MailError, as_mail_error
    from owner_tui.sources.imap.sync import resolve_folders

    checks: list[Check] = []
    try:
        s = ImapSettings.from_account(account)
    except ConfigError as exc:
        return [Check("config", False, str(exc))]
    which = "token" if s.auth == "xoauth2" else "password"
    try:
        secret = s.secret(secrets)
    except Exception as exc:
        return [Check(which, False, str(as_mail_error(exc)))]
    checks.append(Check(which, True, f"read from {describe_source(s.options, which) or 'the given source'}"))
    try:
        addrs = sorted({ai[4][0] for ai in socket.getaddrinfo(s.host, s.port, type=socket.SOCK_STREAM)})
    except OSError as exc:
        return checks + [Check("dns", False, str(as_mail_error(exc, host=s.host, port=s.port)))]
    checks.append(Check("dns", True, f"{s.host} is {', '.join(addrs[:3])}"))
    how = {"tls": "TLS", "starttls": "STARTTLS", "none": "no encryption"}[s.security]
    try:
        client = connect(s, secrets=lambda _which: secret)
    except MailError as exc:
        return checks + [Check(_STEP_OF_KIND.get(exc.kind, "connect"), False, str(exc))]
    try:
        checks.append(Check("login", True, f"logged in as {s.user} on {s.host}:{s.port} ({how})"))
        if s.security == "none" and s.host not in ("127.0.0.1", "localhost", "::1"):
            checks.append(Check("security", None, "the password travels unencrypted: use security = \"tls\""))
        try:
            plan, notes = resolve_folders(client, s)
            info = client.select_folder("INBOX", readonly=True)
        except Exception as exc:
            err = as_mail_error(exc, host=s.host, port=s.port, user=s.user)
            return checks + [Check(_STEP_OF_KIND.get(err.kind, "folders"), False, str(err))]
        sent = [f for f, role in plan if role == "sent"]
        extra = [f for f, role in plan if role == "extra"]
        checks.append(Check("folders", True, f"INBOX ({info.get(b'EXISTS', 0)} messages)"
                            + (f", Sent is {sent[0]!r}" if sent else "") + (f", also {', '.join(extra)}" if extra else "")))
        for note in notes:
            checks.append(Check("sent", None, note))
        caps = {c.decode() for c in client.capabilities()}
        missing = [c for c in ("IDLE", "CONDSTORE") if c not in caps]
        checks.append(Check("server", True if not missing else None,
                            "IDLE and CONDSTORE offered" if not missing else
                            f"no {' or '.join(missing)}: new mail shows at the next sync; syncs do a bit more work"))
    finally:
        close(client)
    if s.smtp_host:
        checks.append(check_smtp(s, account.options, secrets=secrets))
    else:
        checks.append(Check("smtp", None, "no smtp_host: replies cannot be sent from this account"))
    return checks


def check_smtp(s, options: Mapping[str, Any], *, secrets: Callable[[str], str] | None = None) -> Check:
    """Connect, (STARTTLS), log in, QUIT: nothing is sent."""
    from owner_tui.secrets import resolve_secret
    from owner_tui.sources.imap.errors import describe_error

    get = secrets or (lambda which: resolve_secret(options, which, s.name))
    which = "smtp_password" if any(options.get(f"smtp_password{x}") for x in ("_cmd", "_env", "_keyring")) \
        else ("token" if s.auth == "xoauth2" else "password")
    where = f"{s.smtp_host}:{s.smtp_port}"
    conn = None
    try:
        secret = get(which)
        ctx = s.ssl_context()
        if s.smtp_security == "tls":
            conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout, context=ctx)
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
        conn.ehlo()
        if s.smtp_security == "starttls":
            if not conn.has_extn("starttls"):
                return Check("smtp", False, f"{where} does not offer STARTTLS; use smtp_security = \"tls\"")
            conn.starttls(context=ctx)
            conn.ehlo()
        if which == "token":
            sasl = f"user={s.smtp_user}\x01auth=Bearer {secret}\x01\x01"
            conn.auth("XOAUTH2", lambda challenge=None: sasl if challenge is None else "")
        else:
            conn.login(s.smtp_user, secret)
        conn.quit()
        return Check("smtp", True, f"logged in as {s.smtp_user} on {where}")
    except Exception as exc:
        if conn is not None:
            conn.close()
        return Check("smtp", False, describe_error(exc, host=s.smtp_host, port=s.smtp_port, user=s.smtp_user))
