"""The reply editor: a ``TextArea`` prefilled for the channel, saved replies, ``$EDITOR``.

A draft is saved to the store when the editor closes, when the app quits, and two seconds
after typing stops, so nothing typed is lost to a crash. Send queues the reply in the
outbox (the app then hands it to a sender, or says plainly that it waits in the local
outbox); the draft disappears in the same transaction as the outbox row is created.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from functools import partial
from pathlib import Path
from typing import Mapping

from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TextArea

from owner_tui import templates
from owner_tui.mail.html_text import html_to_text
from owner_tui.paths import ensure_private_dir
from owner_tui.records import PHONE_CHANNELS
from owner_tui.send import phone_rules, sms_segments
from owner_tui.sanitize import clean, one_line
from owner_tui.tui import jobs, keys
from owner_tui.tui.widgets.health_bar import HealthBar
from owner_tui.tui.widgets.key_footer import KeyFooter
from owner_tui.tui.widgets.rows import star_text

AUTOSAVE_SECONDS = 2.0


class EditorError(Exception):
    """The external editor could not run or failed; the draft is unchanged."""


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    cmd = env.get("VISUAL") or env.get("EDITOR")
    if not cmd:
        cmd = next((c for c in ("sensible-editor", "nano", "vi") if shutil.which(c)), "vi")
    return shlex.split(cmd)


def edit_externally(text: str, folder: Path, env: Mapping[str, str] | None = None) -> str:
    """Run the owner's editor on ``text`` in a private temporary file and return the result.

    The file lives in the data folder (mode 0600, deleted afterwards), not in a shared /tmp:
    a reply to a customer is private. Control characters an editor might leave are cleaned.
    """
    cmd = editor_command(env)
    ensure_private_dir(folder)
    fd, name = tempfile.mkstemp(prefix="reply-", suffix=".txt", dir=folder)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")  # a final newline, as editors expect
        try:
            rc = subprocess.run([*cmd, name], check=False).returncode
        except FileNotFoundError:
            raise EditorError(f"the editor {cmd[0]!r} was not found; set $EDITOR") from None
        if rc != 0:
            raise EditorError(f"the editor exited with status {rc}; the draft is unchanged")
        body = Path(name).read_text(encoding="utf-8", errors="replace")
    finally:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
    return clean(body).rstrip("\n")


def reply_context(store, conversation_id: int) -> dict:
    """Everything the editor needs, read on the reader thread in one go."""
    conv = store.conversation(conversation_id) or {}
    msgs = store.messages(conversation_id)
    last_in = next((m for m in reversed(msgs) if m["direction"] == "in" and not m["noise"]), None)
    # The whole unanswered question: every inbound message since the owner last wrote.
    unanswered: list[str] = []
    for m in reversed(msgs):
        if m["direction"] == "out":
            break
        if not m["noise"] and m.get("text"):
            unanswered.insert(0, m["text"])
    handle = last_in["sender_handle"] if last_in else ""
    if last_in and conv.get("channel") == "email":
        handle = ", ".join(store.answer_to(last_in)) or handle  # where the reply goes: its Reply-To
    pending = store.db.execute("SELECT id, status, error, body FROM outbox WHERE conversation_id = ? AND status IN "
                               "('queued', 'sending', 'failed') ORDER BY id DESC LIMIT 1", [conversation_id]).fetchone()
    phone = None
    if conv.get("channel") in PHONE_CHANNELS:
        # The rules Twilio and WhatsApp enforce (send/phone_rules), checked again when it is sent.
        opt_out = getattr(store, "phone_opt_out", None)
        number = handle.split(":", 1)[1] if handle.lower().startswith("whatsapp:") else handle
        phone = {"opted_out_at": opt_out(number) if callable(opt_out) and number else None,
                 "last_inbound_at": (last_in or {}).get("sent_at"), "now": store.now()}
    return {
        "phone": phone,
        "pending": dict(zip(("id", "status", "error", "body"), pending, strict=True)) if pending else None,
        "draft": store.draft(conversation_id),
        "templates": [(t["name"], t["body"]) for t in store.templates()],
        "last_in": (last_in or {}).get("text") or "",
        "unanswered": unanswered,
        "sender_handle": handle,
        "account_name": conv.get("account_name", ""),
        "account_id": conv.get("account_id"),
    }


class ReplyScreen(Screen[str | None]):
    CSS_PATH = "reply.tcss"
    BINDINGS = keys.REPLY

    def __init__(self, row: dict) -> None:
        super().__init__()
        self.row = row
        self.conversation_id: int = row["id"]
        self._saved: str = ""  # what the store holds as the draft
        self._baseline: str | None = None  # the untouched prefill (not worth saving)
        self._placeholders: dict[str, str] = {}
        self._templates: list[tuple[str, str]] = []
        self._autosave = None
        self._replaces: int | None = None  # a failed outbox row this reply rewrites
        #: For a text (sms, whatsapp, call): what the platform allows (``send/phone_rules``).
        self._verdict: phone_rules.Verdict | None = None
        self.ready = False
        self._typed_ahead = ""

    def accept_typed_ahead(self, text: str) -> None:
        """Keys typed right after ``r``, routed to the list before this screen had focus."""
        if self.ready:
            self.query_one("#editor", TextArea).insert(text)
        else:
            self._typed_ahead += text

    def compose(self) -> ComposeResult:
        yield Static(id="reply-to")
        yield Static(id="reply-note")
        with VerticalScroll(id="quoted-box"):
            yield Static(id="quoted")
        yield TextArea(id="editor", soft_wrap=True, show_line_numbers=False)
        yield Static(id="reply-status")
        yield HealthBar(show_key=False, id="health-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#editor", TextArea))  # at once: typed-ahead keys land here
        self.app.run_worker(self._prepare, group="reply", exclusive=True, exit_on_error=False)

    async def _prepare(self) -> None:
        app = self.app
        info = await app.reader(reply_context, self.conversation_id)
        row = self.row
        name = one_line(row.get("contact_name") or "", limit=60)
        handle = one_line(info["sender_handle"] or row.get("contact_handle") or "", limit=80)
        channel = row.get("channel") or "email"
        if channel in PHONE_CHANNELS:  # a text: private, to their number
            what = {"whatsapp": "WhatsApp message", "call": "Text back (missed call)"}.get(channel, "Text")
            header = Text.assemble((f"{what} to ", "bold"), (name or handle, "bold"),
                                   (f" {handle}" if name and name != handle else "", "dim"), f" · {channel}")
        elif channel in ("email", "on-site"):  # on-site feedback is answered privately, by email
            header = Text.assemble(("Reply to ", "bold"), (name or handle, "bold"),
                                   (f" <{handle}>" if name and "@" in handle else "", "dim"),
                                   f" · {channel} · ", one_line(row.get("subject") or "", limit=80))
        else:
            header = Text.assemble(("Public reply ", "bold"), "to ", (name or handle, "bold"), "'s ",
                                   (star_text(row.get("rating")) + " " if row.get("rating") else "", "yellow"),
                                   f"review on {channel}")
        self.query_one("#reply-to", Static).update(header)
        note = await app.delivery_note(info["account_id"], info["account_name"], channel)
        if channel == "on-site" and "@" not in handle:
            note = ("This customer left no email address (a phone number, if any, is in their message): "
                    "answer in person or by phone, then mark it replied elsewhere (e).")
        if info["phone"] is not None:
            self._verdict = self._phone_verdict(channel, info["phone"], info["account_name"])
            if self._verdict.words:
                note = (self._verdict.words + " " + note).strip()
        pending = info["pending"]
        if pending and pending["status"] == "failed":
            note = (f"Your earlier reply was not sent ({one_line(pending['error'] or 'no reason given', limit=120)}). "
                    "It is below: edit it and send again. " + note).strip()
        elif pending:
            note = ("A reply to this conversation is already waiting in the outbox (u undoes it). " + note).strip()
        note_widget = self.query_one("#reply-note", Static)
        note_widget.update(Text(note, style="italic"))
        note_widget.display = bool(note)
        lines: list[str] = []
        for quoted in info["unanswered"] or [info["last_in"]]:
            if "<" in quoted[:200] and ">" in quoted and quoted.lstrip()[:1] == "<":
                quoted = html_to_text(quoted)
            if lines:
                lines.append("")
            # Their question, without the history they quoted back at us.
            lines += [ln for ln in clean(quoted, limit=4000).splitlines()
                      if ln.strip() and not ln.lstrip().startswith(">")]
        quoted_widget = self.query_one("#quoted", Static)
        quoted_widget.update(Text("\n".join("> " + ln for ln in lines), style="dim"))
        self.query_one("#quoted-box").display = bool(lines)
        cfg = app.config.owner
        self._placeholders = templates.context_for(row.get("contact_name") or "", handle, owner_name=cfg.name,
                                              signature=cfg.signature, business=app.business_name)
        self._templates = info["templates"] or list(templates.DEFAULT_TEMPLATES)
        editor = self.query_one("#editor", TextArea)
        typed_ahead = editor.text  # keys typed while the context was read (the editor has focus)
        if not info["draft"] and pending and pending["status"] == "failed":
            self._replaces = pending["id"]
            info["draft"] = pending["body"]
        if info["draft"]:
            text = clean(info["draft"])
            self._saved = info["draft"]
            editor.load_text(text)
            last = text.split("\n")
            editor.move_cursor((len(last) - 1, len(last[-1])))
        else:
            text, cursor_row = templates.prefill(channel, row.get("rating"), self._placeholders)
            self._baseline = text
            editor.load_text(text)
            editor.move_cursor((cursor_row, len(text.split("\n")[cursor_row])))
        typed_ahead += self._typed_ahead
        self._typed_ahead = ""
        if typed_ahead:
            editor.insert(typed_ahead)
        editor.focus()
        self.ready = True
        self._status()

    # -- drafts ----------------------------------------------------------------------------

    @property
    def body(self) -> str:
        return self.query_one("#editor", TextArea).text

    def _phone_verdict(self, channel: str, facts: dict, account_name: str) -> phone_rules.Verdict:
        options: dict = {}
        for acc in self.app.config.accounts:
            if acc.kind == "twilio" and acc.name == account_name:
                options = dict(acc.options)
        return phone_rules.check(channel, now=facts["now"], opted_out_at=facts["opted_out_at"],
                                 last_inbound_at=facts["last_inbound_at"],
                                 template_sid=str(options.get("whatsapp_template_sid") or ""),
                                 template_name=str(options.get("whatsapp_template_name") or ""))

    def _status(self, extra: str = "") -> None:
        channel = self.row.get("channel") or "email"
        body = self.body.strip()
        warning = None
        if channel == "whatsapp":  # no segments: one length limit
            size, limit = sms_segments.whatsapp_length(body)
            line = f"WhatsApp · {size:,} of {limit:,} characters"
            if size > limit:
                warning = f"{size - limit:,} characters over WhatsApp's limit"
        elif channel in PHONE_CHANNELS:
            line, warning = sms_segments.editor_line(body)
        else:
            line = f"{len(body)} characters"
        text = Text(line + (f" · {extra}" if extra else ""), style="dim")
        if warning:
            text.append("\n⚠ " + warning, style="bold #fdd835")  # the character is named, never markup
        self.query_one("#reply-status", Static).update(text)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if not self.ready:
            return
        self._status()
        if self._autosave is not None:
            self._autosave.stop()
        self._autosave = self.set_timer(AUTOSAVE_SECONDS, self._autosave_now)

    def _autosave_now(self) -> None:
        self.app.run_worker(self.save_draft, group="draft", exit_on_error=False)

    async def save_draft(self) -> None:
        """Store the draft (or remove it, when it is empty or the untouched prefill)."""
        if not self.ready:
            return
        body = self.body
        keep = "" if (not body.strip() or body == self._baseline) else body
        if keep == self._saved:
            return
        cid = self.conversation_id
        await self.app.writer(lambda s: s.save_draft(cid, keep))
        self._saved = keep
        if self.is_mounted:
            self._status("draft saved" if keep else "")

    # -- actions ---------------------------------------------------------------------------

    async def action_close(self) -> None:
        await self.save_draft()
        if self._saved:
            self.app.notify("Draft kept; r opens it again.")
        self.dismiss(None)

    def action_send(self) -> None:
        if not self.ready:
            return
        if not self.body.strip():
            self.app.notify("The reply is empty.", severity="warning")
            return
        verdict = self._verdict
        if verdict is not None and not verdict.allowed and not verdict.template:
            # STOP, or WhatsApp's window with no template: refused before anything is queued.
            self.app.notify(verdict.words + " The text stays here.", severity="error", markup=False, timeout=12)
            return
        # exclusive and ``ready`` cleared first: a double ctrl+s queues one reply, not two.
        self.ready = False
        body = self.body
        channel = self.row.get("channel") or "email"
        if channel == "email" or channel in PHONE_CHANNELS:  # private: no public-reply confirmation
            meta = {"whatsapp_template": True} if verdict is not None and verdict.template else None
            self.app.run_worker(partial(self._send, body, meta), group="queue", exclusive=True, exit_on_error=False)
            return
        from owner_tui.screens.confirm import ConfirmDialog

        # A review reply is public and cannot be unsent once the platform has it: show the
        # exact text and where it appears, and take a second key.
        name = one_line(self.row.get("contact_name") or "the reviewer", limit=60)
        where = Text.assemble("Publish this reply ", ("publicly", "bold"), f" on {channel.capitalize()}, under ",
                              (name, "bold"), "'s ", (star_text(self.row.get("rating")) + " " if self.row.get("rating")
                                                      else "", "yellow"), "review?")
        url = one_line(self.row.get("url") or "", limit=200)
        preview = Text(clean(body, limit=5000))
        if url:
            preview.append(f"\n\n{url}", style="dim")

        def decided(ok: bool | None) -> None:
            if ok:
                self.app.run_worker(partial(self._send, body), group="queue", exclusive=True, exit_on_error=False)
            else:
                self.ready = True

        self.app.push_screen(ConfirmDialog(where, preview, yes="publish"), decided)

    async def _send(self, body: str, meta: dict | None = None) -> None:
        cid = self.conversation_id
        if self._autosave is not None:
            self._autosave.stop()
        try:
            outbox_id = await self.app.writer(jobs.queue_reply, cid, body, replaces=self._replaces, meta=meta)
        except Exception as exc:  # the text stays in the editor; nothing is lost
            self.ready = True
            self.app.notify(f"Could not queue the reply: {one_line(exc, limit=200)}", severity="error",
                            markup=False)
            return
        self._saved = ""
        self.app.reply_queued(outbox_id, self.row)
        self.dismiss("queued")

    def action_template(self) -> None:
        from owner_tui.screens.pickers import TemplatePicker

        def chosen(body: str | None) -> None:
            if body:
                editor = self.query_one("#editor", TextArea)
                text, start = templates.into_draft(editor.text, body, self._placeholders, editor.cursor_location)
                editor.load_text(text)
                editor.move_cursor(start)

        self.app.push_screen(TemplatePicker(self._templates), chosen)

    def action_editor(self) -> None:
        editor = self.query_one("#editor", TextArea)
        try:
            with self.app.suspend():
                text = edit_externally(editor.text, self.app.drafts_dir)
        except SuspendNotSupported:
            self.app.notify("This terminal cannot be handed to an external editor.", severity="error")
            return
        except EditorError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        editor.load_text(text)
        editor.move_cursor(editor.document.end)
        editor.focus()
