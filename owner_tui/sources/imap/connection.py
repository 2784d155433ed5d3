"""An IMAP account's settings, and a logged-in IMAPClient made from them.

Blocking code: call it from a worker thread, never from the UI thread. Every failure comes out
as a ``MailError`` in plain words (DNS, refused, TLS, certificate, login, secret), so callers
never show a traceback. The password or token is fetched at connect time and kept only in
this function's frame.
"""

from __future__ import annotations

import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError

from owner_tui.config import AccountConfig, ConfigError
from owner_tui.sources.imap.errors import MailError, as_mail_error

SECURITY = ("tls", "starttls", "none")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
DEFAULT_BATCH = 250
#: Gmail saves what its SMTP server sends into "[Gmail]/Sent Mail" by itself.
SELF_SAVING_SMTP_HOSTS = ("smtp.gmail.com", "smtp.googlemail.com")
#: Options that may go into ``accounts.settings`` in the database (never a secret source).
PUBLIC_KEYS = ("host", "port", "security", "user", "address", "sent_folder", "folders", "smtp_host",
               "smtp_port", "smtp_security", "smtp_saves_sent", "auth")

SecretGetter = Callable[[str], str]


def _int(options: Mapping[str, Any], key: str, default: int, name: str, lo: int = 1, hi: int = 65535) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"accounts.{name}.{key} must be a whole number from {lo} to {hi}, not {value!r}",
                          key=f"accounts.{name}.{key}")
    return value


