"""Add an IMAP (+ SMTP) account from the TUI: the form behind ``owner-tui accounts add imap``.

Dismisses with the new account's name once it is written to config.toml, or ``None`` when
cancelled before saving. The form asks *how* to get the password (a command, an environment
variable, an OAuth2 token command) and never for the password itself, so no secret is ever
held by the screen or written to the file. Writing (``add_account``) and testing
(``check_account``: DNS, TLS, login, folders, SMTP) both do I/O, so both run in a thread
worker; only their outcome comes back to the UI thread. Text that comes from outside (the
config file, server replies inside check lines) is shown through ``owner_tui.sanitize``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from owner_tui.sanitize import safe_text
from owner_tui.tui import keys

SECURITY = [("TLS (port 993)", "tls"), ("STARTTLS (port 143)", "starttls"), ("none (local servers only)", "none")]
SMTP_SECURITY = [("TLS (port 465)", "tls"), ("STARTTLS (port 587)", "starttls"), ("none (local servers only)", "none")]
IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}
#: How to get the password; never the password itself (keyring needs it typed: use the CLI).
SECRET_KINDS = [("a command prints it (pass, gopass…)", "cmd"), ("an environment variable", "env"),
                ("an OAuth2 token command (XOAUTH2)", "token-cmd")]
_SECRET_FIELD = {"cmd": ("Command", "pass show mail/shop"), "env": ("Variable", "OWNER_TUI_PASSWORD"),
                 "token-cmd": ("Token cmd", "mutt_oauth2.py ~/.mail-tokens")}
_LOCAL = ("127.0.0.1", "localhost", "::1")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")

#: The dialog's own keys (escape comes from ``keys.DIALOG``); ctrl+ so they work while typing.
ACCOUNT_ADD_DIALOG = keys.ACCOUNT_ADD_DIALOG

_INPUTS = ("name", "host", "port", "user", "address", "secret", "sent_folder", "tls_ca_file", "smtp_host", "smtp_port")


def _port(text: str, what: str) -> int:
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what} is a number from 1 to 65535 (993 for TLS, 143 for STARTTLS)"
                         if what == "the port" else f"{what} is a number from 1 to 65535 (465 or 587)")
    return int(text)


def _host(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError(f"{what} is needed, e.g. imap.example.com" if what == "the IMAP server"
                         else f"{what}: just the name, e.g. smtp.example.com")
    if "://" in text or any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"{what}: just the server name, e.g. imap.example.com (no imaps://, no spaces)")
    return text


class AccountAddScreen(ModalScreen[str | None]):
    """The add-an-IMAP-account form; ``AccountAddScreen(config_path)``."""

    CSS_PATH = ["dialogs.tcss", "account_add.tcss"]  # noqa: RUF012 -- Textual wants a list
    BINDINGS = [*keys.DIALOG, *ACCOUNT_ADD_DIALOG]

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self._config_path = Path(config_path)
        self._saved: str | None = None  # the name, once written: escape then returns it
        self._busy = False
        self._judged: dict[str, str] = {}  # field values as last validated

    # -- layout ---------------------------------------------------------------------------------

    def _field(self, label: str, widget, field: str) -> ComposeResult:
        with Horizontal(classes="field", id=f"row-{field}"):
            yield Label(label, id=f"label-{field}")
            yield widget
        yield Static("", classes="field-error", id=f"err-{field}")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="account-add"):
            yield Static(Text("Add a mail account (IMAP)"), classes="dialog-title")
            with VerticalScroll(id="form"):
                yield from self._field("Account name", Input(placeholder="shop-mail", id="name", compact=True), "name")
                yield from self._field("IMAP server", Input(placeholder="imap.example.com", id="host", compact=True),
                                       "host")
                yield from self._field("Security", Select(SECURITY, value="tls", allow_blank=False, id="security",
                                                          compact=True), "security")
                yield from self._field("Port", Input("993", id="port", compact=True, restrict=r"[0-9]*",
                                                     max_length=5), "port")
                yield from self._field("Login", Input(placeholder="often your address", id="user", compact=True),
                                       "user")
                yield from self._field("Your address", Input(placeholder="you@example.com (replies go out from it)",
                                                             id="address", compact=True), "address")
                yield Static(Text("The password is never typed here or saved: say how to get it.", style="dim"),
                             classes="note")
                yield from self._field("Password from", Select(SECRET_KINDS, value="cmd", allow_blank=False,
                                                               id="secret_kind", compact=True), "secret_kind")
                yield from self._field("Command", Input(placeholder=_SECRET_FIELD["cmd"][1], id="secret",
                                                        compact=True), "secret")
                yield from self._field("Sent folder", Input(placeholder="optional: found by itself",
                                                            id="sent_folder", compact=True), "sent_folder")
                yield from self._field("CA file", Input(placeholder="optional: trust only this certificate",
                                                        id="tls_ca_file", compact=True), "tls_ca_file")
                yield Static(Text("Replies: leave the SMTP server empty to only read this account.", style="dim"),
                             classes="note")
                yield from self._field("SMTP server", Input(placeholder="smtp.example.com", id="smtp_host",
                                                            compact=True), "smtp_host")
                yield from self._field("SMTP security", Select(SMTP_SECURITY, value="tls", allow_blank=False,
                                                               id="smtp_security", compact=True), "smtp_security")
                yield from self._field("SMTP port", Input("465", id="smtp_port", compact=True, restrict=r"[0-9]*",
                                                          max_length=5), "smtp_port")
                yield Static("", id="checks")
            yield Static("", id="status")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Save and test", id="save_test", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static(Text("ctrl+s save · ctrl+t save and test · tab next field · esc cancel", style="dim"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        for field in (*_INPUTS, "security", "secret_kind", "smtp_security"):
            self.query_one(f"#err-{field}", Static).display = False
        self.query_one("#checks", Static).display = False
        self.query_one("#name", Input).focus()

    # -- small helpers --------------------------------------------------------------------------

    def _text(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def _choice(self, field: str) -> str:
        return str(self.query_one(f"#{field}", Select).value)

    def _error(self, field: str, message: str) -> None:
        err = self.query_one(f"#err-{field}", Static)
        err.update(safe_text(message, style="red"))
        err.display = bool(message)

    def _status(self, text: Text | str, style: str = "") -> None:
        self.query_one("#status", Static).update(text if isinstance(text, Text) else safe_text(text, style=style))

    # -- reacting to the form -------------------------------------------------------------------

    @on(Select.Changed, "#security")
    def _security_changed(self, event: Select.Changed) -> None:
        # The port follows the security while it is empty or still one of the defaults.
        port = self.query_one("#port", Input)
        if port.value.strip() in ("", *map(str, IMAP_PORTS.values())) and event.value in IMAP_PORTS:
            port.value = str(IMAP_PORTS[str(event.value)])

    @on(Select.Changed, "#smtp_security")
    def _smtp_security_changed(self, event: Select.Changed) -> None:
        port = self.query_one("#smtp_port", Input)
        if port.value.strip() in ("", *map(str, SMTP_PORTS.values())) and event.value in SMTP_PORTS:
            port.value = str(SMTP_PORTS[str(event.value)])

    @on(Select.Changed, "#secret_kind")
    def _secret_kind_changed(self, event: Select.Changed) -> None:
        label, example = _SECRET_FIELD.get(str(event.value), _SECRET_FIELD["cmd"])
        self.query_one("#label-secret", Label).update(label)
        self.query_one("#secret", Input).placeholder = example

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        field = event.input.id
        if field in _INPUTS and event.value != self._judged.get(field):  # corrected: the complaint goes
            self._error(field, "")

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # -- validation -----------------------------------------------------------------------------

    def collect(self) -> tuple[str, dict[str, Any]] | None:
        """The account name and options from the form, or ``None`` with each problem shown
        next to its field."""
        errors: dict[str, str] = {}
        name = self._text("name")
        if not name:
            errors["name"] = "a name is needed, e.g. shop-mail (used in `owner-tui sync -a NAME`)"
        elif not name.isprintable():
            errors["name"] = "the name has control characters: use letters, digits, - and _"
        options: dict[str, Any] = {}
        try:
            options["host"] = _host(self._text("host"), "the IMAP server")
        except ValueError as exc:
            errors["host"] = str(exc)
        security = self._choice("security")
        try:
            options["port"] = _port(self._text("port"), "the port")
        except ValueError as exc:
            errors["port"] = str(exc)
        options["security"] = security
        user = self._text("user")
        if not user:
            errors["user"] = "the login name is needed (often your address)"
        options["user"] = user
        address = self._text("address") or (user if _ADDRESS.match(user) else "")
        if address and not _ADDRESS.match(address):
            errors["address"] = f"{address!r} is not an email address (like you@example.com)"
        options["address"] = address or None
        kind, secret = self._choice("secret_kind"), self._text("secret")
        if not secret:
            errors["secret"] = {"cmd": "the command that prints the password, e.g. pass show mail/shop",
                                "env": "the name of the variable that holds the password",
                                "token-cmd": "the command that prints an access token"}[kind]
        elif kind == "env" and not _ENV_NAME.match(secret):
            errors["secret"] = "a variable name: letters, digits and _ (the name, not the password)"
        if kind == "cmd":
            options["password_cmd"] = secret
        elif kind == "env":
            options["password_env"] = secret
        else:
            options["auth"] = "xoauth2"
            options["token_cmd"] = secret
        if sent := self._text("sent_folder"):
            options["sent_folder"] = sent
        if ca := self._text("tls_ca_file"):
            path = Path(ca).expanduser()
            if not path.is_file():  # a stat of a local path the owner typed: instant
                errors["tls_ca_file"] = f"no such file: {ca}"
            options["tls_ca_file"] = str(path.resolve())
        if smtp_host := self._text("smtp_host"):
            try:
                options["smtp_host"] = _host(smtp_host, "the SMTP server")
            except ValueError as exc:
                errors["smtp_host"] = str(exc)
            try:
                options["smtp_port"] = _port(self._text("smtp_port"), "the SMTP port")
            except ValueError as exc:
                errors["smtp_port"] = str(exc)
            options["smtp_security"] = self._choice("smtp_security")
        for field in _INPUTS:
            self._judged[field] = self.query_one(f"#{field}", Input).value
            self._error(field, errors.get(field, ""))
        if errors:
            first = next(f for f in _INPUTS if f in errors)
            self.query_one(f"#{first}", Input).focus()
            self._status(f"Fix {len(errors)} field{'s' if len(errors) > 1 else ''} marked in red.", "red")
            return None
        return name, options

    # -- saving and testing ---------------------------------------------------------------------

    def action_save(self, test: bool) -> None:
        if self._busy:
            return
        if self._saved is not None:  # already written: "test again", or close
            if test:
                self._begin(None, None, test=True)
            else:
                self.dismiss(self._saved)
            return
        collected = self.collect()
        if collected is None:
            return
        name, options = collected
        self._begin(name, options, test=test)

    def _begin(self, name: str | None, options: dict[str, Any] | None, *, test: bool) -> None:
        self._busy = True
        for button in self.query(Button):
            button.disabled = True
        self._status("Testing the connection…" if name is None else "Saving…", "dim")
        self._write_and_test(name, options, test)

    @work(thread=True, exit_on_error=False, group="account-add")
    def _write_and_test(self, name: str | None, options: dict[str, Any] | None, test: bool) -> None:
        """Worker thread: write (unless already saved), then optionally run the checks."""
        from owner_tui.accounts.add import add_account
        from owner_tui.accounts.check import check_account
        from owner_tui.config import ConfigError, load_config

        if name is not None and options is not None:
            try:
                add_account(self._config_path, name, "imap", options)
            except ConfigError as exc:
                self.app.call_from_thread(self._refused, str(exc), "already exists" in str(exc))
                return
            except OSError as exc:
                self.app.call_from_thread(self._refused, f"could not write {self._config_path}: "
                                          f"{exc.strerror or exc}", False)
                return
            self.app.call_from_thread(self._written, name, test)
        if not test:
            return
        saved = name or self._saved or ""
        try:
            checks = [(c.ok, c.line()) for c in check_account(load_config(self._config_path).account(saved))]
        except Exception as exc:  # noqa: BLE001 -- a bug or a vanished file: said in words, form usable
            checks = [(False, f"FAIL test: {type(exc).__name__}: {exc}")]
        self.app.call_from_thread(self._tested, checks)

    def _refused(self, message: str, taken: bool) -> None:
        if not self.is_attached:
            return
        self._idle()
        if taken:
            self._error("name", "this name is taken: choose another")
            self.query_one("#name", Input).focus()
        self._status(Text.assemble(("Not saved: ", "bold red"), safe_text(message, single_line=True, style="red")))

    def _written(self, name: str, test: bool) -> None:
        self._saved = name
        if not self.is_attached:
            return
        if not test:
            self.dismiss(name)
            return
        for widget in self.query("#form Input, #form Select"):
            widget.disabled = True  # saved: edits here would no longer count
        self.query_one("#save", Button).label = "Close"
        self.query_one("#save_test", Button).label = "Test again"
        self.query_one("#cancel", Button).display = False
        self._status(Text.assemble(("Saved ", "green"), safe_text(f"[accounts.{name}]", single_line=True),
                                   " to ", safe_text(str(self._config_path), single_line=True),
                                   (". Testing the connection…", "dim")))

    def _tested(self, checks: list[tuple[bool | None, str]]) -> None:
        if not self.is_attached:  # closed while the test ran: the result has nowhere to go
            return
        self._idle()
        style = {True: "green", False: "red", None: "yellow"}
        box = self.query_one("#checks", Static)
        box.update(Text("\n").join(safe_text(line, single_line=True, style=style[ok]) for ok, line in checks))
        box.display = True
        box.scroll_visible(animate=False)
        failed = any(ok is False for ok, _ in checks)
        name = self._saved or ""
        self._status(Text.assemble(
            ("A check failed. ", "bold red") if failed else ("Everything checked works. ", "bold green"),
            safe_text(f"The account is saved; fix it in {self._config_path}, then `owner-tui accounts test {name}`."
                      if failed else "Close (ctrl+s) to go back.", single_line=True)))

    def _idle(self) -> None:
        self._busy = False
        for button in self.query(Button):
            button.disabled = False

    def action_cancel(self) -> None:
        if self._busy and self._saved is None:
            return  # the write is in flight (a moment): its outcome decides what to return
        self.dismiss(self._saved)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save(False)
        elif event.button.id == "save_test":
            self.action_save(True)
        else:
            self.action_cancel()
