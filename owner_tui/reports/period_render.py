"""Render a ``PeriodReport`` with the digest's renderers: the report is laid out once as the
digest's neutral blocks (``digest_render.Section``, ``Table``, ``Bars``) and drawn by the same
text, markdown, html (inline styles, table-cell bars: no script, no image) and Rich code."""

from __future__ import annotations

import json
from dataclasses import asdict
from zoneinfo import ZoneInfo

from owner_tui.records import channel_label
from owner_tui.reports import metrics
from owner_tui.reports.digest_render import (
    Bars,
    Cell,
    Section,
    Table,
    _delta_hours,
    _jsonable,
    _local,
    _metrics_dict,
    html_of,
    markdown_of,
    rich_of,
    text_of,
)
from owner_tui.reports.period import Figures, PeriodReport

ALL = metrics.ALL


def _count_change(now: int, before: int) -> Cell:
    return (f"{now - before:+d}" if now != before else "", "muted")


def _share(m: metrics.ChannelMetrics) -> str:
    return metrics.format_share(m)


def _pct(m: metrics.ChannelMetrics) -> str:
    return "-" if m.sla_share is None else f"{m.sla_share * 100:.0f}%"


def _share_change(now: metrics.ChannelMetrics, before: metrics.ChannelMetrics) -> Cell:
    a, b = now.sla_share, before.sla_share
    if a is None or b is None or round(a * 100) == round(b * 100):
        return ("", "muted")
    diff = round((a - b) * 100)
    return (f"{'▲' if diff > 0 else '▼'} {abs(diff)} points", "good" if diff > 0 else "bad")


def _rating_change(now: float | None, before: float | None) -> Cell:
    if now is None or before is None or abs(now - before) < 0.05:
        return ("", "muted")
    return (f"{'▲' if now > before else '▼'} {abs(now - before):.1f}", "good" if now > before else "bad")


def _hours(value: float | None) -> str:
    return metrics.format_hours(value)


def _overall(r: PeriodReport) -> Section:
    c, p = r.current, r.previous
    cm, pm = c.channel(ALL), p.channel(ALL)
    end_word = "at the end" if c.complete else "now"
    rows: list[list[Cell]] = []
    for name, a, b in (("messages in", cm.inbound, pm.inbound),
                       ("conversations answered", c.answered.get(ALL, 0), p.answered.get(ALL, 0))):
        rows.append([(name, ""), (str(a), ""), (str(b), ""), _count_change(a, b)])
    for name, get in (("median reply time", lambda m: m.reply.median_hours),
                      ("p90 reply time", lambda m: m.reply.p90_hours),
                      ("median first response", lambda m: m.first_response.median_hours),
                      ("p90 first response", lambda m: m.first_response.p90_hours)):
        rows.append([(name, ""), (_hours(get(cm)), ""), (_hours(get(pm)), ""), _delta_hours(get(cm), get(pm))])
    if r.business_hours:
        rows.append([("median reply, business hours", ""), (_hours(cm.reply.median_business_hours), ""),
                     (_hours(pm.reply.median_business_hours), ""),
                     _delta_hours(cm.reply.median_business_hours, pm.reply.median_business_hours)])
    rows.append([(f"within {r.sla_hours:g} {'business ' if r.business_hours else ''}hours", ""),
                 (_share(cm), ""), (_share(pm), ""), _share_change(cm, pm)])
    a, b = c.unanswered_at_end.get(ALL, 0), p.unanswered_at_end.get(ALL, 0)
    rows.append([(f"unanswered {end_word}", "bad" if a else ""), (str(a), ""), (str(b), ""),
                 (f"{a - b:+d}" if a != b else "", "bad" if a > b else "good" if a < b else "muted")])
    return Section(f"Overall: {c.label} against {p.label}",
                   [Table(["", c.label, p.label, "change"], rows, {1, 2})])


def _channels(r: PeriodReport) -> Section:
    c, p = r.current, r.previous
    head = ["channel", "in", "answered", "reply median / p90", "first response median / p90", "within target",
            "unanswered"]
    rows: list[list[Cell]] = []

    def pair(now, before) -> str:
        return f"{now} ({before})"

    for ch in [*r.channels, ALL]:
        cm, pm = c.channel(ch), p.channel(ch)
        rows.append([
            (channel_label(ch), ""), (pair(cm.inbound, pm.inbound), ""),
            (pair(c.answered.get(ch, 0), p.answered.get(ch, 0)), ""),
            (f"{_hours(cm.reply.median_hours)} / {_hours(cm.reply.p90_hours)} "
             f"({_hours(pm.reply.median_hours)} / {_hours(pm.reply.p90_hours)})", ""),
            (f"{_hours(cm.first_response.median_hours)} / {_hours(cm.first_response.p90_hours)} "
             f"({_hours(pm.first_response.median_hours)} / {_hours(pm.first_response.p90_hours)})", ""),
            (f"{_pct(cm)} ({_pct(pm)})", ""),
            (pair(c.unanswered_at_end.get(ch, 0), p.unanswered_at_end.get(ch, 0)),
             "bad" if c.unanswered_at_end.get(ch, 0) else "")])
    blocks: list = ["Each figure for this period, the previous period's in brackets.",
                    Table(head, rows, set(range(1, len(head))))]
    volume = [(channel_label(ch), c.channel(ch).inbound, "1-4h") for ch in r.channels if c.channel(ch).inbound]
    if volume:
        blocks += ["Messages in:", Bars(volume, headers=("channel", "messages in"))]
    return Section("By channel", blocks)


