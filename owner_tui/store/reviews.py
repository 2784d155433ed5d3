"""What the review platforms say beyond the messages: reply moderation, reviews and replies
removed on the platform, and each feed's totals (issue 15).

Nothing here deletes a message. A state is kept on the message (``extra``, a line in ``notes``
the conversation shows) and, where it changes who waits, as the message's ``noise`` reason, so
the conversation's state is still a pure recompute of its messages:

- a reply the platform **rejected** (Google's moderation) is noise "reply not published": the
  review awaits a reply again, with the reason in the conversation;
- a reply **held** for moderation (``PENDING``) still closes the wait (the owner has acted) and
  is shown as held;
- a review **removed on the platform** is noise "removed on the platform": nobody waits on it;
- a reply **removed on the platform** is noise "reply removed": the review awaits again.

A review or reply seen again later (a platform that hid it for a while) gets its state back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

from owner_tui.records import MessageRecord

if TYPE_CHECKING:
    from owner_tui.store import Store

REJECTED = "reply not published: the platform rejected it"
REVIEW_REMOVED = "removed on the platform"
REPLY_REMOVED = "reply removed on the platform"
OURS = (REJECTED, REVIEW_REMOVED, REPLY_REMOVED)


def _note_lines(notes_json: str | None, drop: Iterable[str] = ()) -> list[str]:
    notes = [n for n in json.loads(notes_json or "[]") if isinstance(n, str)]
    return [n for n in notes if not any(n.startswith(d) for d in drop)]


def _set(store: "Store", msg_id: int, noise: str | None, note: str | None, extra: dict | None = None) -> bool:
    """Set a message's noise reason and our note line; True if anything changed."""
    row = store.db.execute("SELECT noise, notes, extra FROM messages WHERE id = ?", [msg_id]).fetchone()
    if row is None:
        return False
    notes = _note_lines(row[1], drop=("Google: ", "Platform: ", *OURS))
    if note:
        notes.append(note)
    old_extra = json.loads(row[2] or "{}")
    new_extra = {**old_extra, **(extra or {})}
    keep_noise = row[0] if row[0] is not None and not row[0].startswith(OURS) else None
    new_noise = keep_noise if keep_noise is not None else noise
    if (row[0], json.loads(row[1] or "[]"), old_extra) == (new_noise, notes, new_extra):
        return False
    store.db.execute("UPDATE messages SET noise = ?, notes = ?, extra = ? WHERE id = ?",
                     [new_noise, json.dumps(notes), json.dumps(new_extra, default=str), msg_id])
    return True


def _rebuild(store: "Store", conv_ids: Iterable[int]) -> None:
    from owner_tui.store.ingest import rebuild_conversation

    # The status is left alone: a removed review is not "noise" the owner should stop seeing;
    # it simply has nobody waiting, and its conversation says why.
    for cid in set(conv_ids):
        rebuild_conversation(store, cid)


def apply_reply_states(store: "Store", account_id: int, records: Iterable[MessageRecord]) -> int:
    """After a batch is ingested: each reply's moderation state on its stored row, and a review
    or reply seen again loses a "removed" mark. Returns how many conversations changed."""
    changed: list[int] = []
    with store.write():
        for rec in records:
            row = store.db.execute("SELECT id, conversation_id, noise FROM messages WHERE account_id = ? "
                                   "AND external_id = ?", [account_id, rec.external_id]).fetchone()
            if row is None:
                continue
            state = rec.extra.get("reply_state") if rec.direction == "out" else None
            if rec.direction == "out" and state:
                why = rec.extra.get("reply_policy") or ""
                from owner_tui.sources.reviews.google import is_pending, is_rejected

                if is_rejected(state):
                    note = f"{REJECTED} ({state})" + (f": {why}" if why else "") + \
                        ". Edit the reply and send it again."
                    noise = REJECTED
                elif is_pending(state):
                    note, noise = f"Platform: held for moderation ({state}); the customer does not see it yet.", None
                else:
                    note, noise = None, None
                if _set(store, row[0], noise, note, {"reply_state": state}):
                    changed.append(row[1])
            elif row[2] is not None and row[2].startswith(OURS):
                if _set(store, row[0], None, None):  # seen again on the platform
                    changed.append(row[1])
        _rebuild(store, changed)
    return len(set(changed))


def reconcile(store: "Store", account_id: int, seen: dict[str, set[str]], complete: set[str],
              replies: dict[str, bool], when: str) -> int:
    """After a full listing of each feed in ``complete``: its stored reviews that the platform
    no longer lists are marked removed; a stored reply whose review now lists none is marked
    removed. ``replies`` says, per review id seen, whether it has a reply. Returns the count."""
    changed: list[int] = []
    with store.write():
        for folder in complete:
            listed = seen.get(folder, set())
            rows = store.db.execute(
                "SELECT m.id, m.conversation_id, c.external_key, m.noise FROM messages m "
                "JOIN conversations c ON c.id = m.conversation_id WHERE m.account_id = ? AND m.folder = ? "
                "AND m.direction = 'in' AND m.external_id = c.external_key", [account_id, folder]).fetchall()
            for mid, cid, key, noise in rows:
                if key not in listed:
                    if _set(store, mid, REVIEW_REMOVED, f"{REVIEW_REMOVED} (noticed {when[:16]} UTC); kept here",
                            {"removed_at": when}):
                        changed.append(cid)
                    continue
                if replies.get(key) is False:
                    for rid, rnoise in store.db.execute(
                            "SELECT id, noise FROM messages WHERE conversation_id = ? AND direction = 'out' "
                            "AND external_id LIKE ? AND (noise IS NULL OR noise = ?)",
                            [cid, f"{key}:reply%", REPLY_REMOVED]).fetchall():
                        if _set(store, rid, REPLY_REMOVED, f"{REPLY_REMOVED} (noticed {when[:16]} UTC); the review "
                                "awaits a reply again", {"removed_at": when}):
                            changed.append(cid)
        _rebuild(store, changed)
    return len(set(changed))


