"""``owner-tui sync`` when nothing is new, answered before the full command line loads (issue 18).

A cron job runs ``owner-tui sync`` every few minutes and nearly always finds nothing new. The
full path (click, sqlite-utils, the config's validation, IMAPClient) loads for ~0.15 s before
its first network byte; this one loads only sqlite3 and imaplib and reads the *plan* the last
successful full sync left in the database (``store_meta`` key ``quick_sync``): for each account
what the full path resolved from this exact config file (its SHA-256) and this exact answer to
``LIST`` (its SHA-256) - connection settings, where the password comes from, the account's id
and settings row, the folders and their roles, the notes of its summary line.

It logs in, LISTs, asks ``STATUS`` per folder and compares with the stored cursors by the full
path's own rule (``sources.imap.sync.sync_folder``: unchanged HIGHESTMODSEQ, or no UID above
the last one and no reply pending). Only when every folder of every account is unchanged does
it finish: it writes what the full path writes for such a run (the account's health, folder
errors cleared) and prints the same lines. Anything else - no plan, another config or code, a
new LIST answer, a changed folder, an outbox row to send, a secret from the keyring, any error
at all - hands over to the full command, which then does everything exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys

META_KEY = "quick_sync"
VERSION = 1
#: Modules whose change could change what a full sync resolves or writes: a plan made by other
#: code is not used.
_CODE = ("quick_sync.py", "config.py", "store/schema.py", "store/health.py", "sources/imap/sync.py",
         "sources/imap/connection.py", "sources/imap/results.py", "secrets.py")
_HERE = os.path.dirname(os.path.abspath(__file__))


class HandOver(Exception):
    """Not a nothing-new run this path can finish: the full command takes over."""


def code_stamp() -> str:
    parts = []
    for rel in _CODE:
        st = os.stat(os.path.join(_HERE, rel))
        parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def list_digest(lines) -> str:
    """SHA-256 of an imaplib ``LIST`` answer, as returned (bytes, or tuples with literals),
    less the ``\\Marked`` and ``\\Unmarked`` flags (RFC 3501: "new mail since the last
    SELECT", which come and go with every delivery and say nothing about which folder is which)."""
    h = hashlib.sha256()
    for item in lines or ():
        if isinstance(item, bytes):
            item = _unmarked(item)
        elif isinstance(item, tuple) and item and isinstance(item[0], bytes):
            item = (_unmarked(item[0]), *item[1:])
        h.update(repr(item).encode("utf-8", "backslashreplace"))
        h.update(b"\n")
    return h.hexdigest()


def _unmarked(line: bytes) -> bytes:
    if not line.startswith(b"("):
        return line
    flags, sep, rest = line[1:].partition(b")")
    if not sep:
        return line
    kept = [f for f in flags.split() if f.lower() not in (b"\\marked", b"\\unmarked")]
    return b"(" + b" ".join(kept) + b")" + rest


def file_digest(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# -- the command line ---------------------------------------------------------------------------

def parse_argv(argv: list[str]) -> tuple[str | None, str | None, bool, bool] | None:
    """``(config, db, send, quiet)`` for ``[--config F] [--db F] sync [--send|--no-send] [-q]``,
    or None for any other command line (the full command reads it)."""
    config = db = None
    i = 0
    while i < len(argv) and argv[i] != "sync":
        arg = argv[i]
        for name in ("--config", "--db"):
            if arg == name and i + 1 < len(argv):
                value, i = argv[i + 1], i + 2
                break
            if arg.startswith(name + "="):
                value, i = arg[len(name) + 1:], i + 1
                break
        else:
            return None
        if not value:
            return None
        if name == "--config":
            config = value
        else:
            db = value
    if i >= len(argv):
        return None
    send, quiet = True, False
    for arg in argv[i + 1:]:
        if arg == "--send":
            send = True
        elif arg == "--no-send":
            send = False
        elif arg in ("-q", "--quiet"):
            quiet = True
        else:
            return None
    return config, db, send, quiet


def _paths(config: str | None, db: str | None) -> tuple[str, str]:
    if config is None or db is None:
        from owner_tui.paths import get_paths  # platformdirs only when no OWNER_TUI_HOME

        paths = get_paths()
        config = config or str(paths.config_file)
        db = db or str(paths.database)
    return os.path.abspath(os.path.expanduser(config)), os.path.expanduser(db)


def _private(path: str, must_exist: bool) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if must_exist:
            raise HandOver("no database") from None
        return
    if st.st_mode & 0o077 or not os.access(path, os.R_OK | os.W_OK):
        raise HandOver("permissions to fix")  # Store.open makes it owner-only, or says why not


# -- the run --------------------------------------------------------------------------------------

def run(argv: list[str]) -> int | None:
    """The exit code when nothing was new and everything is done, else None (hand over)."""
    parsed = parse_argv(argv)
    if parsed is None:
        return None
    try:
        lines = _run(*parsed)
    except Exception as exc:  # noqa: BLE001 - any doubt at all: the full command decides and reports
        if os.environ.get("OWNER_TUI_DEBUG"):
            sys.stderr.write(f"owner-tui: quick sync handed over: {exc!r}\n")
        return None
    try:
        for line in lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``| head``): as cli.common, end quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    return 0


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _run(config: str | None, db: str | None, send: bool, quiet: bool) -> list[str]:
    config_path, db_path = _paths(config, db)
    if db_path == ":memory:":
        raise HandOver("memory")
    for suffix, must in (("", True), ("-wal", False), ("-shm", False)):
        _private(db_path + suffix, must)
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30.0)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")  # as Store.open: WAL, a crash loses no committed data
        meta = dict(conn.execute("SELECT key, value FROM store_meta WHERE key IN (?, 'rederive')", [META_KEY]))
        if meta.get("rederive") == "pending" or META_KEY not in meta:
            raise HandOver("no plan")
        plan = json.loads(meta[META_KEY])
        applied = sorted(r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations"))
        if (plan.get("v") != VERSION or plan["code"] != code_stamp() or plan["config"] != config_path
                or plan["migrations"] != applied or plan["config_sha256"] != file_digest(config_path)):
            raise HandOver("another config, code or schema")
        if send and conn.execute("SELECT 1 FROM outbox WHERE status IN ('queued', 'sending') LIMIT 1").fetchone():
            raise HandOver("replies to send")
        checked = []
        for acc in plan["accounts"]:
            row = conn.execute("SELECT settings FROM accounts WHERE id = ? AND kind = 'imap' AND name = ?",
                               [acc["id"], acc["name"]]).fetchone()
            if row is None or row[0] != acc["settings"]:
                raise HandOver("account row changed")
            started = _now()
            _check_account(conn, acc)
            checked.append((acc, started))
        out = []
        for acc, started in checked:
            now = _now()
            conn.execute("BEGIN IMMEDIATE")
            try:
                # What sync_one writes around a sync that succeeded (store.health), and
                # sync_account's clear_sync_errors, in one transaction.
                conn.execute("INSERT OR IGNORE INTO account_health (account_id) VALUES (?)", [acc["id"]])
                conn.execute(
                    """UPDATE account_health SET last_success = ?, last_attempt = ?, syncing_since = NULL,
                           last_error = NULL, error_kind = NULL, error_at = NULL, temporary = 0, failures = 0
                       WHERE account_id = ?""", [now, started, acc["id"]])
                conn.execute("UPDATE sync_state SET last_error = NULL, last_error_at = NULL WHERE account_id = ?",
                             [acc["id"]])
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if not quiet:
                out.append(f"{acc['name']}: " + "; ".join([f"{f}: nothing new" for f, _ in acc["folders"]]
                                                           + acc["notes"]))
        return out
    finally:
        conn.close()


def _secret(acc: dict) -> str:
    """As ``secrets.resolve_secret`` gets a password from a command or a variable; its errors
    are the full command's to report."""
    kind, source = acc["secret"]
    if kind == "env":
        value = os.environ.get(source, "")
    elif kind == "cmd":
        import subprocess

        proc = subprocess.run(["sh", "-c", source] if isinstance(source, str) else [str(c) for c in source],
                              capture_output=True, timeout=30.0, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise HandOver("password command failed")
        lines = proc.stdout.decode("utf-8", "replace").lstrip("\r\n").splitlines()
        value = lines[0].strip() if lines else ""
    else:
        raise HandOver("secret source")
    if not value:
        raise HandOver("no secret")
    return value


def _quote(folder: str) -> str:
    # IMAPClient sends folder names in modified UTF-7, quoted: the same bytes for plain ASCII
    # without "&", '"' or "\\"; any other name is the full command's.
    if not folder.isascii() or not folder.isprintable() or any(c in folder for c in '&"\\'):
        raise HandOver("folder name")
    return f'"{folder}"'


def _check_account(conn: sqlite3.Connection, acc: dict) -> None:
    import imaplib
    import re

    security = acc["security"]
    ctx = None
    if security != "none":
        import ssl

        ctx = ssl.create_default_context(cafile=acc["tls_ca_file"]) if acc["tls_ca_file"] \
            else ssl.create_default_context()
    if security == "tls":
        imap = imaplib.IMAP4_SSL(acc["host"], acc["port"], ssl_context=ctx, timeout=acc["timeout"])
    else:
        imap = imaplib.IMAP4(acc["host"], acc["port"], timeout=acc["timeout"])
    try:
        if security == "starttls":
            imap.starttls(ctx)
        typ, data = imap.login(acc["user"], _secret(acc))
        text = (data[0] if data else b"") or b""
        m = re.match(rb"\[CAPABILITY ([^\]]*)\]", text)
        caps = set(m.group(1).decode().upper().split()) if m else \
            set(imap.capability()[1][0].decode().upper().split())
        if "X-GM-EXT-1" in caps and "ID" in caps:
            imap.xatom("ID", '("name" "owner-tui")')  # as connection.connect does for Gmail
        typ, listed = imap.list()
        if typ != "OK" or list_digest(listed) != acc["list_sha256"]:
            raise HandOver("folders changed")
        if sorted(caps) != acc["capabilities"]:
            raise HandOver("server capabilities changed")
        condstore = "CONDSTORE" in caps
        items = "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)" if condstore else "(UIDVALIDITY UIDNEXT)"
        for folder, _role in acc["folders"]:
            state = conn.execute("SELECT uidvalidity, last_uid, highestmodseq, page_token FROM sync_state "
                                 "WHERE account_id = ? AND folder = ?", [acc["id"], folder]).fetchone()
            if state is None:
                raise HandOver("folder never synced")
            typ, data = imap.status(_quote(folder), items)
            if typ != "OK" or not data or not isinstance(data[-1], bytes):
                raise HandOver("STATUS")
            found = re.search(rb"\(([^()]*)\)\s*$", data[-1])
            if not found:
                raise HandOver("STATUS")
            words = found.group(1).split()
            status = {words[i].upper().decode(): int(words[i + 1]) for i in range(0, len(words) - 1, 2)}
            if not _unchanged(state, status, condstore):
                raise HandOver("something new")
    finally:
        try:
            imap.logout()
        except Exception:  # noqa: BLE001
            pass


def _unchanged(state, status: dict[str, int], condstore: bool) -> bool:
    """``sync_folder``'s "nothing to do" without a write: the same UIDVALIDITY, and the same
    HIGHESTMODSEQ, or (without CONDSTORE) no UID above the last one and no reply pending."""
    old_uv, last_uid, old_modseq, page_token = state
    uv, uidnext, modseq = status.get("UIDVALIDITY"), status.get("UIDNEXT"), status.get("HIGHESTMODSEQ")
    if old_uv is None or uv != old_uv or last_uid is None:
        return False
    if condstore and old_modseq is not None and modseq == old_modseq:
        return True
    if condstore:
        return False  # flags changed: the full path looks for messages answered elsewhere
    pending = json.loads(page_token or "{}").get("pending") if page_token else None
    return uidnext is not None and uidnext <= last_uid + 1 and not pending


# -- the plan, written by a full sync -------------------------------------------------------------

def remember(store, config, outcomes, config_sha256: str | None) -> None:
    """After a full ``owner-tui sync`` of every account that succeeded: the plan for the next
    run, or none when this path could not follow the full one (another kind of account, a
    keyring or OAuth secret, a folder list not seen)."""
    try:
        plan = _plan(store, config, outcomes, config_sha256)
    except Exception:  # noqa: BLE001 - a plan is only a shortcut
        plan = None
    with store.write():
        if plan is None:
            store.db.execute("DELETE FROM store_meta WHERE key = ?", [META_KEY])
        else:
            store.db.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)",
                             [META_KEY, json.dumps(plan, sort_keys=True)])


