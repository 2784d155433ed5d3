"""The conversation view: the whole history with one contact, across channels, newest last.

Inbound and outbound messages are told apart by an arrow, a label and a coloured edge;
reviews show their stars and the platform link. Bodies are plain text (HTML mail that
reached the store as HTML is converted here), cleaned of terminal controls, and shown as
``Text``, never markup. In triage mode the same screen walks from one conversation to the
next (see ``owner_tui.screens.triage``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from functools import partial
from typing import TYPE_CHECKING

from owner_tui.screens.actions import ConversationActions, safe_url
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from owner_tui import aging
from owner_tui.mail.html_text import html_to_text
from owner_tui.quotes import fold
from owner_tui.records import PHONE_CHANNELS, SIDE_ANSWER
from owner_tui.sanitize import clean, one_line
from owner_tui.tui import jobs, keys
from owner_tui.tui.widgets.health_bar import HealthBar
from owner_tui.tui.widgets.key_footer import KeyFooter
from owner_tui.tui.widgets.rows import badge_text, star_style, star_text

if TYPE_CHECKING:
    from owner_tui.screens.triage import TriageSession

#: A contact with a long history: show the newest this many messages.
MAX_MESSAGES = 200
#: Longer bodies are cut (the rest is in the store; export or $EDITOR shows it).
MAX_BODY = 20_000


def load_conversation(store, conversation_id: int) -> dict | None:
    """The conversation, its contact's history and handles, read on the reader thread."""
    conv = store.conversation(conversation_id)
    if conv is None:
        return None
    history = store.history(conv["contact_id"], conversation_id)
    own = [m for m in history if m["conversation_id"] == conversation_id]
    last_in = next((m for m in reversed(own) if m["direction"] == "in"), None)
    conv["sender_handle"] = last_in["sender_handle"] if last_in else ""
    row = store.db.execute("SELECT handle FROM identities WHERE contact_id = ? ORDER BY channel = 'email' DESC, id "
                           "LIMIT 1", [conv["contact_id"]]).fetchone() if conv["contact_id"] else None
    conv["contact_handle"] = row[0] if row else conv["sender_handle"]
    out = store.db.execute("SELECT status, error FROM outbox WHERE conversation_id = ? AND status IN "
                            "('queued', 'sending', 'failed') ORDER BY id DESC LIMIT 1", [conversation_id]).fetchone()
    conv["outbox_status"], conv["outbox_error"] = out if out else (None, None)
    from owner_tui.store.delivery import latest
    from owner_tui.store.reviews import review_facts

    conv["review_facts"] = review_facts(store, conversation_id)  # media, the feed's totals (issue 15)
    conv["delivery"] = latest(store, conversation_id)  # a text's delivery (issue 19)
    if conv["channel"] in PHONE_CHANNELS:
        conv["phone"] = phone_number(conv["sender_handle"] or conv["contact_handle"])
        outbox = {r[0]: (r[1], r[2]) for r in store.db.execute(
            "SELECT id, delivery, delivery_error FROM outbox WHERE conversation_id = ? AND delivery IS NOT NULL",
            [conversation_id])}
        for m in history:
            try:
                oid = json.loads(m.get("extra") or "{}").get("outbox_id")
            except (TypeError, ValueError, AttributeError):
                oid = None
            if oid in outbox:
                m["delivery"] = outbox[oid]
    same = store.phone_suggestions(conv["contact_id"])[:3] if conv["contact_id"] else []  # issue 19
    conv["same_phone"] = [store.db.execute("SELECT name FROM contacts WHERE id = ?", [c]).fetchone()[0] for c in same]
    return {"conv": conv, "history": history[-MAX_MESSAGES:], "hidden": max(0, len(history) - MAX_MESSAGES)}


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def phone_number(handle: str | None) -> str | None:
    """The customer's number as ``+E164`` when the handle is one (``whatsapp:`` dropped), else
    None: only such a number is copied or made a ``tel:`` link."""
    value = (handle or "").strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:"):]
    return value if _E164.match(value) else None


