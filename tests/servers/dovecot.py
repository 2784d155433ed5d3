"""A private, throwaway Dovecot IMAP server on 127.0.0.1 for tests.

Runs the real ``dovecot`` binary (Debian ``dovecot-imapd``) in the foreground as our child
process, with its own config, ``base_dir``, ``state_dir``, log and Maildir homes in one
temporary directory, on a free high port. Nothing system-wide is touched, and several
instances can run side by side.

Typical use (the pytest fixtures in ``tests/servers/fixtures.py`` do this for you)::

    server = DovecotServer(users={"owner@example.com": "secret"}, tls=True).start()
    server.append("INBOX", raw_bytes, flags=[b"\\\\Seen"])
    client = server.client("owner@example.com")          # logged-in IMAPClient
    ...
    server.reset_uidvalidity("INBOX", user="owner@example.com")
    server.stop()

Facts worth knowing (see docs/dovecot-for-tests.md):

* Users come from one ``passwd-file`` per user (``users/<name>``). Dovecot re-reads a
  passwd-file at most once per second, but a file it has never opened is read at once,
  so ``add_user`` of a new user works on a running server at once, with no restart.
* Mail is accessed as ``nobody`` (Dovecot refuses uid 0), so the Maildir homes are chowned
  to it when we run as root. Run as another user, every Dovecot process runs as that user.
* The server advertises IDLE, CONDSTORE, QRESYNC, SPECIAL-USE, UIDPLUS, MOVE; ``Sent`` has
  the SPECIAL-USE ``\\Sent`` attribute and is auto-created and subscribed.
* Folder names use ``/`` as hierarchy separator; on disk that is Maildir++ (``.A.B``).
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from imapclient import IMAPClient

from tests.servers.certs import TestCert, make_cert

#: How to tell the tests what to install.
INSTALL_HINT = "dovecot-imapd not installed: apt-get install dovecot-imapd"

# Unix socket paths are limited to 108 bytes; Dovecot puts sockets like
# "<base_dir>/login/imap-urlauth" and "<base_dir>/token-login/tokenlogin" there.
_MAX_BASE_DIR = 70


def dovecot_binary() -> str | None:
    """Path of the ``dovecot`` binary, or None when Dovecot is not installed."""
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
    )


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (servers that need a concrete port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _searchable_by_others(path: Path) -> bool:
    """Whether every directory from / down to ``path`` has the other-execute bit."""
    try:
        return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])
    except OSError:
        return False


def _reachable_temp_base() -> str | None:
    """A temp dir Dovecot's unprivileged processes can reach (None: any, not root)."""
    if os.geteuid() != 0:
        return None
    for base in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):
        if _searchable_by_others(Path(base).resolve()):
            return base
    raise DovecotError("no temp dir is searchable by other users (/tmp is mode 0700?); "
                       "Dovecot's mail processes, running as nobody, could not reach it")


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is still in process group ``pgid``."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class DovecotError(RuntimeError):
    """Dovecot would not start or stop; the message includes the tail of its log."""


