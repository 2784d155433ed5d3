"""The dashboard: how the business is answering, at a glance.

The same numbers as ``owner-tui digest`` (it builds the same ``Digest``), plus a chart of
the daily median reply time and daily inbound volume over the last weeks. Everything is
computed in a thread worker on its own store connection (a SQLite connection belongs to one
thread) and comes back as a ``DashboardReady`` message; the UI thread only draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Callable, Sequence

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from owner_tui import aging
from owner_tui.records import channel_label
from owner_tui.reports import metrics
from owner_tui.sanitize import one_line
from owner_tui.tui.widgets.health_bar import HealthBar
from owner_tui.tui.widgets.rows import BUCKET_STYLES

if TYPE_CHECKING:
    from owner_tui.reports.digest import Digest
    from owner_tui.store import Store

WEEK_CHOICES = (2, 4, 8)
LEVELS = " ▁▂▃▄▅▆▇█"
CHART_HEIGHT = 4
REPLY_COLOUR = "#4fc3f7"
VOLUME_COLOUR = "#ce93d8"


@dataclass(frozen=True)
class DashboardData:
    digest: "Digest"
    days: list[metrics.DayPoint]
    weeks: int
    #: One line per review feed: "Yelp shows 3 of 41 reviews", a location's rating and count.
    review_feeds: tuple[str, ...] = ()


def compute(store: "Store", weeks: int) -> DashboardData:
    """Everything the dashboard shows, read from ``store`` (call in a worker thread)."""
    from owner_tui.reports.digest import build_digest

    now = store.now()
    d = build_digest(store, now=now, period=timedelta(weeks=weeks))
    from owner_tui.store.reviews import feed_stats, stats_line

    feeds = tuple(f"{s['account']}: {stats_line(s)}" for s in feed_stats(store))
    return DashboardData(d, metrics.daily_series(store, weeks * 7, now), weeks, feeds)


# -- drawing (pure: Rich renderables from data) ------------------------------------------------

def column_chart(values: Sequence[float | None], days: Sequence[metrics.DayPoint] = (), *, colour: str,
                 fmt: Callable[[float], str], height: int = CHART_HEIGHT, cell: int = 2) -> Text:
    """A column chart in eighth blocks, ``height`` lines tall, ``cell`` columns per value,
    labelled with its maximum; dates underneath when ``days`` are given. A missing value
    (no reply that day) shows as a dim dot, a small one as at least one eighth."""
    top = max((v for v in values if v is not None), default=0) or 1
    label = fmt(top)
    pad = " " * len(label)
    out = Text()
    for row in range(height, 0, -1):
        out.append(f"{label} ┤" if row == height else f"{pad} │", style="dim")
        for v in values:
            if v is None:
                out.append(("·" if row == 1 else " ").ljust(cell), style="dim")
                continue
            level = max(0, min(8, round(v / top * height * 8) - (row - 1) * 8))
            if row == 1 and v > 0 and level == 0:
                level = 1
            out.append(LEVELS[level] * max(1, cell - 1) + " " * (cell > 1), style=colour)
        out.append("\n")
    out.append(f"{pad} └" + "─" * (len(values) * cell), style="dim")
    if days:
        out.append("\n")
        out.append(axis(days, len(label), cell))
    return out


def axis(days: Sequence[metrics.DayPoint], label_w: int, cell: int = 2) -> Text:
    """Dates under the chart: the first day and each Monday, where they fit."""
    line = [" "] * (len(days) * cell + 12)
    for i, p in enumerate(days):
        if i == 0 or p.day.weekday() == 0:
            text = p.day.strftime("%d %b")
            pos = i * cell
            if all(c == " " for c in line[max(0, pos - 1):pos + len(text) + 1]):
                line[pos:pos + len(text)] = text
    return Text(" " * (label_w + 2) + "".join(line).rstrip(), style="dim")


def bucket_bars(counts: dict[str, int], width: int = 30) -> Text:
    top = max(counts.values(), default=0) or 1
    out = Text()
    for key in aging.BUCKET_KEYS:
        n = counts.get(key, 0)
        out.append(f"{aging.bucket_label(key):>9} {n:>4} ")
        bar = "█" * (max(1, round(n / top * width)) if n else 0)
        out.append(bar, style=BUCKET_STYLES[key].bgcolor.name if BUCKET_STYLES[key].bgcolor else "")
        out.append("\n")
    out.rstrip()
    return out


def weeks_table(d: "Digest") -> Table:
    tw, lw = d.weeks.this_week.overall, d.weeks.last_week.overall
    t = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    t.add_column("")
    t.add_column("7 days", justify="right")
    t.add_column("7 before", justify="right")
    t.add_row("messages in", str(tw.inbound), str(lw.inbound))
    t.add_row("replies sent", str(tw.replies), str(lw.replies))
    t.add_row("median reply", metrics.format_hours(tw.reply.median_hours), metrics.format_hours(lw.reply.median_hours))
    if d.business_hours:
        t.add_row("  business hours", metrics.format_hours(tw.reply.median_business_hours),
                  metrics.format_hours(lw.reply.median_business_hours))
    t.add_row("on time", metrics.format_share(tw), metrics.format_share(lw))
    return t


def channels_table(d: "Digest") -> Table:
    p = d.period
    t = Table(box=None, pad_edge=False, header_style="bold")
    for name, right in (("channel", False), ("first reply", True), ("reply median", True), ("p90", True),
                        *((("business median", True),) if d.business_hours else ()),
                        ("within target", True), ("waiting", True)):
        t.add_column(name, justify="right" if right else "left")
    for ch in [*p.channels.values(), p.overall]:
        t.add_row(channel_label(ch.channel), metrics.format_hours(ch.first_response.median_hours),
                  metrics.format_hours(ch.reply.median_hours), metrics.format_hours(ch.reply.p90_hours),
                  *((metrics.format_hours(ch.reply.median_business_hours),) if d.business_hours else ()),
                  metrics.format_share(ch), str(ch.still_waiting), style="bold" if ch.channel == metrics.ALL else "")
    return t


def oldest_table(d: "Digest", limit: int = 5) -> Table | Text:
    if not d.oldest:
        return Text("Nobody is waiting for a reply.", style="dim")
    t = Table(box=None, pad_edge=False, show_header=False, expand=True)
    t.add_column(justify="right", no_wrap=True)
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True, max_width=24, overflow="ellipsis")
    t.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    t.add_column(no_wrap=True)
    for item in d.oldest[:limit]:
        # Already cleaned when the digest was built; cleaned again because this is the
        # terminal, and always a Text (never parsed as markup).
        t.add_row(Text(f" {aging.format_age(item.age_seconds)} ", style=BUCKET_STYLES.get(item.bucket, "")),
                  Text(channel_label(item.channel)), Text(one_line(item.contact, limit=24), style="bold"),
                  Text(one_line(item.text, limit=120)), Text("overdue" if item.overdue else "", style="bold red"))
    return t


# -- the screen --------------------------------------------------------------------------------

class DashboardScreen(Screen):
    """Open with ``DashboardScreen(open_store)``: ``open_store()`` must return a new ``Store``
    (it is called in a worker thread, and the screen closes it after reading)."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="dashboard.close", tooltip="Back to the inbox", key_display="esc"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh", tooltip="Read the numbers again"),
        Binding("w", "weeks", "Weeks", id="dashboard.weeks", tooltip="Chart 2, 4, 8 or 12 weeks"),
        Binding("p", "reports", "By period", id="dashboard.reports",
                tooltip="Reports by week, month, quarter and year"),
    ]

    @dataclass
    class Ready(Message):
        data: DashboardData

    def __init__(self, open_store: Callable[[], "Store"], *, weeks: int = 4, name: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._open_store = open_store
        self.weeks = weeks
        self.data: DashboardData | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dash-body"):
            yield Static("Reading the numbers…", id="dash-status")
            with Horizontal(id="dash-top"):
                yield Static(id="dash-buckets", classes="dash-panel")
                yield Static(id="dash-weeks", classes="dash-panel")
            yield Static(id="dash-reply-chart", classes="dash-panel")
            yield Static(id="dash-volume-chart", classes="dash-panel")
            yield Static(id="dash-channels", classes="dash-panel")
            yield Static(id="dash-oldest", classes="dash-panel")
            yield Static(id="dash-reviews", classes="dash-panel")
        yield HealthBar(id="health-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_close(self) -> None:
        self.dismiss()

    def action_reports(self) -> None:
        from owner_tui.screens.report import ReportScreen

        self.app.push_screen(ReportScreen(self._open_store))

    def action_refresh(self) -> None:
        self.query_one("#dash-status", Static).update(Text("Reading the numbers…", style="dim"))
        self._load(self.weeks)

    def action_weeks(self) -> None:
        i = WEEK_CHOICES.index(self.weeks) if self.weeks in WEEK_CHOICES else 0
        self.weeks = WEEK_CHOICES[(i + 1) % len(WEEK_CHOICES)]
        self.action_refresh()

    def on_resize(self) -> None:
        if self.data is not None:
            self._draw_charts()

    def _draw_charts(self) -> None:
        """The parts whose size follows the panel: bucket bars as wide as there is room;
        two columns per day in the charts when they fit, else one (8 weeks at 80 columns)."""
        data = self.data
        assert data is not None
        buckets = self.query_one("#dash-buckets", Static)
        buckets.border_title = "Awaiting now, by age"
        room = buckets.content_size.width or self.size.width // 2 - 4
        buckets.update(bucket_bars(data.digest.buckets, width=max(5, min(40, room - 17))))
        reply = self.query_one("#dash-reply-chart", Static)
        width = reply.content_size.width or self.size.width - 6
        cell = 2 if len(data.days) * 2 + 8 <= width else 1
        reply.border_title = f"Median reply time per day, last {data.weeks} weeks (by the day the wait began)"
        reply.update(column_chart([p.median_reply_hours for p in data.days], data.days, colour=REPLY_COLOUR,
                                  fmt=metrics.format_hours, cell=cell))
        vol = self.query_one("#dash-volume-chart", Static)
        vol.border_title = f"Messages in per day, last {data.weeks} weeks ({sum(p.inbound for p in data.days)} in all)"
        vol.update(column_chart([float(p.inbound) for p in data.days], data.days, colour=VOLUME_COLOUR,
                                fmt=lambda v: f"{v:g}", cell=cell))

    @work(thread=True, group="dashboard", exclusive=True, exit_on_error=False)
    def _load(self, weeks: int) -> None:
        store = self._open_store()
        try:
            data = compute(store, weeks)
        finally:
            store.close()
        self.post_message(self.Ready(data))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "dashboard" and event.state == WorkerState.ERROR:
            err = event.worker.error
            self.query_one("#dash-status", Static).update(
                Text(f"Could not read the numbers: {one_line(err, limit=200)}", style="bold red"))

    @on(Ready)
    def _show(self, message: Ready) -> None:
        self.data = data = message.data
        d = data.digest
        tz = d.timezone
        status = Text()
        status.append(f"{d.awaiting_total} awaiting", style="bold")
        status.append(f" · {d.overdue_total} past the {d.sla_hours:g} h{' business' if d.business_hours else ''} "
                      f"target · {d.arrived_total} new "
                      f"{'since the last digest' if d.since_source == 'last digest' else 'in the last 24 h'}"
                      f" · {d.followups_total} with no answer yet")
        status.append(f"   ({tz})", style="dim")
        self.query_one("#dash-status", Static).update(status)
        weeks = self.query_one("#dash-weeks", Static)
        weeks.border_title = "This week against last"
        weeks.update(weeks_table(d))

        self._draw_charts()

        chans = self.query_one("#dash-channels", Static)
        chans.border_title = f"Response times, last {data.weeks} weeks"
        chans.update(channels_table(d))
        oldest = self.query_one("#dash-oldest", Static)
        oldest.border_title = "Waiting longest"
        oldest.update(oldest_table(d))
        reviews = self.query_one("#dash-reviews", Static)
        reviews.display = bool(data.review_feeds)
        reviews.border_title = "Review platforms"
        reviews.update(Text("\n".join(one_line(line, limit=160) for line in data.review_feeds)))
