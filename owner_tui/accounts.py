"""``owner-tui accounts``: add an IMAP account (or a Google profile: accounts_google.py), test one, list them.

``add imap`` asks for what it needs (or takes it as options, for scripts), writes an
``[accounts.NAME]`` table to config.toml (owner-only permissions) and never a secret: only
*how* to get it (``password_cmd``, ``password_env``, ``password_keyring = true``, or
``token_cmd`` for XOAUTH2). ``test`` connects and says, one line per step, exactly what
works and what failed: DNS, connection, TLS/certificate, login, folders, SMTP.

The TUI uses the same pure functions: ``render_account``, ``add_account``, ``check_account``
(blocking: call from a worker thread).
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import click

from .config import AccountConfig, ConfigError, load_config, parse_config
from .paths import write_private_text

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
SECRET_SOURCES = ("cmd", "env", "keyring", "token-cmd")


# -- writing the config -----------------------------------------------------------------------

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


# -- testing an account -----------------------------------------------------------------------

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
                 "folder": "folders", "config": "config", "protocol": "login"}


def check_account(account: AccountConfig, *, secrets: Callable[[str], str] | None = None) -> list[Check]:
    """Run the checks in order and stop at the first failure (later steps depend on it)."""
    from .secrets import describe_source
    from .sources.imap import resolve_folders
    from .sources.imap_conn import ImapSettings, close, connect
    from .sources.imap_errors import MailError, as_mail_error

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
    from .secrets import resolve_secret
    from .sources.imap_errors import describe_error

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


# -- the commands -----------------------------------------------------------------------------

@click.group("accounts")
def accounts_group() -> None:
    """List, add and test accounts."""


@accounts_group.command("list")
@click.pass_obj
def list_command(obj) -> None:
    """The configured accounts, how each gets its secret, and their last sync."""
    from .secrets import describe_source

    config = _config(obj)
    if not config.accounts:
        click.echo("no accounts configured: owner-tui accounts add imap")
        return
    for acc in config.accounts:
        source = describe_source(acc.options, "token") or describe_source(acc.options, "password") or "-"
        where = acc.options.get("host") or ""
        click.echo(f"{acc.name}  ({acc.kind}{', ' + str(where) if where else ''})  secret: {source}")


@accounts_group.group("add")
def add_group() -> None:
    """Add an account to config.toml (no secret is ever written to it)."""


@add_group.command("imap")
@click.argument("name", required=False)
@click.option("--host", help="IMAP server, e.g. imap.example.com")
@click.option("--security", type=click.Choice(["tls", "starttls", "none"]), help="tls: port 993; starttls: 143")
@click.option("--port", type=click.IntRange(1, 65535))
@click.option("--user", help="Login name (often the address)")
@click.option("--address", help="Your address on this account (replies go out from it)")
@click.option("--secret", "secret_kind", type=click.Choice(SECRET_SOURCES),
              help="cmd: a command prints the password (pass, gopass...); env: an environment variable; "
                   "keyring: the system keyring; token-cmd: a command prints an OAuth2 token (XOAUTH2)")
@click.option("--password-cmd", help="Command whose output is the password (run with sh -c)")
@click.option("--password-env", help="Environment variable that holds the password")
@click.option("--token-cmd", help="Command that prints a current OAuth2 access token")
@click.option("--sent-folder", help="Sent folder name, if it cannot be found by itself")
@click.option("--smtp-host", help="SMTP server for replies (empty: no replies from this account)")
@click.option("--smtp-port", type=click.IntRange(1, 65535))
@click.option("--smtp-security", type=click.Choice(["tls", "starttls", "none"]))
@click.option("--tls-ca-file", type=click.Path(dir_okay=False), help="Trust only this certificate (self-hosted)")
@click.option("--test/--no-test", "run_test", default=None, help="Test the connection after adding.")
@click.pass_obj
def add_imap(obj, name, host, security, port, user, address, secret_kind, password_cmd, password_env, token_cmd,
             sent_folder, smtp_host, smtp_port, smtp_security, tls_ca_file, run_test) -> None:
    """Add an IMAP (+ SMTP) mail account. Asks for whatever is not given as an option."""
    config_path = obj.config_path
    _config(obj)  # a broken config is reported before any question
    name = name or click.prompt("Account name", default="mail")
    host = host or click.prompt("IMAP server (e.g. imap.example.com)")
    security = security or click.prompt("Security", type=click.Choice(["tls", "starttls", "none"]), default="tls")
    port = port or click.prompt("Port", type=click.IntRange(1, 65535), default=993 if security == "tls" else 143)
    user = user or click.prompt("Login name")
    address = address or click.prompt("Your email address", default=user if "@" in user else "")
    if password_cmd:
        secret_kind = "cmd"
    elif password_env:
        secret_kind = "env"
    elif token_cmd:
        secret_kind = "token-cmd"
    secret_kind = secret_kind or click.prompt(
        "How to get the password: cmd (a command prints it), env (environment variable), keyring, "
        "token-cmd (OAuth2 for Gmail/Outlook)", type=click.Choice(SECRET_SOURCES), default="cmd")
    options: dict[str, Any] = {"host": host, "port": port, "security": security, "user": user,
                               "address": address or None}
    if secret_kind == "cmd":
        options["password_cmd"] = password_cmd or click.prompt("Password command (e.g. pass show mail/imap)")
    elif secret_kind == "env":
        options["password_env"] = password_env or click.prompt("Environment variable name", default="OWNER_TUI_PASSWORD")
    elif secret_kind == "token-cmd":
        options["auth"] = "xoauth2"
        options["token_cmd"] = token_cmd or click.prompt("Access-token command (e.g. mutt_oauth2.py token.gpg)")
    else:
        from .secrets import SecretError, store_in_keyring

        password = click.prompt("Password (saved in the system keyring, not in the config)", hide_input=True)
        try:
            store_in_keyring(name, "password", password)
        except SecretError as exc:
            raise click.ClickException(f"{exc}; choose --secret cmd or env instead") from None
        options["password_keyring"] = True
    if sent_folder:
        options["sent_folder"] = sent_folder
    if tls_ca_file:
        options["tls_ca_file"] = str(Path(tls_ca_file).expanduser().resolve())
    if smtp_host is None and run_test is None:  # interactive: offer SMTP
        smtp_host = click.prompt("SMTP server for replies (empty: none)", default="", show_default=False)
    if smtp_host:
        smtp_security = smtp_security or click.prompt("SMTP security", type=click.Choice(["tls", "starttls", "none"]),
                                                      default="starttls" if smtp_port == 587 else "tls")
        smtp_port = smtp_port or click.prompt("SMTP port", type=click.IntRange(1, 65535),
                                              default=465 if smtp_security == "tls" else 587)
        options.update(smtp_host=smtp_host, smtp_port=smtp_port, smtp_security=smtp_security)
    try:
        add_account(config_path, name, "imap", options)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    click.echo(f"added [accounts.{name}] to {config_path}")
    if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo("warn security: the password will travel unencrypted; prefer security = \"tls\"")
    if run_test is None:
        run_test = click.confirm("Test the connection now?", default=True)
    if run_test:
        acc = AccountConfig(name=name, kind="imap", options=MappingProxyType(options))
        _report(check_account(acc))


@accounts_group.command("test")
@click.argument("name")
@click.pass_obj
def test_command(obj, name: str) -> None:
    """Connect with an account's settings and say exactly what works and what fails."""
    config = _config(obj)
    try:
        acc = config.account(name)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    if acc.kind != "imap":
        raise _UsageError(f"accounts test checks mail accounts; {name} is a {acc.kind} account "
                          f"(`owner-tui sync -a {name}` tries it)")
    _report(check_account(acc))


class _UsageError(click.ClickException):
    exit_code = 2


def _config(obj):
    try:
        return obj.config
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None


def _report(checks: list[Check]) -> None:
    for c in checks:
        click.echo(c.line())
    if any(c.ok is False for c in checks):
        click.get_current_context().exit(1)


from . import accounts_google  # noqa: E402,F401  (registers `accounts add google`)
