"""Reply to a Yelp review through Yelp's partner Respond to Reviews (R2R) API, when the owner
has partner access (``partner_token_cmd`` / ``_env`` / ``_keyring`` on a ``yelp`` account).
Without it Yelp stays on the manual path (copy the text, open the review page).

The documented contract (docs.developer.yelp.com, "Respond to Reviews API"):
``POST https://partner-api.yelp.com/reviews/v1/{review_id}`` with a JSON body
``{"response_text": ..., "response_type": "public_comment"}`` and the business owner's OAuth
access token as ``Authorization: Bearer``. Errors come as ``{"error": {"id", "description",
"http_code"}}`` with ids such as ``R2R_PROBLEM_WITH_USER_PHOTO`` or
``R2R_COMMENT_QUOTA_EXCEEDED`` (at most 20 comments per location per owner per day). Replies
are at most 5,000 characters and may not contain emoji: both are checked before anything is
sent, so the owner never wastes a reply.

UNCONFIRMED, and guarded:
- that the review id of the Fusion excerpts (our conversation key) is the id R2R takes: a
  ``R2R_REVIEW_DOES_NOT_EXIST`` answer says so in plain words and keeps the text;
- there is no documented way to read a posted response back, so ``verify`` after a crash
  cannot tell (``None``): the outbox then leaves the reply for the owner to check on Yelp,
  never sends it twice;
- how the access token is refreshed (the partner OAuth flow): the token comes from the
  owner's own command, and a 401 says to renew it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import quote

from owner_tui.records import OutgoingReply, SendResult
from owner_tui.send.review_api import ApiReviewSender
from owner_tui.send.sender import SendError
from owner_tui.sources.reviews.common import (
    Runtime,
    SecretsGetter,
    base_url,
    get_secret,
    iso,
)
from owner_tui.sources.reviews.http import Http, NeedsReauth, SourceError, StaticToken

PLATFORM = "Yelp"
PARTNER_URL = "https://partner-api.yelp.com"
MAX_CHARS = 5000
DOCS = "https://docs.developer.yelp.com/docs/respond-to-reviews-api-v2"
#: Emoji and pictographs, which R2R refuses ("Emojis are not currently supported").
_EMOJI = re.compile("[\U0001F000-\U0001FAFF]")

#: R2R error ids -> what the owner should do (docs: "R2R Error Responses").
R2R_WORDS = {
    "R2R_PROBLEM_WITH_USER_PHOTO": "Yelp needs a photo of you on your Yelp for Business account before it "
                                   "takes replies: add one at biz.yelp.com, then send again.",
    "R2R_UNACCEPTABLE_BIZ_USER_NAME": "Yelp does not accept the name on your Yelp for Business account; "
                                      "change it at biz.yelp.com, then send again.",
    "R2R_REVIEW_DOES_NOT_EXIST": "Yelp says this review does not exist (it may have been removed, or its id is "
                                 "not the one the partner API uses): reply on Yelp instead.",
    "R2R_INVALID_RESPONSE_TEXT": "Yelp refused the text (empty, over 5,000 characters, wording it does not "
                                 "allow, or too close to a reply already posted): change it and send again.",
    "R2R_BUSINESS_NOT_CLAIMED": "Yelp cannot tell that this business is claimed by you: claim it at "
                                "biz.yelp.com.",
    "R2R_PERMISSION_DENIED": "Your Yelp login may not reply to this review (ask the account's owner for access).",
    "R2R_COMMENTS_NOT_ALLOWED": "This Yelp location does not include replying through the API: ask your Yelp "
                                "contact to enable it, or reply on Yelp.",
    "R2R_PUBLIC_COMMENTS_DISABLED": "Public replies are turned off for this Yelp location: reply on Yelp.",
    "R2R_COMMENT_QUOTA_EXCEEDED": "Yelp allows 20 replies per location a day and that is used up: it will be "
                                  "sent again tomorrow.",
    "INSUFFICIENT_SCOPE": "The Yelp access token lacks the permission to reply: renew it with the "
                          "reply permission.",
}


def check_text(body: str) -> str:
    """The reply as it will be sent, or ``SendError`` saying why Yelp would refuse it."""
    text = body.strip()
    if not text:
        raise SendError("The reply is empty; nothing was sent.")
    if len(text) > MAX_CHARS:
        raise SendError(f"Yelp takes replies of at most {MAX_CHARS:,} characters; this one has {len(text):,}: "
                        f"shorten it by {len(text) - MAX_CHARS:,}.")
    if _EMOJI.search(text):
        raise SendError("Yelp does not take emoji in replies yet: remove them and send again.")
    return text


def connect(options: Mapping[str, Any], secrets_getter: SecretsGetter, runtime: Runtime | None = None) -> Http:
    rt = runtime or Runtime()
    token = get_secret(secrets_getter, "partner_token", PLATFORM)
    return rt.http(PLATFORM, options, qpm=60, auth=StaticToken(token, PLATFORM, "partner access token"))


def has_partner_access(options: Mapping[str, Any]) -> bool:
    return any(options.get(f"partner_token{suffix}") for suffix in ("_cmd", "_env", "_keyring"))


class YelpPartnerSender(ApiReviewSender):
    connect = staticmethod(connect)

    def send(self, reply: OutgoingReply) -> SendResult:
        text = check_text(reply.body)
        url = f"{base_url(self.options, 'partner_url', PARTNER_URL)}/reviews/v1/{quote(reply.external_key, safe='')}"
        try:
            self._conn().request("POST", url, idempotent=False,
                                 json_body={"response_text": text, "response_type": "public_comment"})
        except NeedsReauth:
            raise SendError("Yelp refused the partner access token (expired or revoked): renew it "
                            f"({DOCS}) and send again.", retryable=False) from None
        except SourceError as exc:
            words = R2R_WORDS.get(str(exc.code)) if exc.code else None
            if words:
                raise SendError(words, retryable=exc.code == "R2R_COMMENT_QUOTA_EXCEEDED") from None
            raise SendError(f"Yelp did not take the reply: {exc}", retryable=exc.retryable) from None
        return SendResult(external_id=f"{reply.external_key}:reply", sent_at=iso(self.runtime.wallclock()),
                          note="Reply posted on Yelp.")

    def verify(self, reply: OutgoingReply) -> bool | None:
        return None  # R2R documents no way to read a response back: the owner checks on Yelp
