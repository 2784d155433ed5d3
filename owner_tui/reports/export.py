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
from owner_tui.sanitize import markdown_text, one_line, spreadsheet_safe
from owner_tui.store.queries import ListFilter

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

FORMATS = ("csv", "json", "jsonl", "markdown", "ics")
FIELDS = ("contact", "channel", "address", "subject", "rating", "waiting_since", "age", "bucket",
          "sla_due", "status", "link", "conversation_id")
EXTENSIONS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "markdown": "md", "ics": "ics"}


def export_rows(store, f: ListFilter, now: datetime) -> Iterator[dict]:
    cfg = store.aging
    for r in store.iter_rows(f, now):
        since = r["waiting_since"]
        age = aging.age_seconds(since, now) if since else None
        if since:
            due = aging.sla_due(since, cfg.sla_hours, cfg.business_hours)
        elif r["last_outbound_at"]:  # "no answer yet": chase after followup_days
            due = aging.parse_iso(r["last_outbound_at"]) + timedelta(days=cfg.followup_days)
        else:
            due = None
        handle = r["contact_handle"] or ""
        link = r["url"] or (f"mailto:{handle}" if "@" in handle and r["channel"] == "email" else "")
        if r["channel"] in PHONE_CHANNELS:  # a text or a missed call: the number, and tel: to call it
            handle = handle.removeprefix("whatsapp:")
            link = link or (f"tel:{handle}" if _E164.match(handle) else "")
        yield {
            "contact": one_line(r["contact_name"] or handle, limit=200),
            "channel": r["channel"],
            "address": one_line(handle.removeprefix("name:"), limit=200),
            "subject": one_line(r["subject"] or r["excerpt"], limit=300) if r["channel"] == "email"
            else one_line(r["excerpt"] or r["subject"], limit=300),
            "rating": r["rating"],
            "waiting_since": since,
            "age": aging.format_age(age) if age is not None else "",
            "bucket": aging.bucket_for(age) if age is not None else "",
            "sla_due": aging.to_iso(due) if due else None,
            "status": r["status"],
            "link": one_line(link, limit=500),
            "conversation_id": r["id"],
        }


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
    rows = export_rows(store, f, now)
    n = 0
    if fmt == "csv":
        w = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
            n += 1
    elif fmt == "jsonl":
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
