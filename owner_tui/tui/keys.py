"""Every key of the TUI as data: one ``Binding`` per action, each with an ``id`` and a tooltip.

The same id names the same action on every screen ("done" on the inbox and in the
conversation), so one line in ``config.toml`` remaps it everywhere::

    [keys]
    done = "x"
    snooze = "z,ctrl+z"

``keymap_from_config`` turns that table into ``App.set_keymap`` input and reports unknown
ids; the help screen lists these same tuples, so help can never disagree with the keys.
"""

from __future__ import annotations

from typing import Mapping

from textual.binding import Binding


def _b(key: str, action: str, description: str, id: str, tooltip: str, *, show: bool = False,
       priority: bool = False, key_display: str | None = None) -> Binding:
    return Binding(key, action, description, show=show, id=id, tooltip=tooltip, priority=priority,
                   key_display=key_display)


#: The status line's details: every account's last sync, error and what to do.
HEALTH = _b("h", "health", "Health", "health",
            "Accounts: last sync, what fails and what to do; live mail; the outbox")

APP = [
    _b("ctrl+q", "quit", "Quit", "quit", "Save any open draft and quit", show=True, priority=True),
    _b("question_mark", "help", "Help", "help", "Every key, on one screen", show=True, key_display="?"),
    HEALTH,
]

#: On the inbox (the aging list).
INBOX = [
    _b("enter", "open", "Open", "open", "Read the whole history with this contact", show=True),
    _b("q", "app.quit", "Quit", "quit_list", "Quit (drafts are saved), as in mutt, lazygit and k9s"),
    _b("r", "reply", "Reply", "reply", "Write a reply (prefilled for the channel)", show=True),
    _b("d", "done", "Done", "done", "Close: nobody needs an answer", show=True),
    _b("s", "snooze", "Snooze", "snooze", "Hide until a time (1 h, this evening, tomorrow, next week, typed)",
       show=True),
    _b("e", "replied_elsewhere", "Replied elsewhere", "replied_elsewhere",
       "You answered by phone or on the platform: close the wait"),
    _b("n", "noise", "Noise", "noise", "Mark this sender (or domain) as noise from now on"),
    _b("o", "reopen", "Reopen", "reopen", "Put a done, snoozed or noise conversation back in the list"),
    _b("M", "merge", "Merge contact", "merge", "Same person on another channel? Merge the contacts (u undoes)"),
    _b("u", "undo", "Undo", "undo", "Undo your last change (a bulk change is one step)", show=True),
    _b("space", "mark", "Mark", "mark", "Mark or unmark this conversation; d s e n then act on all marked"),
    _b("asterisk", "mark_all", "Mark all", "mark_all", "Mark every conversation matching the view and filter",
       key_display="*"),
    _b("t", "triage", "Triage", "triage", "Walk the list oldest first: read, reply, close or snooze", show=True),
    _b("slash", "search", "Search", "search", "Full-text search of subjects, messages and names",
       key_display="/"),
    _b("f", "filter", "Filter", "filter", "Filter by channel, age bucket, rating or text"),
    _b("escape", "clear_filters", "Clear", "clear_filters", "Clear the marks, then the filters"),
    _b("x", "export", "Export", "export", "Export the current view (csv, json, jsonl, markdown, ics)"),
    _b("g", "sync", "Sync", "sync", "Fetch new mail and reviews now"),
    _b("l", "open_link", "Open link", "open_link", "Open the review page in the browser"),
    _b("p", "preview", "Preview", "preview", "Show or hide the preview of the selected conversation (110+ columns)"),
    _b("m", "app.dashboard", "Summary", "dashboard",
       "Morning summary: waits by age, reply times, this week against last"),
    _b("1", "view('awaiting')", "Awaiting", "view_awaiting", "Conversations that await your reply"),
    _b("2", "view('followup')", "No answer yet", "view_followup", "You wrote last and they went quiet"),
    _b("3", "view('snoozed')", "Snoozed", "view_snoozed", "Hidden until their time comes"),
    _b("4", "view('done')", "Done", "view_done", "Closed conversations"),
    _b("5", "view('noise')", "Noise", "view_noise", "Newsletters, auto-replies, bounces, your noise rules"),
    _b("6", "view('all')", "All", "view_all", "Everything, newest first"),
]

