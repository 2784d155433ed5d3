"""`owner-tui accounts add google` end to end against the local Google contract server."""

import os
import stat
import tomllib

import httpx
from click.testing import CliRunner

from owner_tui.cli.root import cli
from tests.servers.review_apis import GOOGLE_CLIENT, api, ft  # noqa: F401


def play_browser(url: str) -> bool:
    with httpx.Client() as client:
        location = client.get(url).headers["location"]
        assert client.get(location).status_code == 200
    return True


def test_add_google_signs_in_keeps_token_out_of_config_and_picks_locations(api, tmp_path, monkeypatch):
    monkeypatch.setattr("webbrowser.open", play_browser)
    monkeypatch.setenv("G_SECRET", GOOGLE_CLIENT[1])
    api.locations["accounts/1"].append({"name": "locations/11", "title": "Harbour Rd", "storeCode": "B"})
    cfg = tmp_path / "config.toml"
    res = CliRunner().invoke(cli, [
        "--config", str(cfg), "accounts", "add", "google", "shop-google", "--client-id", GOOGLE_CLIENT[0],
        "--client-secret-env", "G_SECRET", "--token-store", "file", "--timeout", "10",
        "--auth-url", f"{api.url}/o/oauth2/v2/auth", "--token-url", f"{api.url}/token", "--base-url", api.url],
        input="1\n")
    assert res.exit_code == 0, res.output
    assert "added [accounts.shop-google]" in res.output
    text = cfg.read_text()
    acc = tomllib.loads(text)["accounts"]["shop-google"]
    assert acc["kind"] == "google" and acc["client_secret_env"] == "G_SECRET"
    assert "Main St" in res.output and "Harbour Rd" in res.output  # the owner chose from a list
    assert acc["locations"] == ["accounts/1/locations/10"] and acc["refresh_token_cmd"].startswith("cat ")
    refresh = [t for t in api.google_refresh_tokens if t in open(acc["refresh_token_cmd"][4:].strip("'")).read()]
    assert refresh, "the token file holds the refresh token Google issued"
    assert refresh[0] not in text and refresh[0] not in res.output  # never in config or on screen
    token_file = acc["refresh_token_cmd"][4:].strip("'")
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600


def test_add_google_refused_consent_changes_nothing(api, tmp_path, monkeypatch):
    monkeypatch.setattr("webbrowser.open", play_browser)
    monkeypatch.setenv("G_SECRET", GOOGLE_CLIENT[1])
    api.consent_error = "access_denied"
    cfg = tmp_path / "config.toml"
    res = CliRunner().invoke(cli, [
        "--config", str(cfg), "accounts", "add", "google", "g", "--client-id", GOOGLE_CLIENT[0],
        "--client-secret-env", "G_SECRET", "--timeout", "10",
        "--auth-url", f"{api.url}/o/oauth2/v2/auth", "--token-url", f"{api.url}/token", "--base-url", api.url])
    assert res.exit_code == 1 and "not completed: access_denied" in res.output
    assert not cfg.exists()