def _plan(store, config, outcomes, config_sha256: str | None) -> dict | None:
    from owner_tui.sources.imap.connection import ImapSettings

    if config.path is None or config_sha256 is None or not outcomes or len(outcomes) != len(config.accounts):
        return None
    accounts = []
    for account, outcome in zip(config.accounts, outcomes):
        res = outcome.details
        if account.kind != "imap" or not outcome.ok or outcome.name != account.name or res is None:
            return None
        if res.list_sha256 is None or res.account_id is None or any(f.error for f in res.folders):
            return None
        settings = ImapSettings.from_account(account)
        o = settings.options
        if settings.auth != "password":
            return None
        if o.get("password_cmd"):
            secret = ["cmd", o["password_cmd"]]
        elif o.get("password_env"):
            secret = ["env", str(o["password_env"])]
        else:
            return None
        row = store.db.execute("SELECT settings FROM accounts WHERE id = ?", [res.account_id]).fetchone()
        accounts.append({
            "name": account.name, "id": res.account_id, "settings": row[0] if row else None,
            "host": settings.host, "port": settings.port, "security": settings.security, "user": settings.user,
            "tls_ca_file": settings.tls_ca_file, "timeout": settings.timeout, "secret": secret,
            "list_sha256": res.list_sha256, "capabilities": res.capabilities,
            "folders": [list(f) for f in res.plan], "notes": list(res.notes),
        })
    config_path = os.path.abspath(os.path.expanduser(str(config.path)))
    return {"v": VERSION, "code": code_stamp(), "config": config_path, "config_sha256": config_sha256,
            "migrations": sorted(r[0] for r in store.db.execute("SELECT name FROM _sqlite_migrations")),
            "accounts": accounts}
