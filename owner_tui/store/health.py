"""Account health: one model of "can this list be trusted?", used by the TUI's status line and
empty state, ``owner-tui status``, ``accounts list``, the digest and ``doctor``.

Per account (``account_health``): the last attempt, the last success of a whole sync, a sync in
progress, and the last error in plain words with its kind and whether it is temporary. Per
folder or review location (``sync_state``): the same, as the sources recorded it. An account
is **stale** when nothing succeeded for longer than ``[health] stale_after_hours`` (26 h:
a night's cron gap) or, while the app is open and syncing by itself, ``stale_after_hours_open``
(2 h). An account that never synced is its own state: the list cannot show its mail yet.

No Textual here: the store and the CLI read it without the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from owner_tui.aging import parse_iso, to_iso
from owner_tui.records import NO_SENT_WARNING, SENT_SILENT_DAYS, SENT_SILENT_PEOPLE, SENT_SILENT_WARNING

if TYPE_CHECKING:
    from owner_tui.config import Config

#: What each state means; ``ok`` and ``manual`` (files, brought in with `import`) need nothing.
STATES = ("ok", "syncing", "failing", "stale", "never", "manual")
PROBLEM_STATES = ("failing", "stale", "never")
#: A sync that "started" this long ago and never finished was killed: it is not running.
SYNC_GIVE_UP = timedelta(minutes=30)

#: How the details screen names each state, and its colour.
STYLE_WORDS = {"ok": ("ok", "green"), "syncing": ("syncing now", "cyan"), "failing": ("FAILING", "bold red"),
               "stale": ("STALE", "bold yellow"), "never": ("NEVER SYNCED", "bold yellow"),
               "manual": ("files, brought in with `owner-tui import`", "dim")}

#: A few words per error kind for the 80-column status line.
SHORT = {
    "login": "login refused", "expired": "password expired", "authorization": "no access",
    "unavailable": "server busy", "dns": "host not found", "refused": "conn. refused",
    "timeout": "no answer", "unreachable": "unreachable", "closed": "conn. lost", "tls": "TLS problem",
    "certificate": "bad certificate", "secret": "no password", "folder": "folder missing",
    "config": "bad config", "privacy": "needs TLS", "contactadmin": "call provider",
    "limit": "rate limited", "overquota": "mailbox full", "reauth": "sign in again",
    "permission": "no permission", "rate": "rate limited", "server": "server error",
    "notfound": "not found", "protocol": "server refused",
    "quota0": "API not approved", "api_disabled": "API disabled", "unverified": "not verified",
    "trial_key": "trial key", "credentials": "wrong credentials",
}

#: A successful sync's warnings (``AccountHealth.warning``): the words, and what to do.
NO_SENT = NO_SENT_WARNING
WARNING_ADVICE = {
    NO_SENT: "Set sent_folder for this account in config.toml to the folder your mail program files sent "
             "mail in. On Gmail, tick \"Show in IMAP\" for Sent Mail (Settings, Labels).",
    SENT_SILENT_WARNING: "Set up your phone and webmail with IMAP (not POP) so sent mail is saved on the server, "
                         "and reply from this account; if you reply from another mailbox, add it to owner-tui "
                         "and its address to [owner] addresses.",
}
#: A few words per warning for the 80-column status line.
WARNING_SHORT = {NO_SENT: "no Sent folder", SENT_SILENT_WARNING: "replies not seen"}

#: What the owner can do, per error kind (the error text says what happened).
ADVICE = {
    "login": "Check the user name and the password where owner-tui reads it (password_cmd, "
             "password_env or the keyring), then sync again.",
    "expired": "Set a new password with your mail provider, then update it where owner-tui reads it.",
    "authorization": "The password was accepted but this login may not open the mailbox: check the "
                     "user name, or ask your provider.",
    "unavailable": "Nothing to change on your side: the server is having a temporary problem. It is "
                   "retried; sync again later.",
    "dns": "Check the host name in config.toml and your internet connection.",
    "refused": "Check the port in config.toml and that the server is running.",
    "timeout": "Check your internet connection; sync again later.",
    "unreachable": "Check your internet connection; sync again later.",
    "closed": "Usually passes by itself; sync again later.",
    "tls": "Check security and port in config.toml (tls: 993, starttls: 143).",
    "certificate": "The server's certificate is not trusted: check the host name, or set tls_ca_file "
                   "for your own server.",
    "secret": "Fix how the secret is fetched (`owner-tui doctor` shows which source fails).",
    "folder": "Fix the folder name in config.toml (the error lists the server's folders).",
    "config": "Fix the account in config.toml (`owner-tui doctor` names the key).",
    "privacy": "The server wants an encrypted connection: set security = \"tls\" or \"starttls\".",
    "contactadmin": "Your provider blocked or flagged the login: contact them (see their message).",
    "limit": "Too many connections or requests: close other mail apps for a while; it is retried.",
    "overquota": "The mailbox is full: delete or archive mail with your provider.",
    "reauth": "Sign in again (`owner-tui accounts add google` for Google) or save a new key.",
    "permission": "Give this login access to the business/page on the platform, or check the ids "
                  "in config.toml.",
    "rate": "The platform limits how often we may call it; it is retried later by itself.",
    "server": "The platform is having trouble; it is retried on the next sync.",
    "notfound": "Check the location / business id in config.toml.",
    "protocol": "See the server's words above; sync again, and if it persists check the account.",
    "quota0": "File Google's 'Application for Basic API Access' form for your Cloud project "
              "(https://developers.google.com/my-business/content/prereqs#request-access).",
    "api_disabled": "Enable the Business Profile APIs in your Google Cloud project "
                    "(https://developers.google.com/my-business/content/basic-setup#enable-api).",
    "unverified": "Verify the location in Google Business Profile "
                  "(https://support.google.com/business/answer/7107242); the other locations still sync.",
    "trial_key": "Yelp's trial key does not include review excerpts: upgrade the plan "
                 "(https://docs.developer.yelp.com/docs/places-rate-limiting) or remove this account.",
}
ADVICE["credentials"] = ("Check the Account SID and the auth token (or the API key SID and its secret) where "
                         "owner-tui reads them (auth_token_cmd, auth_token_env or the keyring), then sync again.")
NEVER_ADVICE = "Press g in the app or run `owner-tui sync`; check it with `owner-tui accounts test NAME`."
STALE_ADVICE = "Sync now (g in the app, or `owner-tui sync`); if you rely on cron, check that it runs."


@dataclass(frozen=True)
class FeedHealth:
    """One IMAP folder or review location (a ``sync_state`` row)."""

    folder: str
    last_success: str | None
    last_error: str | None
    error_at: str | None


@dataclass(frozen=True)
class AccountHealth:
    name: str
    kind: str
    state: str  # one of STATES
    account_id: int | None = None
    last_success: str | None = None
    last_attempt: str | None = None
    error: str | None = None  # plain words, already free of secrets
    error_kind: str | None = None
    error_at: str | None = None
    temporary: bool = False
    failures: int = 0
    stale_after_hours: float = 26.0
    feeds: tuple[FeedHealth, ...] = ()
    #: What the last successful sync still found wrong (plain words), or None.
    warning: str | None = None

    @property
    def problem(self) -> bool:
        return self.state in PROBLEM_STATES

    @property
    def advice(self) -> str:
        if self.state == "failing":
            return ADVICE.get(self.error_kind or "", ADVICE["protocol"])
        if self.state == "never":
            return NEVER_ADVICE
        if self.state == "stale":
            return STALE_ADVICE
        if self.warning:
            return WARNING_ADVICE.get(self.warning, "")
        return ""

    @property
    def short(self) -> str:
        """A few words for the status line: why it fails, or its state."""
        if self.state == "failing":
            return SHORT.get(self.error_kind or "", "failing")
        return {"never": "never synced", "stale": "stale", "syncing": "syncing", "manual": "import"}.get(
            self.state, "ok")

    def describe(self, now: datetime) -> str:
        """One line: state, since when, why (for ``status``, ``accounts list``, the digest)."""
        last = f"last sync {ago(self.last_success, now)}" if self.last_success else "never synced"
        if self.state == "failing":
            temp = " (may pass by itself)" if self.temporary else ""
            return f"FAILING{temp}: {self.error}; {last}"
        if self.state == "stale":
            return f"STALE: {last} (more than {self.stale_after_hours:g} h)"
        if self.state == "never":
            return "NEVER SYNCED: nothing from this account is in the list yet"
        if self.state == "syncing":
            return f"syncing now; {last}"
        if self.state == "manual":
            return "files: brought in with `owner-tui import`"
        return f"ok, {last}" + (f"; but {self.warning}" if self.warning else "")

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "state": self.state, "last_success": self.last_success,
                "last_attempt": self.last_attempt, "error": self.error, "error_kind": self.error_kind,
                "error_at": self.error_at, "temporary": self.temporary, "advice": self.advice or None,
                "stale_after_hours": self.stale_after_hours, "warning": self.warning,
                "feeds": [{"folder": f.folder, "last_success": f.last_success, "last_error": f.last_error,
                           "error_at": f.error_at} for f in self.feeds]}


@dataclass(frozen=True)
class OutboxHealth:
    queued: int = 0
    sending: int = 0
    failed: int = 0
    failures: tuple[tuple[int, str], ...] = ()  # (outbox id, error) of the latest failed replies

    @property
    def problem(self) -> bool:
        return self.failed > 0

    def describe(self) -> str:
        if not (self.queued or self.sending or self.failed):
            return "empty"
        parts = [f"{n} {word}" for n, word in ((self.queued, "queued"), (self.sending, "sending"),
                                               (self.failed, "failed")) if n]
        return ", ".join(parts) + (" (the text of failed replies is kept: open the conversation to resend)"
                                   if self.failed else "")


@dataclass(frozen=True)
class Health:
    checked_at: str
    accounts: tuple[AccountHealth, ...] = ()
    outbox: OutboxHealth = field(default_factory=OutboxHealth)

    @property
    def problems(self) -> list[AccountHealth]:
        return [a for a in self.accounts if a.problem]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.outbox.problem

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked_at": self.checked_at, "accounts": [a.as_dict() for a in self.accounts],
                "outbox": {"queued": self.outbox.queued, "sending": self.outbox.sending,
                           "failed": self.outbox.failed,
                           "failures": [{"id": i, "error": e} for i, e in self.outbox.failures]}}


def ago(iso: str | None, now: datetime) -> str:
    """``5 min ago``, ``3 h ago``, ``2 days ago``: short, for lines an owner scans."""
    if not iso:
        return "never"
    seconds = max(0.0, (now - parse_iso(iso)).total_seconds())
    if seconds < 90:
        return "just now"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def short_ago(iso: str | None, now: datetime) -> str:
    """``5m``, ``3h``, ``2d``: for the status line."""
    if not iso:
        return "-"
    seconds = max(0.0, (now - parse_iso(iso)).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


class HealthMixin:
    """``Store`` methods: record a sync's start and end, and read every account's health."""

    def _health_row(self, account_id: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO account_health (account_id) VALUES (?)", [account_id])

    def sync_started(self, account_id: int) -> None:
        now = self.now_iso()
        with self.write():
            self._health_row(account_id)
            self.db.execute("UPDATE account_health SET last_attempt = ?, syncing_since = ? WHERE account_id = ?",
                            [now, now, account_id])

    def sync_succeeded(self, account_id: int, warning: str | None = None) -> None:
        """A whole sync succeeded; ``warning`` is what it still found wrong (no Sent folder), or
        None: it replaces the previous sync's."""
        now = self.now_iso()
        with self.write():
            self._health_row(account_id)
            self.db.execute(
                """UPDATE account_health SET last_success = ?, last_attempt = coalesce(syncing_since, ?),
                       syncing_since = NULL, last_error = NULL, error_kind = NULL, error_at = NULL,
                       temporary = 0, failures = 0, warning = ? WHERE account_id = ?""",
                [now, now, warning[:500] if warning else None, account_id])

    def replies_unseen(self, account_id: int) -> bool:
        """Several people wrote to this account in the last ``SENT_SILENT_DAYS`` days and
        nothing sent from it is stored in that time (no Sent copy, no reply through owner-tui):
        the owner's replies are made where this account does not see them."""
        since = to_iso(self.now() - timedelta(days=SENT_SILENT_DAYS))
        if self.db.execute("SELECT 1 FROM messages WHERE account_id = ? AND direction = 'out' AND sent_at >= ? "
                           "AND external_id NOT LIKE 'answered-elsewhere:%' LIMIT 1",
                           [account_id, since]).fetchone():
            return False
        people = self.db.execute(
            "SELECT count(*) FROM (SELECT DISTINCT sender_handle FROM messages WHERE account_id = ? "
            "AND direction = 'in' AND noise IS NULL AND sent_at >= ? LIMIT ?)",
            [account_id, since, SENT_SILENT_PEOPLE]).fetchone()[0]
        return people >= SENT_SILENT_PEOPLE

    def sync_failed(self, account_id: int, message: str, kind: str | None = None, *,
                    temporary: bool = False) -> None:
        now = self.now_iso()
        with self.write():
            self._health_row(account_id)
            self.db.execute(
                """UPDATE account_health SET last_attempt = coalesce(syncing_since, ?), syncing_since = NULL,
                       last_error = ?, error_kind = ?, error_at = ?, temporary = ?, failures = failures + 1
                   WHERE account_id = ?""", [now, message[:500], kind, now, int(temporary), account_id])

    def sync_ended(self, account_id: int) -> None:
        """A sync stopped early (cancelled): neither a success nor a failure."""
        with self.write():
            self.db.execute("UPDATE account_health SET syncing_since = NULL WHERE account_id = ?", [account_id])

    def health(self, config: "Config | None" = None, *, now: datetime | None = None,
               app_open: bool = False) -> Health:
        """Every configured account's health, and the outbox. Accounts no longer in the config
        are left out; a configured account with no row yet is ``never``."""
        config = config or self.config
        now = now or self.now()
        hours = config.health.stale_after_hours_open if app_open else config.health.stale_after_hours
        ids = {(r["kind"], r["name"]): r["id"] for r in self.db.query("SELECT id, kind, name FROM accounts")}
        rows = {r["account_id"]: r for r in self.db.query("SELECT * FROM account_health")}
        feeds: dict[int, list[FeedHealth]] = {}
        for r in self.db.query("SELECT account_id, folder, last_success, last_error, last_error_at FROM sync_state "
                               "WHERE folder != '' AND folder NOT LIKE 'reconcile:%' ORDER BY account_id, folder"):
            feeds.setdefault(r["account_id"], []).append(
                FeedHealth(r["folder"], r["last_success"], r["last_error"], r["last_error_at"]))
        out = []
        for acc in config.accounts:
            aid = ids.get((acc.kind, acc.name))
            row = rows.get(aid) if aid is not None else None
            out.append(_account_health(acc.name, acc.kind, aid, row, tuple(feeds.get(aid, ())), now, hours))
        return Health(to_iso(now), tuple(out), self.outbox_health())

    def outbox_health(self) -> OutboxHealth:
        counts = dict(self.db.execute("SELECT status, count(*) FROM outbox WHERE status IN "
                                      "('queued', 'sending', 'failed') GROUP BY status").fetchall())
        failures = tuple((r[0], r[1] or "") for r in self.db.execute(
            "SELECT id, error FROM outbox WHERE status = 'failed' ORDER BY updated_at DESC, id DESC LIMIT 5"))
        return OutboxHealth(counts.get("queued", 0), counts.get("sending", 0), counts.get("failed", 0), failures)


def _account_health(name: str, kind: str, account_id: int | None, row: dict | None, feeds: tuple[FeedHealth, ...],
                    now: datetime, hours: float) -> AccountHealth:
    common = dict(name=name, kind=kind, account_id=account_id, stale_after_hours=hours, feeds=feeds)
    if kind == "files":
        return AccountHealth(state="manual", **common)
    if row is None:
        return AccountHealth(state="never", **common)
    fields = dict(last_success=row["last_success"], last_attempt=row["last_attempt"], error=row["last_error"],
                  warning=row.get("warning"),
                  error_kind=row["error_kind"], error_at=row["error_at"], temporary=bool(row["temporary"]),
                  failures=row["failures"], **common)
    syncing = row["syncing_since"] and now - parse_iso(row["syncing_since"]) < SYNC_GIVE_UP
    if syncing:
        state = "syncing"
    elif row["last_error"]:
        state = "failing"
    elif not row["last_success"]:
        state = "never"
    elif now - parse_iso(row["last_success"]) > timedelta(hours=hours):
        state = "stale"
    else:
        state = "ok"
    return AccountHealth(state=state, **fields)
