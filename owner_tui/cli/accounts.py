"""``owner-tui accounts``: list them, add an IMAP account, a Google Business Profile, Trustpilot,
Yelp, Facebook or a Twilio number (texts and calls), test one.

``add`` asks for what it needs (or takes it as options, for scripts) and writes an
``[accounts.NAME]`` table through ``accounts.add``; ``test`` prints ``accounts.check``'s lines.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

import click

from owner_tui.accounts.add import add_account
from owner_tui.accounts.check import Check, check_account
from owner_tui.accounts.google import save_refresh_token
from owner_tui.cli.common import UsageFailure
from owner_tui.config import AccountConfig, ConfigError
from owner_tui.secrets import SecretError, resolve_secret

SECRET_SOURCES = ("cmd", "env", "keyring", "token-cmd")


@click.group("accounts")
def accounts_group() -> None:
    """List, add and test accounts."""


@accounts_group.command("list")
@click.pass_obj
def list_command(obj) -> None:
    """The configured accounts, how each gets its secret, and their last sync."""
    from owner_tui.secrets import describe_source

    config = _config(obj)
    if not config.accounts:
        click.echo("no accounts configured: owner-tui accounts add imap")
        return
    from owner_tui.cli.status import read_health
    from owner_tui.sanitize import one_line

    health, now = read_health(obj, config)
    by_name = {h.name: h for h in health.accounts}
    for acc in config.accounts:
        source = describe_source(acc.options, "token") or describe_source(acc.options, "password") or \
            describe_source(acc.options, "auth_token") or describe_source(acc.options, "api_key_secret") or "-"
        where = acc.options.get("host") or ""
        click.echo(f"{acc.name}  ({acc.kind}{', ' + str(where) if where else ''})  secret: {source}  "
                   f"{one_line(by_name[acc.name].describe(now), limit=300)}")


@accounts_group.group("add")
def add_group() -> None:
    """Add an account to config.toml (no secret is ever written to it)."""


@add_group.command("imap")
@click.argument("name", required=False)
@click.option("--host", help="IMAP server, e.g. imap.example.com")
@click.option("--security", type=click.Choice(["tls", "starttls", "none"]), help="tls: port 993; starttls: 143")
@click.option("--port", type=click.IntRange(1, 65535))
@click.option("--user", help="Login name (often the address)")
@click.option("--address", help="Your address on this account (replies go out from it)")
@click.option("--secret", "secret_kind", type=click.Choice(SECRET_SOURCES),
              help="cmd: a command prints the password (pass, gopass...); env: an environment variable; "
                   "keyring: the system keyring; token-cmd: a command prints an OAuth2 token (XOAUTH2)")
@click.option("--password-cmd", help="Command whose output is the password (run with sh -c)")
@click.option("--password-env", help="Environment variable that holds the password")
@click.option("--token-cmd", help="Command that prints a current OAuth2 access token")
@click.option("--sent-folder", help="Sent folder name, if it cannot be found by itself")
@click.option("--smtp-host", help="SMTP server for replies (empty: no replies from this account)")
@click.option("--smtp-port", type=click.IntRange(1, 65535))
@click.option("--smtp-security", type=click.Choice(["tls", "starttls", "none"]))
@click.option("--tls-ca-file", type=click.Path(dir_okay=False), help="Trust only this certificate (self-hosted)")
@click.option("--test/--no-test", "run_test", default=None, help="Test the connection after adding.")
@click.pass_obj
def add_imap(obj, name, host, security, port, user, address, secret_kind, password_cmd, password_env, token_cmd,
             sent_folder, smtp_host, smtp_port, smtp_security, tls_ca_file, run_test) -> None:
    """Add an IMAP (+ SMTP) mail account. Asks for whatever is not given as an option."""
    config_path = obj.config_path
    _config(obj, may_be_new=True)  # a broken config is reported before any question
    name = name or click.prompt("Account name", default="mail")
    host = host or click.prompt("IMAP server (e.g. imap.example.com)")
    security = security or click.prompt("Security", type=click.Choice(["tls", "starttls", "none"]), default="tls")
    port = port or click.prompt("Port", type=click.IntRange(1, 65535), default=993 if security == "tls" else 143)
    user = user or click.prompt("Login name")
    address = address or click.prompt("Your email address", default=user if "@" in user else "")
    if password_cmd:
        secret_kind = "cmd"
    elif password_env:
        secret_kind = "env"
    elif token_cmd:
        secret_kind = "token-cmd"
    secret_kind = secret_kind or click.prompt(
        "How to get the password: cmd (a command prints it), env (environment variable), keyring, "
        "token-cmd (OAuth2 for Gmail/Outlook)", type=click.Choice(SECRET_SOURCES), default="cmd")
    options: dict[str, Any] = {"host": host, "port": port, "security": security, "user": user,
                               "address": address or None}
    if secret_kind == "cmd":
        options["password_cmd"] = password_cmd or click.prompt("Password command (e.g. pass show mail/imap)")
    elif secret_kind == "env":
        options["password_env"] = password_env or click.prompt("Environment variable name", default="OWNER_TUI_PASSWORD")
    elif secret_kind == "token-cmd":
        options["auth"] = "xoauth2"
        options["token_cmd"] = token_cmd or click.prompt("Access-token command (e.g. mutt_oauth2.py token.gpg)")
    else:
        from owner_tui.secrets import store_in_keyring

        password = click.prompt("Password (saved in the system keyring, not in the config)", hide_input=True)
        try:
            store_in_keyring(name, "password", password)
        except SecretError as exc:
            raise click.ClickException(f"{exc}; choose --secret cmd or env instead") from None
        options["password_keyring"] = True
    if sent_folder:
        options["sent_folder"] = sent_folder
    if tls_ca_file:
        options["tls_ca_file"] = str(Path(tls_ca_file).expanduser().resolve())
    if smtp_host is None and run_test is None:  # interactive: offer SMTP
        smtp_host = click.prompt("SMTP server for replies (empty: none)", default="", show_default=False)
    if smtp_host:
        smtp_security = smtp_security or click.prompt("SMTP security", type=click.Choice(["tls", "starttls", "none"]),
                                                      default="starttls" if smtp_port == 587 else "tls")
        smtp_port = smtp_port or click.prompt("SMTP port", type=click.IntRange(1, 65535),
                                              default=465 if smtp_security == "tls" else 587)
        options.update(smtp_host=smtp_host, smtp_port=smtp_port, smtp_security=smtp_security)
    try:
        add_account(config_path, name, "imap", options)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    click.echo(f"added [accounts.{name}] to {config_path}")
    if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo("warn security: the password will travel unencrypted; prefer security = \"tls\"")
    if run_test is None:
        run_test = click.confirm("Test the connection now?", default=True)
    if run_test:
        acc = AccountConfig(name=name, kind="imap", options=MappingProxyType(options))
        _report(check_account(acc))


@accounts_group.command("test")
@click.argument("name")
@click.pass_obj
def test_command(obj, name: str) -> None:
    """Connect with an account's settings and say exactly what works and what fails."""
    config = _config(obj)
    try:
        acc = config.account(name)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    if acc.kind == "twilio":
        from owner_tui.accounts.twilio import check_twilio, secret_name
        from owner_tui.secrets import describe_source

        which = secret_name(acc.options)
        _report(check_twilio(acc.options, lambda s: resolve_secret(acc.options, s, acc.name),
                             source=describe_source(acc.options, which)))
        return
    if acc.kind != "imap":
        raise UsageFailure(f"accounts test checks mail and Twilio accounts; {name} is a {acc.kind} account "
                          f"(`owner-tui sync -a {name}` tries it)")
    _report(check_account(acc))