#: In the aging list widget itself (cursor movement; the mouse works too).
LIST = [
    _b("up,k", "cursor_up", "Up", "cursor_up", "Previous conversation"),
    _b("down,j", "cursor_down", "Down", "cursor_down", "Next conversation"),
    _b("pageup", "page_up", "Page up", "page_up", "One screen up"),
    _b("pagedown", "page_down", "Page down", "page_down", "One screen down"),
    _b("home", "first", "First", "first", "Oldest wait (top of the list)"),
    _b("end", "last", "Last", "last", "Bottom of the list"),
]

#: In the conversation view.
CONVERSATION = [
    _b("escape,q", "back", "Back", "back", "Back to the list", show=True, key_display="esc"),
    _b("r", "reply", "Reply", "reply", "Write a reply (prefilled for the channel)", show=True),
    _b("d", "done", "Done", "done", "Close: nobody needs an answer", show=True),
    _b("s", "snooze", "Snooze", "snooze", "Hide until a time", show=True),
    _b("e", "replied_elsewhere", "Replied elsewhere", "replied_elsewhere",
       "You answered by phone or on the platform: close the wait"),
    _b("n", "noise", "Noise", "noise", "Mark this sender (or domain) as noise from now on"),
    _b("o", "reopen", "Reopen", "reopen", "Put it back in the list"),
    _b("M", "merge", "Merge contact", "merge", "Same person on another channel? Merge the contacts (u undoes)"),
    _b("u", "undo", "Undo", "undo", "Undo your last change", show=True),
    _b("l", "open_link", "Open link", "open_link", "Open the review page in the browser"),
    _b("X", "delete_reply", "Delete reply", "delete_reply",
       "Delete your published reply on Google or Trustpilot (r writes a new one instead)"),
    _b("space", "next", "Next", "next", "Triage: skip to the next conversation", show=True),
    _b("z", "unfold", "Quotes", "unfold_quotes", "Unfold or fold the quoted history (folded: one line per block)"),
    _b("c", "copy_number", "Copy number", "copy_number",
       "Texts and missed calls: copy the customer's number to call them back"),
]

#: In the reply editor (plain letters type text here, so these are all control keys).
REPLY = [
    _b("ctrl+s", "send", "Send", "send", "Queue the reply in the outbox and send it", show=True, priority=True),
    _b("ctrl+t", "template", "Template", "template", "Insert a saved reply at the cursor", show=True,
       priority=True),
    _b("ctrl+e", "editor", "$EDITOR", "editor", "Edit the draft in your $VISUAL/$EDITOR", show=True,
       priority=True),
    _b("escape", "close", "Close", "close", "Close the editor; the draft is kept", show=True, priority=True),
]

#: In every dialog.
DIALOG = [
    _b("escape", "cancel", "Cancel", "cancel", "Close without changing anything", show=True),
]

#: In a confirmation (more than one conversation touched, or a public reply): a second key.
CONFIRM_DIALOG = [
    _b("y,enter", "confirm", "Yes", "confirm", "Go ahead", show=True, key_display="y"),
    _b("n", "cancel", "No", "confirm_no", "Change nothing"),
]

#: In dialogs with no text box (q would type there): q closes them too.
DIALOG_Q = [_b("q", "cancel", "Cancel", "cancel_q", "Close without changing anything")]

#: In the snooze dialog (the list has focus; t moves to the typed time).
SNOOZE_DIALOG = [
    *(_b(str(i), f"preset({i - 1})", label, f"snooze_preset_{i}", "Snooze with this preset")
      for i, label in enumerate(("In 1 hour", "This evening 18:00 (tomorrow's once past)",
                                 "Tomorrow morning 08:00", "Next week, Monday 08:00"), 1)),
    _b("t", "type_time", "Type a time", "snooze_type", "2h, 3d, fri 9:00, 2026-12-01 10:00, then enter"),
]

