"""Tell the owner about a low on-site rating at once, by email through an IMAP account's SMTP
settings (``[feedback] alert_email``; the account is ``reply_account`` or the only one with
``smtp_host``). The customer's words are in the body as plain text, never in a header but
the subject's cleaned one-line excerpt."""

from __future__ import annotations

from owner_tui.sanitize import one_line
from owner_tui.sources.feedback.submission import Submission


def alert_text(sub: Submission) -> tuple[str, str]:
    where = f" at table {one_line(sub.table, limit=40)}" if sub.table else ""
    subject = f"On-site feedback: {sub.rating}★{where}: {one_line(sub.comment, limit=60) or '(no comment)'}"
    lines = [f"A customer{where} rated their visit {sub.rating} of 5, just now.", ""]
    if sub.comment:
        lines += [sub.comment, ""]
    if sub.name:
        lines.append(f"Name: {sub.name}")
    if sub.email or sub.phone:
        lines.append(f"Contact: {sub.email or sub.phone}")
    lines += ["", "It waits for a reply in owner-tui (channel on-site)."]
    return subject, "\n".join(lines) + "\n"


def email_alert(config, *, clock=None):
    """A callable that mails one alert, or None when ``alert_email`` is not set."""
    fb = config.feedback
    if not fb.alert_email:
        return None

    def send(sub: Submission) -> None:
        from email import policy
        from email.message import EmailMessage
        from email.utils import format_datetime

        from owner_tui.aging import utcnow
        from owner_tui.reports.digest_mail import send_mail, smtp_sender_for
        from owner_tui.send.compose import make_message_id, parse_recipient

        sender, from_addr = smtp_sender_for(config, fb.reply_account or None, clock=clock)
        subject, body = alert_text(sub)
        frm = parse_recipient(from_addr)
        msg = EmailMessage(policy=policy.SMTP)
        msg["From"] = frm
        msg["To"] = parse_recipient(fb.alert_email)
        msg["Subject"] = subject
        msg["Date"] = format_datetime((clock or utcnow)())
        msg["Message-ID"] = make_message_id(frm.domain or "owner-tui.local")
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        send_mail(sender, msg)

    return send
