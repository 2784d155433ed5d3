"""Render a ``Digest``: Rich for a terminal, plain text for pipes and mail, markdown, html, json.

The digest is first laid out once as neutral blocks (paragraphs, bar charts, tables of plain
strings); each format only decides how to draw them, so the formats never disagree. Every
string from a stranger was cleaned by ``sanitize`` when the digest was built; here each
format adds its own escaping (HTML entities, markdown punctuation, Rich ``Text`` so nothing
is read as markup).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from owner_tui import aging
from owner_tui.reports import metrics
from owner_tui.records import channel_label
from owner_tui.reports.digest import Digest, Item
from owner_tui.sanitize import markdown_text, one_line

BAR = "█"
BAR_WIDTH = 30
COLOURS = {"lt1h": "green", "1-4h": "cyan", "4-24h": "yellow", "1-3d": "dark_orange", "gt3d": "red",
           "overdue": "bold red", "muted": "dim", "good": "green", "bad": "red", "": ""}
HTML_COLOURS = {"lt1h": "#2e7d32", "1-4h": "#00838f", "4-24h": "#b8860b", "1-3d": "#e65100", "gt3d": "#c62828",
                "overdue": "#c62828", "muted": "#777", "good": "#2e7d32", "bad": "#c62828", "": "inherit"}

STATE_STYLE = {"waiting": "bad", "answered": "good"}

Cell = tuple[str, str]  # (text, style key)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    right: set[int] = field(default_factory=set)  # right-aligned column numbers


@dataclass
class Bars:
    rows: list[tuple[str, int, str]]  # (label, value, style key)
    #: Column headings for the formats that show them (markdown); the value's own text, when
    #: it is not the bare number (``4.2★``, ``3.5h``), in ``shown``.
    headers: tuple[str, str] = ("age", "waiting")
    shown: list[str] | None = None

    def value_text(self, i: int) -> str:
        return self.shown[i] if self.shown else str(self.rows[i][1])


@dataclass
class Section:
    title: str
    blocks: list[str | Table | Bars] = field(default_factory=list)


# -- layout -------------------------------------------------------------------------------------

def _local(value: str | datetime, tz: ZoneInfo) -> str:
    dt = aging.parse_iso(value) if isinstance(value, str) else value
    return dt.astimezone(tz).strftime("%a %d %b %H:%M")


def _stars(rating: int | None) -> str:
    return "★" * rating + "☆" * (5 - rating) if rating else ""


def _sla_words(d: Digest) -> str:
    return f"{d.sla_hours:g} {'business ' if d.business_hours else ''}hours"


def layout(d: Digest) -> tuple[str, list[Section]]:
    tz = ZoneInfo(d.timezone)
    title = f"owner-tui digest, {_local(d.generated_at, tz)} ({d.timezone})"
    out: list[Section] = []
    attention = _attention_section(d)
    if attention is not None:
        out.append(attention)

    s = Section("Awaiting a reply now")
    if d.awaiting_total:
        s.blocks.append(f"{d.awaiting_total} awaiting a reply; {d.overdue_total} past the target of "
                        f"{_sla_words(d)}.")
        s.blocks.append(Bars([(aging.bucket_label(k), n, k) for k, n in d.buckets.items()]))
        keys = list(d.buckets)
        rows = [[(channel_label(ch), "")] + [(str(c[k]) if c[k] else "-", k if c[k] else "muted") for k in keys]
                + [(str(sum(c.values())), "")] for ch, c in d.by_channel.items()]
        s.blocks.append(Table(["channel", *(aging.bucket_label(k) for k in keys), "total"], rows,
                              set(range(1, len(keys) + 2))))
        s.blocks.append(f"The oldest {len(d.oldest)}:")
        s.blocks.append(Table(["waiting", "channel", "contact", "subject or review", "stars", ""], [
            [(aging.format_age(i.age_seconds), i.bucket), (channel_label(i.channel), ""), (i.contact, ""), (i.text, ""),
             (_stars(i.rating), ""), ("overdue" if i.overdue else "", "overdue")] for i in d.oldest], {0}))
    else:
        s.blocks.append("Nobody is waiting for a reply.")
    out.append(s)

    if d.missed_calls:  # the contact a business most often never returns (issue 19)
        n = len(d.missed_calls)
        s = Section(f"Missed calls to call back ({n})")
        s.blocks.append(Table(["waiting", "number", "contact", "message"], [
            [(aging.format_age(i.age_seconds), i.bucket), (i.number, ""), (i.contact, ""), (i.text, "")]
            for i in d.missed_calls], {0}))
        out.append(s)

    s = Section(f"New since {_local(d.since, tz)} ({d.since_source})")
    if d.arrived_total:
        per = ", ".join(f"{channel_label(ch)} {n}" for ch, n in d.arrived_by_channel.items())
        s.blocks.append(f"{d.arrived_total} new message{'s' if d.arrived_total != 1 else ''}: {per}.")
        s.blocks.append(Table(["received", "channel", "contact", "subject or review", "now"], [
            [(_local(i.at, tz), ""), (channel_label(i.channel), ""), (i.contact, ""), (i.text, ""),
             (i.state, STATE_STYLE.get(i.state, "muted"))] for i in d.arrived]))
    else:
        s.blocks.append("Nothing new.")
    out.append(s)

    s = Section(f"Low ratings (≤ 2 stars) since {_local(d.since, tz)}")
    if d.low_ratings:
        s.blocks.append(Table(["stars", "channel", "contact", "review", "now"], [
            [(_stars(i.rating), "bad"), (channel_label(i.channel), ""), (i.contact, ""), (i.text, ""),
             (i.state, STATE_STYLE.get(i.state, "muted"))] for i in d.low_ratings]))
    else:
        s.blocks.append("None.")
    out.append(s)

    s = Section(f"No answer yet: you wrote last, {d.followup_days}+ days ago")
    if d.followups_total:
        s.blocks.append(f"{d.followups_total} conversation{'s' if d.followups_total != 1 else ''} to chase"
                        + (f"; the oldest {len(d.followups)}:" if d.followups_total > len(d.followups) else ":"))
        s.blocks.append(Table(["you wrote", "channel", "contact", "subject"], [
            [(f"{aging.format_age(i.age_seconds)} ago", "muted"), (channel_label(i.channel), ""), (i.contact, ""), (i.text, "")]
            for i in d.followups]))
    else:
        s.blocks.append("None.")
    out.append(s)

    out.append(_weeks_section(d))
    out.append(_times_section(d, tz))
    return title, out


def _attention_section(d: Digest) -> Section | None:
    """First of all: accounts failing, stale or never synced (the lists may miss their mail),
    and replies that failed to send."""
    h = d.health
    warned = [a for a in h.accounts if a.warning and not a.problem] if h is not None else []
    if h is None or (not h.problems and not h.outbox.failed and not warned):
        return None
    s = Section("Needs attention first: the lists below may be incomplete" if h.problems or h.outbox.failed
                else "Needs attention first: the lists below may show answered customers as waiting")
    for a in [*h.problems, *warned]:
        s.blocks.append(one_line(f"{a.name} ({a.kind}): {a.describe(d.generated_at)}", limit=400))
        s.blocks.append(f"  What to do: {a.advice}")
    if h.outbox.failed:
        s.blocks.append(f"Outbox: {h.outbox.describe()}")
    return s


def _delta_hours(now: float | None, before: float | None) -> Cell:
    if now is None or before is None or abs(now - before) < 1 / 60:
        return ("", "muted")
    word = "faster" if now < before else "slower"
    return (f"{'▼' if now < before else '▲'} {metrics.format_hours(abs(now - before))} {word}",
            "good" if now < before else "bad")


def _weeks_section(d: Digest) -> Section:
    tw, lw = d.weeks.this_week.overall, d.weeks.last_week.overall
    rows: list[list[Cell]] = []
    for label, a, b in (("messages in", tw.inbound, lw.inbound), ("replies sent", tw.replies, lw.replies),
                        ("waits started", tw.waits, lw.waits), ("answered", tw.answered, lw.answered)):
        rows.append([(label, ""), (str(a), ""), (str(b), ""), (f"{a - b:+d}" if a != b else "", "muted")])
    rows.append([("median reply time", ""), (metrics.format_hours(tw.reply.median_hours), ""),
                 (metrics.format_hours(lw.reply.median_hours), ""),
                 _delta_hours(tw.reply.median_hours, lw.reply.median_hours)])
    if d.business_hours:
        rows.append([("  in business hours", ""), (metrics.format_hours(tw.reply.median_business_hours), ""),
                     (metrics.format_hours(lw.reply.median_business_hours), ""),
                     _delta_hours(tw.reply.median_business_hours, lw.reply.median_business_hours)])
    rows.append([(f"within {_sla_words(d)}", ""), (metrics.format_share(tw), ""), (metrics.format_share(lw), ""),
                 ("", "")])
    return Section("This week against last week (the last 7 days and the 7 before)",
                   [Table(["", "this week", "last week", "change"], rows, {1, 2})])


def _times_section(d: Digest, tz: ZoneInfo) -> Section:
    p = d.period
    biz = d.business_hours
    head = ["channel", "first reply (median / p90)", "reply (median / p90)"]
    if biz:
        head.append("reply, business hours")
    head += ["within target", "waiting"]
    rows = []
    for ch in [*p.channels.values(), p.overall]:
        row: list[Cell] = [(channel_label(ch.channel), ""),
                           (f"{metrics.format_hours(ch.first_response.median_hours)} / "
                            f"{metrics.format_hours(ch.first_response.p90_hours)}", ""),
                           (f"{metrics.format_hours(ch.reply.median_hours)} / "
                            f"{metrics.format_hours(ch.reply.p90_hours)}", "")]
        if biz:
            row.append((f"{metrics.format_hours(ch.reply.median_business_hours)} / "
                        f"{metrics.format_hours(ch.reply.p90_business_hours)}", ""))
        row += [(metrics.format_share(ch), ""), (str(ch.still_waiting), "")]
        rows.append(row)
    return Section(f"Response times for messages since {_local(p.since, tz)}",
                   [Table(head, rows, set(range(1, len(head))))])


# -- formats ------------------------------------------------------------------------------------

def _bar(value: int, top: int) -> str:
    if not value:
        return ""
    return BAR * max(1, round(value / top * BAR_WIDTH)) if top else ""


def render_text(d: Digest) -> str:
    """Plain text: for pipes, cron mail and the text part of the mailed digest."""
    return text_of(*layout(d))


def text_of(title: str, sections: list[Section]) -> str:
    """Plain text of any laid-out report (the digest, the period report)."""
    lines = [title, "=" * len(title)]
    for s in sections:
        lines += ["", s.title, "-" * len(s.title)]
        for b in s.blocks:
            if isinstance(b, str):
                lines.append(b)
            elif isinstance(b, Bars):
                top = max((v for _, v, _ in b.rows), default=0)
                width = max(len(label) for label, _, _ in b.rows)
                lines += [f"  {label.ljust(width)} {b.value_text(i).rjust(4)} {_bar(v, top)}".rstrip()
                          for i, (label, v, _) in enumerate(b.rows)]
            else:
                widths = [max(len(h), *(len(r[i][0]) for r in b.rows)) for i, h in enumerate(b.headers)]

                def fmt(cells: list[str]) -> str:
                    return "  " + "  ".join(c.rjust(w) if i in b.right else c.ljust(w)
                                            for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
                lines.append(fmt(b.headers))
                lines += [fmt([c for c, _ in r]) for r in b.rows]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return markdown_text(text)


def render_markdown(d: Digest) -> str:
    return markdown_of(*layout(d))


def markdown_of(title: str, sections: list[Section]) -> str:
    out = [f"# {_md(title)}"]
    for s in sections:
        out += ["", f"## {_md(s.title)}", ""]
        for b in s.blocks:
            if isinstance(b, str):
                out += [_md(b), ""]
            elif isinstance(b, Bars):
                top = max((v for _, v, _ in b.rows), default=0)
                out += [f"| {_md(b.headers[0])} | {_md(b.headers[1])} | |", "|---|--:|---|"]
                out += [f"| {_md(label)} | {_md(b.value_text(i))} | {_bar(v, top)} |"
                        for i, (label, v, _) in enumerate(b.rows)] + [""]
            else:
                out.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
                out.append("|" + "|".join("--:" if i in b.right else "---" for i in range(len(b.headers))) + "|")
                out += ["| " + " | ".join(_md(c) for c, _ in r) + " |" for r in b.rows] + [""]
    return "\n".join(out).rstrip() + "\n"


def render_html(d: Digest) -> str:
    """A small standalone page with inline styles (mail clients drop <style> blocks)."""
    return html_of(*layout(d))


def html_of(title: str, sections: list[Section]) -> str:
    """Inline styles only, and charts as table cells with a background colour and a width:
    no script, no image, nothing a mail client strips (Outlook ignores a div's width)."""
    e = html.escape
    out = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">', f"<title>{e(title)}</title></head>",
           '<body style="font-family:system-ui,sans-serif;font-size:14px;color:#222">', f"<h1>{e(title)}</h1>"]
    cell = 'style="padding:2px 8px;text-align:{};color:{}"'
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, str):
                out.append(f"<p>{e(b)}</p>")
            elif isinstance(b, Bars):
                top = max((v for _, v, _ in b.rows), default=0) or 1
                out.append("<table>")
                for i, (label, v, key) in enumerate(b.rows):
                    px = round(v / top * 200) if v > 0 else 0
                    bar = (f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>'
                           f'<td width="{px}" height="10" bgcolor="{HTML_COLOURS[key]}" style="width:{px}px;'
                           f'height:10px;background:{HTML_COLOURS[key]};font-size:1px;line-height:1px">&nbsp;</td>'
                           f'</tr></table>') if px else ""
                    out.append(f"<tr><td {cell.format('left', 'inherit')}>{e(label)}</td>"
                               f"<td {cell.format('right', 'inherit')}>{e(b.value_text(i))}</td><td>{bar}</td></tr>")
                out.append("</table>")
            else:
                out.append('<table style="border-collapse:collapse">')
                out.append("<tr>" + "".join(f"<th {cell.format('right' if i in b.right else 'left', 'inherit')}>"
                                            f"{e(h)}</th>" for i, h in enumerate(b.headers)) + "</tr>")
                for r in b.rows:
                    out.append("<tr>" + "".join(
                        f"<td {cell.format('right' if i in b.right else 'left', HTML_COLOURS.get(k, 'inherit'))}>"
                        f"{e(c)}</td>" for i, (c, k) in enumerate(r)) + "</tr>")
                out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_rich(d: Digest):
    """A Rich renderable; every cell is a ``Text`` so customer text is never read as markup."""
    return rich_of(*layout(d))


