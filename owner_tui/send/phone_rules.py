"""What the platforms enforce before a text goes out, said before the owner wastes a reply.

- **STOP**: a customer who texted STOP (``store.phone_opt_out``) is never sent to until they
  text START; Twilio would refuse anyway (21610), and a business that keeps texting breaks the
  rules carriers enforce.
- **WhatsApp's 24-hour window**: a free-form WhatsApp reply is allowed only within 24 hours of
  the customer's last WhatsApp message; outside it only an approved template goes (63016).

``check`` is pure and runs twice: when the reply editor opens (``screens/reply``) and again in
the sender (``send/twilio``) on the facts ``store.outgoing`` reads at send time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from owner_tui.records import PHONE_CHANNELS

__all__ = ["PHONE_CHANNELS", "WHATSAPP_WINDOW", "Verdict", "check"]
WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Verdict:
    """``allowed``: a free-form reply may go; ``template``: only the approved template may
    (and one is configured); ``words``: what the editor and a refusal say (empty when fine)."""

    allowed: bool
    template: bool = False
    words: str = ""


def _time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    from owner_tui.aging import parse_iso

    try:
        return parse_iso(value)
    except (TypeError, ValueError):
        return None


def check(channel: str, *, now: datetime, opted_out_at: str | None = None,
          last_inbound_at: str | datetime | None = None, template_sid: str = "",
          template_name: str = "") -> Verdict:
    """May a reply go to this customer now, on this channel?"""
    if channel not in PHONE_CHANNELS:
        return Verdict(True)
    if opted_out_at:
        when = _time(opted_out_at)
        since = f" on {when:%d %b %Y %H:%M} UTC" if when else ""
        return Verdict(False, words=(
            f"This customer texted STOP{since}: nothing can be sent to them until they text START. "
            "Answer another way (phone, email), then mark it replied elsewhere (e)."))
    if channel != "whatsapp":
        return Verdict(True)
    last = _time(last_inbound_at)
    if last is not None and now - last < WHATSAPP_WINDOW:
        return Verdict(True)
    ago = ""
    if last is not None:
        hours = int((now - last).total_seconds() // 3600)
        ago = f" (their last message was {hours} hours ago)" if hours < 96 else f" (their last message was {hours // 24} days ago)"
    head = f"Outside WhatsApp's 24-hour window{ago}: WhatsApp refuses a free-form reply."
    if template_sid:
        label = f"«{template_name}»" if template_name else template_sid
        return Verdict(False, template=True, words=(
            f"{head} Send sends your approved template {label} instead, with your text as its {{{{1}}}}."))
    return Verdict(False, words=(
        f"{head} Set whatsapp_template_sid (an approved template, HX…) on this Twilio account in "
        "config.toml to reach them, or wait for them to write again."))