#: In the pick-one dialogs: export format, noise rule, saved reply.
PICK_DIALOG = [_b(str(i), f"pick({i - 1})", "Choose that option", f"pick_{i}", "Same as moving there and enter",
                  key_display="1-9") for i in range(1, 10)]

FILTER_DIALOG = [
    _b("ctrl+s", "apply", "Apply", "filter_apply", "Apply these filters", priority=True),
]

HELP_SCREEN = [
    _b("question_mark", "cancel", "Close", "help_close", "Close help", key_display="?"),
    _b("q", "cancel", "Close", "help_close_q", "Close help"),
]

TRIAGE_SUMMARY = [
    _b("enter", "cancel", "Close", "triage_close", "Back to the list"),
    _b("q", "cancel", "Close", "triage_close_q", "Back to the list"),
]

ACCOUNT_ADD_DIALOG = [
    Binding("ctrl+s", "save(False)", "Save", id="account_save", tooltip="Write the account to config.toml",
            show=True, priority=True),
    Binding("ctrl+t", "save(True)", "Save and test", id="account_save_test",
            tooltip="Write the account, then check DNS, TLS, login, folders and SMTP", show=True, priority=True),
]

#: The footer's order, most useful first; it shows as many as fit the width (``?`` lists all).
FOOTER_ORDER: tuple[str, ...] = (
    "open", "reply", "copy_number", "done", "snooze", "undo", "search", "help", "quit_list", "back", "next", "close",
    "cancel",
    "confirm", "send", "template", "editor", "triage", "mark", "preview", "filter", "replied_elsewhere", "noise",
    "mark_all", "merge", "unfold_quotes", "export", "dashboard", "sync", "health", "quit",
)
#: An item left out of the footer when the other is there (q already says Quit).
FOOTER_SUPERSEDED = {"quit": "quit_list"}

SCOPES: tuple[tuple[str, list[Binding]], ...] = (
    ("Everywhere", APP),
    ("Inbox", INBOX),
    ("List", LIST),
    ("Conversation", CONVERSATION),
    ("Reply editor", REPLY),
    ("Snooze dialog", SNOOZE_DIALOG),
    ("Export, noise and template pickers", PICK_DIALOG),
    ("Filter dialog", FILTER_DIALOG),
    ("Help", HELP_SCREEN),
    ("Triage summary", TRIAGE_SUMMARY),
    ("Dialogs", DIALOG),
    ("Confirmations", CONFIRM_DIALOG),
    ("Dialogs without a text box", DIALOG_Q),
    ("Add-account form", ACCOUNT_ADD_DIALOG),
)

BINDING_IDS = frozenset(b.id for _name, group in SCOPES for b in group if b.id)


def keymap_from_config(keys: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``[keys]`` from config.toml as an ``App.set_keymap`` mapping, plus the unknown ids."""
    keymap: dict[str, str] = {}
    unknown: list[str] = []
    for binding_id, key in keys.items():
        if binding_id in BINDING_IDS:
            keymap[binding_id] = ",".join(k.strip() for k in key.split(",") if k.strip())
        else:
            unknown.append(binding_id)
    return keymap, unknown


def display_keys(binding: Binding, keymap: Mapping[str, str]) -> str:
    """How the help screen writes a binding's key(s), after remapping."""
    keys = keymap.get(binding.id or "", binding.key)
    names = []
    for key in keys.split(","):
        key = key.strip()
        if key == binding.key and binding.key_display:
            names.append(binding.key_display)
        else:
            names.append({"question_mark": "?", "slash": "/", "space": "space", "escape": "esc",
                          "enter": "enter"}.get(key, key))
    return ", ".join(names)


def keys_for(binding_id: str, keymap: Mapping[str, str], scope: list[Binding] | None = None) -> set[str]:
    """The key names that trigger ``binding_id`` after remapping (``[keys]``)."""
    binding = next((b for b in (scope or INBOX) if b.id == binding_id), None)
    keys = keymap.get(binding_id, binding.key if binding else "")
    return {k.strip() for k in keys.split(",") if k.strip()}
