"""A private, throwaway Dovecot IMAP server on 127.0.0.1 for tests.

Runs the real ``dovecot`` binary (Debian ``dovecot-imapd``) in the foreground, in its own
process group under a tiny ``sh`` runner, with its own config (``dovecot_conf.py``), ``base_dir``, ``state_dir``, log and Maildir homes in one
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
import itertools
import os
import pwd
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
from tests.servers.dovecot_conf import render_config
from tests.servers.process import (
    free_port,
    group_alive,
    reachable_temp_base,
    searchable_by_others,
)

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


# Runs Dovecot in the foreground under a small sh that is the process-group leader. A
# watcher waits for EOF on our pipe: when the test process dies, even by SIGKILL, the pipe
# closes and the whole group gets SIGTERM, then SIGKILL a second later (a child forked
# during shutdown may sit out a 5 s handshake), so no Dovecot outlives a crashed test run.
# (PR_SET_PDEATHSIG does not survive: the master changes its effective ids at start-up.)
_RUNNER = """
exec 3<&0
"$0" -F -c "$1" </dev/null &
d=$!
{ read _ <&3; trap '' TERM; kill -TERM 0; sleep 1; kill -KILL 0; } &
wait $d
s=$?
kill -TERM 0
exit $s
"""



_delivery_numbers = itertools.count()


class DovecotError(RuntimeError):
    """Dovecot would not start or stop; the message includes the tail of its log."""


class DovecotServer:
    """One Dovecot instance. ``start()`` returns self; ``stop()`` is idempotent.

    Attributes after ``start()``: ``host`` ("127.0.0.1"), ``port`` (IMAP; with ``tls=True``
    it also offers STARTTLS, though Dovecot counts loopback as secure and allows plain
    login too), ``tls_port`` (implicit TLS, only with ``tls=True``), ``cert`` (a
    ``TestCert``: ``cert.client_context()`` trusts it and nothing else), ``root`` (the
    instance directory), ``log_path`` (Dovecot's log: read it when a test puzzles you).

    The port stays the same across ``stop()``/``start()``, so clients can reconnect.

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
        special_use: bool = True,
    ) -> None:
        self._own_root = tmpdir is None
        self.root = Path(tempfile.mkdtemp(prefix="otdc-", dir=reachable_temp_base())
                         if tmpdir is None else tmpdir)
        self.users: dict[str, str] = dict(
            {"owner@example.com": "secret"} if users is None else users
        )
        self.tls = tls
        self.special_use = special_use
        self.port = 0
        self.tls_port = 0
        self.cert: TestCert | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_once = False
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.homes = self.root / "homes"
        self.log_path = self.root / "dovecot.log"
        self.config_path = self.root / "dovecot.conf"
        self.users_dir = self.root / "users"

    # ----------------------------------------------------------------- life cycle

    def start(self, timeout: float = 15.0) -> DovecotServer:
        """Write the config (first time), start Dovecot and wait until it greets.

        A first start that fails removes the instance directory it made: a run where Dovecot
        cannot start (as an ordinary user, say) must not leave ``/tmp/otdc-*`` behind."""
        try:
            return self._start(timeout)
        except BaseException:
            if not self._started_once:
                self.close()
            raise

    def _start(self, timeout: float) -> DovecotServer:
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
            ["sh", "-c", _RUNNER, binary, str(self.config_path)],
            stdin=subprocess.PIPE,  # never written; its EOF is the "test process gone" signal
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group; a Ctrl-C must not hit it first
        )
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.tls_port] if self.tls else [])
        while True:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self.stop()
                raise DovecotError(f"dovecot exited at start-up: {err}\n{self._log_tail(log_offset)}")
            if all(self._greets(p) for p in ports):
                self._started_once = True
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise DovecotError(f"dovecot did not listen in {timeout}s\n{self._log_tail(log_offset)}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every Dovecot process of this instance and wait until they have exited.

        SIGTERM goes to the whole process group at once (signalling only the master makes
        it wait a second or more for its children), and again every 50 ms: a child the
        master forks in the meantime would otherwise wait out a 5 s handshake timeout.
        Whatever still runs after 2 s gets SIGKILL.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the runner's pid is the group id
        start = time.monotonic()
        while True:
            elapsed = time.monotonic() - start
            try:
                os.killpg(pgid, signal.SIGKILL if elapsed > 2 else signal.SIGTERM)
            except ProcessLookupError:
                break
            proc.poll()  # reap the runner so it does not count as alive
            if not group_alive(pgid) or elapsed > timeout:
                break
            time.sleep(0.05)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (proc.stdin, proc.stderr):
            if pipe:
                pipe.close()

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
            # The counter runs across calls, so names (and so UID order) follow delivery order.
            n = next(_delivery_numbers)
            data = raw.replace(b"\r\n", b"\n")  # Maildir stores LF line ends
            # S= must be the size on disk: Dovecot trusts it, and a wrong one fails FETCH.
            path = target / "new" / f"{stamp}.M{n:09d}P{os.getpid()}.otd,S={len(data)}"
            path.write_bytes(data)
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
        self.config_path.write_text(render_config(self.root, self.port, self.tls_port, self.cert,
                                                   special_use=self.special_use))

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
        if not searchable_by_others(path.resolve().parent):
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
