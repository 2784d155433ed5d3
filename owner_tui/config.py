"""``config.toml`` into frozen dataclasses, with errors that name the key and the line.

Secrets never live here: an account names *how* to get its secret (``password_cmd``,
``password_env``, ``password_keyring``) and ``owner_tui.secrets`` fetches it when needed.
A missing file is not an error: everything has a default and the demo needs no config.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ACCOUNT_KINDS = ("imap", "google", "trustpilot", "yelp", "facebook", "files", "twilio")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECRET_WORDS = ("password", "secret", "token", "apikey", "api_key")


class ConfigError(Exception):
    """A problem in config.toml, said in one line that names the key and where it is."""

    def __init__(self, message: str, *, key: str = "", line: int | None = None, path: Path | None = None):
        where = f"{path}" if path else "config.toml"
        if line:
            where += f", line {line}"
        super().__init__(f"{where}: {message}")
        self.key = key
        self.line = line


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours for SLA counting: the same hours on each open day, in one time zone."""

    tz: ZoneInfo
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class OwnerConfig:
    name: str = ""
    business: str = ""  # for the {business} placeholder in saved replies
    addresses: tuple[str, ...] = ()
    signature: str = ""
    #: Addresses run as a group or list (a Google Group behind info@): mail delivered through
    #: one of these (or through one of ``addresses``) is customer mail, not list noise.
    group_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgingConfig:
    waiting_since: str = "first"  # "first" inbound after the owner's reply, or "latest" inbound
    sla_hours: float = 24.0
    timezone: str = "UTC"
    business_hours: BusinessHours | None = None
    #: A snoozed conversation wakes on any new inbound message, unless this is true and the
    #: message is a short thank-you.
    snooze_ignores_thanks: bool = False
    #: Rating-only reviews of 4-5 stars await a reply unless this is false.
    positive_rating_only_awaits: bool = True
    #: "No answer yet": the owner wrote last and the customer has been silent this many days.
    followup_days: int = 3
    #: Conversations with the same normalised subject and contact join within this many days
    #: when a mailer dropped the threading headers.
    subject_window_days: int = 14


@dataclass(frozen=True)
class HealthConfig:
    """When an account counts as stale: no successful sync for this many hours. The app keeps
    syncing while open (live mail, the sync key), so there a shorter silence is already news;
    ``owner-tui status`` from cron, the digest and ``doctor`` allow a night's gap."""

    stale_after_hours: float = 26.0
    stale_after_hours_open: float = 2.0


@dataclass(frozen=True)
class SendConfig:
    """Every reply waits this long in the outbox before it goes out, so ``u`` can take it back
    (aerc's postpone, Gmail's undo send); 0 sends at once."""

    undo_seconds: float = 10.0


@dataclass(frozen=True)
class UiConfig:
    """The look: the Textual theme chosen in the command palette ("" = the default)."""

    theme: str = ""


@dataclass(frozen=True)
class AccountConfig:
    name: str
    kind: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class FeedbackConfig:
    """``[feedback]``: the on-site feedback page (``owner-tui feedback serve``)."""

    host: str = "127.0.0.1"
    port: int = 8765
    #: Listening beyond localhost (the shop's Wi-Fi) must be asked for, here or with --public.
    public: bool = False
    #: The address printed in the QR code (e.g. http://192.168.1.20:8765/); default host:port.
    url: str = ""
    languages: tuple[str, ...] = ("en",)
    #: At or below this many stars the open TUI rings and the owner is told at once.
    alert_rating: int = 3
    alert_email: str = ""
    #: The IMAP account whose SMTP settings send alerts and email replies (default: the only
    #: account with smtp_host).
    reply_account: str = ""
    tables: tuple[str, ...] = ()
    #: Public review pages offered on the thank-you page, to every customer alike.
    review_links: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rate_per_minute: int = 6
    tls_cert: str = ""
    tls_key: str = ""
    #: The open TUI starts the page in a worker.
    serve_in_tui: bool = False


