"""Issue 13 in the TUI: the status line and the empty state never reassure when the list may
be wrong. Each state is reached for real (Dovecot stopped, a wrong password, ``[UNAVAILABLE]``
through the fault proxy, a review API refusing) by pressing the sync key; the details open
with ``h``. The 80x24 picture of a broken account is in ``test_tui_snapshots.py``."""

from __future__ import annotations

import pytest

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.store import Store
from owner_tui.store.health import Health, OutboxHealth, _account_health
from owner_tui.tui.app import OwnerApp
from owner_tui.tui.live_mail import IdleStatus
from owner_tui.tui.widgets.health_bar import status_text
from tests.imap_helpers import account, mail
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import require_dovecot
from tests.servers.proxy import FaultProxy
from tests.servers.review_apis import GOOGLE_CLIENT, api  # noqa: F401
from tests.tui_support import NOW, FrozenClock, screen_lines, screen_text, settle

NICE = "Nice work"


def cfg(*accounts: AccountConfig) -> Config:
    return Config(owner=OwnerConfig(name="Sam", addresses=("own@example.com",)), accounts=accounts)


def bar(app) -> str:
    return str(app.screen.query_one("#health-bar").render())


def empty_text(app) -> str:
    return app.inbox.aging_list.empty_text


async def sync_in_app(pilot) -> None:
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot, rounds=80)
    for _ in range(50):  # the sync worker posts its result; the list then reloads
        if not pilot.app.syncing:
            break
        await pilot.pause(0.1)
    await settle(pilot)


@pytest.mark.servers
async def test_dovecot_stopped_shows_in_the_status_line_the_empty_state_and_the_details(tmp_path):
    require_dovecot()
    server = DovecotServer(users={"own@example.com": "pw-1"}).start()
    acc = AccountConfig("shop", "imap", {"host": server.host, "port": server.port, "security": "none",
                                         "user": "own@example.com", "password_cmd": "printf %s pw-1"})
    server.close()  # stopped: nothing listens on its port any more
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=FrozenClock(), live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await sync_in_app(pilot)
        assert "✗ shop conn. refused" in bar(app)
        text = empty_text(app)
        assert NICE not in text and "This list may be incomplete" in text
        assert "shop: FAILING" in text and "refused the connection" in text and "What to do: Check the port" in text
        assert "may be incomplete" in screen_text(app)  # drawn, wrapped to the width, not only set
        await pilot.press("h")
        await settle(pilot)
        details = screen_text(app)
        assert "shop (imap)  FAILING" in details and "last success  never" in details
        assert "what to do  Check the port" in details
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.inbox


