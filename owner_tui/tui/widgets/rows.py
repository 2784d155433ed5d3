"""How one conversation looks as one line: age badge, channel, contact, stars, subject.

Kept apart from the list widget so the conversation header, the triage banner and the
tests use the very same badge colours and text. Every stranger's string goes through
``sanitize.one_line`` and is placed into a ``Segment`` as plain text: nothing here is
ever parsed as markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from owner_tui import aging
from owner_tui.config import AgingConfig
from owner_tui.sanitize import one_line

#: Five buckets, five colours, freshest to oldest.
BUCKET_STYLES = {
    "lt1h": Style(color="#ffffff", bgcolor="#2e7d32", bold=True),
    "1-4h": Style(color="#000000", bgcolor="#9ccc65", bold=True),
    "4-24h": Style(color="#000000", bgcolor="#fdd835", bold=True),
    "1-3d": Style(color="#000000", bgcolor="#fb8c00", bold=True),
    "gt3d": Style(color="#ffffff", bgcolor="#c62828", bold=True),
}
NEUTRAL_BADGE = Style(color="#e0e0e0", bgcolor="#455a64")
CHANNELS = {"email": "email", "google": "google", "trustpilot": "trustp", "yelp": "yelp", "facebook": "fb", "on-site": "onsite",
            "sms": "sms", "whatsapp": "wapp", "call": "call"}
CHANNEL_STYLE = Style(color="#80cbc4")
CONTACT_STYLE = Style(bold=True)
SUBJECT_STYLE = Style()
DIM = Style(dim=True)
OVERDUE_STYLE = Style(color="#ff5252", bold=True)
STATUS_STYLE = Style(color="#b0bec5", italic=True)
MARK_STYLE = Style(color="#40c4ff", bold=True)
QUEUED_STYLE = Style(color="#fdd835")
FAILED_STYLE = Style(color="#ff5252", bold=True)

BADGE_WIDTH = 7
CHANNEL_WIDTH = 7
STARS_WIDTH = 6


def star_text(rating: int | None) -> str:
    if not rating:
        return ""
    r = max(0, min(5, int(rating)))
    return "★" * r + "☆" * (5 - r)


def star_style(rating: int | None) -> Style:
    if rating is not None and rating <= 2:
        return Style(color="#ff5252")
    if rating == 3:
        return Style(color="#fdd835")
    return Style(color="#ffca28")


def _badge_source(view: str, row: dict) -> tuple[str | None, bool, bool]:
    """Which time the age badge counts from: ``(iso time, counts down, bucket colours)``."""
    if view == "awaiting" or (view == "all" and row.get("status") == "open" and row.get("waiting_since")):
        since = row.get("waiting_since")
        if since:
            return since, False, True
    if view == "snoozed" and row.get("snoozed_until"):
        return row["snoozed_until"], True, False
    if view == "followup" and row.get("last_outbound_at"):
        return row["last_outbound_at"], False, False
    if view == "done" and row.get("status_at"):
        return row["status_at"], False, False
    return row.get("last_message_at") or row.get("seen_at"), False, False


def badge(view: str, row: dict, now: datetime) -> tuple[str, Style]:
    """The age text and its style: bucket colours for waits, grey for the other views."""
    when, down, bucketed = _badge_source(view, row)
    if not when:
        return "-", NEUTRAL_BADGE
    secs = aging.age_seconds(when, now)
    if bucketed:
        return aging.format_age(secs), BUCKET_STYLES[aging.bucket_for(secs)]
    if down:
        return "↻" + aging.format_age(-secs), NEUTRAL_BADGE
    return aging.format_age(secs), NEUTRAL_BADGE


def steady_seconds(view: str, row: dict, now: datetime, cfg: AgingConfig) -> float:
    """For how many seconds from ``now`` ``row_segments`` draws ``row`` exactly as at ``now``
    (the list keeps a drawn line that long instead of working out every age on every key).

    Only the clock moves a line: its age text, its bucket colour and the overdue flag.
    ``format_age`` shows whole seconds below a minute and, from a minute on, depends only on
    the whole minutes (every unit it shows and every bucket bound is a multiple of 60 s), so
    the text holds until the next whole second or minute of the age (counting up), or of the
    time left (a snooze counting down); the flag turns on at the reply target's due time."""
    when, down, _bucketed = _badge_source(view, row)
    steady = float("inf")
    if when:
        secs = aging.age_seconds(when, now)
        if down:
            left = -secs
            steady = left % (1 if left < 60 else 60)  # 0 on a boundary: it changes at once
        else:
            unit = 1 if secs < 60 else 60
            steady = unit - secs % unit
    since = row.get("waiting_since")
    if view in ("awaiting", "all") and since and row.get("status") == "open":
        due = (aging.sla_due(since, cfg.sla_hours, cfg.business_hours) - now).total_seconds()
        if due > 0:
            steady = min(steady, due)
    return steady


def overdue(row: dict, now: datetime, cfg: AgingConfig) -> bool:
    since = row.get("waiting_since")
    if not since or row.get("status") != "open":
        return False
    return aging.sla_due(since, cfg.sla_hours, cfg.business_hours) <= now


def headline(row: dict) -> str:
    """The subject for email; the review text (excerpt) for reviews."""
    if row.get("channel") != "email":
        return row.get("excerpt") or row.get("subject") or ""
    return row.get("subject") or row.get("excerpt") or "(no subject)"


def _cell(text: str, width: int) -> str:
    return set_cell_size(text, width) if width > 0 else ""


