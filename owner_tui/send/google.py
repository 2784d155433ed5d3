"""Reply to a Google review: ``PUT .../reviews/{id}/reply`` (external-apis.md 1.6).

The PUT is an upsert, so it is idempotent and safe to retry; ``verify`` (after a crash in
``sending``) reads the review and checks that ``reviewReply`` holds our text. The reply
moderation state (``ReviewReplyState``, added 2026) has an UNCONFIRMED JSON name and values:
any ``*state*`` field in the answer is read, a rejected-looking value is an error and any
other is passed on in the note.
"""

from __future__ import annotations

import re

from owner_tui.records import OutgoingReply, SendResult
from owner_tui.reply_limits import reply_problem
from owner_tui.send.review_api import ApiReviewSender, same_text
from owner_tui.send.sender import SendError
from owner_tui.sources.reviews.common import PullReport, as_dict, iso, parse_time
from owner_tui.sources.reviews.google import connect, locations, reply_id, reviews_base
from owner_tui.sources.reviews.http import NeedsReauth, SourceError

#: ReviewReply.comment maximum: 4096 bytes of UTF-8 (``reply_limits``), checked again here for
#: a row queued before the check existed.
MAX_BYTES = 4096
_REJECTED_RE = re.compile(r"REJECT|VIOLAT|FAIL|BLOCK", re.I)


class GoogleSender(ApiReviewSender):
    connect = staticmethod(connect)

    def resource(self, reply: OutgoingReply) -> str:
        """``accounts/A/locations/L/reviews/R`` from the reply's meta (the review's ``name``)."""
        name = reply.meta.get("name")
        if isinstance(name, str) and "/reviews/" in name:
            return name
        if "/reviews/" in reply.external_key:
            return reply.external_key
        configured = self.options.get("locations")
        if isinstance(configured, list) and len(configured) == 1:
            return f"{configured[0]}/reviews/{reply.external_key}"
        # No name recorded: ask each location for the review (a small business has a few).
        try:
            http = self._conn()
            for parent, _title in locations(http, self.options, PullReport()):
                name = f"{parent}/reviews/{reply.external_key}"
                try:
                    http.get_json(f"{reviews_base(self.options)}/{name}")
                except SourceError as exc:
                    if exc.status == 404:
                        continue
                    raise
                return name
        except SourceError as exc:
            raise SendError(f"Could not find the review on Google: {exc}", retryable=exc.retryable) from None
        raise SendError("Google has no review with this id in any of the account's locations "
                        "(it may have been deleted); nothing was sent.")

    def send(self, reply: OutgoingReply) -> SendResult:
        body = reply.body.strip()
        if not body:
            raise SendError("The reply is empty; nothing was sent.")
        too_long = reply_problem("google", body)
        if too_long:
            raise SendError(too_long)
        name = self.resource(reply)
        try:
            resp = self._conn().request("PUT", f"{reviews_base(self.options)}/{name}/reply",
                                        json_body={"comment": body})
        except NeedsReauth as exc:
            raise SendError(str(exc), retryable=False) from None
        except SourceError as exc:
            raise SendError(f"Google did not take the reply: {exc}", retryable=exc.retryable) from None
        data = resp.data if isinstance(resp.data, dict) else {}
        note = "Reply posted on Google."
        for key, value in data.items():
            if "state" in key.lower() and isinstance(value, str):
                if _REJECTED_RE.search(value):
                    raise SendError(f"Google refused to publish the reply (state {value}).", retryable=False)
                if value.upper() not in ("PUBLISHED", "LIVE", "ACTIVE"):
                    note = f"Reply sent to Google; Google reports it as {value} (it may need review)."
        when = parse_time(data.get("updateTime")) or self.runtime.wallclock()
        rid = name.rsplit("/", 1)[-1]
        external_id = f"{rid}:reply"
        try:
            # Read the review back so the reply's id matches what the next sync will compute
            # (a reply written after the customer edited the review gets its own row).
            review = as_dict(self._conn().get_json(f"{reviews_base(self.options)}/{name}"))
            if review:
                external_id = reply_id(review, rid)
        except SourceError:
            pass  # the reply is out; the next sync settles the id
        return SendResult(external_id=external_id, sent_at=iso(when), note=note)

    def delete_reply(self, reply: OutgoingReply) -> None:
        """Delete the published reply (``DELETE .../reply``; the answer's body is UNCONFIRMED and
        not read). The next sync sees the review without a reply and it awaits again."""
        name = self.resource(reply)
        try:
            self._conn().request("DELETE", f"{reviews_base(self.options)}/{name}/reply")
        except SourceError as exc:
            raise SendError(f"Google did not delete the reply: {exc}", retryable=exc.retryable) from None

    def verify(self, reply: OutgoingReply) -> bool | None:
        try:
            name = self.resource(reply)
            data = self._conn().get_json(f"{reviews_base(self.options)}/{name}")
        except (SourceError, SendError):
            return None  # cannot tell: the worker leaves the row for the owner to decide
        answer = data.get("reviewReply") if isinstance(data, dict) else None
        if not isinstance(answer, dict) or not isinstance(answer.get("comment"), str):
            return False
        if not same_text(answer["comment"], reply.body):
            return False
        when = parse_time(answer.get("updateTime")) or self.runtime.wallclock()
        self._verified[reply.outbox_id] = SendResult(
            external_id=reply_id(data, name.rsplit("/", 1)[-1]), sent_at=iso(when),
            note="the send was interrupted, but the reply had gone out; not sent again")
        return True

    def verified_result(self, reply: OutgoingReply) -> SendResult | None:
        """After ``verify`` said True: the result to record, with the id the next sync will use
        (so the recovered reply and the synced one are one message, not two)."""
        return self._verified.get(reply.outbox_id)
