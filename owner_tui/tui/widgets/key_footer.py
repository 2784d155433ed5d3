"""The footer: the keys of the current screen, most useful first, cut to fit the width.

Textual's ``Footer`` lays out every shown binding and overflows (garbled at 60 columns)
when they do not fit. This one reads the same data (the screen's active bindings, so a
``[keys]`` remap shows), orders them by ``keys.FOOTER_ORDER`` and draws as many whole
items as fit; ``?`` help lists the rest. A click on an item runs its action.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

from owner_tui.tui import keys


class KeyFooter(Widget):
    DEFAULT_CSS = """
    KeyFooter { height: 1; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str, object]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen) -> None:
        self.refresh()

    def items(self) -> list[tuple[str, str, str, object, bool]]:
        """``(key, description, action, node, enabled)`` in footer order."""
        order = {bid: i for i, bid in enumerate(keys.FOOTER_ORDER)}
        found: dict[str, tuple[int, tuple[str, str, str, object, bool]]] = {}
        for active in self.screen.active_bindings.values():
            b = active.binding
            if b.id not in order and not b.show:
                continue
            if b.id in found:
                continue
            rank = order.get(b.id, len(order))
            found[b.id or b.action] = (rank, (self.app.get_key_display(b), b.description, b.action, active.node,
                                              active.enabled))
        ids = set(found)
        for hidden, because in keys.FOOTER_SUPERSEDED.items():
            if because in ids:
                found.pop(hidden, None)
        return [item for _rank, item in sorted(found.values(), key=lambda x: x[0])]

    def render(self) -> Text:
        width = self.size.width
        text = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for key, description, action, node, enabled in self.items():
            piece = f"{key} {description} "
            if text.cell_len + len(piece) > width:
                break
            start = text.cell_len
            text.append(key, style="bold #ffb74d" if enabled else "dim")
            text.append(f" {description} ", style="" if enabled else "dim")
            self._spans.append((start, text.cell_len, action, node))
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, action, node in self._spans:
            if start <= event.x < end:
                self.app.call_later(self.app.run_action, action, node)
                return

    def on_resize(self) -> None:
        self.refresh()
