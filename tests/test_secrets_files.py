"""Secrets and files: owner-only files, and no planted secret anywhere it could leak.

Secrets are planted where the owner keeps them (``*_env`` variables): the IMAP/SMTP
password, Google's client secret and refresh token, Trustpilot's key, secret and password.
The access tokens the local token endpoints issue are secrets too. After real syncs and
sends through the CLI (successful and failing: wrong password, a token endpoint that echoes
the token back in its error), the test greps every byte that could hold one: stdout/stderr,
``sync_state``/``outbox`` error text, every export format, the database file and its WAL,
and every file owner-tui created under its home.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from owner_tui.cli.root import cli
from tests.servers.review_apis import (  # noqa: F401
    GOOGLE_CLIENT,
    TP_KEY,
    TP_PASSWORD,
    TP_SECRET,
    api,
    google_review,
    tp_review,
)

LOC = "accounts/1/locations/10"


def _run(args: list[str], env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _home() -> Path:
    return Path(os.environ["OWNER_TUI_HOME"])


def _write_config(text: str) -> Path:
    path = _home() / "config.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def _all_bytes_under(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_nowhere(secret_values: list[str], *texts: str, access_tokens: list[str] = ()) -> None:
    """No secret in the given texts, nor in any file under the owner-tui home. Short-lived
    ``access_tokens`` may be in one place only: the owner-only token cache (issue 15: tokens
    persist across runs, in the keyring or ``state/tokens.json``, mode 0600)."""
    cache = _home() / "state" / "tokens.json"
    for value in [*secret_values, *access_tokens]:
        assert value and len(value) >= 6
        for text in texts:
            assert value not in text, f"a secret leaked into output: ...{text[max(0, text.find(value) - 60):][:120]!r}"
        for path, data in _all_bytes_under(_home()).items():
            if path.name == "config.toml" or (path == cache and value in access_tokens):
                continue
            assert value.encode() not in data, f"a secret is stored in {path}"
    if cache.exists():
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def _assert_owner_only(root: Path) -> list[Path]:
    """Every file and folder owner-tui made under ``root`` is unreadable by group and others."""
    checked = []
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o077 == 0, f"{p} is readable by others: {oct(mode)}"
        checked.append(p)
    return checked


# -- file modes ------------------------------------------------------------------------------------

def test_database_wal_and_shm_are_owner_only_even_with_a_lax_umask(tmp_path):
    from owner_tui.records import MessageRecord
    from owner_tui.store import Store

    old = os.umask(0o000)  # the worst case: everything created world-writable unless we say otherwise
    try:
        db = tmp_path / "lax" / "o.db"
        store = Store.open(db)
        acc = store.ensure_account("imap", "a", {})
        store.ingest(acc, [MessageRecord(external_id="m@x", sender_handle="a@x.example", subject="s",
                                         sent_at="2026-11-20T10:00:00+00:00")])
        for suffix in ("", "-wal", "-shm"):
            path = Path(str(db) + suffix)
            assert path.exists(), path
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path}: {oct(path.stat().st_mode)}"
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        store.close()
        # A database made before this rule (or copied in) is tightened on open.
        os.chmod(db, 0o644)
        Store.open(db).close()
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    finally:
        os.umask(old)


# -- review platforms: planted tokens -----------------------------------------------------------------

@pytest.fixture
def planted_reviews(api):  # noqa: F811
    refresh = "rt-PLANTED-" + secrets.token_hex(8)
    api.google_refresh_tokens = {refresh}
    api.reviews[LOC] = [google_review(f"g{i}", create=f"2026-11-{10 + i}T10:00:00Z", comment=f"review {i}")
                        for i in range(3)]
    api.tp_reviews["bu-1"] = [tp_review(f"t{i}", created=f"2026-11-{10 + i}T10:00:00Z") for i in range(3)]
    google = api.google_options(qpm=60000)
    tp = api.tp_options(qpm=60000)

    def table(name: str, kind: str, opts: dict, env: dict[str, str]) -> str:
        lines = [f"[accounts.{name}]", f'kind = "{kind}"']
        lines += [f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {v}" for k, v in opts.items()]
        lines += [f'{k}_env = "{v}"' for k, v in env.items()]
        return "\n".join(lines) + "\n"

    _write_config(
        table("gbp", "google", google, {"client_secret": "OT_G_CS", "refresh_token": "OT_G_RT"})
        + table("tp", "trustpilot", tp, {"api_key": "OT_TP_KEY", "api_secret": "OT_TP_SECRET",
                                          "password": "OT_TP_PASSWORD"}))
    env = {"OT_G_CS": GOOGLE_CLIENT[1], "OT_G_RT": refresh, "OT_TP_KEY": TP_KEY, "OT_TP_SECRET": TP_SECRET,
           "OT_TP_PASSWORD": TP_PASSWORD}
    return api, env, [GOOGLE_CLIENT[1], refresh, TP_KEY, TP_SECRET, TP_PASSWORD]


def _issued_tokens(api) -> list[str]:  # noqa: F811
    """Every bearer token the clients presented: the access tokens the server issued."""
    seen = {r.headers.get("authorization", "")[7:] for r in api.requests() if
            r.headers.get("authorization", "").startswith("Bearer ")}
    return sorted(t for t in seen if t)


def test_review_sync_keeps_tokens_out_of_output_database_and_exports(planted_reviews):
    api, env, planted = planted_reviews
    code, out, err = _run(["sync", "--no-send"], env)
    assert code == 0, err
    assert "3 new" in out
    tokens = _issued_tokens(api)
    assert len(tokens) >= 2, "the clients never used an access token: nothing was tested"
    exports = []
    for fmt in ("csv", "json", "jsonl", "markdown", "ics"):
        code, text, e = _run(["export", "--format", fmt, "--view", "all"], env)
        assert code == 0, e
        exports.append(text)
    _assert_nowhere(planted, out, err, *exports, access_tokens=tokens)
    _assert_owner_only(_home())


def test_token_endpoint_that_echoes_the_secret_does_not_leak_it(planted_reviews):
    """A failing token endpoint whose error text quotes the refresh token and client secret:
    the error the owner sees (and ``sync_state.last_error``) must not carry them."""
    api, env, planted = planted_reviews
    refresh = env["OT_G_RT"]
    api.fault("POST", "/token", 400, {"error": "invalid_grant",
                                      "error_description": f"Token {refresh} for client secret "
                                                           f"{GOOGLE_CLIENT[1]} has been expired or revoked."},
              count=10)
    api.fault("POST", "/v1/oauth/", 401, {"fault": {"faultstring": f"Invalid ApiKey {TP_KEY} / {TP_SECRET} "
                                                                   f"password {TP_PASSWORD}"}}, count=10)
    code, out, err = _run(["sync", "--no-send"], env)
    assert code == 1
    assert "gbp" in err and "tp" in err, err
    assert "Traceback" not in out + err
    _assert_nowhere(planted, out, err, access_tokens=_issued_tokens(api))


def test_api_that_echoes_the_access_token_does_not_leak_it(planted_reviews):
    api, env, planted = planted_reviews
    _run(["sync", "--no-send"], env)  # get tokens issued
    tokens = _issued_tokens(api)
    api.reviews[LOC].append(google_review("g9", create="2026-11-20T10:00:00Z"))
    echo = " ".join(f"Bearer {t}" for t in tokens)
    api.fault("GET", "/v4/", 403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                             "message": f"{echo} access_token={tokens[0]} lacks scope"}}, count=10)
    api.fault("GET", "/v1/private/", 403, {"message": f"{echo} is not allowed"}, count=10)
    code, out, err = _run(["sync", "--no-send"], env)
    assert code == 1 and "Traceback" not in err
    _assert_nowhere(planted, out, err, access_tokens=tokens)


# -- mail: planted password ----------------------------------------------------------------------------

def test_imap_and_smtp_passwords_never_leak(imap_account, smtp_server):
    """Wrong IMAP password, wrong SMTP password (with a reply queued), then the right IMAP one."""
    from owner_tui.config import load_config
    from owner_tui.records import MessageRecord
    from owner_tui.store import Store

    wrong = "PLANTED-pw-" + secrets.token_hex(8)
    smtp_server.users = {imap_account.user: "the-real-one"}
    _write_config(f"""
