"""Mail errors in plain words: what failed, and what the owner can do about it.

The TUI, ``owner-tui sync`` and ``accounts test`` show these one-line messages instead of a
traceback. Nothing here may echo a secret: messages are built from the host, port, user and
the *kind* of failure, plus at most the server's own text (which never contains our password;
servers answer LOGIN with e.g. ``[AUTHENTICATIONFAILED] Authentication failed.``).
"""

from __future__ import annotations

import errno
import imaplib
import re
import smtplib
import socket
import ssl

#: The kinds ``MailError.kind`` can take; the TUI may pick an icon or a hint per kind.
KINDS = ("dns", "refused", "timeout", "unreachable", "tls", "certificate", "login", "folder",
         "secret", "closed", "protocol", "config", "authorization", "expired", "unavailable", "privacy",
         "contactadmin", "limit", "overquota", "permission", "server")

#: IMAP response codes (RFC 5530, plus RFC 3501's) -> (kind, temporary, plain words). A server
#: that says ``[UNAVAILABLE]`` (its user database did not answer) has not judged the password:
#: it must never be reported as a wrong one, and trying again later is the cure.
RESPONSE_CODES: dict[str, tuple[str, bool, str]] = {
    "AUTHENTICATIONFAILED": ("login", False, "wrong user name or password"),
    "AUTHORIZATIONFAILED": ("authorization", False,
                            "the password was accepted, but this login may not open the mailbox"),
    "EXPIRED": ("expired", False, "the password or the account has expired: set a new one with your provider"),
    "UNAVAILABLE": ("unavailable", True,
                    "the server cannot check logins right now (a temporary failure on its side, not your "
                    "password); it is retried"),
    "PRIVACYREQUIRED": ("privacy", False,
                        "the server refuses this without an encrypted connection: use security = \"tls\" "
                        "or \"starttls\""),
    "CONTACTADMIN": ("contactadmin", False, "the provider wants you to contact them about this account"),
    "NOPERM": ("permission", False, "this login has no permission for that folder"),
    "INUSE": ("unavailable", True, "the mailbox is in use by another session; it is retried"),
    "EXPUNGEISSUED": ("closed", True, "messages were deleted meanwhile by another client; it is retried"),
    "CORRUPTION": ("server", False, "the server reports a damaged mailbox: contact your provider"),
    "SERVERBUG": ("server", True, "the server hit an internal error; it is retried"),
    "CLIENTBUG": ("protocol", False, "the server rejected a command as malformed"),
    "CANNOT": ("protocol", False, "the server cannot do this operation"),
    "LIMIT": ("limit", True, "the server's limit on connections or requests was reached; it is retried"),
    "OVERQUOTA": ("overquota", False, "the mailbox is over its quota: delete or archive mail"),
    "ALREADYEXISTS": ("folder", False, "the folder already exists"),
    "NONEXISTENT": ("folder", False, "the folder does not exist on the server"),
    "TRYCREATE": ("folder", False, "the folder does not exist on the server"),
}
_CODE_RE = re.compile(r"^\s*(?:NO\s+|BAD\s+)?\[([A-Za-z-]+)")


def response_code(exc: BaseException) -> str | None:
    """The RFC 5530 response code at the start of the server's answer, upper-cased, if any."""
    m = _CODE_RE.match(_server_text(exc))
    return m.group(1).upper() if m else None