def rich_of(title: str, sections: list[Section]):
    """A Rich renderable of any laid-out report; every cell a ``Text`` (never markup)."""
    from rich import box
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    parts: list = [Text(title, style="bold")]
    for s in sections:
        parts += [Text(""), Text(s.title, style="bold underline")]
        for b in s.blocks:
            if isinstance(b, str):
                parts.append(Text(b))
            elif isinstance(b, Bars):
                top = max((v for _, v, _ in b.rows), default=0)
                width = max(len(label) for label, _, _ in b.rows)
                for i, (label, v, key) in enumerate(b.rows):
                    line = Text(f"  {label.ljust(width)} {b.value_text(i).rjust(4)} ")
                    line.append(_bar(v, top), style=COLOURS[key])
                    parts.append(line)
            else:
                t = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
                for i, h in enumerate(b.headers):
                    t.add_column(Text(h), justify="right" if i in b.right else "left",
                                 overflow="ellipsis", no_wrap=True)
                for r in b.rows:
                    t.add_row(*(Text(c, style=COLOURS.get(k, "")) for c, k in r))
                parts.append(t)
    return Group(*parts)


def _jsonable(value):
    if isinstance(value, datetime):
        return aging.to_iso(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _metrics_dict(m: metrics.ChannelMetrics) -> dict:
    out = asdict(m)
    out["sla_share"] = m.sla_share
    return out


def digest_dict(d: Digest) -> dict:
    """The digest as plain data (what ``--format json`` prints)."""
    def items(xs: list[Item]) -> list[dict]:
        return [asdict(i) for i in xs]

    def period(p: metrics.PeriodMetrics) -> dict:
        return {"since": p.since, "until": p.until, "overall": _metrics_dict(p.overall),
                "channels": {k: _metrics_dict(v) for k, v in p.channels.items()}}

    return _jsonable({
        "generated_at": d.generated_at, "since": d.since, "since_source": d.since_source, "timezone": d.timezone,
        "sla_hours": d.sla_hours, "business_hours": d.business_hours,
        "awaiting": {"total": d.awaiting_total, "overdue": d.overdue_total, "buckets": d.buckets,
                     "by_channel": d.by_channel, "oldest": items(d.oldest)},
        "arrived": {"total": d.arrived_total, "by_channel": d.arrived_by_channel, "latest": items(d.arrived)},
        "low_ratings": items(d.low_ratings),
        "missed_calls": items(d.missed_calls),
        "followups": {"days": d.followup_days, "total": d.followups_total, "oldest": items(d.followups)},
        "weeks": {"this_week": period(d.weeks.this_week), "last_week": period(d.weeks.last_week)},
        "period": period(d.period),
        "health": d.health.as_dict() if d.health is not None else None,
    })


def render_json(d: Digest) -> str:
    return json.dumps(digest_dict(d), ensure_ascii=False, indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html, "json": render_json}
