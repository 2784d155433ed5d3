"""Follow-up lists: one row per conversation, as csv, json, jsonl, markdown or ics.

Rows stream from one database cursor to the output, so memory stays flat however large the
store. Untrusted text is cleaned of terminal controls in every format, and CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Iterator

from owner_tui import aging
from owner_tui.records import PHONE_CHANNELS
from owner_tui.sanitize import CSV_TRIGGERS, markdown_text, one_line, spreadsheet_safe
from owner_tui.store.queries import ListFilter

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

FORMATS = ("csv", "json", "jsonl", "markdown", "ics")
FIELDS = ("contact", "channel", "address", "subject", "rating", "waiting_since", "age", "bucket",
          "sla_due", "status", "link", "conversation_id")
EXTENSIONS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "markdown": "md", "ics": "ics"}


def _line(text, limit: int) -> str:
    """``sanitize.one_line`` with its fast path inline (most cells are plain printable text)."""
    if text.__class__ is str and text.isprintable() and len(text) <= limit and "  " not in text \
            and text == text.strip():
        return text
    return one_line(text, limit=limit)


def export_tuples(store, f: ListFilter, now: datetime) -> Iterator[tuple]:
    """The list's rows as tuples in ``FIELDS`` order (the CSV path writes them as they are;
    the other formats make dicts of them)."""
    cfg = store.aging
    sla_hours, hours, followup = cfg.sla_hours, cfg.business_hours, timedelta(days=cfg.followup_days)
    age_seconds, format_age, bucket_for = aging.age_seconds, aging.format_age, aging.bucket_for
    to_iso, parse_iso, sla_due = aging.to_iso, aging.parse_iso, aging.sla_due
    line = _line
    for cols, rows in store.iter_batches(f, now):
        at = {name: i for i, name in enumerate(cols)}
        i_since, i_out, i_handle, i_channel, i_url = (at["waiting_since"], at["last_outbound_at"],
                                                      at["contact_handle"], at["channel"], at["url"])
        i_subject, i_excerpt, i_name, i_rating, i_status, i_id = (at["subject"], at["excerpt"], at["contact_name"],
                                                                  at["rating"], at["status"], at["id"])
        for r in rows:
            since = r[i_since]
            if since:
                age = age_seconds(since, now)
                due = to_iso(sla_due(since, sla_hours, hours))
                age_text, bucket = format_age(age), bucket_for(age)
            else:
                age_text = bucket = ""
                out_at = r[i_out]  # "no answer yet": chase after followup_days
                due = to_iso(parse_iso(out_at) + followup) if out_at else None
            handle = r[i_handle] or ""
            channel = r[i_channel]
            link = r[i_url] or (f"mailto:{handle}" if channel == "email" and "@" in handle else "")
            if channel in PHONE_CHANNELS:  # a text or a missed call: the number, and tel: to call it
                handle = handle.removeprefix("whatsapp:")
                link = link or (f"tel:{handle}" if _E164.match(handle) else "")
            subject, excerpt = r[i_subject], r[i_excerpt]
            yield (
                line(r[i_name] or handle, 200),
                channel,
                line(handle.removeprefix("name:"), 200),
                line(subject or excerpt or "", 300) if channel == "email" else line(excerpt or subject or "", 300),
                r[i_rating],
                since,
                age_text,
                bucket,
                due,
                r[i_status],
                line(link, 500),
                r[i_id],
            )


def export_rows(store, f: ListFilter, now: datetime) -> Iterator[dict]:
    for t in export_tuples(store, f, now):
        yield dict(zip(FIELDS, t))


#: The cells that hold a stranger's text (or a link made of it): the ones a spreadsheet
#: could be made to run as a formula. The others are owner-tui's own words, numbers and times.
_UNTRUSTED = tuple(FIELDS.index(k) for k in ("contact", "address", "subject", "link"))


def _write_csv(store, f: ListFilter, now: datetime, fh: IO[str]) -> int:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(FIELDS)
    c, a, s, lk = _UNTRUSTED
    triggers = CSV_TRIGGERS
    n = 0
    rows: list = []
    for t in export_tuples(store, f, now):
        if t[c].startswith(triggers) or t[a].startswith(triggers) or t[s].startswith(triggers) \
                or t[lk].startswith(triggers):
            t = tuple(spreadsheet_safe(v) for v in t)
        rows.append(t)
        if len(rows) == 1000:
            w.writerows(rows)
            n += len(rows)
            rows.clear()
    w.writerows(rows)
    return n + len(rows)


def _md_cell(value) -> str:
    # Every markdown-active character escaped (sanitize.markdown_text): a stranger's
    # "<img onerror=...>", "![](http://tracker)" or "[x](javascript:...)" stays text.
    return markdown_text(value)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_line(line: str) -> str:
    """Fold at 75 octets (RFC 5545 3.1) without splitting a UTF-8 sequence."""
    out, cur = [], ""
    for ch in line:
        if len((cur + ch).encode("utf-8")) > (75 if not out else 74):
            out.append(cur)
            cur = ch
        else:
            cur += ch
    out.append(cur)
    return "\r\n ".join(out) + "\r\n"


def _ics_time(iso: str) -> str:
    return aging.parse_iso(iso).strftime("%Y%m%dT%H%M%SZ")


def write_export(store, f: ListFilter, fmt: str, fh: IO[str], now: datetime | None = None) -> int:
    """Write the list in ``fmt`` to the text stream ``fh``; returns the number of rows."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    now = now or store.now()
    if fmt == "csv":
        return _write_csv(store, f, now, fh)
    rows = export_rows(store, f, now)
    n = 0
    if fmt == "jsonl":
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "json":
        fh.write("[")
        for row in rows:
            fh.write(("\n  " if n == 0 else ",\n  ") + json.dumps(row, ensure_ascii=False))
            n += 1
        fh.write("\n]\n" if n else "]\n")
    elif fmt == "markdown":
        cols = ("contact", "channel", "subject", "rating", "age", "waiting_since", "status", "link")
        fh.write("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
        for row in rows:
            fh.write("| " + " | ".join(_md_cell(row[c]) for c in cols) + " |\n")
            n += 1
    else:
        fh.write("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//owner-tui//follow-ups//EN\r\n")
        stamp = _ics_time(aging.to_iso(now))
        for row in rows:
            who = row["contact"] or row["address"]
            stars = f" ({row['rating']}★)" if row["rating"] else ""
            lines = [
                "BEGIN:VTODO",
                f"UID:conversation-{row['conversation_id']}@owner-tui",
                f"DTSTAMP:{stamp}",
                "SUMMARY:" + _ics_text(f"Reply to {who} ({row['channel']}){stars}: {row['subject']}"),
                "DESCRIPTION:" + _ics_text(f"Waiting since {row['waiting_since'] or '-'}; {row['link']}"),
                "STATUS:NEEDS-ACTION",
            ]
            if row["waiting_since"]:
                lines.append(f"DTSTART:{_ics_time(row['waiting_since'])}")
            if row["sla_due"]:
                lines.append(f"DUE:{_ics_time(row['sla_due'])}")
            if row["link"].startswith("http"):
                lines.append("URL:" + row["link"])
            lines.append("END:VTODO")
            fh.write("".join(_ics_line(ln) for ln in lines))
            n += 1
        fh.write("END:VCALENDAR\r\n")
    return n


def export_to_file(store, f: ListFilter, fmt: str, path: Path, now: datetime | None = None) -> int:
    """Write the list to ``path``: owner-only (it holds customers' names and addresses), and
    whole or not at all (written beside, then renamed)."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            rows = write_export(store, f, fmt, fh, now=now)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows
