"""The digest as an email: text and HTML alternatives, sent through an IMAP account's SMTP
settings (``owner-tui digest --mail-to``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from owner_tui.reports.digest import Digest


def smtp_sender_for(config, account: str | None, *, clock=None):
    """An ``SmtpSender`` for the IMAP account ``account`` (default: the only one with
    ``smtp_host``) and the From address. The secret is fetched now, so a failing password
    command is reported as such before any connection is made."""
    from owner_tui.config import ConfigError
    from owner_tui.send.smtp import SmtpSender
    from owner_tui.sources.imap.connection import ImapSettings

    if account:
        acc = config.account(account)
        if acc.kind != "imap" or not acc.options.get("smtp_host"):
            raise ConfigError(f"account {account!r} has no smtp_host: mail goes out through an IMAP account's "
                              "SMTP settings", key=f"accounts.{account}.smtp_host", path=config.path)
    else:
        candidates = [a for a in config.accounts if a.kind == "imap" and a.options.get("smtp_host")]
        if len(candidates) != 1:
            what = "no account has" if not candidates else "several accounts have"
            raise ConfigError(f"{what} smtp_host; name the one to send with: --account NAME", path=config.path)
        acc = candidates[0]
    settings = ImapSettings.from_account(acc)
    if not settings.address:
        raise ConfigError(f"accounts.{acc.name}.address is needed to send mail", key=f"accounts.{acc.name}.address",
                          path=config.path)
    secret = settings.secret()
    credentials = {"token": lambda: secret} if settings.auth == "xoauth2" else {"password": secret}
    sender = SmtpSender(settings.smtp_host, settings.smtp_port, from_addr=settings.address,
                        from_name="owner-tui", security=settings.smtp_security, user=settings.smtp_user,
                        ssl_context=settings.ssl_context(), timeout=settings.timeout, clock=clock, **credentials)
    return sender, settings.address


def subject_line(d: Digest) -> str:
    when = d.generated_at.astimezone(ZoneInfo(d.timezone)).strftime("%a %d %b")
    return (f"owner-tui digest {when}: {d.awaiting_total} awaiting, {d.overdue_total} overdue, "
            f"{d.arrived_total} new")


def build_mail(d: Digest, to: str, from_addr: str):
    """The digest as a text + HTML ``EmailMessage``."""
    from owner_tui.reports.digest_render import render_html, render_text

    return compose_mail(subject_line(d), render_text(d), render_html(d), d.generated_at, to, from_addr)


def compose_mail(subject: str, text: str, html: str, date, to: str, from_addr: str):
    """A report as a text + HTML ``EmailMessage`` (the digest, the period reports).
    ``Auto-Submitted: auto-generated`` (RFC 3834) keeps vacation responders quiet and marks
    it as noise if it lands in a mailbox owner-tui syncs."""
    from email import policy
    from email.message import EmailMessage
    from email.utils import format_datetime

    from owner_tui.send.compose import make_message_id, parse_recipient

    sender, rcpt = parse_recipient(from_addr), parse_recipient(to)  # ValueError on a bad address
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_message_id(sender.domain or "owner-tui.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def send_mail(sender, msg) -> None:
    """Hand the message to the server (SmtpSender's connection, TLS, login and error words).

    ``SmtpSender.send`` builds a *reply* (``Re:``, threading headers); the digest is a new
    message, so it goes through the sender's delivery step directly. If SmtpSender grows a
    public "send this EmailMessage" method, use that here instead."""
    from owner_tui.send.compose import parse_recipient

    refused = sender.deliver(parse_recipient(msg["From"]).addr_spec, [parse_recipient(msg["To"]).addr_spec],
                              msg.as_bytes())
    if refused:
        from owner_tui.send.sender import SendError

        raise SendError("the server refused the recipient: " + ", ".join(refused))