@dataclass(frozen=True)
class Config:
    owner: OwnerConfig = OwnerConfig()
    aging: AgingConfig = AgingConfig()
    health: HealthConfig = HealthConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    send: SendConfig = SendConfig()
    ui: UiConfig = UiConfig()
    accounts: tuple[AccountConfig, ...] = ()
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    path: Path | None = None

    def account(self, name: str) -> AccountConfig:
        for acc in self.accounts:
            if acc.name == name:
                return acc
        known = ", ".join(a.name for a in self.accounts) or "none configured"
        raise ConfigError(f"no account named {name!r} (accounts: {known})", path=self.path)

    def owner_addresses(self) -> frozenset[str]:
        """Every address that makes a message outbound: configured ones plus account addresses."""
        addrs = {a.lower() for a in self.owner.addresses}
        for acc in self.accounts:
            for key in ("address", "user"):
                val = acc.options.get(key)
                if isinstance(val, str) and "@" in val:
                    addrs.add(val.lower())
        return frozenset(addrs)


_OWNER_KEYS = {"name": str, "business": str, "addresses": list, "signature": str, "group_addresses": list}
_AGING_KEYS = {
    "waiting_since": str,
    "sla_hours": (int, float),
    "timezone": str,
    "business_hours": str,
    "business_days": list,
    "snooze_ignores_thanks": bool,
    "positive_rating_only_awaits": bool,
    "followup_days": int,
    "subject_window_days": int,
}
_HEALTH_KEYS = {"stale_after_hours": (int, float), "stale_after_hours_open": (int, float)}
_SEND_KEYS = {"undo_seconds": (int, float)}
_UI_KEYS = {"theme": str}
_TOP_KEYS = ("owner", "aging", "health", "send", "ui", "accounts", "keys", "feedback")
_FEEDBACK_KEYS = {"host": str, "port": int, "public": bool, "url": str, "languages": list, "alert_rating": int,
                  "alert_email": str, "reply_account": str, "tables": list, "review_links": dict,
                  "rate_per_minute": int, "tls_cert": str, "tls_key": str, "serve_in_tui": bool}
#: Languages the feedback page speaks (owner_tui/sources/feedback/strings.py).
FEEDBACK_LANGUAGES = ("en", "fr", "de", "es")


def _line_of(text: str, table: str | None, key: str) -> int | None:
    """Best-effort line number of ``key`` inside ``[table]`` (tomllib gives no positions)."""
    current: str | None = None
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    key_re = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    for no, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1).replace('"', "").replace("'", "")
            if table is not None and current == table and key == "":
                return no
            continue
        if current == table and key_re.match(line):
            return no
    return None


def _type_name(t: Any) -> str:
    if t == (int, float):
        return "a number"
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
            list: "a list", dict: "a table"}.get(t, str(t))


def _check_table(data: Mapping[str, Any], spec: Mapping[str, Any], table: str, text: str, path: Path | None) -> None:
    for key, value in data.items():
        if key not in spec:
            hint = difflib.get_close_matches(key, list(spec), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"unknown key {key!r} in [{table}]{extra}", key=f"{table}.{key}",
                              line=_line_of(text, table, key), path=path)
        want = spec[key]
        if isinstance(value, bool) and want in (int, float, (int, float)):
            ok = False
        else:
            ok = isinstance(value, want)
        if not ok:
            raise ConfigError(f"{table}.{key} must be {_type_name(want)}, not {type(value).__name__}",
                              key=f"{table}.{key}", line=_line_of(text, table, key), path=path)