_FOLD_LINE = re.compile(r"^┆ \d+ quoted lines? hidden$", re.M)
_QUOTE_LINE = re.compile(r"^\s*>.*$", re.M)


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:300].lower()
    return head.startswith("<") and any(tag in head for tag in ("<html", "<body", "<div", "<p", "<table", "<br"))


def when_text(iso: str, now: datetime, tz: tzinfo) -> str:
    local = aging.parse_iso(iso).astimezone(tz)
    ago = aging.format_age(aging.age_seconds(iso, now))
    year = f" {local.year}" if local.year != now.astimezone(tz).year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M} ({ago} ago)"


def _notes(m: dict) -> list[str]:
    """Why the message was read as it was (a form's sender, a corrected date), as stored."""
    try:
        notes = json.loads(m.get("notes") or "[]")
    except (TypeError, ValueError):
        return []
    return [str(n) for n in notes if n][:5] if isinstance(notes, list) else []


def message_text(m: dict, channel: str, now: datetime, tz: tzinfo, *, unfolded: bool = False,
                 width: int = 0) -> Text:
    """One message as ``Text``; quoted history folded to one line unless ``unfolded`` (then
    wrapped at ``width`` so every piece keeps its ``>``)."""
    out = m["direction"] == "out"
    who = "You" if out else one_line(m.get("sender_name") or m.get("sender_handle") or "them", limit=60)
    text = Text()
    text.append("→ " if out else "← ", style="bold green" if out else "bold cyan")
    text.append(who, style="bold")
    if not out and m.get("sender_name") and "@" in (m.get("sender_handle") or ""):
        text.append(f" <{one_line(m['sender_handle'], limit=80)}>", style="dim")
    text.append(f" · {m.get('channel') or channel} · {when_text(m['sent_at'], now, tz)}", style="dim")
    if m.get("rating"):
        text.append("  ")
        text.append(star_text(m["rating"]), style=star_style(m["rating"]))
    if out and m.get("delivery"):
        from owner_tui.store.delivery import NOT_DELIVERED, label as delivery_label

        status, error = m["delivery"]
        text.append(f"  {one_line(delivery_label(status, error), limit=120)}",
                    style="bold #ff5252" if status in NOT_DELIVERED else "#80cbc4")
    if m.get("noise"):
        # An outbound "noise" is a forward, a note or a bounced reply; an inbound one is noise,
        # or a supplier's answer to such a forward, which says so itself.
        label = "" if out or m["noise"].startswith(SIDE_ANSWER) else "noise: "
        text.append(f"  [{label}{one_line(m['noise'], limit=80)}]", style="italic dim")
    for note in _notes(m):
        if note != m.get("noise"):
            text.append(f"\n  ⓘ {one_line(note, limit=160)}", style="italic dim")
    body = m.get("text") or ""
    if looks_like_html(body):
        body = html_to_text(body)
    body = clean(body, limit=MAX_BODY).strip("\n")
    body, quoted = fold(body, unfolded=unfolded, width=width)
    text.append("\n")
    start = len(text)
    text.append(body or ("(rating only, no text)" if m.get("rating") else "(no text)"),
                style="" if body else "dim italic")
    if quoted:
        for match in _FOLD_LINE.finditer(body):
            text.stylize("dim italic", start + match.start(), start + match.end())
        for match in _QUOTE_LINE.finditer(body):
            text.stylize("dim", start + match.start(), start + match.end())
    url = safe_url(m.get("url")) if not out else None
    if url:
        text.append(f"\n↗ {url}", style="underline #80cbc4")
    return text