def _delay(options: Mapping[str, Any], name: str) -> float:
    value = options.get("retry_delay", 2.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 300:
        raise ConfigError(f"accounts.{name}.retry_delay must be a number of seconds from 0 to 300, not {value!r}",
                          key=f"accounts.{name}.retry_delay")
    return float(value)


def _security(options: Mapping[str, Any], key: str, name: str) -> str:
    value = str(options.get(key, "tls")).lower()
    if value not in SECURITY:
        raise ConfigError(f"accounts.{name}.{key} must be \"tls\", \"starttls\" or \"none\", not {value!r}",
                          key=f"accounts.{name}.{key}")
    return value


@dataclass(frozen=True)
class ImapSettings:
    """The typed view of one ``[accounts.NAME]`` table with ``kind = "imap"``."""

    name: str
    host: str
    user: str
    port: int = 993
    security: str = "tls"
    address: str = ""
    auth: str = "password"  # or "xoauth2" (token from token_cmd / token_env / token_keyring)
    sent_folder: str | None = None
    folders: tuple[str, ...] = ()
    tls_ca_file: str | None = None
    timeout: float = 30.0
    batch_size: int = DEFAULT_BATCH
    smtp_host: str | None = None
    smtp_port: int = 465
    smtp_security: str = "tls"
    smtp_user: str = ""
    smtp_saves_sent: bool = False
    #: A login the server answers with a temporary failure (RFC 5530 UNAVAILABLE, LIMIT,
    #: SERVERBUG) is tried again on a new connection this many times, after retry_delay,
    #: then twice that, seconds.
    login_retries: int = 2
    retry_delay: float = 2.0
    options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_account(cls, account: AccountConfig) -> ImapSettings:
        o, name = account.options, account.name
        for key in ("host", "user"):
            if not isinstance(o.get(key), str) or not o.get(key):
                raise ConfigError(f"accounts.{name}.{key} is missing (an IMAP account needs host and user)",
                                  key=f"accounts.{name}.{key}")
        security = _security(o, "security", name)
        auth = str(o.get("auth") or ("xoauth2" if any(o.get(f"token{s}") for s in ("_cmd", "_env", "_keyring"))
                                     else "password")).lower()
        if auth not in ("password", "xoauth2"):
            raise ConfigError(f"accounts.{name}.auth must be \"password\" or \"xoauth2\", not {auth!r}",
                              key=f"accounts.{name}.auth")
        folders = o.get("folders", [])
        if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
            raise ConfigError(f"accounts.{name}.folders must be a list of folder names", key=f"accounts.{name}.folders")
        smtp_host = o.get("smtp_host") or None
        smtp_security = _security(o, "smtp_security", name)
        saves = o.get("smtp_saves_sent")
        if saves is None:
            saves = bool(smtp_host) and str(smtp_host).lower() in SELF_SAVING_SMTP_HOSTS
        user = str(o["user"])
        address = str(o.get("address") or (user if "@" in user else ""))
        return cls(
            name=name, host=str(o["host"]), user=user,
            port=_int(o, "port", DEFAULT_PORTS[security], name), security=security,
            address=address.lower(), auth=auth,
            sent_folder=o.get("sent_folder") or None, folders=tuple(folders),
            tls_ca_file=o.get("tls_ca_file") or None,
            timeout=float(_int(o, "timeout", 30, name, 1, 600)),
            batch_size=_int(o, "batch_size", DEFAULT_BATCH, name, 1, 5000),
            smtp_host=smtp_host, smtp_port=_int(o, "smtp_port", 465 if smtp_security == "tls" else 587, name),
            smtp_security=smtp_security, smtp_user=str(o.get("smtp_user") or user),
            smtp_saves_sent=bool(saves), login_retries=_int(o, "login_retries", 2, name, 0, 10),
            retry_delay=_delay(o, name), options=o,
        )

    def public_settings(self) -> dict[str, Any]:
        """What may be stored in the database: never a secret or a secret command."""
        return {k: v for k, v in self.options.items() if k in PUBLIC_KEYS} | {"address": self.address}

    def ssl_context(self) -> ssl.SSLContext:
        """System trust store, or only ``tls_ca_file`` when set (a self-hosted server's cert)."""
        if self.tls_ca_file:
            return ssl.create_default_context(cafile=self.tls_ca_file)
        return ssl.create_default_context()

    def secret(self, getter: SecretGetter | None = None) -> str:
        kind = "token" if self.auth == "xoauth2" else "password"
        if getter is not None:
            return getter(kind)
        from owner_tui.secrets import resolve_secret

        return resolve_secret(self.options, kind, self.name)


#: Error kinds where the server itself said "not now": worth a new connection after a pause.
TEMPORARY_LOGIN_KINDS = ("unavailable", "limit", "server")


def connect(settings: ImapSettings, *, secrets: SecretGetter | None = None, timeout: float | None = None,
            sleep: Callable[[float], None] = time.sleep) -> IMAPClient:
    """A logged-in client (TLS or STARTTLS as configured), CONDSTORE enabled when offered.

    A temporary refusal from the server (``[UNAVAILABLE]``...) is retried on a new connection,
    ``settings.login_retries`` times with a growing pause. Raises ``MailError`` whose message
    says which step failed.
    """
    attempt = 0
    while True:
        try:
            return _connect_once(settings, secrets=secrets, timeout=timeout)
        except MailError as err:
            if not (err.retryable and err.kind in TEMPORARY_LOGIN_KINDS) or attempt >= settings.login_retries:
                raise
            sleep(settings.retry_delay * (2 ** attempt))
            attempt += 1


def _connect_once(settings: ImapSettings, *, secrets: SecretGetter | None = None,
                  timeout: float | None = None) -> IMAPClient:
    host, port = settings.host, settings.port
    try:  # loading the system trust store costs ~30 ms: only when TLS is used
        ctx = settings.ssl_context() if settings.security != "none" else None
    except (OSError, ssl.SSLError) as exc:
        raise MailError(f"cannot read tls_ca_file {settings.tls_ca_file}: {getattr(exc, 'strerror', None) or exc}",
                        "config") from None
    try:
        client = IMAPClient(host, port, ssl=settings.security == "tls", ssl_context=ctx,
                            timeout=timeout or settings.timeout)
    except Exception as exc:
        raise as_mail_error(exc, host=host, port=port) from None
    client.normalise_times = False  # INTERNALDATE as an aware datetime, not local naive time
    try:
        if settings.security == "starttls":
            try:
                client.starttls(ctx)
            except CapabilityError:
                raise MailError(f"{host}:{port} does not offer STARTTLS; use security = \"tls\" "
                                "(port 993) or fix the port", "tls") from None
        try:
            secret = settings.secret(secrets)
        except Exception as exc:
            raise as_mail_error(exc) from None
        try:
            if settings.auth == "xoauth2":
                client.oauth2_login(settings.user, secret)
            else:
                client.login(settings.user, secret)
        except Exception as exc:
            err = as_mail_error(exc, host=host, port=port, user=settings.user)
            if settings.auth == "xoauth2" and err.kind == "login":
                err = MailError(f"XOAUTH2 login refused for {settings.user}: the token from token_cmd is "
                                "expired, wrong, or the server does not offer XOAUTH2", "login")
            raise err from None
        finally:
            secret = ""
        if client.has_capability("CONDSTORE") and client.has_capability("ENABLE"):
            client.enable("CONDSTORE")  # SELECT then reports HIGHESTMODSEQ (RFC 7162 3.1)
        if client.has_capability("X-GM-EXT-1") and client.has_capability("ID"):
            client.id_({"name": "owner-tui"})  # Gmail asks clients to identify themselves
    except BaseException as exc:
        _shutdown(client)
        if isinstance(exc, MailError):
            raise
        if isinstance(exc, Exception):
            raise as_mail_error(exc, host=host, port=port, user=settings.user) from None
        raise
    return client


def _shutdown(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:
        pass


def close(client: IMAPClient) -> None:
    """Log out politely; a dead connection is just closed."""
    try:
        client.logout()
    except Exception:
        _shutdown(client)


@contextmanager
def session(settings: ImapSettings, *, secrets: SecretGetter | None = None) -> Iterator[IMAPClient]:
    client = connect(settings, secrets=secrets)
    try:
        yield client
    finally:
        close(client)
