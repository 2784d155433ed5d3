"""Snooze times: the presets and the times an owner types ("2h", "fri 9:00", "2026-12-01 10:00").

Pure functions of ``now`` and the owner's time zone, so the snooze dialog and its tests agree
to the second. Typed times are read in the owner's local zone (``[aging] timezone``), because
"tomorrow 08:00" means the owner's morning, not UTC's. Everything returned is UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo

UTC = timezone.utc
MORNING = time(8, 0)
EVENING = time(18, 0)

_UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800}
_DAY_NAMES = {name: i for i, names in enumerate((
    ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday")))
    for name in names}
_REL_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_TIME = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?")

HELP = "e.g. 45m, 2h, 3d, 18:00, tomorrow 9:00, fri 9:00, 2026-12-01 10:00"


class WhenError(ValueError):
    """A typed time that cannot be read, said so the owner can fix it."""


def _local(d: date, t: time, tz: tzinfo) -> datetime:
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)


def next_week(today: date) -> date:
    """The Monday that starts next week; on a Sunday, the Monday after tomorrow's, so that
    "next week" never lands on the same morning as "tomorrow morning"."""
    ahead = 7 - today.weekday()
    return today + timedelta(days=ahead + 7 if ahead == 1 else ahead)


def _parse_clock(text: str) -> time:
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise WhenError(f"cannot read the time {text!r} (try 9:00, 14:30 or 5pm)")
    hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if ampm:
        if not 1 <= hour <= 12:
            raise WhenError(f"{text!r}: with am/pm the hour must be 1 to 12")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        raise WhenError(f"{text!r} is not a time of day")
    return time(hour, minute)


def _relative(text: str) -> timedelta | None:
    """``2h``, ``1h30m``, ``3 days``, ``in 2 hours``; None when ``text`` is not relative."""
    s = text.removeprefix("in ").replace(" ", "")
    if not s or not s[0].isdigit():
        return None
    pos, total = 0, 0.0
    for m in _REL_PART.finditer(s):
        if m.start() != pos or m.group(2) not in _UNITS:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        return None
    return timedelta(seconds=total)


def parse_when(text: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """The UTC instant meant by ``text`` (see ``HELP``); raises ``WhenError`` if unreadable
    or not in the future. A day without a time means 08:00; a time already past today means
    tomorrow; a weekday means its next occurrence (today if that time is still ahead)."""
    s = " ".join(text.lower().replace(",", " ").split())
    if not s:
        raise WhenError("type a time, " + HELP)
    now = now.astimezone(UTC)
    local_now = now.astimezone(tz)
    today = local_now.date()

    delta = _relative(s)
    if delta is not None:
        result = now + delta
    elif s in ("tonight", "this evening", "evening"):
        result = _local(today, EVENING, tz)
    elif s == "next week":
        result = _local(next_week(today), MORNING, tz)
    elif re.match(r"\d{4}-\d{2}-\d{2}", s):
        date_part, _, time_part = s.replace("t", " ", 1).partition(" ")
        try:
            d = date.fromisoformat(date_part)
        except ValueError:
            raise WhenError(f"{date_part!r} is not a date (use YYYY-MM-DD)") from None
        result = _local(d, _parse_clock(time_part) if time_part else MORNING, tz)
    else:
        word, _, rest = s.partition(" ")
        if word in ("today", "tomorrow", "tmrw") or word in _DAY_NAMES:
            clock = _parse_clock(rest) if rest else None
            if word == "today":
                d = today
            elif word in ("tomorrow", "tmrw"):
                d = today + timedelta(days=1)
            else:
                ahead = (_DAY_NAMES[word] - today.weekday()) % 7
                d = today + timedelta(days=ahead)
                if _local(d, clock or MORNING, tz) <= now:
                    d += timedelta(days=7)
            result = _local(d, clock or MORNING, tz)
        else:
            clock = _parse_clock(s)  # a bare time: today, or tomorrow if already past
            result = _local(today, clock, tz)
            if result <= now:
                result = _local(today + timedelta(days=1), clock, tz)
    if result <= now:
        raise WhenError("that time has already passed")
    if result - now > timedelta(days=3660):
        raise WhenError("that is more than ten years away")
    return result.replace(microsecond=0)


def presets(now: datetime, tz: tzinfo = UTC) -> list[tuple[str, str, datetime]]:
    """``(id, label, when)`` for the snooze presets: in 1 hour, this evening 18:00 (tomorrow
    evening once 18:00 has passed), tomorrow morning 08:00, next week (Monday 08:00)."""
    now = now.astimezone(UTC)
    today = now.astimezone(tz).date()
    evening = _local(today, EVENING, tz)
    evening_label = "This evening"
    if evening <= now:
        evening = _local(today + timedelta(days=1), EVENING, tz)
        evening_label = "Tomorrow evening"
    return [
        ("hour", "In 1 hour", now + timedelta(hours=1)),
        ("evening", evening_label, evening),
        ("morning", "Tomorrow morning", _local(today + timedelta(days=1), MORNING, tz)),
        ("week", "Next week", _local(next_week(today), MORNING, tz)),
    ]


def describe(when: datetime, now: datetime, tz: tzinfo = UTC) -> str:
    """``Fri 4 Dec 09:00`` (plus the year when it is not this year), in local time."""
    local = when.astimezone(tz)
    text = f"{local:%a} {local.day} {local:%b} {local:%H:%M}"
    if local.year != now.astimezone(tz).year:
        text += f" {local.year}"
    return text