@pytest.mark.servers
async def test_wrong_password_then_fixed(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1, to=imap_account.user))
    bad = account(imap_account, "shop", password_cmd="printf %s wrong-pw-Distinct")
    app = OwnerApp(tmp_path / "t.db", cfg(bad), clock=FrozenClock(), live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await sync_in_app(pilot)
        assert "✗ shop login refused" in bar(app)
        assert NICE not in empty_text(app) and "wrong user name or password" in empty_text(app)
        assert "wrong-pw-Distinct" not in screen_text(app)
        app.config = cfg(account(imap_account, "shop"))  # the owner fixes the password
        await sync_in_app(pilot)
        assert "✓ shop now" in bar(app) and app.inbox.aging_list.total == 1


@pytest.mark.servers
async def test_unavailable_is_server_busy_never_a_wrong_password(imap_account, tmp_path):
    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        proxy.rewrite(rb"\[AUTHENTICATIONFAILED\] Authentication failed\.",
                      b"[UNAVAILABLE] Temporary authentication failure.")
        acc = account(imap_account, "shop", host=proxy.host, port=proxy.port, password_cmd="printf %s nope",
                      retry_delay=0)
        app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=FrozenClock(), live_mail=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await sync_in_app(pilot)
            assert "✗ shop server busy" in bar(app)
            shown = screen_text(app)
            assert "login refused" not in shown and "wrong" not in empty_text(app)
            assert "Nothing to change on your side" in empty_text(app)
        assert proxy.rewritten == 3  # the first try and two retries


@pytest.mark.servers
@pytest.mark.parametrize("status, words", [(401, "sign in again"), (403, "no permission"), (429, "rate limited"),
                                           (500, "server error")])
async def test_review_api_refusals_in_the_status_line(api, tmp_path, monkeypatch, status, words):  # noqa: F811
    monkeypatch.setenv("OT_CS", GOOGLE_CLIENT[1])
    monkeypatch.setenv("OT_RT", "rt-good")
    api.fault("GET", "/v1/accounts", status, {"error": {"code": status, "message": "no", "status": "X"}}, count=10)
    acc = AccountConfig("gbp", "google", {**api.google_options(qpm=60000, max_attempts=1),
                                          "client_secret_env": "OT_CS", "refresh_token_env": "OT_RT"})
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=FrozenClock(), live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await sync_in_app(pilot)
        assert f"✗ gbp {words}" in bar(app)
        assert NICE not in empty_text(app) and "gbp: FAILING" in empty_text(app)


async def test_never_synced_is_not_nice_work(tmp_path):
    acc = AccountConfig("shop", "imap", {"host": "imap.example.com", "user": "u", "password_env": "X"})
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=FrozenClock(), live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "! shop never synced" in bar(app)
        assert NICE not in empty_text(app) and "shop: NEVER SYNCED" in empty_text(app)


async def test_healthy_account_earns_nice_work_and_failed_replies_show(tmp_path):
    clock = FrozenClock()
    acc = AccountConfig("shop", "imap", {"host": "imap.example.com", "user": "u", "password_env": "X"})
    with Store.open(tmp_path / "t.db", config=cfg(acc), clock=clock) as store:
        aid = store.ensure_account("imap", "shop")
        store.sync_started(aid)
        store.sync_succeeded(aid)
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=clock, live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "✓ shop now" in bar(app) and "outbox empty" in bar(app)
        assert NICE in empty_text(app)
        clock.advance(hours=3)  # more than the 2 h allowed while the app is open
        app.refresh_inbox()
        await settle(pilot)
        assert "! shop stale 3h" in bar(app) and NICE not in empty_text(app)


async def test_live_mail_paused_stays_on_the_status_line(tmp_path):
    acc = AccountConfig("shop", "imap", {"host": "imap.example.com", "user": "u", "password_env": "X"})
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=FrozenClock(), live_mail=False)
    app._live_enabled = True  # as if watching, without a server: the messages are what matter here
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(IdleStatus("shop", "shop: watching INBOX for new mail"))
        await settle(pilot)
        assert "live mail on" in bar(app)
        app.post_message(IdleStatus("shop", "shop: imap.example.com did not answer; retrying in 8 s"))
        await settle(pilot)
        assert "live mail paused" in bar(app)


async def test_hostile_error_text_is_inert(tmp_path):
    clock = FrozenClock()
    acc = AccountConfig("shop", "imap", {"host": "imap.example.com", "user": "u", "password_env": "X"})
    with Store.open(tmp_path / "t.db", config=cfg(acc), clock=clock) as store:
        aid = store.ensure_account("imap", "shop")
        store.sync_failed(aid, "the server refused a command: \x1b[31m[bold]PWN[/bold]\x1b]0;title\x07", "protocol")
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=clock, live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lines = screen_lines(app)  # asserts no escape sequence reached the screen
        assert any("[bold]PWN" in line for line in lines)
        await pilot.press("h")
        await settle(pilot)
        assert "[bold]PWN" in "\n".join(screen_lines(app))


