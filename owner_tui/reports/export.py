"""Follow-up lists: one row per conversation, as csv, json, jsonl, markdown or ics.

Rows stream from one database cursor to the output, so memory stays flat however large the
store. Untrusted text is cleaned of terminal controls in every format, and CSV cells that a
spreadsheet would run as a formula are neutralised.

CSV is written mostly by SQLite (see "CSV lines made by SQLite" below): the query returns
each row's finished line where it can tell the Python path would write the same bytes, and
Python checks a batch at a time and writes the rest itself (issue 18: 100k rows).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from bisect import bisect_right
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from typing import IO, Iterator

from owner_tui import aging
from owner_tui.records import CHANNELS, PHONE_CHANNELS
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
    yield from _tuples(store.aging, store.iter_batches(f, now), now)


def _tuples(cfg, batches, now: datetime) -> Iterator[tuple]:
    """``export_tuples`` of ``(column names, rows)`` batches of the list's columns."""
    sla_hours, hours, followup = cfg.sla_hours, cfg.business_hours, timedelta(days=cfg.followup_days)
    age_seconds, format_age, bucket_for = aging.age_seconds, aging.format_age, aging.bucket_for
    to_iso, parse_iso, sla_due = aging.to_iso, aging.parse_iso, aging.sla_due
    line = _line
    for cols, rows in batches:
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
    sql = _csv_line_sql(store, f, now)
    if sql is None:  # opening hours or an SLA in fractions of a second: Python does every row
        return _write_csv_rows(export_tuples(store, f, now), w)
    transform = _CsvBatch(store.aging, now)
    batches = _split_batches(store, f, now, transform)
    if batches is None:
        batches = store.iter_query(*sql, transform=transform)
    n = 0
    for text, rows in batches:
        fh.write(text)
        n += rows
    return n


#: A view this big is read in two processes (``store.split_read``) when two cores are there:
#: below it the second process's start (~30 ms) is not won back. This process reads the first
#: ``SPLIT_SHARE`` of the rows and finishes every batch of both parts, so it takes less than
#: half (100k rows, whole process: 0.91 s at a half, 0.88 s at 0.45, 0.95 s at 0.4; 1.27 s
#: in one process).
SPLIT_MIN_ROWS = 20_000
SPLIT_SHARE = 0.45


def _split_batches(store, f: ListFilter, now: datetime, transform):
    """The CSV batches of a big view read in two processes on one snapshot, or None (a small
    view, one core, a store in memory, or the two processes could not be set up)."""
    path = getattr(store, "path", None)
    if path is None or str(path) == ":memory:" or _cores() < 2:
        return None
    from owner_tui.store.split_read import read_only, split_read

    try:
        with read_only(path) as conn:
            parts = store.halves(f, now, SPLIT_MIN_ROWS, conn, share=SPLIT_SHARE)
    except ValueError:  # an order halves cannot read (every view's can)
        return None
    if parts is None:
        return None
    first, second = parts
    return split_read(path, _csv_line_sql(store, f, now, first), _csv_line_sql(store, f, now, second),
                      500, transform)


def _cores() -> int:
    from owner_tui.cores import usable_cores

    return usable_cores()


def _write_csv_rows(tuples, w) -> int:
    """Write ``export_tuples`` rows: a row with any untrusted cell that starts like a
    formula has every text cell neutralised."""
    c, a, s, lk = _UNTRUSTED
    triggers = CSV_TRIGGERS
    n = 0
    rows: list = []
    for t in tuples:
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


