"""Glue between the review clients and the store: ``sync_account`` pulls one review account.

Each client (``google``, ``trustpilot``, ``yelp``, ``facebook``) exposes
``pull(options, secrets_getter, cursor_by_folder, *, report=None, runtime=None)`` and yields
``(records, cursor)`` batches; it never sees the store. ``sync_account`` feeds each batch to
``store.ingest`` so the cursor is saved in the same transaction as the batch: a crash midway
loses nothing and repeats nothing that matters (ingest is idempotent on external id).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from owner_tui.records import Cursor
from owner_tui.sources.reviews.common import (
    PullReport,
    Runtime,
    SecretsGetter,
    opt_int,
    parse_time,
)
from owner_tui.sources.reviews.http import NeedsReauth, SourceError
from owner_tui.store.reviews import apply_reply_states, reconcile, save_feed_stats

CLIENTS = {
    "google": "owner_tui.sources.reviews.google",
    "trustpilot": "owner_tui.sources.reviews.trustpilot",
    "yelp": "owner_tui.sources.reviews.yelp",
    "facebook": "owner_tui.sources.reviews.facebook",
}

#: Option names that point at a secret (commands, variables): not copied into the database.
_SECRET_REF_SUFFIXES = ("_cmd", "_env", "_keyring", "_command")

@dataclass
class SyncSummary:
    account_id: int
    batches: int = 0
    new: int = 0
    duplicate: int = 0
    noise: int = 0
    problems: int = 0
    updated: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    retryable: bool = False
    needs_reauth: bool = False
    error_kind: str | None = None
    #: Conversations whose review or reply was found removed on the platform this time.
    removed: int = 0


#: The ``sync_state`` row whose ``high_water`` is the last complete reconciling pass.
RECONCILE_FOLDER = "reconcile:full-pass"


def reconcile_due(store: Any, account_id: int, options: Mapping[str, Any]) -> bool:
    """A full pass is due when none ran within ``reconcile_hours`` (default 24; 0 turns it off).
    Yelp's three excerpts cannot be reconciled (an excerpt that drops out was not removed)."""
    from datetime import timedelta

    hours = opt_int(options, "reconcile_hours", 24, 0, 24 * 30)
    if hours == 0:
        return False
    state = store.sync_state(account_id, RECONCILE_FOLDER)
    last = parse_time(state.get("high_water")) if state else None
    if last is None:
        # Never reconciled: the first sync of an account is a full read anyway; mark it then.
        return True
    return store.now() - last >= timedelta(hours=hours)


class StoreCursors(Mapping):
    """``cursor_by_folder`` backed by ``store.sync_state``, read lazily per folder."""

    def __init__(self, store: Any, account_id: int) -> None:
        self.store = store
        self.account_id = account_id

    def __getitem__(self, folder: str) -> Any:
        state = self.store.sync_state(self.account_id, folder)
        if state is None:
            raise KeyError(folder)
        return state

    def __iter__(self):  # folders are discovered by the client; nothing to list up front
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True


def account_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options worth keeping in ``accounts.settings``: no secret references."""
    return {k: v for k, v in options.items() if not k.endswith(_SECRET_REF_SUFFIXES)}


def sync_account(store: Any, account_cfg: Any, *, secrets_getter: SecretsGetter | None = None,
                 runtime: Runtime | None = None, full: bool = False) -> SyncSummary:
    """Pull one review account into the store; errors are recorded, not raised.

    ``full`` ignores the saved high water (a complete re-read; still idempotent).
    """
    kind, name, options = account_cfg.kind, account_cfg.name, account_cfg.options
    if kind not in CLIENTS:
        raise ValueError(f"{name}: {kind!r} is not a review platform")
    client = importlib.import_module(CLIENTS[kind])
    account_id = store.ensure_account(kind, name, account_settings(options))
    if secrets_getter is None:
        from owner_tui.secrets import resolve_secret

        def secrets_getter(secret: str) -> str:
            return resolve_secret(options, secret, name)

    summary = SyncSummary(account_id)
    report = PullReport()
    # At most daily (``reconcile_hours``), a full pass reads every review again: replies and
    # edits on reviews older than the look-back, and reviews or replies removed on the platform.
    full_pass = full or reconcile_due(store, account_id, options)
    cursors: Mapping[str, Any] = {} if full_pass else StoreCursors(store, account_id)
    try:
        for batch, cursor in client.pull(options, secrets_getter, cursors, report=report, runtime=runtime):
            result = store.ingest(account_id, batch, cursor)
            apply_reply_states(store, account_id, batch)
            summary.batches += 1
            for key in ("new", "duplicate", "noise", "problems", "updated"):
                setattr(summary, key, getattr(summary, key) + int(getattr(result, key, 0) or 0))
    except SourceError as exc:
        # Each feed (location, account, business unit) that failed keeps its own error in
        # sync_state; the ones that answered saved their cursor, which cleared theirs.
        for failure in report.failures:
            store.set_sync_error(account_id, failure.folder or "", str(failure))
        if not any(f.folder == exc.folder for f in report.failures):
            store.set_sync_error(account_id, exc.folder or "", str(exc))
        summary.error = str(exc)
        summary.retryable = exc.retryable
        summary.needs_reauth = isinstance(exc, NeedsReauth)
        summary.error_kind = exc.kind
    else:  # every feed answered: an error from an earlier run (e.g. at sign-in, folder "") is over
        store.clear_sync_errors(account_id)
    # The pass counts as done when any feed was listed in full: an account with one location
    # that keeps failing (unverified) must not re-read everything on every sync.
    if full_pass and (report.complete or summary.error is None):
        store.save_cursor(account_id, Cursor(folder=RECONCILE_FOLDER, high_water=store.now_iso()))
    # Feeds listed in full are reconciled even when another feed failed.
    if full_pass and report.complete:
        summary.removed = reconcile(store, account_id, report.seen, report.complete, report.replied,
                                    store.now_iso())
    save_feed_stats(store, account_id, report.stats)
    summary.skipped = report.skipped
    summary.notes = list(report.problems)
    return summary


def reply_meta(store: Any, conversation_id: int) -> dict[str, Any]:
    """What a review sender needs beyond the outbox row: the review's resource ``name`` (Google
    needs ``accounts/A/locations/L/reviews/R`` to reply). Pass as ``queue_reply(..., meta=...)``."""
    import json

    row = store.db.execute(
        "SELECT extra FROM messages WHERE conversation_id = ? AND direction = 'in' ORDER BY sent_at, id LIMIT 1",
        [conversation_id]).fetchone()
    extra = json.loads(row[0] or "{}") if row else {}
    return {k: extra[k] for k in ("name", "location") if k in extra}
