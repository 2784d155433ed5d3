"""Reports by period in the TUI: the same ``PeriodReport`` as ``owner-tui report``, drawn with
the same Rich renderer, for a week, month, quarter or year; ``[`` and ``]`` step back and
forward a period. Opened from the dashboard with ``p``. Computed in a thread worker on its own
store connection; the UI thread only draws."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from owner_tui.sanitize import one_line

if TYPE_CHECKING:
    from owner_tui.reports.period import PeriodReport
    from owner_tui.store import Store


class ReportScreen(Screen):
    """``ReportScreen(open_store)``: ``open_store()`` returns a new ``Store`` (called in a worker)."""

    DEFAULT_CSS = """
    ReportScreen #report-body { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Back", id="report.close", tooltip="Back to the dashboard"),
        Binding("w", "period('week')", "Week", id="report.week", tooltip="Report a week"),
        Binding("m", "period('month')", "Month", id="report.month", tooltip="Report a month"),
        Binding("q", "period('quarter')", "Quarter", id="report.quarter", tooltip="Report a quarter"),
        Binding("y", "period('year')", "Year", id="report.year", tooltip="Report a year"),
        Binding("left_square_bracket", "step(-1)", "Earlier", id="report.earlier", tooltip="The period before"),
        Binding("right_square_bracket", "step(1)", "Later", id="report.later", tooltip="The period after"),
    ]

    @dataclass
    class Ready(Message):
        report: "PeriodReport"

    def __init__(self, open_store: Callable[[], "Store"], *, period: str = "month") -> None:
        super().__init__()
        self._open_store = open_store
        self.period = period
        self.at: date | None = None  # None: the last complete period
        self.report: "PeriodReport | None" = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report-body"):
            yield Static("Reading the numbers…", id="report-text")
        yield Footer()

    def on_mount(self) -> None:
        self._load(self.period, self.at)

    def action_close(self) -> None:
        self.dismiss()

    def action_period(self, period: str) -> None:
        self.period = period
        # The new period holds the start of the one shown (a local date: UTC can be the day before).
        self.at = self.report.current.since.astimezone(ZoneInfo(self.report.timezone)).date() if self.report else None
        self._load(self.period, self.at)

    def action_step(self, direction: int) -> None:
        if self.report is None:
            return
        from owner_tui.reports.period import bounds

        cur = self.report.current
        tz = ZoneInfo(self.report.timezone)
        start = cur.since.astimezone(tz).date()
        day = start - timedelta(days=1) if direction < 0 else bounds(self.period, start)[1]
        today = self.report.generated_at.astimezone(tz).date()
        if day > today:
            self.app.bell()
            return
        self.at = day
        self._load(self.period, day)

    @work(thread=True, group="report", exclusive=True, exit_on_error=False)
    def _load(self, period: str, at: date | None) -> None:
        from owner_tui.reports.period import build_report

        store = self._open_store()
        try:
            report = build_report(store, period, at=at)
        finally:
            store.close()
        self.post_message(self.Ready(report))

    @on(Ready)
    def _show(self, message: Ready) -> None:
        from owner_tui.reports.period_render import render_rich

        self.report = message.report
        self.query_one("#report-text", Static).update(render_rich(message.report))

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "report" and event.state == WorkerState.ERROR:
            self.query_one("#report-text", Static).update(
                Text(f"Could not read the numbers: {one_line(event.worker.error, limit=200)}", style="bold red"))
