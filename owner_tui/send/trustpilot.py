"""Reply to a Trustpilot review: ``POST /v1/private/reviews/{id}/reply`` (external-apis.md 2.4).

Body ``{"message", "authorBusinessUserId"}`` as JSON; success is 201 with a possibly empty
body. A POST is not known to be idempotent (that a second POST edits the reply is
UNCONFIRMED), so it is never resent blindly: only a 429 or a connection that never opened is
retried inline; anything else leaves the row to ``verify``, which reads the review
(``GET /v1/private/reviews/{id}``, seen in several clients but UNCONFIRMED in the docs) and
compares ``companyReply.text`` with ours.
"""

from __future__ import annotations

from urllib.parse import quote

from owner_tui.records import OutgoingReply, SendResult
from owner_tui.send.review_api import ApiReviewSender, same_text
from owner_tui.send.sender import SendError
from owner_tui.sources.reviews.common import as_dict, iso, newer, opt_str, parse_time
from owner_tui.sources.reviews.http import NeedsReauth, SourceError
from owner_tui.sources.reviews.trustpilot import PLATFORM, api_base, connect, reply_id


class TrustpilotSender(ApiReviewSender):
    connect = staticmethod(connect)

    def _review_url(self, reply: OutgoingReply) -> str:
        return f"{api_base(self.options)}/v1/private/reviews/{quote(reply.external_key, safe='')}"

    def send(self, reply: OutgoingReply) -> SendResult:
        body = reply.body.strip()
        if not body:
            raise SendError("The reply is empty; nothing was sent.")
        try:
            author = opt_str(self.options, "author_business_user_id", PLATFORM)
            self._conn().request("POST", self._review_url(reply) + "/reply", idempotent=False,
                                 json_body={"message": body, "authorBusinessUserId": author})
        except NeedsReauth as exc:
            raise SendError(str(exc), retryable=False) from None
        except SourceError as exc:
            raise SendError(f"Trustpilot did not take the reply: {exc}", retryable=exc.retryable) from None
        external_id, when = f"{reply.external_key}:reply", self.runtime.wallclock()
        try:
            # 201 may come with no body: read the review back for the reply's time and the id
            # the next sync will compute.
            review = as_dict(self._conn().get_json(self._review_url(reply)))
            if review.get("companyReply"):
                external_id = reply_id(review, reply.external_key)
                answer = as_dict(review["companyReply"])
                when = newer(parse_time(answer.get("createdAt")), parse_time(answer.get("updatedAt"))) or when
        except SourceError:
            pass  # the reply is out; the next sync settles the id
        return SendResult(external_id=external_id, sent_at=iso(when), note="Reply posted on Trustpilot.")

    def delete_reply(self, reply: OutgoingReply) -> None:
        """``DELETE /v1/private/reviews/{id}/reply`` (UNCONFIRMED in the docs: a 404 or 405 says
        so in plain words and nothing changes locally)."""
        try:
            self._conn().request("DELETE", self._review_url(reply) + "/reply")
        except SourceError as exc:
            if exc.status in (404, 405):
                raise SendError("Trustpilot did not accept deleting the reply through its API (HTTP "
                                f"{exc.status}); delete it in Trustpilot Business instead.") from None
            raise SendError(f"Trustpilot did not delete the reply: {exc}", retryable=exc.retryable) from None

    def verify(self, reply: OutgoingReply) -> bool | None:
        try:
            data = self._conn().get_json(self._review_url(reply))
        except (SourceError, SendError):
            return None
        answer = data.get("companyReply") if isinstance(data, dict) else None
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            return False
        if not same_text(answer["text"], reply.body):
            return False
        when = newer(parse_time(answer.get("createdAt")), parse_time(answer.get("updatedAt")))
        self._verified[reply.outbox_id] = SendResult(
            external_id=reply_id(data, reply.external_key), sent_at=iso(when or self.runtime.wallclock()),
            note="the send was interrupted, but the reply had gone out; not sent again")
        return True

    def verified_result(self, reply: OutgoingReply) -> SendResult | None:
        """After ``verify`` said True: the result to record, with the id the next sync will use."""
        return self._verified.get(reply.outbox_id)