def _parse_hours(value: str, table: str, text: str, path: Path | None) -> tuple[time, time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    err = ConfigError(f"{table}.business_hours must look like \"09:00-17:30\", not {value!r}",
                      key=f"{table}.business_hours", line=_line_of(text, table, "business_hours"), path=path)
    if not m:
        raise err
    h1, m1, h2, m2 = map(int, m.groups())
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise err
    opens = time(h1, m1)
    closes = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if closes <= opens:
        raise err
    return opens, closes


def parse_config(text: str, path: Path | None = None) -> Config:
    """Parse TOML text into a ``Config``; raise ``ConfigError`` for anything wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"not valid TOML: {exc}", line=int(m.group(1)) if m else None, path=path) from None
    for key in data:
        if key not in _TOP_KEYS:
            hint = difflib.get_close_matches(key, _TOP_KEYS, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            line = _line_of(text, key, "") or _line_of(text, None, key)
            raise ConfigError(f"unknown section or key {key!r}{extra}", key=key, line=line, path=path)
        if not isinstance(data[key], dict):
            raise ConfigError(f"{key} must be a table like [{key}]", key=key, line=_line_of(text, None, key), path=path)

    owner_d = data.get("owner", {})
    _check_table(owner_d, _OWNER_KEYS, "owner", text, path)
    addresses = owner_d.get("addresses", [])
    if not all(isinstance(a, str) and "@" in a for a in addresses):
        raise ConfigError("owner.addresses must be a list of email addresses", key="owner.addresses",
                          line=_line_of(text, "owner", "addresses"), path=path)
    groups = owner_d.get("group_addresses", [])
    if not all(isinstance(a, str) and "@" in a for a in groups):
        raise ConfigError("owner.group_addresses must be a list of email addresses", key="owner.group_addresses",
                          line=_line_of(text, "owner", "group_addresses"), path=path)
    owner = OwnerConfig(name=owner_d.get("name", ""), business=owner_d.get("business", ""),
                        addresses=tuple(a.strip().lower() for a in addresses),
                        signature=owner_d.get("signature", ""),
                        group_addresses=tuple(a.strip().lower() for a in groups))

    aging_d = data.get("aging", {})
    _check_table(aging_d, _AGING_KEYS, "aging", text, path)
    ws = aging_d.get("waiting_since", "first")
    if ws not in ("first", "latest"):
        raise ConfigError(f"aging.waiting_since must be \"first\" or \"latest\", not {ws!r}",
                          key="aging.waiting_since", line=_line_of(text, "aging", "waiting_since"), path=path)
    tz_name = aging_d.get("timezone", "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"aging.timezone {tz_name!r} is not a known time zone (e.g. \"Europe/Paris\")",
                          key="aging.timezone", line=_line_of(text, "aging", "timezone"), path=path) from None
    hours = None
    if aging_d.get("business_hours"):
        opens, closes = _parse_hours(aging_d["business_hours"], "aging", text, path)
        days_raw = aging_d.get("business_days", list(DAYS[:5]))
        try:
            days = frozenset(DAYS.index(str(d).lower()[:3]) for d in days_raw)
        except ValueError:
            raise ConfigError(f"aging.business_days must be day names like \"mon\", got {days_raw!r}",
                              key="aging.business_days", line=_line_of(text, "aging", "business_days"),
                              path=path) from None
        hours = BusinessHours(tz=tz, days=days, opens=opens, closes=closes)
    sla = float(aging_d.get("sla_hours", 24))
    if sla <= 0:
        raise ConfigError("aging.sla_hours must be more than 0", key="aging.sla_hours",
                          line=_line_of(text, "aging", "sla_hours"), path=path)
    aging = AgingConfig(
        waiting_since=ws, sla_hours=sla, timezone=tz_name, business_hours=hours,
        snooze_ignores_thanks=aging_d.get("snooze_ignores_thanks", False),
        positive_rating_only_awaits=aging_d.get("positive_rating_only_awaits", True),
        followup_days=aging_d.get("followup_days", 3),
        subject_window_days=aging_d.get("subject_window_days", 14),
    )

    health_d = data.get("health", {})
    _check_table(health_d, _HEALTH_KEYS, "health", text, path)
    for key in _HEALTH_KEYS:
        if key in health_d and health_d[key] <= 0:
            raise ConfigError(f"health.{key} must be more than 0 hours", key=f"health.{key}",
                              line=_line_of(text, "health", key), path=path)
    health = HealthConfig(**{k: float(v) for k, v in health_d.items()})

    send_d = data.get("send", {})
    _check_table(send_d, _SEND_KEYS, "send", text, path)
    if not 0 <= send_d.get("undo_seconds", 10) <= 600:
        raise ConfigError("send.undo_seconds must be between 0 and 600", key="send.undo_seconds",
                          line=_line_of(text, "send", "undo_seconds"), path=path)
    send = SendConfig(**{k: float(v) for k, v in send_d.items()})
    ui_d = data.get("ui", {})
    _check_table(ui_d, _UI_KEYS, "ui", text, path)
    ui = UiConfig(theme=ui_d.get("theme", ""))

    accounts = []
    for name, opts in data.get("accounts", {}).items():
        table = f"accounts.{name}"
        if not isinstance(opts, dict):
            raise ConfigError(f"{table} must be a table", key=table, line=_line_of(text, None, name), path=path)
        kind = opts.get("kind")
        if kind not in ACCOUNT_KINDS:
            raise ConfigError(f"{table}.kind must be one of {', '.join(ACCOUNT_KINDS)}, not {kind!r}",
                              key=f"{table}.kind", line=_line_of(text, table, "kind") or _line_of(text, table, ""),
                              path=path)
        for key, value in opts.items():
            lowered = key.lower()
            # "_sid": a Twilio API key's SID (SK...) names the key; its secret is elsewhere.
            if any(w in lowered for w in SECRET_WORDS) \
                    and not lowered.endswith(("_cmd", "_env", "_keyring", "_command", "_url", "_sid")) \
                    and isinstance(value, str) and value:
                raise ConfigError(
                    f"{table}.{key} looks like a secret written into the file; use {key}_cmd "
                    f"(a command that prints it), {key}_env (an environment variable) or {key}_keyring = true",
                    key=f"{table}.{key}", line=_line_of(text, table, key), path=path)
        if kind == "twilio":
            _check_twilio(opts, table, text, path)
        options = {k: v for k, v in opts.items() if k != "kind"}
        accounts.append(AccountConfig(name=name, kind=kind, options=MappingProxyType(options)))

    keys = data.get("keys", {})
    for action, key in keys.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"keys.{action} must be a key name such as \"r\" or \"ctrl+r\"",
                              key=f"keys.{action}", line=_line_of(text, "keys", action), path=path)
    feedback = _parse_feedback(data.get("feedback", {}), text, path)
    return Config(owner=owner, aging=aging, health=health, send=send, ui=ui, accounts=tuple(accounts),
                  keys=MappingProxyType(dict(keys)), feedback=feedback, path=path)


_TWILIO_KEYS = {"kind": str, "account_sid": str, "auth_token_cmd": (str, list), "auth_token_env": str,
                "auth_token_keyring": bool, "api_key_sid": str, "api_key_secret_cmd": (str, list),
                "api_key_secret_env": str, "api_key_secret_keyring": bool, "numbers": list,
                "whatsapp_from": str, "whatsapp_template_sid": str, "whatsapp_template_name": str,
                "base_url": str, "region": str, "country": str, "lookback_days": int, "page_size": int,
                "calls": bool, "max_attempts": int, "qpm": (int, float)}
_SID = re.compile(r"[0-9a-fA-F]{32}")


def _check_twilio(opts: Mapping[str, Any], table: str, text: str, path: Path | None) -> None:
    """A ``twilio`` account: its SID, one way to its secret, E.164 business numbers (issue 19)."""
    _check_table(opts, _TWILIO_KEYS, table, text, path)

    def bad(key: str, message: str) -> ConfigError:
        return ConfigError(f"{table}.{key} {message}", key=f"{table}.{key}",
                           line=_line_of(text, table, key) or _line_of(text, table, ""), path=path)

    def sid(key: str, prefix: str, what: str) -> None:
        value = opts.get(key)
        if value is not None and not (value.startswith(prefix) and len(value) == 34 and _SID.fullmatch(value[2:])):
            raise bad(key, f"must be {what} ({prefix} and 32 hexadecimal characters), not {value[:40]!r}")

    if not opts.get("account_sid"):
        raise bad("account_sid", "is missing: the Account SID (AC...) from the Twilio console")
    sid("account_sid", "AC", "an Account SID")
    sid("api_key_sid", "SK", "an API key SID")
    sid("whatsapp_template_sid", "HX", "a content template SID")
    token = any(opts.get(f"auth_token_{s}") for s in ("cmd", "env", "keyring"))
    key_secret = any(opts.get(f"api_key_secret_{s}") for s in ("cmd", "env", "keyring"))
    if opts.get("api_key_sid"):
        if not key_secret:
            raise bad("api_key_sid", "needs its secret: api_key_secret_cmd, api_key_secret_env or "
                                     "api_key_secret_keyring = true")
    elif key_secret:
        raise bad("api_key_secret_" + next(s for s in ("cmd", "env", "keyring") if opts.get(f"api_key_secret_{s}")),
                  "needs api_key_sid (SK...) too")
    elif not token:
        raise bad("account_sid", "needs a way to the auth token: auth_token_cmd, auth_token_env or "
                                 "auth_token_keyring = true (or an API key: api_key_sid with api_key_secret_*)")
    numbers = opts.get("numbers", [])
    if not numbers and not opts.get("whatsapp_from"):
        raise bad("numbers", "must list the business numbers, e.g. numbers = [\"+15551234567\"]")
    for n in numbers:
        if not isinstance(n, str) or not re.fullmatch(r"\+[1-9]\d{6,14}", n):
            raise bad("numbers", f"must hold numbers in E.164 form like \"+15551234567\", not {n!r}")
    wa = opts.get("whatsapp_from")
    if wa is not None and not re.fullmatch(r"whatsapp:\+[1-9]\d{6,14}", wa):
        raise bad("whatsapp_from", f"must look like \"whatsapp:+15557654321\", not {wa!r}")
    url = opts.get("base_url")
    if url is not None and not url.startswith(("https://", "http://")):
        raise bad("base_url", f"must be an http(s) address, not {url!r}")
    for key in ("region", "country"):
        value = opts.get(key)
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise bad(key, f"must be a two-letter country code such as \"US\" or \"GB\", not {value!r}")


def _parse_feedback(d: Mapping[str, Any], text: str, path: Path | None) -> FeedbackConfig:
    _check_table(d, _FEEDBACK_KEYS, "feedback", text, path)

    def bad(key: str, message: str) -> ConfigError:
        return ConfigError(f"feedback.{key} {message}", key=f"feedback.{key}", line=_line_of(text, "feedback", key),
                           path=path)

    port = d.get("port", 8765)
    if not 0 < port < 65536:
        raise bad("port", "must be between 1 and 65535")
    langs = d.get("languages", ["en"])
    if not langs or not all(isinstance(x, str) and x in FEEDBACK_LANGUAGES for x in langs):
        raise bad("languages", f"must list languages from {', '.join(FEEDBACK_LANGUAGES)}, not {langs!r}")
    alert = d.get("alert_rating", 3)
    if not 0 <= alert <= 5:
        raise bad("alert_rating", "must be 0 (never) to 5 (always)")
    if d.get("alert_email") and "@" not in d["alert_email"]:
        raise bad("alert_email", "must be an email address")
    links = d.get("review_links", {})
    if not all(isinstance(v, str) and v.startswith("https://") for v in links.values()):
        raise bad("review_links", "must map a name to an https:// address")
    tables = d.get("tables", [])
    if not all(isinstance(t, str) and 0 < len(t) <= 40 for t in tables):
        raise bad("tables", "must be a list of short names (40 characters at most)")
    if d.get("rate_per_minute", 6) < 1:
        raise bad("rate_per_minute", "must be at least 1")
    if bool(d.get("tls_cert")) != bool(d.get("tls_key")):
        missing, given = ("tls_cert", "tls_key") if not d.get("tls_cert") else ("tls_key", "tls_cert")
        raise ConfigError(f"feedback.{given} needs feedback.{missing} too (the certificate and its key)",
                          key=f"feedback.{missing}", line=_line_of(text, "feedback", given), path=path)
    return FeedbackConfig(
        host=d.get("host", "127.0.0.1"), port=port, public=d.get("public", False), url=d.get("url", ""),
        languages=tuple(dict.fromkeys(langs)), alert_rating=alert, alert_email=d.get("alert_email", ""),
        reply_account=d.get("reply_account", ""), tables=tuple(tables), review_links=MappingProxyType(dict(links)),
        rate_per_minute=d.get("rate_per_minute", 6), tls_cert=d.get("tls_cert", ""), tls_key=d.get("tls_key", ""),
        serve_in_tui=d.get("serve_in_tui", False))


def load_config(path: Path) -> Config:
    """Read ``path``; a missing file gives the defaults."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=path)
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", path=path) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a file", path=path) from None
    except PermissionError:
        raise ConfigError("cannot be read (permission denied)", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror or exc})", path=path) from None
    return parse_config(text, path)


def with_ui_theme(text: str, theme: str) -> str:
    """``config.toml`` text with ``[ui] theme`` set (the table added if missing); the rest of
    the file, comments included, is kept as written."""
    line = f"theme = {json.dumps(theme, ensure_ascii=False)}"
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if re.match(r"^\s*\[\s*ui\s*\]\s*(#.*)?$", ln)), None)
    if start is None:
        return text.rstrip("\n") + ("\n\n" if text.strip() else "") + f"[ui]\n{line}\n"
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines))
    for i in range(start + 1, end):
        if re.match(r"^\s*theme\s*=", lines[i]):
            lines[i] = line
            return "\n".join(lines)
    lines.insert(start + 1, line)
    return "\n".join(lines)