def _config(obj, *, may_be_new: bool = False):
    try:
        return obj.load_config(may_be_new=may_be_new) if may_be_new else obj.config
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None


def _report(checks: list[Check]) -> None:
    for c in checks:
        click.echo(c.line())
    if any(c.ok is False for c in checks):
        click.get_current_context().exit(1)


# -- Google -----------------------------------------------------------------------------------

def choose_locations(found: list[tuple[str, str]], given: str | None) -> list[str] | None:
    """``None`` means "all locations" (new ones are picked up at the next sync)."""
    if given:
        wanted = [g.strip() for g in given.split(",") if g.strip()]
        if wanted == ["all"]:
            return None
        unknown = [w for w in wanted if w not in {p for p, _ in found}]
        if unknown:
            raise UsageFailure(f"not among your locations: {', '.join(unknown)}")
        return wanted
    if len(found) <= 1:
        return None
    for i, (parent, title) in enumerate(found, 1):
        click.echo(f"  {i}. {title or '(no title)'}  [{parent}]")
    answer = click.prompt("Which locations (numbers separated by commas, or 'all')", default="all")
    if answer.strip().lower() == "all":
        return None
    try:
        return [found[int(x) - 1][0] for x in answer.split(",") if x.strip()]
    except (ValueError, IndexError):
        raise UsageFailure(f"{answer!r}: give numbers from the list, or 'all'") from None


