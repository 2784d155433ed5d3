"""``owner-tui accounts add imap`` / ``accounts test`` against real Dovecot and aiosmtpd,
and ``describe_error``'s plain words for every way a connection fails."""

from __future__ import annotations

import socket
import ssl
import stat
import tomllib

import pytest
from click.testing import CliRunner
from imapclient.exceptions import LoginError

from owner_tui.accounts.add import add_account, render_account
from owner_tui.accounts.check import check_account
from owner_tui.cli.root import cli
from owner_tui.config import ConfigError, load_config
from owner_tui.secrets import SecretError
from owner_tui.sources.imap.errors import FolderMissing, as_mail_error, describe_error
from tests.imap_helpers import account
from tests.servers.dovecot import free_port
from tests.servers.smtp import SmtpServer


def run(tmp_path, *args, input=None, env=None):
    res = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "--db", str(tmp_path / "db"), *args],
                             input=input, env=env)
    return res


# -- describe_error: one line, plain words ------------------------------------------------------

@pytest.mark.parametrize("exc, kind, words", [
    (socket.gaierror(-2, "Name or service not known"), "dns", "cannot find the server imap.example.com (DNS"),
    (ConnectionRefusedError(111, "Connection refused"), "refused", "refused the connection"),
    (TimeoutError("timed out"), "timeout", "did not answer in time"),
    (OSError(113, "No route to host"), "unreachable", "unreachable"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls", "protocol"),
    (LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"), "login",
     "wrong user name or password (server said: [AUTHENTICATIONFAILED] Authentication failed.)"),
    (SecretError("mail: password_cmd exited with status 1"), "secret", "could not get the password"),
    (FolderMissing("Archive", ["INBOX", "Sent"]), "folder", "folder 'Archive' does not exist on the server"),
])
def test_describe_error_kinds(exc, kind, words):
    err = as_mail_error(exc, host="imap.example.com", port=993, user="me@example.com")
    assert err.kind == kind
    assert words in str(err) if kind != "tls" else "TLS" in str(err)
    assert "\n" not in str(err) and "Traceback" not in str(err)
    assert describe_error(exc, host="imap.example.com", port=993, user="me@example.com") == str(err)


def test_describe_error_certificate():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    text = describe_error(exc, host="mail.example.com", port=993)
    assert text.startswith("certificate problem with mail.example.com:993: self-signed certificate")
    assert "tls_ca_file" in text


# -- the config table -------------------------------------------------------------------------

def test_render_and_add_account_keep_the_file_valid_and_private(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[owner]\nname = "Sam"\n', encoding="utf-8")
    opts = {"host": "imap.example.com", "port": 993, "user": "sam@example.com", "folders": ["A \"quoted\"", "Ü"],
            "password_cmd": "pass show mail", "smtp_saves_sent": False}
    assert render_account("my shop", "imap", opts).startswith('[accounts."my shop"]\nkind = "imap"\n')
    add_account(path, "my shop", "imap", opts)
    cfg = load_config(path)
    assert cfg.owner.name == "Sam"
    acc = cfg.account("my shop")
    assert dict(acc.options) == opts
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        add_account(path, "my shop", "imap", opts)
    with pytest.raises(ConfigError, match="looks like a secret"):
        add_account(path, "other", "imap", {"host": "h", "user": "u", "password": "hunter2"})
    assert "hunter2" not in path.read_text()


def test_add_imap_interactively_writes_no_secret(tmp_path):
    answers = "\n".join(["shop", "imap.example.com", "tls", "", "sam@example.com", "", "cmd",
                         "pass show mail/shop", "smtp.example.com", "starttls", "587", "n"]) + "\n"
    res = run(tmp_path, "accounts", "add", "imap", input=answers)
    assert res.exit_code == 0, res.output
    data = tomllib.loads((tmp_path / "config.toml").read_text())
    assert data["accounts"]["shop"] == {
        "kind": "imap", "host": "imap.example.com", "port": 993, "security": "tls", "user": "sam@example.com",
        "address": "sam@example.com", "password_cmd": "pass show mail/shop", "smtp_host": "smtp.example.com",
        "smtp_port": 587, "smtp_security": "starttls"}


def test_add_imap_with_xoauth2_token_command(tmp_path):
    res = run(tmp_path, "accounts", "add", "imap", "gmail", "--host", "imap.gmail.com", "--security", "tls",
              "--port", "993", "--user", "sam@gmail.com", "--address", "sam@gmail.com",
              "--token-cmd", "mutt_oauth2.py ~/.gmail.tokens", "--smtp-host", "smtp.gmail.com",
              "--smtp-security", "tls", "--smtp-port", "465", "--no-test")
    assert res.exit_code == 0, res.output
    acc = load_config(tmp_path / "config.toml").account("gmail")
    assert acc.options["auth"] == "xoauth2" and acc.options["token_cmd"] == "mutt_oauth2.py ~/.gmail.tokens"
    from owner_tui.sources.imap.connection import ImapSettings

    assert ImapSettings.from_account(acc).smtp_saves_sent  # Gmail files sent mail itself


def test_add_imap_keyring_unavailable_is_clear_and_writes_nothing(tmp_path):
    res = run(tmp_path, "accounts", "add", "imap", "shop", "--host", "h.example.com", "--security", "tls",
              "--port", "993", "--user", "u@example.com", "--address", "u@example.com", "--secret", "keyring",
              "--smtp-host", "", "--no-test", input="s3cret-pw\n")
    assert res.exit_code == 1
    assert "keyring" in res.output and "choose --secret cmd or env" in res.output
    assert "s3cret-pw" not in res.output
    assert not (tmp_path / "config.toml").exists()


def test_add_refuses_a_taken_name(tmp_path):
    args = ["accounts", "add", "imap", "shop", "--host", "h", "--security", "tls", "--port", "993", "--user", "u",
            "--address", "u@example.com", "--password-env", "PW", "--smtp-host", "", "--no-test"]
    assert run(tmp_path, *args).exit_code == 0
    res = run(tmp_path, *args)
    assert res.exit_code == 2 and "already exists" in res.output


# -- accounts test against real servers -------------------------------------------------------

def write_account(tmp_path, acc) -> None:
    add_account(tmp_path / "config.toml", acc.name, acc.kind, dict(acc.options))


@pytest.mark.servers
def test_accounts_test_all_good(imap_account, tmp_path):
    with SmtpServer(mode="plain", users={imap_account.user: imap_account.password}) as smtp:
        write_account(tmp_path, account(imap_account, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none"))
        res = run(tmp_path, "accounts", "test", "mail")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["ok   password", "ok   dns", "ok   login", "ok   folders",
                                                   "ok   server", "ok   smtp"]
    assert "Sent is 'Sent'" in lines[3]


def _one_failure(res, step: str, words: str, secret: str = "") -> None:
    assert res.exit_code == 1, res.output
    fails = [ln for ln in res.output.splitlines() if ln.startswith("FAIL")]
    assert len(fails) == 1 and fails[0].startswith(f"FAIL {step}: "), res.output
    assert words in fails[0], fails[0]
    assert "Traceback" not in res.output and (not secret or secret not in res.output)


@pytest.mark.servers
def test_accounts_test_wrong_password(imap_account, tmp_path):
    write_account(tmp_path, account(imap_account, password_cmd="printf %s not-the-pw-123"))
    _one_failure(run(tmp_path, "accounts", "test", "mail"), "login", "wrong user name or password", "not-the-pw-123")


def test_accounts_test_dns(tmp_path):
    write_account(tmp_path, account(type("A", (), {"host": "no-such-host.invalid", "port": 993, "user": "u@x.org",
                                                   "password": "pw"})()))
    _one_failure(run(tmp_path, "accounts", "test", "mail"), "dns", "cannot find the server no-such-host.invalid")


def test_accounts_test_connection_refused(tmp_path):
    write_account(tmp_path, account(type("A", (), {"host": "127.0.0.1", "port": free_port(), "user": "u@x.org",
                                                   "password": "pw"})()))
    _one_failure(run(tmp_path, "accounts", "test", "mail"), "connect", "refused the connection")


@pytest.mark.servers
def test_accounts_test_untrusted_certificate(imap_tls_account, tmp_path):
    write_account(tmp_path, account(imap_tls_account, port=imap_tls_account.tls_port, security="tls"))
    _one_failure(run(tmp_path, "accounts", "test", "mail"), "tls", "certificate problem")


@pytest.mark.servers
def test_accounts_test_tls_with_the_servers_certificate(imap_tls_account, tmp_path):
    ca = str(imap_tls_account.server.cert.cert)
    write_account(tmp_path, account(imap_tls_account, port=imap_tls_account.tls_port, security="tls", tls_ca_file=ca))
    assert run(tmp_path, "accounts", "test", "mail").exit_code == 0
    write_account(tmp_path, account(imap_tls_account, name="st", security="starttls", tls_ca_file=ca))
    res = run(tmp_path, "accounts", "test", "st")
    assert res.exit_code == 0 and "(STARTTLS)" in res.output, res.output


@pytest.mark.servers
def test_accounts_test_tls_on_a_plain_port(imap_account, tmp_path):
    write_account(tmp_path, account(imap_account, security="tls"))
    _one_failure(run(tmp_path, "accounts", "test", "mail"), "tls", "try security = \"starttls\"")


@pytest.mark.servers
def test_accounts_test_missing_folder(imap_account, tmp_path):
    write_account(tmp_path, account(imap_account, folders=["Invoices"]))
    _one_failure(run(tmp_path, "accounts", "test", "mail"), "folders", "folder 'Invoices' does not exist")


@pytest.mark.servers
def test_accounts_test_smtp_wrong_password(imap_account, tmp_path):
    with SmtpServer(mode="plain", users={imap_account.user: "right"}) as smtp:
        write_account(tmp_path, account(imap_account, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
                                        smtp_password_cmd="printf %s wrong-smtp"))
        _one_failure(run(tmp_path, "accounts", "test", "mail"), "smtp", "wrong user name or password", "wrong-smtp")


def test_accounts_test_unknown_account_is_usage_error(tmp_path):
    (tmp_path / "config.toml").write_text("")  # --config names a file that must exist (issue 13)
    res = run(tmp_path, "accounts", "test", "nope")
    assert res.exit_code == 2 and "no account named 'nope'" in res.output


def test_check_account_missing_host_is_config_error():
    from owner_tui.config import AccountConfig

    (c,) = check_account(AccountConfig("x", "imap", {"user": "u"}))
    assert (c.step, c.ok) == ("config", False) and "host is missing" in c.detail


def test_accounts_add_writes_valid_toml_whatever_the_values(tmp_path):
    """Issue 14: config.toml written by hand could be invalid (a DEL character went out raw,
    which no TOML reader accepts); tomli-w writes it, and the result always loads back."""
    from owner_tui.accounts.add import add_account
    from owner_tui.config import load_config

    path = tmp_path / "config.toml"
    odd = 'host\x7fname "quoted" \\ back\tslash ünïcode'
    add_account(path, 'shop.main "2"', "imap", {"host": odd, "user": "a@b.example",
                                                 "password_env": "PW", "folders": ("INBOX", "Sent")})
    cfg = load_config(path)
    [acc] = cfg.accounts
    assert acc.name == 'shop.main "2"' and acc.options["host"] == odd