def save_feed_stats(store: "Store", account_id: int, stats: dict[str, dict[str, Any]]) -> None:
    if not stats:
        return
    with store.write():
        for folder, values in stats.items():
            store.db.execute(
                "INSERT INTO sync_state (account_id, folder, stats) VALUES (?, ?, ?) ON CONFLICT (account_id, folder) "
                "DO UPDATE SET stats = excluded.stats", [account_id, folder, json.dumps(values)])


def feed_stats(store: "Store", account_id: int | None = None) -> list[dict[str, Any]]:
    """Per review feed: account name, folder and the platform's totals, for the dashboard."""
    sql = ("SELECT a.id, a.name, a.kind, s.folder, s.stats FROM sync_state s JOIN accounts a ON a.id = s.account_id "
           "WHERE s.stats IS NOT NULL")
    args: list[Any] = []
    if account_id is not None:
        sql += " AND a.id = ?"
        args.append(account_id)
    out = []
    for aid, name, kind, folder, stats in store.db.execute(sql + " ORDER BY a.name, s.folder", args).fetchall():
        try:
            values = json.loads(stats)
        except ValueError:
            continue
        if isinstance(values, dict):
            out.append({"account_id": aid, "account": name, "kind": kind, "folder": folder, **values})
    return out


def stats_line(stats: dict[str, Any]) -> str:
    """One line for a feed: "Yelp shows 3 of 41 reviews" or "Main St: 4.4 stars, 128 reviews"."""
    total = stats.get("total_reviews")
    if stats.get("platform") == "yelp" and isinstance(total, int):
        shown = min(int(stats.get("shown") or 0), total)
        return f"Yelp shows {shown} of {total} reviews (the rest only on yelp.com)"
    parts = []
    avg = stats.get("average_rating")
    if isinstance(avg, (int, float)):
        parts.append(f"{avg:.1f} stars")
    if isinstance(total, int):
        parts.append(f"{total} reviews")
    where = stats.get("title") or stats.get("folder") or ""
    return f"{where}: {', '.join(parts)}" if where else ", ".join(parts)


def review_facts(store: "Store", conversation_id: int) -> list[str]:
    """Lines the conversation shows for a review: media, the feed's totals. (Moderation and
    removal are notes on the messages, shown with them.) Untrusted: sanitize before display."""
    conv = store.db.execute("SELECT account_id, channel FROM conversations WHERE id = ?", [conversation_id]).fetchone()
    if conv is None or conv[1] == "email":
        return []
    lines: list[str] = []
    row = store.db.execute("SELECT folder, extra FROM messages WHERE conversation_id = ? AND direction = 'in' "
                           "ORDER BY sent_at, id LIMIT 1", [conversation_id]).fetchone()
    folder = row[0] if row else None
    extra = json.loads(row[1] or "{}") if row else {}
    media = extra.get("media") if isinstance(extra.get("media"), list) else []
    if media:
        links = [m for m in media if isinstance(m, str) and m]
        lines.append(f"{len(media)} photo/video{'s' if len(media) != 1 else ''} with this review"
                     + (": " + " ".join(links[:3]) if links else ""))
    for s in feed_stats(store, conv[0]):
        if s["folder"] == folder:
            lines.append(stats_line(s))
    return lines


def mark_reply_deleted(store: "Store", conversation_id: int, when: str) -> None:
    """The owner deleted the published reply from owner-tui: kept, marked, the review awaits again."""
    with store.write():
        rows = store.db.execute("SELECT id FROM messages WHERE conversation_id = ? AND direction = 'out' "
                                "AND noise IS NULL", [conversation_id]).fetchall()
        for (mid,) in rows:
            _set(store, mid, REPLY_REMOVED, f"{REPLY_REMOVED}: you deleted it ({when[:16]} UTC)", {"removed_at": when})
        _rebuild(store, [conversation_id])


def reply_sent_again(store: "Store", account_id: int, external_id: str, sent_at: str) -> None:
    """A new reply went out under the id of one marked rejected or removed (Google's PUT and
    Trustpilot's reply keep one reply per review): it is live again at ``sent_at``, so the wait
    closes now rather than at the next sync. Call inside ``store.write()``."""
    row = store.db.execute("SELECT id, conversation_id, noise FROM messages WHERE account_id = ? AND external_id = ?",
                           [account_id, external_id]).fetchone()
    if row is None or not (row[2] or "").startswith(OURS):
        return
    _set(store, row[0], None, None, {"reply_state": None})
    store.db.execute("UPDATE messages SET sent_at = ? WHERE id = ?", [sent_at, row[0]])
    _rebuild(store, [row[1]])