def header_text(conv: dict, now: datetime, tz: tzinfo) -> Text:
    name = one_line(conv.get("contact_name") or conv.get("contact_handle") or "(unknown)", limit=60)
    text = Text()
    if conv.get("status") == "open" and conv.get("waiting_since"):
        text.append_text(badge_text("awaiting", conv, now))
        text.append(" ")
    text.append(name, style="bold")
    handle = one_line(conv.get("contact_handle") or "", limit=80)
    if "@" in handle and handle != name:
        text.append(f" <{handle}>", style="dim")
    text.append(f" · {conv.get('channel')} · {conv.get('status')}", style="dim")
    if conv.get("status") == "snoozed" and conv.get("snoozed_until"):
        text.append(f" until {when_text(conv['snoozed_until'], now, tz)}", style="dim")
    if conv.get("rating"):
        text.append("  ")
        text.append(star_text(conv["rating"]), style=star_style(conv["rating"]))
    number = conv.get("phone")
    if number:  # digits and + only (checked): safe as a tel: link and on the clipboard
        text.append("\n☎ ")
        text.append(number, style=Style(bold=True, underline=True, link=f"tel:{number}"))
        what = "call them back" if conv.get("channel") == "call" else "call them"
        text.append(f"  (c copies the number; {what})", style="dim")
    subject = one_line(conv.get("subject") or "", limit=200)
    if subject and conv.get("channel") == "email":
        text.append("\n")
        text.append(subject, style="bold")
    if conv.get("outbox_status") in ("queued", "sending"):
        text.append("\n⧗ your reply is waiting in the outbox", style="#fdd835")
    elif conv.get("outbox_status") == "failed":
        text.append(f"\n✗ your reply was not sent: {one_line(conv.get('outbox_error') or '', limit=120)} "
                    "(r to edit and send again)", style="bold #ff5252")
    elif conv.get("delivery"):
        from owner_tui.store.delivery import label as delivery_label

        d = conv["delivery"]
        mark = "✓" if d["status"] in ("delivered", "read") else "⧗"
        text.append(f"\n{mark} your last text: {one_line(delivery_label(d['status'], d['error']), limit=120)}",
                    style="#80cbc4")
    for fact in conv.get("review_facts") or ():
        text.append(f"\nⓘ {one_line(fact, limit=200)}", style="dim")  # untrusted links: inert text
    if conv.get("same_phone"):
        names = ", ".join(one_line(n or "(no name)", limit=40) for n in conv["same_phone"])
        text.append(f"\nⓘ same phone number as {names}: M merges the contacts", style="#80cbc4")
    url = safe_url(conv.get("url"))
    if url:
        text.append("\n↗ ")
        text.append(url, style="underline #80cbc4")
        text.append("  (l opens it)", style="dim")
    return text


