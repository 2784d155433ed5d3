"""Issue 13: account health, the same everywhere. Each state is reached against the real
servers (Dovecot stopped, a wrong password, an ``[UNAVAILABLE]`` answer through the fault
proxy, review APIs answering 401/403/429/500, an SMTP server's enhanced status codes) and
checked in ``owner-tui status`` (lines, ``--json``, exit code), in the digest, ``accounts list``
and ``doctor``. The TUI's status line and empty state are in ``test_tui_health.py``."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from owner_tui.accounts.add import add_account
from owner_tui.cli.root import cli
from owner_tui.send.sender import SendError
from tests.imap_helpers import account, mail
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import require_dovecot
from tests.servers.proxy import FaultProxy
from tests.servers.review_apis import GOOGLE_CLIENT, api  # noqa: F401

pytestmark = pytest.mark.servers


def run(tmp_path, *args, env=None):
    return CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "--db", str(tmp_path / "db"), *args],
                              env=env, catch_exceptions=False)


def status_json(tmp_path, env=None) -> tuple[int, dict]:
    res = run(tmp_path, "status", "--json", env=env)
    return res.exit_code, json.loads(res.output)


def db_text(tmp_path) -> str:
    """Every value in the health tables, to check that no secret was written."""
    conn = sqlite3.connect(tmp_path / "db")
    try:
        rows = conn.execute("SELECT * FROM account_health").fetchall() + conn.execute("SELECT * FROM sync_state").fetchall()
    finally:
        conn.close()
    return repr(rows)


def imap_config(tmp_path, acc, name="shop", **over) -> None:
    opts = {**account(acc).options, **over}
    (tmp_path / "config.toml").unlink(missing_ok=True)
    add_account(tmp_path / "config.toml", name, "imap", {k: v for k, v in opts.items() if v is not None})


# -- IMAP: wrong password, then fixed ----------------------------------------------------------

def test_wrong_password_fails_everywhere_then_recovers(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    wrong = "not-the-pw-Distinctive-913"
    imap_config(tmp_path, imap_account, password_cmd=f"printf %s {wrong}")

    res = run(tmp_path, "status")
    assert res.exit_code == 1 and "shop (imap): NEVER SYNCED" in res.output
    assert not (tmp_path / "db").exists()  # status only reads: it creates no database

    assert run(tmp_path, "sync", "--no-send").exit_code == 1
    res = run(tmp_path, "status")
    assert res.exit_code == 1
    assert "shop (imap): FAILING: login refused" in res.output and "wrong user name or password" in res.output
    assert "-> Check the user name and the password" in res.output
    assert res.output.splitlines()[-1] == "outbox: empty"
    code, data = status_json(tmp_path)
    (shop,) = data["accounts"]
    assert code == 1 and data["exit_code"] == 1 and data["ok"] is False
    assert (shop["state"], shop["error_kind"], shop["temporary"]) == ("failing", "login", False)
    assert shop["last_success"] is None and shop["last_attempt"]
    assert wrong not in res.output + json.dumps(data) + db_text(tmp_path)

    digest = run(tmp_path, "digest", "--format", "text").output
    first, awaiting = digest.index("Needs attention first"), digest.index("Awaiting a reply now")
    assert first < awaiting and "shop (imap): FAILING: login refused" in digest[first:awaiting]
    assert "What to do: Check the user name" in digest[first:awaiting]
    health = json.loads(run(tmp_path, "digest", "--format", "json").output)["health"]
    assert health["accounts"][0]["state"] == "failing"

    assert "FAILING: login refused" in run(tmp_path, "accounts", "list").output

    imap_config(tmp_path, imap_account)  # the right password
    assert run(tmp_path, "sync", "--no-send").exit_code == 0
    res = run(tmp_path, "status")
    assert res.exit_code == 0 and "shop (imap): ok, last sync just now" in res.output
    code, data = status_json(tmp_path)
    assert code == 0 and data["ok"] is True and data["accounts"][0]["error"] is None
    assert {f["folder"] for f in data["accounts"][0]["feeds"]} == {"INBOX", "Sent"}
    assert "Needs attention" not in run(tmp_path, "digest", "--format", "text").output
    assert "ok, last sync just now" in run(tmp_path, "accounts", "list").output


def test_stale_after_the_configured_hours(imap_account, tmp_path):
    imap_config(tmp_path, imap_account)
    assert run(tmp_path, "sync", "--no-send").exit_code == 0
    conn = sqlite3.connect(tmp_path / "db")
    conn.execute("UPDATE account_health SET last_success = datetime('now', '-30 hours') || '+00:00'")
    conn.commit()
    conn.close()
    res = run(tmp_path, "status")
    assert res.exit_code == 1 and "STALE: last sync 30 h ago (more than 26 h)" in res.output
    assert "Needs attention first" in run(tmp_path, "digest", "--format", "text").output
    with open(tmp_path / "config.toml", "a") as fh:
        fh.write("\n[health]\nstale_after_hours = 48\n")
    assert run(tmp_path, "status").exit_code == 0


# -- IMAP: the server is down, or says [UNAVAILABLE] -------------------------------------------

def test_dovecot_stopped_then_back(tmp_path):
    require_dovecot()
    with DovecotServer(users={"own@example.com": "pw-1"}) as server:
        (tmp_path / "config.toml").write_text(
            f'[accounts.shop]\nkind = "imap"\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
            'user = "own@example.com"\npassword_cmd = "printf %s pw-1"\n')
        assert run(tmp_path, "sync", "--no-send").exit_code == 0
        assert run(tmp_path, "status").exit_code == 0
        server.stop()
        assert run(tmp_path, "sync", "--no-send").exit_code == 1
        code, data = status_json(tmp_path)
        (shop,) = data["accounts"]
        assert code == 1 and (shop["state"], shop["error_kind"], shop["temporary"]) == ("failing", "refused", True)
        assert "refused the connection" in shop["error"] and shop["last_success"]  # still says when it last worked
        assert "password" not in shop["error"]
        digest = run(tmp_path, "digest", "--format", "text").output
        assert digest.index("shop (imap): FAILING") < digest.index("Awaiting a reply now")
        server.start()
        assert run(tmp_path, "sync", "--no-send").exit_code == 0
        assert run(tmp_path, "status").exit_code == 0


UNAVAILABLE = b"[UNAVAILABLE] Temporary authentication failure."


def test_unavailable_is_retried_and_never_called_a_wrong_password(imap_account, tmp_path):
    """Dovecot says this when its user database does not answer; the proxy makes it say it
    to every login (the password sent is wrong, so without the proxy it would say
    AUTHENTICATIONFAILED: the rewrite is the only thing that makes this test pass)."""
    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        proxy.rewrite(rb"\[AUTHENTICATIONFAILED\] Authentication failed\.", UNAVAILABLE)
        imap_config(tmp_path, imap_account, host=proxy.host, port=proxy.port, password_cmd="printf %s nope-1",
                    retry_delay=0, login_retries=2)
        assert run(tmp_path, "sync", "--no-send").exit_code == 1
        assert proxy.connections == 3 and proxy.rewritten == 3  # tried, then retried twice
    code, data = status_json(tmp_path)
    (shop,) = data["accounts"]
    assert code == 1 and (shop["state"], shop["error_kind"], shop["temporary"]) == ("failing", "unavailable", True)
    assert "wrong" not in shop["error"] and "not your password" in shop["error"]
    assert "[UNAVAILABLE]" in shop["error"] and "Nothing to change on your side" in shop["advice"]
    digest = run(tmp_path, "digest", "--format", "markdown").output
    assert digest.index("not your password") < digest.index("Awaiting a reply now") and "wrong" not in digest


def test_unavailable_once_then_logged_in(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        # The first login's OK becomes NO [UNAVAILABLE]: the sync must try again, and succeed.
        proxy.rewrite(rb"(\w+) OK (?:\[CAPABILITY [^\]\r\n]*\] )?Logged in", rb"\1 NO " + UNAVAILABLE, count=1)
        imap_config(tmp_path, imap_account, host=proxy.host, port=proxy.port, retry_delay=0)
        res = run(tmp_path, "sync", "--no-send")
        assert res.exit_code == 0, res.output
        assert proxy.rewritten == 1 and proxy.connections == 2
    assert run(tmp_path, "status").exit_code == 0


def test_rfc5530_codes_each_have_their_own_words():
    from imapclient.exceptions import LoginError

    from owner_tui.sources.imap.errors import RESPONSE_CODES, as_mail_error

    seen = set()
    for code in ("AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "UNAVAILABLE", "EXPIRED", "PRIVACYREQUIRED",
                 "CONTACTADMIN", "LIMIT", "OVERQUOTA", "INUSE", "SERVERBUG", "NOPERM"):
        err = as_mail_error(LoginError(f"b'[{code}] server words'"), host="h", port=1, user="u")
        kind, temporary, words = RESPONSE_CODES[code]
        assert (err.kind, err.retryable) == (kind, temporary) and words in str(err), code
        assert ("wrong user name or password" in str(err)) == (code == "AUTHENTICATIONFAILED"), code
        seen.add(str(err).split("(server said")[0])
    assert len(seen) == 11  # eleven codes, eleven different messages


# -- review APIs -------------------------------------------------------------------------------

@pytest.mark.parametrize("status, body, kind, temporary, words", [
    (401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                     "status": "UNAUTHENTICATED"}}, "reauth", False, "refused the credentials"),
    (403, {"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}},
     "permission", False, "this login has no permission"),
    (429, {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
     "rate", True, "is limiting how fast we may call it"),
    (500, {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
     "server", True, "is having trouble"),
])
def test_review_api_errors_reach_status_and_digest(api, tmp_path, status, body, kind, temporary, words):  # noqa: F811
    opts = api.google_options(qpm=60000, max_attempts=1)
    api.fault("GET", "/v1/accounts", status, body, count=10)
    (tmp_path / "config.toml").write_text("[accounts.gbp]\nkind = \"google\"\n" + "".join(
        f'{k} = "{v}"\n' if isinstance(v, str) else f"{k} = {v}\n" for k, v in opts.items())
        + 'client_secret_env = "OT_CS"\nrefresh_token_env = "OT_RT"\n')
    env = {"OT_CS": GOOGLE_CLIENT[1], "OT_RT": "rt-good"}
    assert run(tmp_path, "sync", "--no-send", env=env).exit_code == 1
    code, data = status_json(tmp_path, env)
    (gbp,) = data["accounts"]
    assert code == 1 and (gbp["state"], gbp["error_kind"], gbp["temporary"]) == ("failing", kind, temporary)
    assert words in gbp["error"] and gbp["advice"]
    assert "rt-good" not in json.dumps(data) + db_text(tmp_path) and GOOGLE_CLIENT[1] not in db_text(tmp_path)
    digest = run(tmp_path, "digest", "--format", "text", env=env).output
    assert digest.index("Needs attention first") < digest.index("Awaiting a reply now")
    assert "gbp (google): FAILING" in digest


# -- SMTP: enhanced status codes (RFC 3463) -------------------------------------------------------

def _smtp_sender(server):
    from owner_tui.send.smtp import SmtpSender

    return SmtpSender(server.host, server.port, from_addr="owner@example.com", security="none",
                      user="owner@example.com", password="secret", timeout=10)


def _reply():
    from owner_tui.records import OutgoingReply

    return OutgoingReply(outbox_id=1, account_id=1, conversation_id=1, body="Thanks!", message_id="<r1@shop.example>",
                         channel="email", external_key="q1@example.net", to=("ann@example.net",), subject="Re: Cake")


def test_smtp_temporary_auth_failure_is_not_a_wrong_password(smtp_server):
    smtp_server.auth_reply = "454 4.7.0 Temporary authentication failure"
    with pytest.raises(SendError) as err:
        _smtp_sender(smtp_server).send(_reply())
    assert err.value.retryable and "wrong" not in str(err.value) and "not your password" in str(err.value)


@pytest.mark.parametrize("reply, words, retryable", [
    ("552 5.2.2 Mailbox full", "the recipient's mailbox is full", False),
    ("452 4.3.1 Insufficient system storage", "the mail system is full", True),
    ("550 5.7.26 Unauthenticated email is not accepted", "sender authentication failed (DMARC/DKIM/SPF)", False),
    ("554 5.3.4 Message too big", "the message is too big for the server", False),
])
def test_smtp_enhanced_codes_have_their_own_words(smtp_server, reply, words, retryable):
    smtp_server.fail_data(reply)
    with pytest.raises(SendError) as err:
        _smtp_sender(smtp_server).send(_reply())
    assert words in str(err.value) and reply.split()[1] in str(err.value)
    assert err.value.retryable == retryable


# -- the checks that must not say ok ------------------------------------------------------------

def test_doctor_says_an_unset_password_env_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOP_PW_UNSET", raising=False)
    (tmp_path / "config.toml").write_text('[accounts.shop]\nkind = "imap"\nhost = "h.example"\nuser = "u"\n'
                                          'password_env = "SHOP_PW_UNSET"\n')
    res = run(tmp_path, "doctor")
    assert res.exit_code == 1
    assert "FAIL account shop (imap): password_env names the environment variable SHOP_PW_UNSET, which is not set" \
        in res.output
    assert "sync shop: NEVER SYNCED" in res.output
    res = run(tmp_path, "doctor", env={"SHOP_PW_UNSET": "x"})
    assert "ok   account shop (imap): secret from password_env (SHOP_PW_UNSET)" in res.output


def test_a_named_config_file_that_does_not_exist_is_exit_2(tmp_path):
    for args in (["status"], ["doctor"], ["sync"], ["export"], ["accounts", "list"]):
        res = run(tmp_path, *args)
        assert res.exit_code == 2, (args, res.output)
        assert "given with --config, does not exist" in res.output, args
    # ...but `accounts add` may create it
    res = CliRunner().invoke(cli, ["--config", str(tmp_path / "new.toml"), "accounts", "add", "imap", "m",
                                   "--host", "imap.example.com", "--security", "tls", "--port", "993", "--user", "u",
                                   "--address", "u@example.com", "--secret", "env", "--password-env", "PW", "--no-test"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "new.toml").exists()


def test_status_with_a_bad_config_is_exit_2(tmp_path):
    (tmp_path / "config.toml").write_text("[accounts.x\nkind = \"imap\"\n")
    assert run(tmp_path, "status").exit_code == 2
    res = run(tmp_path, "status", "--json")
    assert res.exit_code == 2 and json.loads(res.output)["exit_code"] == 2


def test_status_starts_without_textual_or_sources():
    import subprocess
    import sys

    code = ("import sys; from owner_tui.cli.root import cli\n"
            "try:\n    cli(['status'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m.startswith(('textual', 'imapclient', 'httpx', 'owner_tui.sources'))]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_import_names_each_skipped_file(tmp_path):
    (tmp_path / "config.toml").write_text("")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.txt").write_text("not mail at all\n")
    (folder / "a.eml").write_bytes(mail(1))
    res = run(tmp_path, "import", str(folder))
    assert res.exit_code == 0 and "1 files skipped" in res.output and "notes.txt" not in res.output.split("summary")[0]
    summary = res.output.strip().splitlines()[-1].split(": ", 1)[1]
    text = open(summary).read()
    assert f"skipped: {folder / 'notes.txt'}: not an email message" in text
    res = run(tmp_path, "import", "--verbose", str(folder))
    assert f"skipped: {folder / 'notes.txt'}: not an email message" in res.output


def test_accounts_test_names_an_unavailable_login_as_the_login_step(imap_account, tmp_path):
    from owner_tui.accounts.check import check_account

    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        proxy.rewrite(rb"\[AUTHENTICATIONFAILED\] Authentication failed\.", UNAVAILABLE)
        acc = account(imap_account, host=proxy.host, port=proxy.port, password_cmd="printf %s nope", retry_delay=0)
        last = check_account(acc)[-1]
    assert (last.step, last.ok) == ("login", False) and "not your password" in last.detail


# -- a sync that works but finds no Sent folder ------------------------------------------------

def test_an_account_without_a_sent_folder_warns_everywhere_until_one_is_found(imap_plain_account, tmp_path):
    """A server without SPECIAL-USE and no Sent by any known name (a Gmail account with "Show
    in IMAP" off for Sent Mail looks the same): the sync works, but every reply sent from the
    phone goes unseen and answered customers keep waiting. The health says so, and what to do."""
    imap_plain_account.append("INBOX", mail(1))
    imap_config(tmp_path, imap_plain_account)
    assert run(tmp_path, "sync", "--no-send").exit_code == 0

    res = run(tmp_path, "status")
    assert res.exit_code == 0  # nothing is missing from the list: it shows too much, not too little
    assert "shop (imap): ok, last sync just now; but no Sent folder found" in res.output
    assert "-> Set sent_folder for this account in config.toml" in res.output and "Show in IMAP" in res.output
    code, data = status_json(tmp_path)
    assert data["accounts"][0]["warning"].startswith("no Sent folder found")
    digest = run(tmp_path, "digest", "--format", "text").output
    first = digest.index("Needs attention first: the lists below may show answered customers as waiting")
    assert "no Sent folder found" in digest[first:digest.index("Awaiting a reply now")]
    assert "no Sent folder found" in run(tmp_path, "accounts", "list").output
    doctor = run(tmp_path, "doctor").output
    assert any(line.startswith("warn") and "no Sent folder" in line for line in doctor.splitlines())

    with imap_plain_account.client() as c:
        c.create_folder("Sent Items")  # one of the names IMAPClient tries
    assert run(tmp_path, "sync", "--no-send").exit_code == 0
    code, data = status_json(tmp_path)
    assert code == 0 and data["accounts"][0]["warning"] is None
    assert "no Sent folder" not in run(tmp_path, "status").output + run(tmp_path, "digest", "--format", "text").output


# -- a Sent folder that never sees the owner's replies ------------------------------------------

def test_a_sent_folder_that_never_sees_a_reply_warns_until_one_is_there(imap_account, tmp_path):
    """The owner replies from a phone set up with POP, or from another mailbox: the Sent folder
    exists but nothing of hers lands there, and every answered customer keeps waiting. Five
    people wrote this month and nothing was sent: the health says so, and what to do."""
    from datetime import UTC, datetime, timedelta

    recent = datetime.now(UTC) - timedelta(days=2)
    for n in range(1, 5):
        imap_account.append("INBOX", mail(n, frm=f"person{n}@example.net", date=recent + timedelta(minutes=n)))
    imap_config(tmp_path, imap_account)
    assert run(tmp_path, "sync", "--no-send").exit_code == 0
    assert status_json(tmp_path)[1]["accounts"][0]["warning"] is None  # four people: too few to say

    imap_account.append("INBOX", mail(5, frm="person5@example.net", date=recent + timedelta(minutes=5)))
    assert run(tmp_path, "sync", "--no-send").exit_code == 0
    code, data = status_json(tmp_path)
    assert code == 0 and data["accounts"][0]["warning"].startswith("nothing you sent in the last 30 days")
    res = run(tmp_path, "status")
    assert "-> Set up your phone and webmail with IMAP (not POP)" in res.output
    doctor = run(tmp_path, "doctor").output
    assert any(line.startswith("warn") and "nothing you sent" in line for line in doctor.splitlines())

    imap_account.append("Sent", mail(6, frm="owner@example.com", to="person1@example.net", subject="Re: Question 1",
                                     in_reply_to="m1@example.net", date=recent + timedelta(hours=1)))
    assert run(tmp_path, "sync", "--no-send").exit_code == 0
    assert status_json(tmp_path)[1]["accounts"][0]["warning"] is None
