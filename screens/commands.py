"""Command palette entries (ctrl+p): sync, export, views, filters, jump to a contact.

Contact names are strangers' text: their hits are built as plain ``Text`` (the palette's
``matcher.highlight`` would parse a string as markup) and the help line never includes them.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

from owner_tui.screens.filters import RATINGS
from owner_tui.screens.pickers import EXPORT_FORMATS
from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from owner_tui import aging
from owner_tui.records import CHANNELS
from owner_tui.sanitize import one_line
from owner_tui.store.queries import VIEWS

if TYPE_CHECKING:
    from owner_tui.tui.app import OwnerApp

#: Contacts are looked up once the query is at least this long.
CONTACT_MIN_CHARS = 2


class InboxCommands(Provider):
    @property
    def owner_app(self) -> "OwnerApp":
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.owner_app
        inbox = app.inbox
        from owner_tui.screens.inbox import VIEW_LABELS

        def with_filter(**changes) -> Callable[[], None]:
            return lambda: inbox.set_filter(inbox.filter.with_(**changes))

        cmds: list[tuple[str, str, Callable[[], object]]] = [
            ("Sync now", "Fetch new mail and reviews from every account", app.start_sync),
            ("Triage", "Walk the awaiting list oldest first", lambda: app.start_triage(inbox.filter)),
            ("Dashboard", "Morning summary: waits by age, reply times, this week against last",
             app.action_dashboard),
            ("Add a mail account…", "IMAP server, login and how to get the password; tested on save",
             app.action_add_account),
            ("Undo", "Undo your last change", app.undo),
            ("Clear filters", "Show the whole view", inbox.action_clear_filters),
            ("Search…", "Full-text search of subjects, messages and names", inbox.action_search),
            ("Filter…", "Channel, age bucket, rating and text", inbox.action_filter),
        ]
        for fmt, label in EXPORT_FORMATS:
            cmds.append((f"Export view as {fmt}", label, partial(app.start_export_current, fmt)))
        for view in VIEWS:
            cmds.append((f"View: {VIEW_LABELS[view]}", f"Show the {VIEW_LABELS[view].lower()} view",
                         partial(inbox.action_view, view)))
        for channel in CHANNELS:
            cmds.append((f"Filter: channel {channel}", f"Only {channel} conversations", with_filter(channel=channel)))
        for key, label, _ in aging.BUCKETS:
            cmds.append((f"Filter: waiting {label}", "Only waits in this age bucket",
                         with_filter(view="awaiting", bucket=key)))
        for lo, hi, label in RATINGS.values():
            cmds.append((f"Filter: {label}", "Only reviews with this rating",
                         with_filter(min_rating=lo, max_rating=hi)))
        return cmds

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Text(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
        text = query.strip()
        if len(text) < CONTACT_MIN_CHARS:
            return
        app = self.owner_app
        rows = await app.reader(lambda s: s.find_contacts(text, 15))
        for row in rows:
            name = one_line(row["name"] or "", limit=60)
            handle = one_line(row["handle"] or "", limit=60)
            if "@" in handle:
                where = f" <{handle}>" if name else ""
            else:  # a reviewer: say where, not the platform's internal id
                where = f" ({handle.partition(':')[0]})" if ":" in handle else ""
            label = f"Contact: {name or handle}{where}"
            score = max(matcher.match(label), 0.5)
            yield Hit(score, Text(label), partial(app.jump_to_contact, row["id"], name or handle), text=label,
                      help="Show every conversation with this person")
