"""What the review clients share: the injectable runtime, the pull report, and small helpers
for times, options, secrets and JSON shapes. ``sync.py`` beside this feeds the clients' batches
to the store.

Each client (``google``, ``trustpilot``, ``yelp``, ``facebook``) exposes
``pull(options, secrets_getter, cursor_by_folder, *, report=None, runtime=None)`` and yields
``(records, cursor)`` batches; it never sees the store. ``sync_account`` feeds each batch to
``store.ingest`` so the cursor is saved in the same transaction as the batch: a crash midway
loses nothing and repeats nothing that matters (ingest is idempotent on external id).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

from owner_tui.records import Cursor
from owner_tui.sources.reviews.http import Http, SourceError, TokenSource

SecretsGetter = Callable[[str], str]


@dataclass
class Runtime:
    """Injectable time and transport, so tests never sleep and can count waits."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    wallclock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def http(self, platform: str, options: Mapping[str, Any], *, auth: TokenSource | None = None,
             qpm: float, **kw: Any) -> Http:
        return Http(platform, auth=auth, qpm=float(options.get("qpm", qpm)), sleep=self.sleep,
                    clock=self.clock, wallclock=self.wallclock,
                    max_attempts=opt_int(options, "max_attempts", 5, 1, 20), **kw)


@dataclass
class PullReport:
    """What a pull could not turn into records; counted and shown, never a crash."""

    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    #: Feeds (locations...) that failed while others went on; the pull raises at the end.
    failures: list[SourceError] = field(default_factory=list)
    #: Per feed: what the platform says about it as a whole (Yelp's ``total``; a Google
    #: location's ``averageRating`` and ``totalReviewCount``), saved in ``sync_state.stats``.
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per feed read in full this time (no early stop): every review id the platform listed,
    #: for reconciliation (a review missing from a complete listing was removed).
    seen: dict[str, set[str]] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)
    #: Per review id listed: whether the platform shows an owner reply on it.
    replied: dict[str, bool] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped += 1
        self.problems.append(why)


# -- helpers for the clients --------------------------------------------------------------------

def parse_time(value: Any) -> datetime | None:
    """An API timestamp as an aware UTC datetime, or None if it is missing or malformed.

    ``fromisoformat`` on 3.11 takes ``Z``, 0-9 fraction digits (truncated to microseconds),
    ``+05:30`` and Graph API's ``+0000``. A naive time is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """The store's time format: aware UTC ISO-8601 (``2026-11-22T09:30:00+00:00``)."""
    return dt.astimezone(UTC).isoformat()


def stored_high_water(cursor_by_folder: Mapping[str, Any] | None, folder: str) -> datetime | None:
    """The high-water time saved for ``folder``, from a ``Cursor`` or a ``sync_state`` row."""
    if not cursor_by_folder:
        return None
    cur = cursor_by_folder.get(folder)
    if cur is None:
        return None
    value = cur.high_water if isinstance(cur, Cursor) else cur.get("high_water") if isinstance(cur, Mapping) else None
    return parse_time(value)


def newer(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def stop_before(high_water: datetime | None, options: Mapping[str, Any], default_days: int) -> datetime | None:
    """Where an incremental pull may stop: the high water minus a look-back window.

    The window re-reads recent items because a reply made on the platform, or an edit, may not
    move the sort key we page by (UNCONFIRMED for both Google and Trustpilot).
    """
    if high_water is None:
        return None
    return high_water - timedelta(days=opt_int(options, "lookback_days", default_days, 0, 3650))


#: If replying bumps the review's own update time (UNCONFIRMED for Google and Trustpilot), a
#: review a moment "newer" than its reply is not an edit; only a later change counts.
EDIT_GRACE = timedelta(minutes=2)


def edited_after_reply(updated: datetime | None, replied: datetime | None) -> bool:
    """The customer changed the review after the owner's reply: it awaits a reply again."""
    return bool(updated and replied and updated > replied + EDIT_GRACE)


def reply_external_id(review_id: str, created: datetime | None, updated: datetime | None,
                      replied: datetime | None) -> str:
    """The external id of the owner's reply, the same whether the sync or the sender computes it.

    Normally ``<id>:reply``. When the reply was (re)written after the customer edited the
    review, it gets its own ``<id>:reply:<time>`` row: re-using ``<id>:reply`` would keep the
    first reply's time, and the edit would look unanswered for ever.
    """
    edited = bool(created and updated and updated > created + EDIT_GRACE)
    if edited and replied and not edited_after_reply(updated, replied):
        return f"{review_id}:reply:{iso(replied)}"
    return f"{review_id}:reply"


def opt_int(options: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SourceError(f"option {key} must be a whole number from {lo} to {hi}, not {value!r}", False)
    return value


def opt_str(options: Mapping[str, Any], key: str, platform: str) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{platform}: option {key} is missing from this account's configuration", False)
    return value.strip()


def base_url(options: Mapping[str, Any], key: str, default: str) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise SourceError(f"option {key} must be an http(s) URL, not {value!r}", False)
    return value.rstrip("/")


def get_secret(secrets_getter: SecretsGetter, name: str, platform: str) -> str:
    try:
        value = secrets_getter(name)
    except SourceError:
        raise
    except Exception as exc:  # SecretError and friends: their messages are written to be shown
        raise SourceError(f"{platform}: {exc}", False) from None
    if not value:
        raise SourceError(f"{platform}: the {name} is empty", False)
    return value


def text_field(obj: Mapping[str, Any], key: str, problems: list[str], what: str) -> str:
    """A string field; anything else becomes a problem on the record, never a crash."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    problems.append(f"{what} {key} is not text ({type(value).__name__})")
    return str(value)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
