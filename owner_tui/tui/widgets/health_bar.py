"""The status line: each account at a glance, live mail, the outbox, always one line.

``status_text`` is pure (tested at 80 columns): it tries a full form, then shorter ones
(problems spelled out and the healthy accounts counted; shorter names; counts only), and
crops whatever is left with an ellipsis. It never wraps. Account names and error words are
made inert through ``sanitize`` and drawn as ``Text``, never parsed as markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from rich.text import Text
from textual.widgets import Static

from owner_tui.sanitize import one_line
from owner_tui.store.health import WARNING_SHORT, Health, short_ago

ICON = {"ok": "✓", "syncing": "⟳", "failing": "✗", "stale": "!", "never": "!", "manual": "·", "warning": "!"}
STYLE = {"ok": "green", "syncing": "cyan", "failing": "bold red", "stale": "bold yellow", "never": "bold yellow",
         "manual": "dim", "warning": "bold yellow"}
SEP = " · "


def _live(idle: Mapping[str, str], live_enabled: bool) -> tuple[str, str, str] | None:
    """``(long, short, style)`` for live mail, or None when no account watches."""
    if not live_enabled or not idle:
        return None
    paused = [n for n, text in idle.items() if "retrying in" in text]
    if paused:
        return "live mail paused", "live⏸", "bold yellow"
    watching = any("watching" in text for text in idle.values())
    return ("live mail on", "live", "green") if watching else ("live mail starting", "live…", "dim")


def _outbox(health: Health) -> tuple[str, str, str]:
    o = health.outbox
    parts = [(o.queued, "queued", "q"), (o.sending, "sending", "s"), (o.failed, "failed", "✗")]
    long = ", ".join(f"{n} {w}" for n, w, _ in parts if n)
    short = " ".join(f"{n}{s}" for n, _, s in parts if n)
    style = "bold red" if o.failed else ("cyan" if o.queued or o.sending else "dim")
    return (f"outbox {long}" if long else "outbox empty", f"out {short}" if short else "out 0", style)


def _state(a, syncing: bool) -> str:
    """The account's state for the line: ``warning`` is an ok sync that found something wrong."""
    if syncing and a.state != "manual":
        return "syncing"
    return "warning" if a.state == "ok" and a.warning else a.state


def _account_words(a, now: datetime, syncing: bool, name_limit: int | None) -> tuple[str, str]:
    state = _state(a, syncing)
    name = one_line(a.name, limit=name_limit)
    if state == "warning":
        words = WARNING_SHORT.get(a.warning, "warning")
    elif state == "ok":
        words = short_ago(a.last_success, now)
    elif state == "stale":
        words = f"stale {short_ago(a.last_success, now)}"
    elif state == "syncing":
        words = "syncing"
    else:
        words = a.short
    return state, f"{ICON[state]} {name} {one_line(words, limit=40)}".rstrip()


def status_text(health: Health | None, now: datetime, *, width: int = 80, syncing: bool = False,
                idle: Mapping[str, str] | None = None, live_enabled: bool = True, key: str = "h") -> Text:
    """The status line for ``width`` cells."""
    if health is None:
        return Text(" reading account health…", style="dim", no_wrap=True, overflow="ellipsis")
    idle = idle or {}
    live = _live(idle, live_enabled)
    outbox = _outbox(health)
    hint = f"{key}:details" if key else ""

    def build(level: int) -> Text:
        text = Text(" ", no_wrap=True, overflow="ellipsis")
        items: list[tuple[str, str]] = []
        accounts = [a for a in health.accounts if a.state != "manual"] or list(health.accounts)
        if not accounts:
            items.append(("no accounts: ctrl+p, Add a mail account", "bold yellow"))
        elif level == 0:
            for a in accounts:
                state, words = _account_words(a, now, syncing, None)
                items.append((words, STYLE[state]))
        elif level in (1, 2):
            limit = None if level == 1 else 10
            healthy = [a for a in accounts if _state(a, syncing) in ("ok", "manual")]
            for a in accounts:
                if a in healthy and len(accounts) > 1:
                    continue
                state, words = _account_words(a, now, syncing, limit)
                items.append((words, STYLE[state]))
            if healthy and len(accounts) > 1:
                items.append((f"✓ {len(healthy)} ok", "green"))
        else:
            counts: dict[str, int] = {}
            for a in accounts:
                state = _state(a, syncing)
                counts[state] = counts.get(state, 0) + 1
            items += [(f"{ICON[s]}{n} {s}", STYLE[s]) for s, n in counts.items()]
        if live:
            items.append((live[0] if level < 2 else live[1], live[2]))
        items.append((outbox[0] if level < 2 else outbox[1], outbox[2]))
        for i, (words, style) in enumerate(items):
            if i:
                text.append(SEP if level < 2 else " ", style="dim")
            text.append(words, style=style)
        return text

    for level in range(4):
        text = build(level)
        if text.cell_len + len(hint) + 2 <= width:
            break
    gap = max(1, width - text.cell_len - len(hint) - 1)
    if text.cell_len + len(hint) + 2 <= width:
        text.append(" " * gap)
        text.append(hint, style="bold")
    text.truncate(width, overflow="ellipsis")
    return text