# -- CSV lines made by SQLite ------------------------------------------------------------------
#
# Exporting 100k rows spent ~1 s in Python (a tuple, four sanitiser calls, datetime sums and
# csv.writer per row) after ~0.6 s of query (issue 18). So the query itself writes each row's
# finished CSV line where that line is certainly what the Python path above would write: the
# channel is not a phone channel, the times are in the store's one format, every untrusted cell
# is within _line's limit and holds no NUL (SQL then strips a space off either end, as _line
# would). Python checks each batch of lines at once: one str.isprintable (controls, escapes,
# bidi and format characters), the count of marks, and three regexes for a double space or a
# formula start (_ODD); it quotes cells with a comma or a quote as csv.writer does. Every other
# row -- char(3) from SQL, or refused -- is read again by id on the same connection (same
# snapshot) and written by the Python path. tests/test_export_sql_lines.py compares both paths
# on hostile rows.

_ISO_FMT = "%Y-%m-%dT%H:%M:%S+00:00"
#: On both sides of each untrusted cell in SQL's line: printable (a batch's lines joined as
#: they are go through one str.isprintable) and rare; a cell that holds one has a mark too many
#: for its line and goes the Python path.
_MARK = "\u00a4"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _csv_line_sql(store, f: ListFilter, now: datetime, part: tuple[str, list] | None = None) -> tuple[str, list] | None:
    """The full read as one-column rows: the row's CSV line with each untrusted cell between
    two ``_MARK`` and not yet quoted, or ``char(3)`` and the id where SQL cannot tell the
    line is right (``_CsvBatch`` checks and finishes them). ``part``: a condition on ``c``
    and its arguments (one of ``Store.halves``) to read only those rows."""
    from owner_tui.store.queries import _FULL_READ_HANDLE, _FULL_READ_JOINS, _FULL_READ_WITH

    cfg = store.aging
    sla = cfg.sla_hours * 3600
    followup = cfg.followup_days * 86400
    if cfg.business_hours is not None or sla != int(sla) or followup != int(followup) or now.tzinfo is None:
        return None
    sla, followup = int(sla), int(followup)
    now_ts = (now - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(seconds=1)
    where, args, order = store._where(f, now)
    if part is not None:
        where = f"{where} AND {part[0]}" if where else f" WHERE {part[0]}"
        args = [*args, *part[1]]
    keys = [term.split(" ") for term in order.split(", ")]  # "c.id DESC" -> ["c.id", "DESC"]
    others = ", ".join(_sql_str(ch) for ch in CHANNELS if ch not in PHONE_CHANNELS)
    # d: seconds waited (aging.age_seconds, whole as format_age takes them; below 60, max(0, d)
    # is the age and every bucket bound is above 0, so d itself serves the comparisons)
    age = ("CASE WHEN d < 60 THEN max(0, d) || 's' WHEN d < 3600 THEN (d / 60) || 'm' "
           "WHEN d < 86400 THEN CASE WHEN d < 36000 AND (d / 60) % 60 "
           "THEN (d / 3600) || 'h' || printf('%02d', (d / 60) % 60) ELSE (d / 3600) || 'h' END "
           f"WHEN d < {14 * 86400} THEN CASE WHEN d < {3 * 86400} AND (d / 3600) % 24 "
           "THEN (d / 86400) || 'd' || ((d / 3600) % 24) || 'h' ELSE (d / 86400) || 'd' END "
           f"WHEN d < {365 * 86400} THEN (d / {7 * 86400}) || 'w' ELSE (d / {365 * 86400}) || 'y' END")
    bucket = "CASE " + " ".join(f"WHEN d < {upper} THEN {_sql_str(key)}" for key, _l, upper in aging.BUCKETS[:-1]) \
        + f" ELSE {_sql_str(aging.BUCKETS[-1][0])} END"  # aging.bucket_for
    h = _FULL_READ_HANDLE
    # the time the row's date cells count from: when it waits, else the owner's last reply
    at = "CASE WHEN c.waiting_since IS NULL THEN c.last_outbound_at ELSE c.waiting_since END"
    inner = (f"SELECT c.id, c.channel, c.rating, c.waiting_since AS since, c.status, "
             f"COALESCE(NULLIF(ct.name, ''), {h}, '') AS contact, "
             f"CASE WHEN {h} GLOB 'name:*' THEN substr({h}, 6) ELSE COALESCE({h}, '') END AS address, "
             f"CASE WHEN c.channel = 'email' THEN COALESCE(NULLIF(c.subject, ''), NULLIF(c.excerpt, ''), '') "
             f"ELSE COALESCE(NULLIF(c.excerpt, ''), NULLIF(c.subject, ''), '') END AS subject, "
             f"COALESCE(NULLIF(c.url, ''), CASE WHEN c.channel = 'email' AND instr({h}, '@') > 0 "
             f"THEN 'mailto:' || {h} ELSE '' END) AS link, "
             f"{at} AS at, "
             f"{now_ts} - CAST(strftime('%s', {at}) AS INTEGER) AS d, "
             + ", ".join(f"{k[0]} AS k{i}" for i, k in enumerate(keys))
             + f" FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id {_FULL_READ_JOINS}{where}"
             " LIMIT -1 OFFSET 0")  # OFFSET: not flattened into the outer query, so each value is computed once
    due = (f"CASE WHEN since IS NOT NULL THEN strftime('{_ISO_FMT}', {now_ts + sla} - d, 'unixepoch') "
           f"WHEN d IS NULL THEN '' ELSE strftime('{_ISO_FMT}', {now_ts + followup} - d, 'unixepoch') END")
    # at in the store's one format, read as datetime.fromisoformat reads it (through the epoch
    # and back: strftime alone would write 30 February as it came), or none
    at_ok = (f"(at IS NULL OR since IS NULL AND at = '' "
             f"OR strftime('{_ISO_FMT}', {now_ts} - d, 'unixepoch') = at AND at >= '1000' AND at < '9000')")
    ok = (f"{at_ok} AND channel IN ({others}) AND (rating IS NULL OR typeof(rating) = 'integer') "
          f"AND length(contact) <= 200 AND length(address) <= 200 AND length(subject) <= 300 "
          f"AND length(link) <= 500 "
          # printf and length() stop at a NUL character; Python reads past it
          f"AND instr(contact || address || subject || link, char(0)) = 0")
    # A cell within its limit and without a double space that is printable (checked per batch)
    # comes out of _line stripped: the only white space str.isprintable allows is " ".
    m = _MARK
    line = (f"printf('{m}%s{m},%s,{m}%s{m},{m}%s{m},%s,%s,%s,%s,%s,%s,{m}%s{m},%d', "
            f"trim(contact, ' '), channel, trim(address, ' '), trim(subject, ' '), rating, since, "
            f"CASE WHEN since IS NULL THEN '' ELSE {age} END, "
            f"CASE WHEN since IS NULL THEN '' ELSE {bucket} END, {due}, status, trim(link, ' '), id)")
    outer = (f"{_FULL_READ_WITH}SELECT CASE WHEN {ok} THEN {line} ELSE char(3) || id END FROM ({inner}) "
             "ORDER BY " + ", ".join(f"k{i}{' DESC' if k[1:] == ['DESC'] else ''}" for i, k in enumerate(keys)))
    return outer, args


_QUOTE_CELL = re.compile(_MARK + "([^" + _MARK + "]*)" + _MARK)  # from a line's start: the marks pair up
#: What marks a line for the Python path wherever it appears: ``_line`` would change a cell
#: (a double space; a space at either end, though SQL strips those), ``spreadsheet_safe``
#: would (a formula start), or SQL said so (``char(3)``). An opening mark follows a comma or starts a line, a closing one
#: is followed by a comma or ends it, so none of these can straddle two cells. Three simple
#: patterns: one regex with the three alternatives scanned a batch 2.4x slower.
_ODD = (re.compile(" [ " + _MARK + "]"), re.compile(_MARK + "[ " + re.escape("".join(CSV_TRIGGERS)) + "]"),
        re.compile("\x03"))


def _odd_lines(text: str, lines: list[str]) -> set[int]:
    """The indexes of the lines (joined as they are into ``text``) that hold an ``_ODD``
    (a line ends with its id's digits and starts with a mark, so no match spans two)."""
    odd: set[int] = set()
    ends = None
    for pattern in _ODD:
        m = pattern.search(text)
        if m is not None and ends is None:
            ends = list(accumulate(map(len, lines)))  # where each line's successor starts
        while m is not None:
            k = bisect_right(ends, m.start())
            odd.add(k)
            m = pattern.search(text, ends[k]) if k < len(ends) - 1 else None
    return odd


def _finish(lines: list[str], text: str | None = None) -> str | None:
    """SQL's ``lines`` (none with an ``_ODD``; ``text``: them joined as they are) as CSV
    text, or None when one needs the Python path."""
    if text is None:
        text = "".join(lines)
    if text.count(_MARK) != 8 * len(lines) or not text.isprintable():
        return None  # a cell holds a mark, a line break, a control, escape, bidi or format character
    out = "\n".join(lines)
    if '"' in text or text.count(",") != 11 * len(lines):  # a cell holds a comma or a quote: csv.writer quotes it
        out = _QUOTE_CELL.sub(_quote, out)
    return out.replace(_MARK, "") + "\n"


def _quote(m: re.Match) -> str:
    cell = m[1]
    return '"' + cell.replace('"', '""') + '"' if "," in cell or '"' in cell else cell


def _line_id(line: str) -> int:
    """The conversation id of one of SQL's lines (its last cell, or after ``char(3)``)."""
    return int(line[1:] if line.startswith("\x03") else line.rpartition(",")[2])


class _CsvBatch:
    """Turns a batch of rows from ``_csv_line_sql`` into CSV text, in order:
    SQL's lines where ``_odd_lines`` and ``_finish`` accept them, the other rows read again
    by id on the same connection (same snapshot) and written by the Python path."""

    def __init__(self, cfg, now: datetime) -> None:
        self.cfg, self.now = cfg, now

    def __call__(self, conn, cols, rows) -> tuple[str, int]:
        lines = [r[0] for r in rows]
        text = "".join(lines)
        odd = _odd_lines(text, lines)
        done: list = []
        if not odd:
            self._split(lines, done, text)
        else:
            start = 0
            for k in sorted(odd):
                if k > start:
                    self._split(lines[start:k], done)
                done.append((_line_id(lines[k]), None))
                start = k + 1
            if start < len(lines):
                self._split(lines[start:], done)
        slow = [conv_id for conv_id, text in done if text is None]
        if not slow:
            return "".join(text for _id, text in done), len(lines)
        from owner_tui.store.queries import rows_by_id

        fetched_cols, fetched = rows_by_id(conn, slow)
        i_id = fetched_cols.index("id")
        by_id = {r[i_id]: r for r in fetched}
        python = iter(self._python_lines(fetched_cols, [by_id[i] for i in slow if i in by_id]))
        out = []
        for conv_id, text in done:
            if text is not None:
                out.append(text)
            elif conv_id in by_id:  # (gone from the snapshot it was read in: cannot happen)
                out.append(next(python))
        return "".join(out), len(lines) - len(slow) + len(by_id)

    def _split(self, lines: list[str], done: list, text: str | None = None) -> None:
        """``(id, text or None)`` for a run of lines without an ``_ODD``: the whole run when
        ``_finish`` takes it, else each half again (a control character is rare)."""
        text = _finish(lines, text)
        if text is not None:
            done.append((None, text))
        elif len(lines) == 1:
            done.append((_line_id(lines[0]), None))
        else:
            half = len(lines) // 2
            self._split(lines[:half], done)
            self._split(lines[half:], done)

    def _python_lines(self, cols, rows) -> Iterator[str]:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for t in _tuples(self.cfg, [(cols, rows)], self.now):
            buf.seek(0)
            buf.truncate()
            _write_csv_rows([t], w)
            yield buf.getvalue()


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