@add_group.command("google")
@click.argument("name", required=False)
@click.option("--client-id", help="OAuth client id of your Google Cloud project (Desktop app)")
@click.option("--client-secret-cmd", help="Command that prints the OAuth client secret")
@click.option("--client-secret-env", help="Environment variable that holds the OAuth client secret")
@click.option("--locations", "locations_opt", help="Location names (accounts/A/locations/L), comma-separated, or 'all'")
@click.option("--token-store", type=click.Choice(["auto", "keyring", "file"]), default="auto", show_default=True,
              help="Where the refresh token is kept: the system keyring, or an owner-only file.")
@click.option("--no-browser", is_flag=True, help="Only print the sign-in address (for a machine without a browser).")
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait for the sign-in.")
@click.option("--auth-url", hidden=True)
@click.option("--token-url", hidden=True)
@click.option("--base-url", hidden=True)
@click.pass_obj
def add_google(obj, name, client_id, client_secret_cmd, client_secret_env, locations_opt, token_store, no_browser,
               timeout, auth_url, token_url, base_url, open_browser: Callable[[str], Any] | None = None) -> None:
    """Add a Google Business Profile: sign in with Google, then choose locations."""
    from owner_tui.sources.reviews import google
    from owner_tui.sources.reviews.common import PullReport
    from owner_tui.sources.reviews.http import Http, SourceError
    from owner_tui.sources.reviews.oauth import (
        GOOGLE_AUTH_URL,
        GOOGLE_TOKEN_URL,
        run_consent_flow,
    )

    _config(obj, may_be_new=True)
    name = name or click.prompt("Account name", default="google")
    client_id = client_id or click.prompt("OAuth client id")
    options: dict[str, Any] = {"client_id": client_id}
    if client_secret_env:
        options["client_secret_env"] = client_secret_env
    else:
        options["client_secret_cmd"] = client_secret_cmd or click.prompt(
            "Command that prints the client secret (e.g. pass show google/owner-tui)")
    for key, value in (("token_url", token_url), ("base_url", base_url), ("accounts_url", base_url),
                       ("locations_url", base_url)):
        if value:
            options[key] = value
    try:
        client_secret = resolve_secret(options, "client_secret", name)
        browser = (lambda _url: False) if no_browser else (open_browser or webbrowser.open)
        with Http("Google") as http:
            tokens = run_consent_flow(http, client_id=client_id, client_secret=client_secret,
                                      auth_url=auth_url or GOOGLE_AUTH_URL, token_url=token_url or GOOGLE_TOKEN_URL,
                                      open_browser=browser, timeout=float(timeout), say=click.echo)
        secret_opts = save_refresh_token(name, tokens.refresh_token, token_store, obj.paths.data_dir / "tokens",
                                         say=click.echo)
        secrets = {"client_secret": client_secret, "refresh_token": tokens.refresh_token}
        report = PullReport()
        with google.connect(options, secrets.__getitem__) as http:
            found = google.locations(http, options, report)
    except (SecretError, SourceError) as exc:
        raise click.ClickException(str(exc)) from None
    if not found and report.failures:
        raise click.ClickException(str(report.failures[0]))
    if not found:
        raise click.ClickException("signed in, but this Google account manages no business locations")
    chosen = choose_locations(found, locations_opt)
    if chosen:
        options["locations"] = chosen
    options.update(secret_opts)
    try:
        add_account(obj.config_path, name, "google", options)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    where = "all locations" if chosen is None else f"{len(chosen)} of {len(found)} locations"
    click.echo(f"added [accounts.{name}] to {obj.config_path} ({where}); run `owner-tui sync` to pull reviews")


# -- Trustpilot, Yelp, Facebook -----------------------------------------------------------------