[owner]
addresses = ["{imap_account.user}"]

[accounts.shop]
kind = "imap"
host = "{imap_account.host}"
port = {imap_account.port}
security = "none"
user = "{imap_account.user}"
password_env = "OT_IMAP_PW"
smtp_host = "{smtp_server.host}"
smtp_port = {smtp_server.port}
smtp_security = "none"
timeout = 10
""")
    # A reply waiting in the outbox, so the sync's send step logs in to SMTP with the password.
    cfg = load_config(_home() / "config.toml")
    with Store.open(_home() / "owner-tui.db", config=cfg) as store:
        acc = store.ensure_account("imap", "shop", {"address": imap_account.user})
        store.ingest(acc, [MessageRecord(external_id="q@x.example", sender_handle="cust@example.org",
                                         subject="Order", text="hi", sent_at="2026-11-20T10:00:00+00:00")])
        conv = store.db.execute("SELECT id FROM conversations").fetchone()[0]
        store.queue_reply(conv, "Thanks, on its way.")

    code, out, err = _run(["sync"], {"OT_IMAP_PW": wrong})
    assert code == 1, (out, err)
    assert "password" in err.lower() or "login" in err.lower() or "auth" in err.lower(), err
    assert "Traceback" not in out + err
    with Store.open(_home() / "owner-tui.db") as store:
        failed = store.db.execute("SELECT status, error FROM outbox").fetchone()
        errors = " ".join(str(r[0]) for r in store.db.execute("SELECT last_error FROM sync_state"))
    assert failed[0] == "failed" and failed[1], failed
    assert smtp_server.messages == []
    _assert_nowhere([wrong], out, err, failed[1], errors)

    code, out, err = _run(["sync", "--no-send"], {"OT_IMAP_PW": imap_account.password})
    assert code == 0, err
    _assert_nowhere([imap_account.password, wrong], out, err)
    _assert_owner_only(_home())


def test_accounts_add_test_and_doctor_keep_the_password_out(imap_account):
    """The setup path: ``accounts add`` writes an owner-only config naming only the variable;
    ``accounts test`` and ``doctor``, with the right and a wrong password, never print it."""
    env_ok = {"OT_NEW_PW": imap_account.password}
    code, out, err = _run(["accounts", "add", "imap", "shop", "--host", imap_account.host, "--security", "none",
                           "--port", str(imap_account.port), "--user", imap_account.user, "--address",
                           imap_account.user, "--password-env", "OT_NEW_PW", "--smtp-host", "", "--test"], env_ok)
    assert code == 0, out + err
    config = _home() / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "OT_NEW_PW" in config.read_text() and imap_account.password not in config.read_text()
    outputs = [out, err]
    wrong = "PLANTED-pw-" + secrets.token_hex(8)
    for env in (env_ok, {"OT_NEW_PW": wrong}):
        for args in (["accounts", "test", "shop"], ["doctor"]):
            code, o, e = _run(args, env)
            assert "Traceback" not in o + e
            outputs += [o, e]
    assert any("login" in t.lower() or "password" in t.lower() for t in outputs[-4:]), outputs[-4:]
    _assert_nowhere([imap_account.password, wrong], *outputs)
    _assert_owner_only(_home())