def sending_text(pending: list[tuple[str, int]], width: int) -> Text:
    """The undo-send countdown, first on the line while a reply waits: who, seconds, u."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not pending:
        return text
    name, seconds = min(pending, key=lambda p: p[1])
    more = f" +{len(pending) - 1}" if len(pending) > 1 else ""
    words = f" ✉ to {name}{more} in {seconds}s · u undo " if width >= 70 else f" ✉ {seconds}s u:undo "
    text.append(words, style="bold reverse")
    return text


class HealthBar(Static):
    """One line under the list, drawn from the app's state (``health``, ``syncing``,
    ``idle_status``) at the current width; the app calls ``refresh()`` when that changes."""

    DEFAULT_CSS = """
    HealthBar { height: 1; width: 1fr; background: $panel; }
    """

    def __init__(self, *, show_key: bool = True, id: str | None = None) -> None:
        super().__init__("", id=id)
        #: False where letters type text (the reply editor): the key would not open the details.
        self.show_key = show_key

    def render(self) -> Text:
        app = self.app
        if not hasattr(app, "health"):  # a screen shown by another app (tests host screens alone)
            return Text("")
        width = self.size.width or 80
        countdown = sending_text(app.send_countdown() if hasattr(app, "send_countdown") else [], width)
        # A short notice (already one safe line: the app passed it through sanitize.one_line)
        # takes the free end of the line; only when there is no room does the status shorten.
        notice = app.current_notice() if hasattr(app, "current_notice") else None
        key = getattr(app, "health_key", "h") if self.show_key else ""

        def status(cells: int, hint: str) -> Text:
            if getattr(app, "demo", False):  # the demo has no accounts: say so, not "reading…"
                return Text(" demo: sample data, nothing syncs", style="dim", no_wrap=True, overflow="ellipsis")
            return status_text(getattr(app, "health", None), app.clock(), width=max(10, cells),
                               syncing=getattr(app, "syncing", False), idle=getattr(app, "idle_status", {}),
                               live_enabled=getattr(app, "live_mail_on", False), key=hint)

        if notice:
            rest = status(width - countdown.cell_len, "")
            rest.rstrip()
            free = width - countdown.cell_len - rest.cell_len
            if free < min(len(notice), 20) + 3:
                rest = status(width - countdown.cell_len - min(len(notice), 20) - 3, "")
                rest.rstrip()
                free = width - countdown.cell_len - rest.cell_len
            shown = Text(f" {notice}", no_wrap=True, overflow="ellipsis")
            shown.truncate(max(1, free - 2), overflow="ellipsis")
            shown.append(" ")
            shown.stylize("bold #000000 on #80cbc4")
            rest.append(" " * max(1, free - shown.cell_len))
            rest.append_text(shown)
        else:
            rest = status(width - countdown.cell_len, key)
        if not countdown:
            rest.truncate(width, overflow="ellipsis")
            return rest
        countdown.append_text(rest)
        countdown.truncate(width, overflow="ellipsis")
        return countdown

    def on_resize(self) -> None:
        self.refresh()
