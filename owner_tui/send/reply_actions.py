"""Changing a reply already published on a review platform (issue 15).

**Edit**: write a new reply in the editor: Google's ``PUT .../reply`` is an upsert and
replaces the published text; Trustpilot takes a second POST to the same endpoint
(UNCONFIRMED as an edit: its answer is checked like any send).

**Delete**: ``delete_published_reply`` calls the platform's documented delete (Google
``DELETE .../reviews/{id}/reply``; Trustpilot ``DELETE /v1/private/reviews/{id}/reply``) and
then marks the stored reply "removed on the platform": it stays readable, the review awaits
a reply again. Nothing is deleted locally. Platforms without a reply API (Yelp, Facebook
here) say so; the owner deletes it on the platform's site.
"""

from __future__ import annotations

from typing import Any

from owner_tui.records import OutgoingReply
from owner_tui.send.sender import SendError

DELETABLE = {"google": "Google", "trustpilot": "Trustpilot"}


def delete_published_reply(store: Any, config: Any, conversation_id: int, *, sender: Any = None) -> str:
    """Delete the owner's reply on the platform; returns a line for the owner. Raises SendError."""
    from owner_tui.send.outbox_worker import sender_for
    from owner_tui.sources.reviews.sync import reply_meta
    from owner_tui.store.reviews import mark_reply_deleted

    conv = store.conversation(conversation_id)
    if conv is None:
        raise SendError("That conversation no longer exists.")
    platform = DELETABLE.get(conv["channel"])
    if platform is None:
        raise SendError(f"{conv['channel'].capitalize()} has no API for deleting a reply here; delete it on the "
                        "platform's own site.")
    has_reply = store.db.execute(
        "SELECT 1 FROM messages WHERE conversation_id = ? AND direction = 'out' AND noise IS NULL LIMIT 1",
        [conversation_id]).fetchone()
    if not has_reply:
        raise SendError("There is no published reply on this review to delete.")
    sender = sender or sender_for(store, conv["account_id"], config)
    if sender is None or not hasattr(sender, "delete_reply"):
        raise SendError(f"The {platform} account of this review is not set up for replies in config.toml.")
    reply = OutgoingReply(outbox_id=0, account_id=conv["account_id"], conversation_id=conversation_id, body="",
                          message_id="", channel=conv["channel"], external_key=conv["external_key"],
                          meta=reply_meta(store, conversation_id))
    try:
        sender.delete_reply(reply)
    finally:
        close = getattr(sender, "close", None)
        if close:
            close()
    mark_reply_deleted(store, conversation_id, store.now_iso())
    return f"Reply deleted on {platform}; the review awaits a reply again (your text stays in the conversation)."