def row_segments(view: str, row: dict, now: datetime, width: int, cfg: AgingConfig,
                 cursor: Style | None = None, *, marked: bool = False, highlight: str | None = None) -> list[Segment]:
    """One list line, exactly ``width`` cells wide; ``marked`` shows a ✓ in the flag column."""
    if width <= 0:
        return []
    age, age_style = badge(view, row, now)
    flag = "! " if view in ("awaiting", "all") and overdue(row, now, cfg) else "  "
    if marked:
        flag = "✓" + flag[0].strip()[:1] if flag.strip() else "✓ "
    contact = one_line(row.get("contact_name") or row.get("contact_handle") or "(unknown)", limit=120)
    rest_w = width - BADGE_WIDTH - 2 - CHANNEL_WIDTH - STARS_WIDTH
    contact_w = max(8, min(26, int(rest_w * 0.3)))
    subject_w = max(0, rest_w - contact_w - 1)
    stars = star_text(row.get("rating"))
    if not stars and (row.get("message_count") or 0) > 1:
        stars = f"({min(row['message_count'], 99)})"
    prefix: list[tuple[str, Style]] = []
    status = row.get("outbox_status")
    if status in ("queued", "sending"):
        prefix.append(("⧗ reply queued · ", QUEUED_STYLE))
    elif status == "failed":
        prefix.append(("✗ send failed · ", FAILED_STYLE))
    if view == "all" and row.get("status") != "open":
        prefix.append((f"[{row.get('status')}] ", STATUS_STYLE))
    elif row.get("replied_elsewhere") and view in ("done", "all", "followup"):
        prefix.append(("(replied elsewhere) ", STATUS_STYLE))
    subject = one_line(headline(row), limit=400)

    def s(style: Style) -> Style:
        return style + cursor if cursor else style

    segs = [
        Segment(_cell(" " + age, BADGE_WIDTH - 1) + " ", age_style),
        Segment(flag, s(MARK_STYLE if marked else OVERDUE_STYLE)),
        Segment(_cell(CHANNELS.get(row.get("channel") or "", row.get("channel") or "?"), CHANNEL_WIDTH),
                s(CHANNEL_STYLE)),
        Segment(_cell(contact, contact_w) + " ", s(CONTACT_STYLE)),
        Segment(_cell(stars, STARS_WIDTH), s(star_style(row.get("rating")) if row.get("rating") else DIM)),
    ]
    left = subject_w
    for text, style in prefix:
        piece = _cell(text, min(left, cell_len(text)))
        segs.append(Segment(piece, s(style)))
        left -= cell_len(piece)
    segs.append(Segment(_cell(subject, max(0, left)), s(SUBJECT_STYLE)))
    if highlight:
        segs = segs[:3] + mark_matches(segs[3:], highlight)
    return Segment.adjust_line_length(segs, width, style=cursor or Style())


MATCH_STYLE = Style(color="#000000", bgcolor="#ffd54f", bold=True)


def mark_matches(segs: list[Segment], term: str, style: Style = MATCH_STYLE) -> list[Segment]:
    """Search matches (each word of ``term``, case-insensitive) drawn highlighted. The text
    is already inert; this only splits segments and adds a style."""
    words = sorted({w.lower() for w in term.split() if len(w) >= 2}, key=len, reverse=True)
    if not words:
        return segs
    out: list[Segment] = []
    for seg in segs:
        text, st = seg.text, seg.style or Style()
        low = text.lower()
        if len(low) != len(text):  # a case mapping that changes length: leave the line alone
            out.append(seg)
            continue
        pos = 0
        while True:
            hits = [(i, w) for w in words if (i := low.find(w, pos)) >= 0]
            if not hits:
                break
            i, w = min(hits)
            out.append(Segment(text[pos:i], st))
            out.append(Segment(text[i:i + len(w)], st + style))
            pos = i + len(w)
        out.append(Segment(text[pos:], st))
    return [seg for seg in out if seg.text]


def badge_text(view: str, row: dict, now: datetime) -> Text:
    age, style = badge(view, row, now)
    return Text(f" {age} ", style=style)


#: What the age column means in each view (it is not always a wait).
AGE_HEADINGS = {"awaiting": "Waits", "followup": "Quiet", "snoozed": "Wakes", "done": "Done",
                "noise": "Last", "all": "Age"}
HEADER_STYLE = Style(bold=True, underline=True, color="#b0bec5")


def header_segments(view: str, width: int) -> list[Segment]:
    """The column header over the list, with the same widths as ``row_segments``: what the
    age means in this view, ``!`` past the reply target, stars or (messages)."""
    if width <= 0:
        return []
    rest_w = width - BADGE_WIDTH - 2 - CHANNEL_WIDTH - STARS_WIDTH
    contact_w = max(8, min(26, int(rest_w * 0.3)))
    subject_w = max(0, rest_w - contact_w - 1)
    flag = "! " if view in ("awaiting", "all") else "  "
    segs = [
        Segment(_cell(" " + AGE_HEADINGS.get(view, "Age"), BADGE_WIDTH - 1) + " ", HEADER_STYLE),
        Segment(flag, HEADER_STYLE),
        Segment(_cell("Via", CHANNEL_WIDTH), HEADER_STYLE),
        Segment(_cell("From", contact_w) + " ", HEADER_STYLE),
        Segment(_cell("★/(n)", STARS_WIDTH), HEADER_STYLE),
        Segment(_cell("Subject or review" + ("  (! past your reply target)" if flag.strip() and subject_w >= 48
                                             else ""), subject_w), HEADER_STYLE),
    ]
    return Segment.adjust_line_length(segs, width, style=Style())