class ConversationScreen(ConversationActions, Screen[None]):
    CSS_PATH = "conversation.tcss"
    BINDINGS = keys.CONVERSATION

    def __init__(self, conversation_id: int, *, triage: "TriageSession | None" = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.triage = triage
        self.row: dict | None = None
        self.loaded = False
        #: Quoted history shows folded to one line per block until z unfolds it.
        self.unfolded = False

    def compose(self) -> ComposeResult:
        yield Static(id="conv-header")
        yield Static(id="triage-banner")
        yield VerticalScroll(id="history")
        yield HealthBar(id="health-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        # In a worker: a failed read is reported by the app's one failure handler, and the
        # screen stays open (esc goes back) instead of the app stopping.
        self.app.run_worker(partial(self.load, self.conversation_id), group="conversation", exclusive=True,
                            exit_on_error=False)

    async def load(self, conversation_id: int) -> None:
        self.conversation_id = conversation_id
        self.loaded = False
        data = await self.app.reader(load_conversation, conversation_id)
        if data is None:
            self.app.notify("That conversation no longer exists.", severity="warning")
            self.dismiss()
            return
        now, tz = self.app.clock(), self.app.tz
        conv = data["conv"]
        self.row = conv
        self.refresh_bindings()  # c (copy the number) only where there is one
        self.query_one("#conv-header", Static).update(header_text(conv, now, tz))
        banner = self.query_one("#triage-banner", Static)
        banner.display = self.triage is not None
        if self.triage is not None:
            banner.update(self.triage.banner())
        history = self.query_one("#history", VerticalScroll)
        await history.remove_children()
        widgets = []
        if data["hidden"]:
            widgets.append(Static(Text(f"{data['hidden']} older messages not shown", style="dim italic"),
                                  classes="older"))
        for m in data["history"]:
            classes = "msg " + ("out" if m["direction"] == "out" else "in")
            if m.get("noise"):
                classes += " noise"
            if m["conversation_id"] != conversation_id:
                classes += " other"
            widgets.append(Static(message_text(m, conv["channel"], now, tz, unfolded=self.unfolded,
                                               width=max(20, self.size.width - 6)), classes=classes))
        await history.mount_all(widgets)
        self.call_after_refresh(history.scroll_end, animate=False)
        history.focus()
        self.loaded = True

    def current_row(self) -> dict | None:
        return self.row

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return self.triage is not None
        if action == "copy_number":  # only where there is a number to copy
            return bool(self.row and self.row.get("phone"))
        return True

    def action_copy_number(self) -> None:
        """Copy the customer's number (checked: + and digits only) to the clipboard, to call back."""
        number = (self.row or {}).get("phone")
        if not number:
            self.app.notify("This conversation has no phone number to copy.", markup=False)
            return
        self.app.copy_to_clipboard(number)
        self.app.notify(f"Copied {number}: paste it in your phone or dialer.", markup=False)

    def after_action(self, kind: str, conversation_id: int) -> None:
        if self.triage is not None:
            self.triage.record(kind, conversation_id)
            self.app.run_worker(partial(self.triage.advance, self), group="triage", exclusive=True, exit_on_error=False)
        elif kind in ("replied", "reopen"):
            self.app.run_worker(partial(self.load, conversation_id), group="conversation", exclusive=True,
                                exit_on_error=False)
        else:
            self.dismiss()

    def after_undo(self) -> None:
        if self.is_attached:
            self.app.run_worker(partial(self.load, self.conversation_id), group="conversation", exclusive=True,
                                exit_on_error=False)

    def action_delete_reply(self) -> None:
        """Delete the published reply on the platform, after one confirmation (issue 15)."""
        from owner_tui.screens.pickers import PickDialog

        from owner_tui.send.reply_actions import DELETABLE

        row = self.row
        if row is None or row.get("channel") not in DELETABLE or self.app.demo:
            self.app.notify("Only a reply published on Google or Trustpilot can be deleted from here.",
                            markup=False)
            return
        platform, cid = DELETABLE[row["channel"]], row["id"]

        def chosen(value: str | None) -> None:
            if value != "delete":
                return
            # The screen's own worker: its StateChanged comes back here.
            self.run_worker(partial(jobs.delete_reply, self.app.store_path, self.app.config, self.app.clock, cid),
                                thread=True, group="delete-reply", exclusive=True, exit_on_error=False)

        self.app.push_screen(PickDialog(Text(f"Delete your reply on {platform}?", style="bold"), [
            ("delete", Text(f"Delete it on {platform} (the review awaits a reply again)")),
            ("keep", Text("Keep it"))]), chosen)

    @on(Worker.StateChanged)
    def _reply_deleted(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "delete-reply" or event.state != WorkerState.SUCCESS:
            return
        done, line = event.worker.result
        self.app.notify(line, severity="information" if done else "error", markup=False, timeout=10)
        self.app.refresh_inbox()
        if done:
            self.app.run_worker(partial(self.load, self.conversation_id), group="conversation", exclusive=True,
                                exit_on_error=False)

    def action_unfold(self) -> None:
        """Show or fold the quoted history (neomutt's S)."""
        self.unfolded = not self.unfolded
        self.app.run_worker(partial(self.load, self.conversation_id), group="conversation", exclusive=True,
                            exit_on_error=False)

    def action_next(self) -> None:
        if self.triage is not None:
            self.after_action("skipped", self.conversation_id)

    def action_back(self) -> None:
        if self.triage is not None:
            self.triage.finish(self)
        else:
            self.dismiss()