def _ratings(r: PeriodReport) -> Section:
    c, p = r.current, r.previous
    platforms = sorted(set(c.ratings) | set(p.ratings))
    if not platforms:
        return Section("Average rating per platform", ["No ratings in either period."])
    rows: list[list[Cell]] = []
    for ch in platforms:
        now, before = c.ratings.get(ch), p.ratings.get(ch)
        a, b = (now.average if now else None), (before.average if before else None)
        rows.append([(ch, ""), (f"{a:.1f}★" if a is not None else "-", ""), (str(now.count if now else 0), ""),
                     (f"{b:.1f}★" if b is not None else "-", ""), (str(before.count if before else 0), ""),
                     _rating_change(a, b)])
    bars = [(ch, round((c.ratings[ch].average or 0) * 10), "good" if (c.ratings[ch].average or 0) >= 4 else
             "4-24h" if (c.ratings[ch].average or 0) >= 3 else "bad") for ch in platforms if ch in c.ratings]
    shown = [f"{c.ratings[ch].average:.1f}★" for ch in platforms if ch in c.ratings]
    blocks: list = [Table(["platform", "average", "ratings", "before", "ratings before", "trend"], rows,
                          {1, 2, 3, 4})]
    if bars:
        blocks.append(Bars(bars, headers=("platform", "average"), shown=shown))
    return Section("Average rating per platform", blocks)


def _said(r: PeriodReport) -> Section:
    c, p = r.current, r.previous
    s = Section("What customers said most often in low ratings and complaints")
    s.blocks.append(f"{c.complaints} low rating{'s' if c.complaints != 1 else ''} (≤ 2 stars) or complaint"
                    f"{'s' if c.complaints != 1 else ''}; {p.complaints} in {p.label}.")
    if r.top:
        s.blocks.append(Table(["said", "times", "before", "for example"], [
            [(ph.text, ""), (str(ph.count), ""), (str(ph.previous), ""), (" · ".join(ph.examples), "muted")]
            for ph in r.top], {1, 2}))
    elif c.complaints:
        s.blocks.append("No word or phrase came up more than once.")
    return s


def layout(r: PeriodReport) -> tuple[str, list[Section]]:
    tz = ZoneInfo(r.timezone)
    c = r.current
    so_far = "" if c.complete else ", so far"
    title = f"owner-tui {r.period}ly report: {c.label}{so_far}"
    intro = Section("Period", [
        f"{_local(c.since, tz)} to {_local(c.until, tz)} ({r.timezone}), against {r.previous.label}. "
        "Each period is measured as it stood at its end: later replies do not count in it."
        + ("" if c.complete else f" This period is still running: figures up to {_local(c.as_of, tz)}.")])
    return title, [intro, _overall(r), _channels(r), _ratings(r), _said(r)]


def render_text(r: PeriodReport) -> str:
    return text_of(*layout(r))


def render_markdown(r: PeriodReport) -> str:
    return markdown_of(*layout(r))


def render_html(r: PeriodReport) -> str:
    return html_of(*layout(r))


def render_rich(r: PeriodReport):
    return rich_of(*layout(r))


def _figures_dict(f: Figures) -> dict:
    return {"label": f.label, "since": f.since, "until": f.until, "as_of": f.as_of, "complete": f.complete,
            "overall": _metrics_dict(f.metrics.overall),
            "channels": {k: _metrics_dict(v) for k, v in f.metrics.channels.items()},
            "conversations_answered": f.answered, "unanswered_at_end": f.unanswered_at_end,
            "ratings": {k: asdict(v) for k, v in f.ratings.items()}, "complaints": f.complaints}


def report_dict(r: PeriodReport) -> dict:
    return _jsonable({"period": r.period, "generated_at": r.generated_at, "timezone": r.timezone,
                      "sla_hours": r.sla_hours, "business_hours": r.business_hours,
                      "current": _figures_dict(r.current), "previous": _figures_dict(r.previous),
                      "said": [asdict(p) for p in r.top]})


def render_json(r: PeriodReport) -> str:
    return json.dumps(report_dict(r), ensure_ascii=False, indent=2) + "\n"


def subject_line(r: PeriodReport) -> str:
    m = r.current.channel(ALL)
    return (f"owner-tui {r.period}ly report, {r.current.label}: {m.inbound} messages in, "
            f"{r.current.answered.get(ALL, 0)} answered, {r.current.unanswered_at_end.get(ALL, 0)} unanswered")


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html, "json": render_json}
