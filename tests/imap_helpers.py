"""Helpers shared by the IMAP, outbox and accounts tests: messages, accounts, stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.store import Store

BASE = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def mail(n: int, *, frm: str = "ann@example.net", to: str = "owner@example.com", subject: str | None = None,
         msgid: str | None = "auto", in_reply_to: str | None = None, body: str = "", pad: int = 0,
         date: datetime | None = None) -> bytes:
    """A plain message; ``msgid=None`` leaves out the Message-ID header."""
    when = date or BASE + timedelta(minutes=n)
    head = [f"From: Customer {n} <{frm}>", f"To: {to}", f"Subject: {subject or f'Question {n}'}",
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}"]
    if msgid is not None:
        head.append(f"Message-ID: <{f'm{n}@example.net' if msgid == 'auto' else msgid}>")
    if in_reply_to:
        head += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    text = body or f"Hello, this is message {n}.\n"
    if pad:
        text += ("lorem ipsum dolor sit amet " * (pad // 27 + 1))[:pad] + "\n"
    return ("\r\n".join(head) + "\r\n\r\n" + text.replace("\n", "\r\n")).encode()


def account(acc, name: str = "mail", **options) -> AccountConfig:
    """An ``[accounts.NAME]`` for a test ``ImapAccount`` (plain IMAP on loopback)."""
    opts = {"host": acc.host, "port": acc.port, "security": "none", "user": acc.user,
            "address": acc.user, "password_cmd": f"printf %s '{acc.password}'", "timeout": 10}
    opts.update(options)
    return AccountConfig(name=name, kind="imap", options=MappingProxyType(opts))


def open_store(path: Path, owner: str = "owner@example.com", accounts: tuple = ()) -> Store:
    return Store.open(path, config=Config(owner=OwnerConfig(addresses=(owner,)), accounts=tuple(accounts)))


def count(store: Store, sql: str = "SELECT count(*) FROM messages", args=()) -> int:
    return store.db.execute(sql, list(args)).fetchone()[0]


def deliver(acc, folder: str, raws: list[bytes]) -> None:
    """Bulk-seed through the Maildir with LF line ends, as Maildir stores them (the fixture's
    ``,S=`` size in the file name must equal the file's size, or Dovecot refuses to read it)."""
    acc.deliver_files(folder, [r.replace(b"\r\n", b"\n") for r in raws])
