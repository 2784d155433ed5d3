"""`owner-tui accounts add trustpilot|yelp|facebook` against the local contract servers:
questions (or flags), one test call, and only *how* to get each secret in the config."""

import tomllib

from click.testing import CliRunner

from owner_tui.cli.root import cli
from tests.servers.review_apis import FB_TOKEN, TP_KEY, TP_PASSWORD, TP_SECRET, TP_USER, YELP_KEY, api, tp_review  # noqa: F401


def test_add_trustpilot_asks_tests_and_writes_no_secret(api, tmp_path, monkeypatch):
    monkeypatch.setenv("TP_K", TP_KEY)
    monkeypatch.setenv("TP_S", TP_SECRET)
    monkeypatch.setenv("TP_P", TP_PASSWORD)
    api.tp_reviews["bu-1"] = [tp_review("t1", created="2026-11-01T10:00:00Z")]
    cfg = tmp_path / "config.toml"
    res = CliRunner().invoke(cli, ["--config", str(cfg), "accounts", "add", "trustpilot", "tp", "--api-key-env", "TP_K",
                                   "--api-secret-env", "TP_S", "--password-env", "TP_P", "--base-url", api.url],
                             input=f"bu-1\n{TP_USER}\nbizuser-1\n")
    assert res.exit_code == 0, res.output
    assert "Trustpilot answered: 1 review" in res.output and "added [accounts.tp]" in res.output
    text = cfg.read_text()
    acc = tomllib.loads(text)["accounts"]["tp"]
    assert acc == {"kind": "trustpilot", "business_unit_id": "bu-1", "username": TP_USER,
                   "author_business_user_id": "bizuser-1", "api_key_env": "TP_K", "api_secret_env": "TP_S",
                   "password_env": "TP_P", "base_url": api.url}
    for secret in (TP_KEY, TP_SECRET, TP_PASSWORD):
        assert secret not in text and secret not in res.output


def test_add_trustpilot_with_a_wrong_password_writes_nothing(api, tmp_path, monkeypatch):
    monkeypatch.setenv("TP_K", TP_KEY)
    monkeypatch.setenv("TP_S", TP_SECRET)
    monkeypatch.setenv("TP_P", "wrong-password")
    cfg = tmp_path / "config.toml"
    res = CliRunner().invoke(cli, ["--config", str(cfg), "accounts", "add", "trustpilot", "tp", "--business-unit-id",
                                   "bu-1", "--username", TP_USER, "--author-business-user-id", "", "--api-key-env",
                                   "TP_K", "--api-secret-env", "TP_S", "--password-env", "TP_P", "--base-url", api.url])
    assert res.exit_code == 1 and "refused the business login" in res.output and "nothing was written" in res.output
    assert not cfg.exists() and "wrong-password" not in res.output


def test_add_yelp_reports_n_of_total_and_a_trial_key(api, tmp_path, monkeypatch):
    monkeypatch.setenv("YK", YELP_KEY)
    api.yelp_reviews["biz-1"] = [{"id": "y1", "text": "ok", "rating": 5, "time_created": "2026-11-01 10:00:00",
                                  "user": {"id": "u", "name": "U"}}]
    api.yelp_total = 12
    cfg = tmp_path / "config.toml"
    args = ["--config", str(cfg), "accounts", "add", "yelp", "y", "--business-id", "biz-1", "--api-key-env", "YK",
            "--base-url", api.url]
    api.yelp_trial = True
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "trial (Starter) API key" in res.output and not cfg.exists()
    api.yelp_trial = False
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "Yelp answered: 1 excerpts of 12 reviews" in res.output
    assert tomllib.loads(cfg.read_text())["accounts"]["y"]["api_key_env"] == "YK"


def test_add_facebook_with_a_command_for_the_token(api, tmp_path, monkeypatch):
    api.fb_ratings["page-1"] = []
    cfg = tmp_path / "config.toml"
    res = CliRunner().invoke(cli, ["--config", str(cfg), "accounts", "add", "facebook", "fb", "--page-id", "page-1",
                                   "--base-url", api.url], input=f"echo {FB_TOKEN}\n")
    assert res.exit_code == 0, res.output
    acc = tomllib.loads(cfg.read_text())["accounts"]["fb"]
    assert acc["token_cmd"] == f"echo {FB_TOKEN}" and acc["enabled_ratings"] is True
    assert "token =" not in cfg.read_text()