def _add_review_platform(obj, kind: str, name: str | None, given: dict[str, str | None],
                         secret_flags: dict[str, tuple[str | None, str | None]], base_url: str | None,
                         runtime: Any = None) -> None:
    from owner_tui.accounts.reviews import PLATFORMS, test_call
    from owner_tui.sources.reviews.http import SourceError

    platform = PLATFORMS[kind]
    _config(obj, may_be_new=True)
    name = name or click.prompt("Account name", default=kind)
    options: dict[str, Any] = dict(platform.fixed or {})
    for q in platform.settings:
        value = given.get(q.key)
        if value is None:
            value = click.prompt(q.prompt, default="" if not q.required else None, show_default=False)
        value = (value or "").strip()
        if value:
            options[q.key] = value
        elif q.required:
            raise UsageFailure(f"{q.key} is needed for a {platform.title} account")
    for secret, what in platform.secrets:
        cmd, env = secret_flags.get(secret, (None, None))
        if env:
            options[f"{secret}_env"] = env
        else:
            options[f"{secret}_cmd"] = cmd or click.prompt(f"Command that prints the {what} "
                                                           f"(e.g. pass show {kind}/{secret})")
    if base_url:
        options["base_url"] = base_url
    try:
        values = {s: resolve_secret(options, s, name) for s, _ in platform.secrets}
        line = test_call(kind, options, values.__getitem__, runtime)
    except (SecretError, SourceError) as exc:
        raise click.ClickException(f"{exc} (nothing was written; see {platform.help_url})") from None
    click.echo(line)
    try:
        add_account(obj.config_path, name, kind, options)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    click.echo(f"added [accounts.{name}] to {obj.config_path}; run `owner-tui sync` to pull reviews")


def _secret_options(*names: str):
    def wrap(fn):
        for n in reversed(names):
            flag = n.replace("_", "-")
            fn = click.option(f"--{flag}-env", f"{n}_env", help=f"Environment variable holding the {n}")(fn)
            fn = click.option(f"--{flag}-cmd", f"{n}_cmd", help=f"Command that prints the {n}")(fn)
        return fn
    return wrap


@add_group.command("trustpilot")
@click.argument("name", required=False)
@click.option("--business-unit-id")
@click.option("--username", help="Trustpilot Business login (email)")
@click.option("--author-business-user-id", help="Business user id that signs replies")
@_secret_options("api_key", "api_secret", "password")
@click.option("--base-url", hidden=True)
@click.pass_obj
def add_trustpilot(obj, name, business_unit_id, username, author_business_user_id, base_url, **secret) -> None:
    """Add Trustpilot service reviews: questions, one test call, no secret in the config."""
    _add_review_platform(obj, "trustpilot", name, {"business_unit_id": business_unit_id, "username": username,
                                                   "author_business_user_id": author_business_user_id},
                         {n: (secret[f"{n}_cmd"], secret[f"{n}_env"]) for n in ("api_key", "api_secret", "password")},
                         base_url)


@add_group.command("yelp")
@click.argument("name", required=False)
@click.option("--business-id")
@_secret_options("api_key")
@click.option("--base-url", hidden=True)
@click.pass_obj
def add_yelp(obj, name, business_id, base_url, **secret) -> None:
    """Add a Yelp business (three review excerpts, read only): questions, one test call."""
    _add_review_platform(obj, "yelp", name, {"business_id": business_id},
                         {"api_key": (secret["api_key_cmd"], secret["api_key_env"])}, base_url)


@add_group.command("facebook")
@click.argument("name", required=False)
@click.option("--page-id")
@_secret_options("token")
@click.option("--base-url", hidden=True)
@click.pass_obj
def add_facebook(obj, name, page_id, base_url, **secret) -> None:
    """Add a Facebook Page's recommendations (deprecated by Meta from Graph API v22): one test call."""
    _add_review_platform(obj, "facebook", name, {"page_id": page_id},
                         {"token": (secret["token_cmd"], secret["token_env"])}, base_url)


# -- Twilio (texts and calls) -------------------------------------------------------------------

@add_group.command("twilio")
@click.argument("name", required=False)
@click.option("--account-sid", help="Account SID (AC...) from the Twilio console")
@click.option("--api-key-sid", help="Use an API key (SK...) instead of the auth token")
@click.option("--secret", "secret_kind", type=click.Choice(["cmd", "env", "keyring"]),
              help="How owner-tui gets the auth token (or API key secret): a command, a variable, the keyring")