class MailError(Exception):
    """A mail failure already said in plain words; ``kind`` is one of ``KINDS``.

    ``retryable`` says whether trying again later may help (a dropped connection) or not
    (a wrong password, a missing folder).
    """

    def __init__(self, message: str, kind: str = "protocol", *, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


class FolderMissing(MailError):
    def __init__(self, folder: str, known: list[str] | None = None) -> None:
        hint = f" (folders on the server: {', '.join(known[:12])})" if known else ""
        super().__init__(f"folder {folder!r} does not exist on the server{hint}", "folder")
        self.folder = folder


def _server_text(exc: BaseException) -> str:
    """The server's words from an imaplib/IMAPClient error, cleaned of b'...' wrapping."""
    text = str(exc.args[0] if exc.args else exc)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    text = text.replace("\\r", "").replace("\\n", " ").strip()
    return text[:200]


def _lost_in_login(exc: BaseException) -> bool:
    """IMAPClient turns a connection lost during LOGIN (imaplib's abort, "socket error: EOF")
    into a LoginError: that is a network failure, not a wrong password."""
    return "socket error" in _server_text(exc).lower()


def describe_error(exc: BaseException, *, host: str = "", port: int | None = None, user: str = "") -> str:
    """One line for the owner: wrong password, server unreachable, certificate problem...

    ``host``/``port``/``user`` add context when the caller knows them; ``MailError`` already
    carries its own.
    """
    where = f"{host}:{port}" if host and port else (host or "the server")
    if isinstance(exc, MailError):
        return str(exc)
    from owner_tui.secrets import SecretError

    if isinstance(exc, SecretError):
        what = "the access token" if "token" in str(exc) else "the password"
        return f"could not get {what}: {exc}"
    if isinstance(exc, socket.gaierror):
        name = f"the server {host}" if host else "the server"
        return f"cannot find {name} (DNS lookup failed): check the host name and your internet connection"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or "verification failed"
        return (f"certificate problem with {where}: {reason}. The connection was not trusted; "
                "if this is your own server, set tls_ca_file to its certificate")
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        if reason in ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST"):
            return (f"TLS handshake with {where} failed: the port does not speak TLS straight away; "
                    "try security = \"starttls\" (usually port 143/587) or the TLS port (993/465)")
        return f"TLS problem with {where}: {reason}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection: is the port right, and is the server running?"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"{where} did not answer in time (server unreachable or very slow)"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, EOFError)):
        return f"{where} closed the connection unexpectedly; try again later"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login to the mail server refused for {user or 'this account'}: wrong user name or password"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection unexpectedly; try again later"
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"the mail server refused: {exc.smtp_code} {msg[:200]}"
    if isinstance(exc, smtplib.SMTPException):
        return f"mail server problem: {exc}"[:300]
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN):
            return f"{where} is unreachable (no route to it): check your internet connection"
        return f"network problem with {where}: {exc.strerror or exc}"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"{where} closed the connection unexpectedly ({_server_text(exc)}); try again later"
    if isinstance(exc, imaplib.IMAP4.error):
        from imapclient.exceptions import LoginError

        if isinstance(exc, LoginError) and _lost_in_login(exc):
            return f"{where} closed the connection during login ({_server_text(exc)}); try again later"
        code = response_code(exc)
        if code in RESPONSE_CODES and code != "AUTHENTICATIONFAILED":
            what = "login" if isinstance(exc, LoginError) else "command"
            return (f"{what} at {where} not possible: {RESPONSE_CODES[code][2]} "
                    f"(server said: {_server_text(exc)})")
        if isinstance(exc, LoginError):
            return (f"login refused for {user or 'this account'}: wrong user name or password "
                    f"(server said: {_server_text(exc)})")
        return f"the server refused a command: {_server_text(exc)}"
    return f"unexpected problem: {type(exc).__name__}: {str(exc)[:200]}"


def as_mail_error(exc: BaseException, *, host: str = "", port: int | None = None, user: str = "") -> MailError:
    """Wrap any failure into a ``MailError`` with a kind and the plain message."""
    if isinstance(exc, MailError):
        return exc
    message = describe_error(exc, host=host, port=port, user=user)
    from imapclient.exceptions import LoginError

    from owner_tui.secrets import SecretError

    kind, retryable = "protocol", False
    if isinstance(exc, SecretError):
        kind = "secret"
    elif isinstance(exc, socket.gaierror):
        kind, retryable = "dns", True
    elif isinstance(exc, ssl.SSLCertVerificationError):
        kind = "certificate"
    elif isinstance(exc, ssl.SSLError):
        kind = "tls"
    elif isinstance(exc, ConnectionRefusedError):
        kind, retryable = "refused", True
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        kind, retryable = "timeout", True
    elif isinstance(exc, LoginError) and _lost_in_login(exc):
        kind, retryable = "closed", True
    elif isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort) \
            and response_code(exc) in RESPONSE_CODES:
        kind, retryable, _words = RESPONSE_CODES[response_code(exc)]  # type: ignore[index]
    elif isinstance(exc, (LoginError, smtplib.SMTPAuthenticationError)):
        kind = "login"
    elif isinstance(exc, (imaplib.IMAP4.abort, EOFError, smtplib.SMTPServerDisconnected, ConnectionError)):
        kind, retryable = "closed", True
    elif isinstance(exc, OSError):
        kind, retryable = "unreachable", True
    return MailError(message, kind, retryable=retryable)
