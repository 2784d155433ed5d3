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

from owner_tui.sources.reviews.common import PullReport, Runtime, SecretsGetter
from owner_tui.sources.reviews.http import NeedsReauth, SourceError

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
    cursors: Mapping[str, Any] = {} if full else StoreCursors(store, account_id)
    try:
        for batch, cursor in client.pull(options, secrets_getter, cursors, report=report, runtime=runtime):
            result = store.ingest(account_id, batch, cursor)
            summary.batches += 1
            for key in ("new", "duplicate", "noise", "problems", "updated"):
                setattr(summary, key, getattr(summary, key) + int(getattr(result, key, 0) or 0))
    except SourceError as exc:
        store.set_sync_error(account_id, exc.folder or "", str(exc))
        summary.error = str(exc)
        summary.retryable = exc.retryable
        summary.needs_reauth = isinstance(exc, NeedsReauth)
        summary.error_kind = exc.kind
    else:  # every feed answered: an error from an earlier run (e.g. at sign-in, folder "") is over
        store.clear_sync_errors(account_id)
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