@click.option("--secret-cmd", help="Command that prints the auth token (or API key secret)")
@click.option("--secret-env", help="Environment variable holding the auth token (or API key secret)")
@click.option("--numbers", help="Business numbers, comma-separated (E.164, e.g. +15551234567)")
@click.option("--whatsapp-from", help="WhatsApp sender, e.g. whatsapp:+15557654321 (empty: none)")
@click.option("--region", help="Country for numbers written without +code (default US)")
@click.option("--base-url", hidden=True)
@click.pass_obj
def add_twilio(obj, name, account_sid, api_key_sid, secret_kind, secret_cmd, secret_env, numbers, whatsapp_from,
               region, base_url, runtime: Any = None) -> None:
    """Add a Twilio number (texts, WhatsApp, missed calls): questions, a test call, no secret in the config."""
    from owner_tui.accounts.twilio import HELP_URL, check_twilio, secret_name
    from owner_tui.phone import to_e164

    _config(obj, may_be_new=True)
    name = name or click.prompt("Account name", default="twilio")
    account_sid = (account_sid or click.prompt("Account SID (AC..., on the Twilio console's front page)")).strip()
    options: dict[str, Any] = {"account_sid": account_sid}
    if api_key_sid is None and secret_cmd is None and secret_env is None and secret_kind is None:
        api_key_sid = click.prompt("API key SID (SK...; empty: use the account's auth token)", default="",
                                   show_default=False).strip()
    if api_key_sid:
        options["api_key_sid"] = api_key_sid
    which = secret_name(options)
    what = "API key secret" if which == "api_key_secret" else "auth token"
    if secret_cmd:
        secret_kind = "cmd"
    elif secret_env:
        secret_kind = "env"
    secret_kind = secret_kind or click.prompt(f"How to get the {what}: cmd (a command prints it), env "
                                              "(environment variable), keyring", type=click.Choice(["cmd", "env", "keyring"]),
                                              default="cmd")
    if secret_kind == "cmd":
        options[f"{which}_cmd"] = secret_cmd or click.prompt(f"Command that prints the {what} "
                                                             f"(e.g. pass show twilio/{which})")
    elif secret_kind == "env":
        options[f"{which}_env"] = secret_env or click.prompt("Environment variable name", default="TWILIO_AUTH_TOKEN")
    else:
        from owner_tui.secrets import store_in_keyring

        value = click.prompt(f"{what[0].upper() + what[1:]} (saved in the system keyring, not in the config)",
                             hide_input=True)
        try:
            store_in_keyring(name, which, value)
        except SecretError as exc:
            raise click.ClickException(f"{exc}; choose --secret cmd or env instead") from None
        options[f"{which}_keyring"] = True
    region = (region or "US").upper()
    raw = numbers if numbers is not None else click.prompt("Business numbers (comma-separated, e.g. +15551234567)")
    parsed = []
    for part in [p.strip() for p in raw.split(",") if p.strip()]:
        e164 = to_e164(part, region)
        if not e164:
            raise UsageFailure(f"{part!r} is not a phone number (write it as +15551234567)")
        parsed.append(e164)
    options["numbers"] = parsed
    if whatsapp_from is None:
        whatsapp_from = click.prompt("WhatsApp sender (e.g. whatsapp:+15557654321; empty: none)", default="",
                                     show_default=False)
    if whatsapp_from.strip():
        wa = to_e164(whatsapp_from, region)
        if not wa:
            raise UsageFailure(f"{whatsapp_from!r} is not a WhatsApp number (write it as whatsapp:+15557654321)")
        options["whatsapp_from"] = f"whatsapp:{wa}"
    if region != "US":
        options["region"] = region
    if base_url:
        options["base_url"] = base_url
    from owner_tui.config import ConfigError as _CE
    from owner_tui.config import parse_config
    from owner_tui.accounts.add import render_account
    from owner_tui.secrets import describe_source

    try:  # the settings are checked before the test call: a bad SID is said plainly, not as a 404
        parse_config(render_account(name, "twilio", options))
    except _CE as exc:
        raise UsageFailure(str(exc).split(": ", 1)[-1]) from None
    checks = check_twilio(options, lambda s: resolve_secret(options, s, name), runtime=runtime,
                          source=describe_source(options, which))
    for c in checks:
        click.echo(c.line())
    if any(c.ok is False for c in checks):
        raise click.ClickException(f"nothing was written (see {HELP_URL})")
    try:
        add_account(obj.config_path, name, "twilio", options)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    click.echo(f"added [accounts.{name}] to {obj.config_path}; run `owner-tui sync` to pull texts and calls")
