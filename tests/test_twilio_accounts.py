"""`owner-tui accounts add twilio`, the config it writes, and twilio accounts in `accounts list`,
`accounts test`, `doctor` and `status` (issue 19), against the Twilio contract server."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from owner_tui.cli.root import cli
from owner_tui.config import ConfigError, parse_config
from tests.servers.twilio_api import ACCOUNT_SID, BUSINESS, twilio  # noqa: F401


def run(tmp_path: Path, *args: str, env: dict | None = None, input: str | None = None):
    return CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "--db", str(tmp_path / "db"), *args],
                              env=env, input=input)


def test_add_twilio_asks_tests_and_writes_no_secret(twilio, tmp_path):  # noqa: F811
    res = run(tmp_path, "accounts", "add", "twilio", "--base-url", twilio.url,
              input=f"shop-phone\n{ACCOUNT_SID}\n\nenv\nTWILIO_TEST_TOKEN\n(555) 123-4567\nwhatsapp:+15557654321\n")
    assert res.exit_code == 0, res.output
    assert "ok   account: Bakery on Main (active), signed in with the auth token" in res.output
    assert f"ok   number: {BUSINESS} (SMS, MMS, VOICE)" in res.output
    assert "added [accounts.shop-phone]" in res.output
    text = (tmp_path / "config.toml").read_text()
    assert tomllib.loads(text)["accounts"]["shop-phone"] == {
        "kind": "twilio", "account_sid": ACCOUNT_SID, "auth_token_env": "TWILIO_TEST_TOKEN", "numbers": [BUSINESS],
        "whatsapp_from": "whatsapp:+15557654321", "base_url": twilio.url}
    assert twilio.auth_token not in text and twilio.auth_token not in res.output
    checked = [s.query.get("PhoneNumber") for s in twilio.requests("GET") if s.path.endswith("IncomingPhoneNumbers.json")]
    assert checked == [BUSINESS]


def test_add_twilio_with_an_api_key(twilio, tmp_path):  # noqa: F811
    res = run(tmp_path, "accounts", "add", "twilio", "k", "--account-sid", ACCOUNT_SID, "--api-key-sid",
              twilio.api_key_sid, "--secret-env", "TWILIO_TEST_KEY_SECRET", "--numbers", BUSINESS, "--whatsapp-from",
              "", "--base-url", twilio.url)
    assert res.exit_code == 0, res.output
    acc = tomllib.loads((tmp_path / "config.toml").read_text())["accounts"]["k"]
    assert acc["api_key_sid"] == twilio.api_key_sid and acc["api_key_secret_env"] == "TWILIO_TEST_KEY_SECRET"
    assert "signed in with the API key" in res.output


@pytest.mark.parametrize("change, words", [
    ({"token": "bad-token-999"}, "Twilio refused the Account SID and auth token"),
    ({"numbers": "+15559998888"}, "+15559998888 is not a phone number of this Twilio account"),
    ({"status": "suspended"}, "is suspended, not active"),
])
def test_add_twilio_that_fails_its_test_call_writes_nothing(twilio, tmp_path, monkeypatch, change, words):  # noqa: F811
    if "token" in change:
        monkeypatch.setenv("TWILIO_TEST_TOKEN", change["token"])
    if "status" in change:
        twilio.account_status = change["status"]
    res = run(tmp_path, "accounts", "add", "twilio", "p", "--account-sid", ACCOUNT_SID, "--api-key-sid", "",
              "--secret-env", "TWILIO_TEST_TOKEN", "--numbers", change.get("numbers", BUSINESS), "--whatsapp-from", "",
              "--base-url", twilio.url)
    assert res.exit_code == 1 and words in res.output and "nothing was written" in res.output, res.output
    assert not (tmp_path / "config.toml").exists()
    assert "bad-token-999" not in res.output


def test_add_twilio_refuses_a_number_that_is_not_one(tmp_path):
    res = run(tmp_path, "accounts", "add", "twilio", "p", "--account-sid", ACCOUNT_SID, "--api-key-sid", "",
              "--secret-env", "X", "--numbers", "call me", "--whatsapp-from", "")
    assert res.exit_code == 2 and "'call me' is not a phone number" in res.output


CONFIG = """[accounts.phone]
kind = "twilio"
account_sid = "{sid}"
{secret}
numbers = {numbers}
"""


@pytest.mark.parametrize("sid, secret, numbers, words, line", [
    ("AC123", 'auth_token_env = "T"', '["+15551234567"]', "must be an Account SID", 3),
    (ACCOUNT_SID, "", '["+15551234567"]', "needs a way to the auth token", 3),
    (ACCOUNT_SID, 'auth_token_env = "T"', '["555 123"]', "E.164", 5),
    (ACCOUNT_SID, 'api_key_secret_env = "S"', '["+15551234567"]', "needs api_key_sid", 4),
    (ACCOUNT_SID, 'auth_token = "abc123"', '["+15551234567"]', "looks like a secret", 4),
    (ACCOUNT_SID, 'auth_token_env = "T"\nwhatsapp_from = "+15557654321"', '["+15551234567"]', "whatsapp:+", 5),
    (ACCOUNT_SID, 'auth_token_env = "T"\nregion = "USA"', '["+15551234567"]', "two-letter", 5),
    (ACCOUNT_SID, 'auth_token_env = "T"\nnumber = "+1"', '["+15551234567"]', "did you mean 'numbers'", 5),
])
def test_config_validates_twilio_accounts_with_line_numbers(sid, secret, numbers, words, line):
    with pytest.raises(ConfigError) as err:
        parse_config(CONFIG.format(sid=sid, secret=secret, numbers=numbers))
    assert words in str(err.value) and err.value.line == line, str(err.value)


def test_config_accepts_an_api_key_sid_as_not_a_secret():
    cfg = parse_config(CONFIG.format(sid=ACCOUNT_SID, numbers='["+15551234567"]', secret=(
        'api_key_sid = "SK' + "a" * 32 + '"\napi_key_secret_cmd = "pass show twilio"\n'
        'whatsapp_template_sid = "HX' + "b" * 32 + '"\nwhatsapp_template_name = "followup"')))
    assert cfg.accounts[0].kind == "twilio" and cfg.accounts[0].options["api_key_sid"].startswith("SK")


def _write_config(tmp_path: Path, server) -> None:
    opts = server.options()
    body = "".join(f'{k} = {json.dumps(v)}\n' for k, v in opts.items())
    (tmp_path / "config.toml").write_text(f'[accounts.phone]\nkind = "twilio"\n{body}')


def test_a_wrong_token_shows_in_status_digest_list_and_doctor(twilio, tmp_path):  # noqa: F811
    _write_config(tmp_path, twilio)
    env = {"TWILIO_TEST_TOKEN": "not-the-token-42"}
    assert run(tmp_path, "sync", "--no-send", env=env).exit_code == 1
    res = run(tmp_path, "status", "--json", env=env)
    (acc,) = json.loads(res.output)["accounts"]
    assert res.exit_code == 1 and (acc["state"], acc["error_kind"], acc["temporary"]) == ("failing", "credentials", False)
    assert "Twilio error 20003" in acc["error"] and "Account SID" in acc["advice"]
    listing = run(tmp_path, "accounts", "list", env=env).output
    assert "phone  (twilio)  secret: auth_token_env (TWILIO_TEST_TOKEN)" in listing
    doctor = run(tmp_path, "doctor", env=env).output
    assert "account phone (twilio): secret from auth_token_env (TWILIO_TEST_TOKEN)" in doctor
    assert "sync phone:" in doctor and "Account SID" in doctor
    digest = run(tmp_path, "digest", "--format", "text", env=env).output
    assert "phone (twilio): FAILING" in digest
    everything = res.output + listing + doctor + digest + (tmp_path / "db").read_bytes().decode("latin-1")
    assert "not-the-token-42" not in everything
    ok = run(tmp_path, "sync", "--no-send", env={"TWILIO_TEST_TOKEN": twilio.auth_token})
    assert ok.exit_code == 0, ok.output
    assert json.loads(run(tmp_path, "status", "--json").output)["accounts"][0]["state"] == "ok"


def test_accounts_test_checks_a_twilio_account(twilio, tmp_path):  # noqa: F811
    _write_config(tmp_path, twilio)
    res = run(tmp_path, "accounts", "test", "phone", env={"TWILIO_TEST_TOKEN": twilio.auth_token})
    assert res.exit_code == 0, res.output
    assert "ok   auth_token: auth token read from auth_token_env (TWILIO_TEST_TOKEN)" in res.output
    bad = run(tmp_path, "accounts", "test", "phone", env={"TWILIO_TEST_TOKEN": "nope-nope"})
    assert bad.exit_code == 1 and "FAIL account: Twilio: Twilio refused" in bad.output


def test_the_tui_status_line_says_wrong_credentials_at_80_columns(twilio, tmp_path, monkeypatch):  # noqa: F811
    from datetime import UTC, datetime
    from types import MappingProxyType

    from owner_tui.config import AccountConfig, Config
    from owner_tui.store import Store
    from owner_tui.sync import sync_one
    from owner_tui.tui.widgets.health_bar import status_text

    monkeypatch.setenv("TWILIO_TEST_TOKEN", "wrong-wrong-1")
    acc = AccountConfig("phone", "twilio", MappingProxyType(twilio.options()))
    with Store.open(tmp_path / "h.db") as store:
        sync_one(store, acc)
        now = datetime.now(UTC)
        health = store.health(Config(accounts=(acc,)), now=now)
    line = status_text(health, now, width=80).plain
    assert "phone" in line and "wrong credentials" in line and len(line) <= 80
