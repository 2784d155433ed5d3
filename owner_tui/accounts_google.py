"""``owner-tui accounts add google``: sign in once, keep the refresh token safe, pick locations.

The consent flow (``sources/oauth.py``) opens Google's page and catches the answer on a
loopback port. The refresh token it returns is a long-lived secret: it goes to the system
keyring when one is available, else to an owner-only token file that the config reads with
``refresh_token_cmd`` — never into config.toml and never onto the screen.
"""

from __future__ import annotations

import shlex
import webbrowser
from pathlib import Path
from typing import Any, Callable

import click

from .accounts import _UsageError, _config, add_account, add_group
from .config import ConfigError
from .paths import write_private_text
from .secrets import SecretError, resolve_secret, store_in_keyring


def save_refresh_token(name: str, token: str, store: str, token_dir: Path) -> dict[str, Any]:
    """Keep the refresh token; returns the config options that read it back."""
    if store in ("auto", "keyring"):
        try:
            store_in_keyring(name, "refresh_token", token)
            return {"refresh_token_keyring": True}
        except SecretError as exc:
            if store == "keyring":
                raise
            click.echo(f"note: {exc}; keeping the token in an owner-only file instead")
    path = token_dir / f"{name}.refresh-token"
    write_private_text(path, token + "\n")
    return {"refresh_token_cmd": f"cat {shlex.quote(str(path))}"}


def choose_locations(found: list[tuple[str, str]], given: str | None) -> list[str] | None:
    """``None`` means "all locations" (new ones are picked up at the next sync)."""
    if given:
        wanted = [g.strip() for g in given.split(",") if g.strip()]
        if wanted == ["all"]:
            return None
        unknown = [w for w in wanted if w not in {p for p, _ in found}]
        if unknown:
            raise _UsageError(f"not among your locations: {', '.join(unknown)}")
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
        raise _UsageError(f"{answer!r}: give numbers from the list, or 'all'") from None


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
    from .sources import google
    from .sources.http import Http, SourceError
    from .sources.oauth import GOOGLE_AUTH_URL, GOOGLE_TOKEN_URL, run_consent_flow
    from .sources.reviews_sync import PullReport

    _config(obj)
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
        secret_opts = save_refresh_token(name, tokens.refresh_token, token_store, obj.paths.data_dir / "tokens")
        secrets = {"client_secret": client_secret, "refresh_token": tokens.refresh_token}
        report = PullReport()
        with google.connect(options, secrets.__getitem__) as http:
            found = google.locations(http, options, report)
    except (SecretError, SourceError) as exc:
        raise click.ClickException(str(exc)) from None
    if not found:
        raise click.ClickException("signed in, but this Google account manages no business locations")
    chosen = choose_locations(found, locations_opt)
    if chosen:
        options["locations"] = chosen
    options.update(secret_opts)
    try:
        add_account(obj.config_path, name, "google", options)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    where = "all locations" if chosen is None else f"{len(chosen)} of {len(found)} locations"
    click.echo(f"added [accounts.{name}] to {obj.config_path} ({where}); run `owner-tui sync` to pull reviews")
