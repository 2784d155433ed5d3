"""The add-an-account form: it writes the same config.toml table as ``accounts add imap``,
never a password, shows problems next to their field, and "save and test" reports the
real checks against Dovecot."""

from __future__ import annotations

import stat
import tomllib

import pytest
from owner_tui.screens.account_add import ACCOUNT_ADD_DIALOG, AccountAddScreen
from textual.app import App
from textual.widgets import Input, Select

from tests.tui_support import screen_text, settle

_UNSET = object()


class Host(App):
    """Pushes the form at start and keeps what it dismisses with."""

    def __init__(self, config_path) -> None:
        super().__init__()
        self.config_path = config_path
        self.result = _UNSET

    def on_mount(self) -> None:
        self.push_screen(AccountAddScreen(self.config_path), self._done)

    def _done(self, result) -> None:
        self.result = result


def fill(app, **values) -> None:
    screen = app.screen
    for field, value in values.items():
        widget = screen.query_one(f"#{field}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value


FORM = {"name": "shop", "host": "imap.example.com", "user": "sam@example.com", "secret": "pass show mail/shop"}


async def test_save_writes_the_table_with_a_password_command_and_no_password(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[owner]\nname = "Sam"\n', encoding="utf-8")
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, AccountAddScreen)
        fill(app, **FORM, smtp_host="smtp.example.com")
        fill(app, smtp_security="starttls")
        await pilot.pause()
        assert app.screen.query_one("#smtp_port", Input).value == "587"  # follows the security
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "shop"
    data = tomllib.loads(path.read_text())
    assert data["owner"] == {"name": "Sam"}
    assert data["accounts"]["shop"] == {
        "kind": "imap", "host": "imap.example.com", "port": 993, "security": "tls", "user": "sam@example.com",
        "address": "sam@example.com", "password_cmd": "pass show mail/shop", "smtp_host": "smtp.example.com",
        "smtp_port": 587, "smtp_security": "starttls"}
    assert "password =" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_starttls_moves_the_port_and_env_and_token_sources(tmp_path):
    path = tmp_path / "config.toml"
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, security="starttls")
        await pilot.pause()
        assert app.screen.query_one("#port", Input).value == "143"
        fill(app, **{**FORM, "secret": "MY PASSWORD"}, secret_kind="env")
        await pilot.pause()
        assert "Variable" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "a variable name" in screen_text(app)  # not a name: the password itself, perhaps
        fill(app, secret="SHOP_PW")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "shop"
    acc = tomllib.loads(path.read_text())["accounts"]["shop"]
    assert acc["password_env"] == "SHOP_PW" and acc["port"] == 143 and acc["security"] == "starttls"
    assert "MY PASSWORD" not in path.read_text()

    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, **{**FORM, "name": "gmail", "secret": "mutt_oauth2.py t.gpg"}, secret_kind="token-cmd")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "gmail"
    acc = tomllib.loads(path.read_text())["accounts"]["gmail"]
    assert acc["auth"] == "xoauth2" and acc["token_cmd"] == "mutt_oauth2.py t.gpg"


async def test_a_taken_name_is_said_in_words_and_nothing_is_written(tmp_path):
    path = tmp_path / "config.toml"
    from owner_tui.accounts.add import add_account

    add_account(path, "shop", "imap", {"host": "h.example.com", "user": "u", "password_env": "PW"})
    before = path.read_bytes()
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, **FORM)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AccountAddScreen) and app.result is _UNSET
        text = screen_text(app)
        assert "Not saved" in text and "already exists" in text and "Traceback" not in text
        assert "this name is taken" in text
    assert path.read_bytes() == before


async def test_field_errors_show_next_to_the_field_and_nothing_is_written(tmp_path):
    path = tmp_path / "config.toml"
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, **{**FORM, "host": "", "address": "sam.example.com"}, port="70000")
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AccountAddScreen)
        err = lambda f: str(screen.query_one(f"#err-{f}").render())
        assert "from 1 to 65535" in err("port") and screen.query_one("#err-port").display
        assert "IMAP server is needed" in err("host")
        assert "not an email address" in err("address")
        assert not screen.query_one("#err-user").display
        assert "Fix 3 fields" in screen_text(app)
        assert app.screen.focused is screen.query_one("#host")  # the first problem
        fill(app, host="imaps://imap.example.com")
        await pilot.pause()
        assert not screen.query_one("#err-host").display  # edited: the old complaint goes
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "no imaps://" in err("host")
    assert not path.exists()


async def test_escape_returns_none_and_writes_nothing(tmp_path):
    path = tmp_path / "config.toml"
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, **FORM)
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is None
        assert not isinstance(app.screen, AccountAddScreen)
    assert not path.exists()


def test_every_key_has_an_id_and_a_tooltip():
    for b in [*AccountAddScreen.BINDINGS]:
        assert b.id and b.tooltip, b
    assert {b.id for b in ACCOUNT_ADD_DIALOG} == {"account_save", "account_save_test"}


@pytest.mark.servers
async def test_save_and_test_against_dovecot_shows_each_check(imap_account, tmp_path):
    path = tmp_path / "config.toml"
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, name="mail", host=imap_account.host, security="none", user=imap_account.user,
             secret=f"printf %s '{imap_account.password}'")
        await pilot.pause()
        fill(app, port=str(imap_account.port))
        await pilot.press("ctrl+t")
        await settle(pilot)
        text = screen_text(app)
        assert f"ok login: logged in as {imap_account.user}" in text, text  # (spaces folded)
        assert "ok folders: INBOX" in text and "warn smtp: no smtp_host" in text
        assert "Everything checked works" in text
        checks = str(app.screen.query_one("#checks").render()) + str(app.screen.query_one("#status").render())
        assert imap_account.password not in checks  # (the typed command holds it; the results never)
        assert app.result is _UNSET  # stays open to show the results
        await pilot.press("escape")  # saved: closing returns the name
        await pilot.pause()
        assert app.result == "mail"
    acc = tomllib.loads(path.read_text())["accounts"]["mail"]
    assert acc["password_cmd"].startswith("printf") and acc["port"] == imap_account.port


@pytest.mark.servers
async def test_save_and_test_with_a_wrong_password_says_which_step_failed(imap_account, tmp_path):
    path = tmp_path / "config.toml"
    app = Host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fill(app, name="mail", host=imap_account.host, security="none", user=imap_account.user,
             secret="printf %s not-the-pw-123")
        await pilot.pause()
        fill(app, port=str(imap_account.port))
        await pilot.press("ctrl+t")
        await settle(pilot)
        text = screen_text(app)
        assert "FAIL login" in text and "A check failed" in text, text
        assert "not-the-pw-123" not in str(app.screen.query_one("#checks").render())
        assert app.screen.query_one("#save").label.plain == "Close"  # saved even so: the file has it
