"""Triage: walk the awaiting list oldest first, one conversation at a time.

The session remembers which conversations it has shown, so one that stays in the list
(a reply waiting in the outbox, a skip) is not shown twice, and the next one is always the
oldest wait not yet seen, read fresh from the store. It ends when nothing is left or the
owner presses escape, on a summary of what was cleared.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from owner_tui import aging
from owner_tui.store.queries import ListFilter
from owner_tui.tui import keys

if TYPE_CHECKING:
    from owner_tui.screens.conversation import ConversationScreen

    from owner_tui.tui.app import OwnerApp

#: Outcome kinds in the order the summary lists them, with their words.
OUTCOMES = (("replied", "replied"), ("done", "done"), ("snoozed", "snoozed"),
            ("elsewhere", "replied elsewhere"), ("noise", "marked noise"), ("skipped", "skipped"))
CLEARED = frozenset({"replied", "done", "snoozed", "elsewhere", "noise"})


def next_unvisited(store, f: ListFilter, visited: frozenset[int]) -> int | None:
    """The oldest conversation in ``f`` not yet shown (pages through the visited ones)."""
    offset = 0
    while True:
        rows = store.page(f, offset, 100)
        for row in rows:
            if row["id"] not in visited:
                return row["id"]
        if len(rows) < 100:
            return None
        offset += 100


def remaining(store, f: ListFilter) -> tuple[int, str | None]:
    return store.count(f), store.oldest_wait()


class TriageSession:
    def __init__(self, app: "OwnerApp", f: ListFilter) -> None:
        self.app = app
        self.filter = f.with_(view="awaiting")
        self.visited: list[int] = []
        self.outcomes: Counter[str] = Counter()
        #: How many awaited a reply when triage began: the banner says "n of M".
        self.total = 0

    async def first(self) -> int | None:
        self.total = await self.app.reader(lambda st: st.count(self.filter))
        cid = await self.app.reader(next_unvisited, self.filter, frozenset())
        if cid is not None:
            self.visited.append(cid)
        return cid

    def record(self, kind: str, conversation_id: int) -> None:
        self.outcomes[kind] += 1

    def banner(self) -> Text:
        parts = [f"{self.outcomes[k]} {label}" for k, label in OUTCOMES if self.outcomes[k]]
        text = Text.assemble((f" Triage {len(self.visited)} of {max(self.total, len(self.visited))} ", "bold reverse"), "  ",
                             " · ".join(parts) or "oldest wait first",
                             ("   space next · esc end", "dim"))
        return text

    async def advance(self, screen: "ConversationScreen") -> None:
        cid = await self.app.reader(next_unvisited, self.filter, frozenset(self.visited))
        if cid is None:
            self.finish(screen)
            return
        self.visited.append(cid)
        await screen.load(cid)

    def finish(self, screen: "ConversationScreen") -> None:
        screen.dismiss()
        self.app.run_worker(self._summary, group="triage", exit_on_error=False)

    async def _summary(self) -> None:
        left, oldest = await self.app.reader(remaining, self.filter)
        self.app.push_screen(TriageSummary(self.outcomes, len(self.visited), left, oldest, self.app.clock()))
        self.app.refresh_inbox()


class TriageSummary(ModalScreen[None]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.TRIAGE_SUMMARY]

    def __init__(self, outcomes: Counter, seen: int, left: int, oldest: str | None, now) -> None:
        super().__init__()
        self.outcomes = Counter(outcomes)
        self.cleared = sum(n for k, n in self.outcomes.items() if k in CLEARED)
        self._seen, self._left, self._oldest, self._now = seen, left, oldest, now

    def compose(self) -> ComposeResult:
        lines = Text()
        lines.append(f"You went through {self._seen} conversation{'s' if self._seen != 1 else ''} "
                     f"and cleared {self.cleared}.\n\n", style="bold")
        for kind, label in OUTCOMES:
            if self.outcomes[kind]:
                lines.append(f"  {self.outcomes[kind]:>3}  {label}\n")
        if self._left:
            oldest = aging.format_age(aging.age_seconds(self._oldest, self._now)) if self._oldest else "-"
            lines.append(f"\n{self._left} still awaiting a reply (oldest {oldest}).")
        else:
            lines.append("\nNobody is waiting for a reply. Well done.")
        with Vertical(classes="dialog", id="triage-summary"):
            yield Static(Text("Triage finished"), classes="dialog-title")
            yield Static(lines)
            yield Button("Back to the list", variant="primary", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)