def test_status_line_fits_80_columns_and_never_wraps():
    names = ["harbour-bakery-main-mailbox", "google-reviews-harbour", "trustpilot-harbour-bakery", "yelp", "fb"]
    accounts = tuple(_account_health(n, "imap", 1, {"last_success": None, "last_attempt": NOW.isoformat(),
                                                      "last_error": "x", "error_kind": k, "error_at": None,
                                                      "temporary": 0, "failures": 1, "syncing_since": None},
                                     (), NOW, 2) for n, k in zip(names, ("login", "dns", "reauth", "rate", "server")))
    health = Health(NOW.isoformat(), accounts, OutboxHealth(2, 1, 3))
    for width in (80, 60, 40):
        text = status_text(health, NOW, width=width, idle={"a": "retrying in 3 s"})
        assert text.cell_len <= width and "\n" not in text.plain, (width, text.plain)
    full = status_text(health, NOW, width=80, idle={"a": "retrying in 3 s"}).plain
    assert "✗5" in full or "login refused" in full  # abbreviated, still saying what fails
    one = Health(NOW.isoformat(), accounts[:1], OutboxHealth())
    assert status_text(one, NOW, width=80).plain.rstrip().endswith("h:details")


def test_help_lists_the_health_key():
    from owner_tui.screens.help import help_rows

    assert any(row[3] == "health" and row[1] == "h" for row in help_rows({}))


async def test_outbox_queued_and_failed_replies_on_the_status_line(tmp_path):
    from tests.tui_support import build_store

    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    with Store.open(tmp_path / "t.db", clock=clock) as store:
        store.queue_reply(ids["ann"], "Yes we do.")
        failed = store.queue_reply(ids["bob"], "Sorry!")
        store.outbox_claim(failed)
        store.outbox_fail(failed, "the server refused the message (552 5.2.2 Mailbox full): the recipient's "
                                  "mailbox is full")
    app = OwnerApp(tmp_path / "t.db", cfg(), clock=clock, live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "outbox 1 queued, 1 failed" in bar(app)
        await pilot.press("h")
        await settle(pilot)
        assert f"reply #{failed} not sent: the server refused the message (552 5.2.2" in screen_text(app)


async def test_the_status_line_stays_on_the_conversation_and_reply_screens(tmp_path):
    from tests.tui_support import build_store

    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    acc = AccountConfig("shop", "imap", {"host": "imap.example.com", "user": "u", "password_env": "X"})
    app = OwnerApp(tmp_path / "t.db", cfg(acc), clock=clock, live_mail=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "! shop never synced" in bar(app) and "h:details" in bar(app)
        await pilot.press("r")
        await settle(pilot)
        assert "! shop never synced" in bar(app) and "h:details" not in bar(app)  # h types in the editor


def test_an_ok_account_with_a_warning_says_so_on_the_status_line_and_in_the_details():
    from zoneinfo import ZoneInfo

    from owner_tui.records import NO_SENT_WARNING
    from owner_tui.screens.health import details

    row = {"last_success": NOW.isoformat(), "last_attempt": NOW.isoformat(), "last_error": None, "error_kind": None,
           "error_at": None, "temporary": 0, "failures": 0, "syncing_since": None, "warning": NO_SENT_WARNING}
    warned = _account_health("shop", "imap", 1, row, (), NOW, 2)
    fine = _account_health("reviews", "google", 2, {**row, "warning": None}, (), NOW, 2)
    for accounts in ((warned,), (warned, fine)):
        text = status_text(Health(NOW.isoformat(), accounts, OutboxHealth()), NOW, width=80)
        assert "! shop no Sent folder" in text.plain and text.cell_len <= 80
        span = next(s for s in text.spans if text.plain[s.start:s.end].startswith("! shop"))
        assert "yellow" in str(span.style)
    assert warned.state == "ok" and not warned.problem
    group = details(Health(NOW.isoformat(), (warned,), OutboxHealth()), NOW, ZoneInfo("UTC"), idle={}, live=True,
                    syncing=False)
    plain = "\n".join(r.plain for r in group.renderables)
    assert "warning  no Sent folder found" in plain and "what to do  Set sent_folder" in plain


async def test_the_demos_health_details_say_it_is_the_demo(tmp_path):
    """The demo reads no account health: `h` said "Reading account health…" for ever."""
    from owner_tui.screens.health import DEMO_WORDS

    app = OwnerApp(tmp_path / "t.db", cfg(), demo=True, clock=FrozenClock(NOW), exports_dir=tmp_path / "exports")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "Reading account health" not in text and "This is the demo" in text
        assert DEMO_WORDS.split()[-1] in text
