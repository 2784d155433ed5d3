import os
import stat

import pytest

from owner_tui.config import ConfigError, load_config, parse_config
from owner_tui.paths import get_paths, write_private_text
from owner_tui.secrets import SecretError, resolve_secret

GOOD = """
[owner]
name = "Sam"
business = "Shop"
addresses = ["Sam@Shop.example"]

[aging]
waiting_since = "latest"
sla_hours = 8
timezone = "Europe/Paris"
business_hours = "09:00-18:00"
business_days = ["mon", "tue", "wed", "thu", "fri", "sat"]

[accounts.shop]
kind = "imap"
host = "imap.shop.example"
user = "sam@shop.example"
password_cmd = "pass show shop"

[keys]
reply = "ctrl+r"
"""


def test_good_config_parses_into_frozen_dataclasses():
    cfg = parse_config(GOOD)
    assert cfg.owner.addresses == ("sam@shop.example",) and cfg.owner.business == "Shop"
    assert cfg.aging.waiting_since == "latest" and cfg.aging.sla_hours == 8
    assert cfg.aging.business_hours.days == frozenset(range(6))
    assert cfg.account("shop").options["host"] == "imap.shop.example"
    assert cfg.keys["reply"] == "ctrl+r"
    with pytest.raises(Exception):
        cfg.owner.name = "x"  # frozen


@pytest.mark.parametrize("text,key,line,words", [
    ("[aging]\nsla_hour = 3\n", "aging.sla_hour", 2, "did you mean 'sla_hours'"),
    ("[aging]\n\nsla_hours = \"soon\"\n", "aging.sla_hours", 3, "aging.sla_hours must be a number, not str"),
    ("[aging]\ntimezone = \"Mars/Olympus\"\n", "aging.timezone", 2, "not a known time zone"),
    ("[aging]\nbusiness_hours = \"nine to five\"\n", "aging.business_hours", 2, "09:00-17:30"),
    ("[owner]\naddresses = [\"not-an-address\"]\n", "owner.addresses", 2, "email addresses"),
    ("[accounts.x]\nkind = \"fax\"\n", "accounts.x.kind", 2, "must be one of"),
    ("[accounts.x]\nkind = \"imap\"\npassword = \"hunter2\"\n", "accounts.x.password", 3, "password_cmd"),
    ("[aging\n", "", 1, "not valid TOML"),
])
def test_bad_config_names_key_and_line(text, key, line, words):
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert err.value.key == key
    assert err.value.line == line
    assert words in str(err.value)
    assert "hunter2" not in str(err.value)


def test_missing_config_gives_defaults(tmp_path):
    cfg = load_config(tmp_path / "nope.toml")
    assert cfg.accounts == () and cfg.aging.sla_hours == 24


def test_owner_tui_home_override(tmp_path):
    p = get_paths({"OWNER_TUI_HOME": str(tmp_path)})
    assert p.config_file == tmp_path / "config.toml" and p.database == tmp_path / "owner-tui.db"
    assert not (tmp_path / "state").exists()  # nothing is created by asking


def test_private_files(tmp_path):
    write_private_text(tmp_path / "d" / "config.toml", "x")
    assert stat.S_IMODE(os.stat(tmp_path / "d" / "config.toml").st_mode) == 0o600


def test_secret_sources(monkeypatch):
    assert resolve_secret({"password_cmd": "printf '  s3cret \\n'"}, "password", "a") == "s3cret"
    monkeypatch.setenv("SHOP_PW", "envpw")
    assert resolve_secret({"password_env": "SHOP_PW"}, "password", "a") == "envpw"
    with pytest.raises(SecretError) as err:
        resolve_secret({"password_cmd": "echo leaked; echo 'gpg: decryption failed' >&2; exit 3"}, "password", "a")
    assert "status 3" in str(err.value)
    assert "leaked" not in str(err.value)  # stdout (a would-be secret) is never echoed
    assert "decryption" not in str(err.value)  # nor stderr: gpg/pass may print what they decrypted
    with pytest.raises(SecretError, match="not set"):
        resolve_secret({"password_env": "NOPE_NOT_SET"}, "password", "a")
    with pytest.raises(SecretError, match="no way to get"):
        resolve_secret({}, "password", "a")


def test_a_secret_is_the_first_line_of_the_command_output():
    # ``pass show`` prints the password, then "login: ...", "url: ..." (issue 14, item 6).
    cmd = "printf 's3cret\\nlogin: sam\\nurl: https://mail.example\\n'"
    assert resolve_secret({"password_cmd": cmd}, "password", "a") == "s3cret"
    assert resolve_secret({"password_cmd": "printf '\\n  s3cret  \\r\\nmore'"}, "password", "a") == "s3cret"
    with pytest.raises(SecretError, match="printed nothing"):
        resolve_secret({"password_cmd": "printf '   \\nsecond'"}, "password", "a")


def test_existing_shared_folder_is_not_tightened(tmp_path):
    from owner_tui.store import Store

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)
    Store.open(shared / "x.db").close()
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    Store.open(shared / "new" / "deeper" / "y.db").close()
    assert stat.S_IMODE(os.stat(shared / "new").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(shared / "new" / "deeper").st_mode) == 0o700


def test_readme_config_examples_parse():
    """The README's TOML examples are what newcomers copy: each must load."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        parse_config(block)