class DovecotServer:
    """One Dovecot instance. ``start()`` returns self; ``stop()`` is idempotent.

    Attributes after ``start()``: ``host`` ("127.0.0.1"), ``port`` (plain IMAP; with
    ``tls=True`` it offers STARTTLS and refuses login before it), ``tls_port`` (implicit
    TLS, only with ``tls=True``), ``cert`` (a ``TestCert``; ``cert.client_context()``
    trusts it and nothing else), ``root`` (the instance directory), ``log_path``.

    ``tmpdir``: where to put the instance. Must be reachable by the unprivileged users
    (``/tmp`` is; pytest's ``tmp_path`` is not, being mode 0700) and short (socket paths).
    When None, a fresh directory under the system temp dir (or ``/var/tmp``, ``/dev/shm``
    if that is not reachable) is made, and removed by ``close()``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        tmpdir: str | os.PathLike[str] | None = None,
        users: Mapping[str, str] | None = None,
        tls: bool = False,
    ) -> None:
        self._own_root = tmpdir is None
        self.root = Path(tempfile.mkdtemp(prefix="otdc-", dir=_reachable_temp_base())
                         if tmpdir is None else tmpdir)
        self.users: dict[str, str] = dict(
            {"owner@example.com": "secret"} if users is None else users
        )
        self.tls = tls
        self.port = 0
        self.tls_port = 0
        self.cert: TestCert | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.homes = self.root / "homes"
        self.log_path = self.root / "dovecot.log"
        self.config_path = self.root / "dovecot.conf"
        self.users_dir = self.root / "users"

    # ----------------------------------------------------------------- life cycle

    def start(self, timeout: float = 15.0) -> DovecotServer:
        """Write the config (first time), start Dovecot and wait until it greets."""
        binary = dovecot_binary()
        if binary is None:
            raise DovecotError(INSTALL_HINT)
        if self._proc is not None:
            return self
        if not self.config_path.exists():
            self._prepare()
        self.log_path.touch()
        log_offset = self.log_path.stat().st_size
        self._proc = subprocess.Popen(
            [binary, "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the test run must not hit it first
        )
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.tls_port] if self.tls else [])
        while True:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self._proc = None
                raise DovecotError(f"dovecot exited at start-up: {err}\n{self._log_tail(log_offset)}")
            if all(self._greets(p) for p in ports):
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise DovecotError(f"dovecot did not listen in {timeout}s\n{self._log_tail(log_offset)}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every Dovecot process of this instance and wait until they have exited.

        SIGTERM goes to the whole process group at once (each process shuts down cleanly
        on it); signalling only the master makes it wait a second or more for its children.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
        if proc.stderr:
            proc.stderr.close()
        deadline = time.monotonic() + timeout
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop, and remove the instance directory if we made it."""
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ----------------------------------------------------------------- users and clients

    def add_user(self, user: str, password: str) -> None:
        """Add a user; a running Dovecot accepts the login at once.

        Changing the password of an existing user can take up to a second to be seen.
        """
        if any(c in user + password for c in ":\r\n") or not user:
            raise ValueError("user and password may not contain ':' or line breaks")
        self.users[user] = password
        if self.users_dir.exists():
            self._write_passwd(user)

    def client(self, user: str | None = None, *, tls: bool | None = None, timeout: float = 10) -> IMAPClient:
        """A logged-in ``IMAPClient`` for ``user`` (default: the first user).

        With a TLS server it uses implicit TLS on ``tls_port`` and trusts only the test cert.
        """
        user = user or next(iter(self.users))
        use_tls = self.tls if tls is None else tls
        if use_tls:
            assert self.cert is not None
            client = IMAPClient(self.host, self.tls_port, ssl=True,
                                ssl_context=self.cert.client_context(), timeout=timeout)
        else:
            client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        client.login(user, self.users[user])
        return client

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[bytes | str] = (),
        date: dt.datetime | None = None,
        *,
        user: str | None = None,
    ) -> int | None:
        """APPEND one message over IMAP (server must be running); returns its UID (UIDPLUS).

        ``date`` becomes the INTERNALDATE; naive datetimes are taken as UTC.
        """
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=dt.timezone.utc)
        client = self.client(user)
        try:
            resp = client.append(folder, raw, flags=tuple(flags), msg_time=date)
        finally:
            client.logout()
        # b'[APPENDUID <uidvalidity> <uid>] Append completed.'
        if isinstance(resp, bytes) and resp.startswith(b"[APPENDUID "):
            return int(resp.split()[2].rstrip(b"]"))
        return None

    def deliver_files(
        self,
        folder: str,
        raws: Sequence[bytes],
        *,
        user: str | None = None,
        dates: Sequence[dt.datetime] | None = None,
    ) -> list[Path]:
        """Write messages straight into the folder's Maildir ``new/`` (fast for big fixtures).

        Works before ``start()`` or while running (Dovecot picks them up at the next
        SELECT/NOOP and gives them UIDs in file-name order). ``dates`` sets each file's
        mtime, which Dovecot uses as INTERNALDATE. Folder names: ``INBOX`` or plain ASCII
        ``A/B`` without dots.
        """
        user = user or next(iter(self.users))
        if not self.config_path.exists():
            self._prepare()
        if dates is not None and len(dates) != len(raws):
            raise ValueError("dates must be as long as raws")
        target = self.maildir(folder, user)
        for sub in ("cur", "new", "tmp"):
            (target / sub).mkdir(parents=True, exist_ok=True)
        if folder.upper() != "INBOX":
            (target / "maildirfolder").touch()
        stamp = int(time.time())
        paths = []
        for i, raw in enumerate(raws):
            # Maildir unique name: time.M<counter>P<pid>.host; ",S=" lets Dovecot skip a stat.
            path = target / "new" / f"{stamp}.M{i:07d}P{os.getpid()}.otd,S={len(raw)}"
            path.write_bytes(raw.replace(b"\r\n", b"\n"))  # Maildir stores LF line ends
            if dates is not None:
                ts = dates[i].timestamp()
                os.utime(path, (ts, ts))
            paths.append(path)
        self._chown_mail(self.homes / user)
        return paths

    def maildir(self, folder: str, user: str | None = None) -> Path:
        """The on-disk Maildir of ``folder`` (``INBOX`` is the Maildir root)."""
        user = user or next(iter(self.users))
        base = self.homes / user / "Maildir"
        if folder.upper() == "INBOX":
            return base
        if "." in folder or not folder.isascii() or folder.startswith("/"):
            raise ValueError(f"unsupported folder name for direct Maildir access: {folder!r}")
        return base / ("." + folder.replace("/", "."))

    def reset_uidvalidity(self, folder: str, *, user: str | None = None) -> None:
        """Give ``folder`` a new UIDVALIDITY (and re-assigned UIDs): the server "rebuilt" it.

        Stops Dovecot, deletes the folder's ``dovecot-uidlist`` and index files, starts
        again. Messages stay; they get UIDs from 1 in file order, which may equal old
        numbers, so only UIDVALIDITY tells a client its cache is void. The new value is
        always higher: Dovecot keeps a ``dovecot-uidvalidity`` counter per mail root.
        """
        self.stop()
        target = self.maildir(folder, user)
        for path in target.iterdir():
            if path.is_file() and (path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index")):
                path.unlink()
        self.start()

    # ----------------------------------------------------------------- internals

    def _prepare(self) -> None:
        base = str(self.base_dir)
        if len(base) > _MAX_BASE_DIR:
            raise DovecotError(f"instance directory path too long for Unix sockets: {base}")
        self._check_reachable(self.root)
        for d in (self.root, self.base_dir, self.state_dir, self.homes):
            d.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self.homes.chmod(0o755)
        self._chown_mail(self.homes)
        self.port = free_port()
        if self.tls:
            self.tls_port = free_port()
            self.cert = make_cert(self.root / "tls")
        self.users_dir.mkdir(exist_ok=True)
        for user in self.users:
            self._write_passwd(user)
        self.config_path.write_text(self._config())

    def _config(self) -> str:
        if os.geteuid() == 0:
            internal, login = "dovecot", "dovenull"
            mail_uid, mail_gid = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
            chroot = ""
        else:  # one unprivileged user for everything; chroot needs root
            me = pwd.getpwuid(os.getuid())
            internal = login = me.pw_name
            mail_uid, mail_gid = me.pw_name, grp.getgrgid(me.pw_gid).gr_name
            chroot = "  chroot =\n"
        if self.tls:
            assert self.cert is not None
            ssl = f"ssl = required\nssl_cert = <{self.cert.cert}\nssl_key = <{self.cert.key}\n"
            imaps = f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.tls_port}\n  }}\n"
        else:
            ssl = "ssl = no\n"
            imaps = "  inet_listener imaps {\n    port = 0\n  }\n"
        return f"""# Generated by tests/servers/dovecot.py; throwaway test instance.
protocols = imap
listen = 127.0.0.1
instance_name = otd-{self.port}
base_dir = {self.base_dir}
state_dir = {self.state_dir}
log_path = {self.log_path}
default_internal_user = {internal}
default_login_user = {login}
{ssl}disable_plaintext_auth = {"yes" if self.tls else "no"}
auth_mechanisms = plain login
# Tests try wrong passwords on purpose: no 2 s failure delay.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={self.homes}/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
{imaps}}}
service anvil {{
{chroot}  # No growing per-IP penalty after failed logins (2, 4, 8 s...): with this socket
  # unusable the auth process turns the penalty off (Dovecot's documented switch).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def _write_passwd(self, user: str) -> None:
        if "/" in user or user.startswith("."):
            raise ValueError(f"user name not usable as a file name: {user!r}")
        path = self.users_dir / user
        tmp = self.users_dir / f".{user}.new"
        tmp.write_text(f"{user}:{{PLAIN}}{self.users[user]}\n")
        tmp.chmod(0o644)
        os.replace(tmp, path)  # atomic: Dovecot never reads half a file

    def _chown_mail(self, path: Path) -> None:
        """Make delivered files owned by the mail user (nobody) when we are root."""
        if os.geteuid() != 0:
            return
        nobody = pwd.getpwnam("nobody")
        os.chown(self.homes, nobody.pw_uid, nobody.pw_gid)
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, nobody.pw_uid, nobody.pw_gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), nobody.pw_uid, nobody.pw_gid)

    @staticmethod
    def _check_reachable(path: Path) -> None:
        """Unprivileged Dovecot processes must traverse every parent of the instance dir."""
        if os.geteuid() != 0:
            return
        if not _searchable_by_others(path.resolve().parent):
            raise DovecotError(
                f"a parent of {path} is not searchable by other users (mode 0700?); "
                "Dovecot's unprivileged processes could not reach the instance. "
                "Pass tmpdir=None to let it pick a reachable temp dir."
            )

    def _greets(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_tail(self, offset: int = 0, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
