"""Sync every configured account once, for ``owner-tui sync`` (cron, ``cli/sync.py``) and the
TUI's sync worker.

No Textual here, and only what syncing needs is imported, so a cron run with nothing new is
quick. Each account is synced on its own: one failing account (wrong password, server down)
is reported in plain words and the others still sync.

Exit codes of ``owner-tui sync``: 0 every account synced; 1 at least one account failed
(one line per failure on stderr); 2 the config is wrong (a bad file, or an account whose
settings cannot work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from owner_tui.config import AccountConfig, Config, ConfigError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
REVIEW_KINDS = ("google", "trustpilot", "yelp", "facebook")


@dataclass
class AccountOutcome:
    """What happened to one account, for a CLI line or a TUI status row."""

    name: str
    kind: str
    ok: bool
    line: str
    new: int = 0
    config_error: bool = False
    details: object = field(default=None, repr=False)
    #: For the health model: the failure's kind (``login``, ``unavailable``, ``reauth``...),
    #: whether it is temporary, the plain error without the account prefix, a cancelled run.
    error_kind: str | None = None
    temporary: bool = False
    error: str | None = None
    cancelled: bool = False
    #: What a successful sync still found wrong (``records.NO_SENT_WARNING``), for the account's health.
    warnings: tuple[str, ...] = ()


def sync_one(store, account: AccountConfig, *, progress: Callable | None = None,
             should_stop: Callable[[], bool] | None = None, parse_pool=None) -> AccountOutcome:
    """Sync one account of any kind; never raises for a source problem. The account's health
    (``store.health``) records the attempt, and its success or its error in plain words.

    ``parse_pool`` (``sources.imap.ParsePool``) parses big mail batches in worker processes;
    only for a process of our own, never inside the TUI (forking a threaded process is unsafe).
    """
    account_id = None
    if account.kind != "files":
        account_id = store.ensure_account(account.kind, account.name)
        store.sync_started(account_id)
    outcome = _sync_one(store, account, progress=progress, should_stop=should_stop, parse_pool=parse_pool)
    if account_id is not None:
        if outcome.cancelled:
            store.sync_ended(account_id)
        elif outcome.ok:
            store.sync_succeeded(account_id, "; ".join(outcome.warnings) or None)
        else:
            prefix = f"{account.name}: "
            error = outcome.error or (outcome.line[len(prefix):] if outcome.line.startswith(prefix) else outcome.line)
            store.sync_failed(account_id, error, outcome.error_kind or ("config" if outcome.config_error else None),
                              temporary=outcome.temporary)
    return outcome


def _sync_one(store, account: AccountConfig, *, progress: Callable | None = None,
              should_stop: Callable[[], bool] | None = None, parse_pool=None) -> AccountOutcome:
    try:
        if account.kind == "imap":
            from owner_tui.sources.imap.sync import sync_account

            res = sync_account(store, account, progress=progress, should_stop=should_stop, parse_pool=parse_pool)
            first = res.error or next((f"{f.folder}: {f.error}" for f in res.folders if f.error), None)
            return AccountOutcome(account.name, "imap", res.ok, res.summary(), res.new, details=res,
                                  error_kind=res.error_kind, temporary=res.temporary, error=first,
                                  cancelled=res.cancelled and res.ok, warnings=tuple(res.warnings))
        if account.kind in REVIEW_KINDS:
            from owner_tui.sources.reviews.sync import sync_account as sync_reviews

            s = sync_reviews(store, account)
            if s.error:
                return AccountOutcome(account.name, account.kind, False, f"{account.name}: {s.error}", s.new, details=s,
                                      error_kind=s.error_kind, temporary=s.retryable, error=s.error)
            line = f"{account.name}: {s.new} new, {s.updated} updated" + (f", {s.skipped} skipped" if s.skipped else "")
            return AccountOutcome(account.name, account.kind, True, line, s.new, details=s)
        if account.kind == "twilio":
            from owner_tui.sources.twilio.sync import sync_account as sync_twilio

            t = sync_twilio(store, account)
            if t.error:
                return AccountOutcome(account.name, "twilio", False, f"{account.name}: {t.error}", t.new, details=t,
                                      error_kind=t.error_kind, temporary=t.retryable, error=t.error)
            line = f"{account.name}: {t.new} new" + (f", {t.skipped} skipped" if t.skipped else "")
            return AccountOutcome(account.name, "twilio", True, line, t.new, details=t)
        if account.kind == "files":
            return AccountOutcome(account.name, "files", True,
                                  f"{account.name}: files are brought in with `owner-tui import`")
        return AccountOutcome(account.name, account.kind, False, f"{account.name}: unknown kind {account.kind!r}",
                              config_error=True)
    except ConfigError as exc:
        return AccountOutcome(account.name, account.kind, False, f"{account.name}: {exc}", config_error=True,
                              error_kind="config", error=str(exc))
    except Exception as exc:  # one broken account must not stop the others, nor print a traceback
        from owner_tui.sources.imap.errors import as_mail_error

        err = as_mail_error(exc)
        return AccountOutcome(account.name, account.kind, False, f"{account.name}: {err}", error_kind=err.kind,
                              temporary=err.retryable, error=str(err))


def sync_all(config: Config, store, *, only: Sequence[str] = (), progress: Callable | None = None,
             should_stop: Callable[[], bool] | None = None, parse_pool=None) -> list[AccountOutcome]:
    """One pass over the configured accounts (or the ``only`` ones), in config order."""
    wanted = [a for a in config.accounts if not only or a.name in only]
    missing = [n for n in only if all(a.name != n for a in config.accounts)]
    if missing:
        known = ", ".join(a.name for a in config.accounts) or "none configured"
        raise ConfigError(f"no account named {missing[0]!r} (accounts: {known})", path=config.path)
    outcomes = []
    for account in wanted:
        if should_stop and should_stop():
            break
        outcomes.append(sync_one(store, account, progress=progress, should_stop=should_stop, parse_pool=parse_pool))
    return outcomes


def sync_accounts(store, config: Config, *, report: Callable[[str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None, send: bool = True) -> str:
    """The TUI's "sync now" (run in a thread worker): every account once, then the outbox
    (interrupted sends verified, queued replies sent). ``report`` gets short progress lines;
    returns the one-line summary the TUI shows. Never raises for a source problem."""
    say = report or (lambda text: None)

    def progress(p) -> None:
        say(f"{p.account} {p.folder}: {p.done:,}/{p.total:,}")

    outcomes = []
    for account in config.accounts:
        if cancelled and cancelled():
            break
        outcome = sync_one(store, account, progress=progress, should_stop=cancelled)
        outcomes.append(outcome)
        say(outcome.line)
    parts = [f"{sum(o.new for o in outcomes):,} new"] + [o.line for o in outcomes if not o.ok]
    if send and not (cancelled and cancelled()):
        from owner_tui.send.outbox_worker import process

        parts += process(store, config).lines()
    return "Sync: " + "; ".join(parts)


def exit_code(outcomes: Sequence[AccountOutcome]) -> int:
    if any(o.config_error for o in outcomes):
        return EXIT_CONFIG
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
