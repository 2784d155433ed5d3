"""Small pick-one dialogs: export format, noise rule, saved reply (template).

Each is an ``OptionList`` in a modal (keyboard: arrows/enter or the number keys; mouse:
click). Every prompt is a ``rich.text.Text``: Textual would read a plain ``str`` as markup,
and template names and addresses are text the owner did not necessarily write.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from owner_tui.sanitize import clean, one_line
from owner_tui.tui import keys

EXPORT_FORMATS = (
    ("csv", "CSV (spreadsheets)"),
    ("json", "JSON"),
    ("jsonl", "JSON Lines (one conversation per line)"),
    ("markdown", "Markdown table"),
    ("ics", "iCalendar to-dos (calendar apps)"),
)


class PickDialog(ModalScreen[str | None]):
    """Title, options ``(value, Text)``, a hint; dismisses with the value or ``None``."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [*keys.DIALOG, *keys.DIALOG_Q, *keys.PICK_DIALOG]

    def __init__(self, title: Text, options: list[tuple[str, Text]], hint: str = "") -> None:
        super().__init__()
        self._title = title
        self._values = [value for value, _ in options]
        self._prompts = [prompt for _, prompt in options]
        self._hint = hint or "enter or 1-9 choose · esc cancel"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title")
            yield OptionList(*(Option(Text.assemble((f"{i}  ", "bold"), p) if i < 10 else p)
                               for i, p in enumerate(self._prompts, 1)), id="options")
            yield Static(Text(self._hint, style="dim"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#options", OptionList).focus()

    def action_pick(self, index: int) -> None:
        if index < len(self._values):
            self.dismiss(self._values[index])

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._values[event.option_index])


class ExportDialog(PickDialog):
    def __init__(self, view_label: str, count: int) -> None:
        super().__init__(Text.assemble("Export ", (view_label, "bold"), f" ({count} conversations) as…"),
                         [(fmt, Text(label)) for fmt, label in EXPORT_FORMATS])


class NoiseDialog(PickDialog):
    def __init__(self, handle: str) -> None:
        handle = one_line(handle, limit=200).lower()
        domain = "@" + handle.rpartition("@")[2]
        super().__init__(
            Text("Treat as noise from now on (kept, but never awaiting a reply):"),
            [(handle, Text.assemble("this sender  ", (handle, "bold"))),
             (domain, Text.assemble("everyone at  ", (domain, "bold")))])


class TemplatePicker(PickDialog):
    """Dismisses with the chosen template's body (placeholders not yet filled)."""

    def __init__(self, templates: list[tuple[str, str]]) -> None:
        options = []
        for name, body in templates:
            preview = one_line(body, limit=50)
            options.append((clean(body), Text.assemble((one_line(name, limit=30), "bold"), "  ", (preview, "dim"))))
        super().__init__(Text("Insert a saved reply"), options,
                         hint="enter or 1-9 insert at the cursor · esc cancel")
