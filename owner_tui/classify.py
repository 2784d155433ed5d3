"""Which way a message went, and whether it is noise that never awaits a reply.

Noise signals (design.md): ``Auto-Submitted`` other than ``no`` (RFC 3834) and the de-facto
auto-reply headers and out-of-office subjects; bounces and reports (``multipart/report``,
``message/delivery-status``, ARF, a null or daemon return path, the well-known subjects);
``List-Id``/``List-Unsubscribe``/``Precedence: bulk/list/junk`` unless the list is one of the
owner's own group aliases; no-reply senders; the owner's own rules. Noise is kept, never
deleted, and the reason is stored with the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from owner_tui.records import MessageRecord

#: Sent folders by name (lower case), for Maildir and mbox folders and servers without
#: SPECIAL-USE: the English names and what clients call them in other languages.
SENT_FOLDER_NAMES = frozenset({
    "sent", "sent items", "sent messages", "sent mail", "[gmail]/sent mail", "inbox.sent",
    "gesendet", "gesendete elemente", "gesendete objekte", "gesendete nachrichten", "[google mail]/gesendet",
    "envoyés", "éléments envoyés", "messages envoyés", "elementos enviados", "enviados", "mensajes enviados",
    "posta inviata", "inviati", "elementi inviati", "verzonden", "verzonden items", "verzonden berichten",
    "itens enviados", "mensagens enviadas", "skickat", "skickade objekt", "skickade meddelanden", "sendt",
    "sendte elementer", "sendte", "lähetetyt", "lähetetyt kohteet", "wysłane", "elementy wysłane",
    "odeslaná pošta", "odeslané", "elküldött elemek", "отправленные", "已发送", "已傳送", "送信済み",
    "送信済みアイテム", "보낸 편지함"})

#: A sender nobody can answer: "noreply@", "no-reply@", "do_not_reply@" and the same words
#: inside a longer local part ("businessprofile-noreply@google.com", "account-security-noreply@",
#: "support.no-reply@"), and "notification(s)@" alone or as one of its words ("calendar-notification@").
#: "no-reply" in the languages senders write it: não responder, no responder, ne pas répondre,
#: nicht antworten, niet beantwoorden, non rispondere, nie odpowiadaj.
_NOREPLY_WORDS = re.compile(
    r"no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|n[aã]o[-_.]?respond(?:a|er)|no[-_.]?respond(?:a|er)|"
    r"no[-_.]?contestar|ne[-_.]?pas[-_.]?r[ée]pondre|nepasrepondre|nicht[-_.]?antworten|keine[-_.]?antwort|"
    r"niet[-_.]?beantwoorden|non[-_.]?rispondere|nie[-_.]?odpowiadaj", re.I)
_NOTIFICATION_LOCAL = re.compile(r"(?:^|[-_.+])notifications?(?:$|[-_.+])", re.I)


def is_noreply(handle: str) -> bool:
    """Mail from this address cannot be answered by a person (see ``_NOREPLY_WORDS``)."""
    local = (handle or "").partition("@")[0]
    return bool(local) and bool(_NOREPLY_WORDS.search(local) or _NOTIFICATION_LOCAL.search(local))


_THANKS = re.compile(r"\b(thanks?|thank\s+you|thx|cheers|merci|danke|gracias|great|perfect|ok|okay)\b", re.I)


@dataclass(frozen=True)
class Rule:
    """An owner's rule: ``pattern`` is an address (``a@b.com``) or a domain (``@b.com``)."""

    pattern: str
    action: str  # "noise" or "keep"

    def matches(self, handle: str) -> bool:
        handle = handle.lower()
        p = self.pattern.lower()
        if p.startswith("@"):
            return handle.endswith(p)
        return handle == p


def is_sent_folder(folder: str | None) -> bool:
    if not folder:
        return False
    f = folder.strip().lower().lstrip(".")
    leaf = re.split(r"[./]", f)[-1] if not f.startswith("[") else f
    return f in SENT_FOLDER_NAMES or leaf in SENT_FOLDER_NAMES or f.endswith("/sent") or f.endswith(".sent")


def direction(rec: MessageRecord, owner_addresses: Iterable[str]) -> str:
    if rec.direction in ("in", "out"):
        return rec.direction
    if is_sent_folder(rec.folder):
        return "out"
    if rec.sender_handle and rec.sender_handle.lower() in owner_addresses:
        return "out"
    return "in"


def noise_reason(rec: MessageRecord, rules: Iterable[Rule] = (), *,
                 positive_rating_only_awaits: bool = True, groups: Iterable[str] = ()) -> str | None:
    """Why an inbound message is noise, or ``None`` when a person may be waiting.

    Order: the owner's rules; machine replies (RFC 3834 and the de-facto auto-reply headers,
    out-of-office subjects); bounces and reports by structure, then by sender and subject;
    lists and newsletters, unless delivered through one of the owner's own group aliases
    (``groups``); a no-reply sender (a form's sender has already been replaced by the person
    in Reply-To). A role address alone (postmaster@, info@) never makes a message noise.
    """
    handle = (rec.sender_handle or "").lower()
    for rule in rules:
        if rule.matches(handle):
            return "your rule: " + rule.pattern if rule.action == "noise" else None
    if rec.channel in ("sms", "whatsapp"):
        from owner_tui.phone import is_opt_out, keyword

        if is_opt_out(rec.text):  # Twilio's opt-out keywords: the customer asked for no more texts
            return f"opted out ({keyword(rec.text)})"
    if rec.channel != "email":
        if (not positive_rating_only_awaits and rec.rating is not None and rec.rating >= 4
                and not rec.text.strip()):
            return "rating-only positive review"
        return None
    h = {k.lower(): (v or "").strip() for k, v in rec.headers.items()}
    subject = " ".join((rec.subject or "").split())
    report = report_reason(rec, h)  # first: a bounce also says Auto-Submitted, and is a bounce
    if report:
        return report
    form = rec.extra.get("lead") == "form"
    machine = machine_reply_reason(h, subject)
    if machine and not (form and machine == "auto-submitted: auto-generated"):
        # A form's notification is generated by its mailer, as its List-Unsubscribe is: the
        # person's message inside is not (an automatic *reply* from a platform still is noise).
        return machine
    if _CHALLENGE_SUBJECT.search(subject):
        return "challenge-response (confirm you are a sender)"
    if rec.extra.get("reaction"):
        return f"emoji reaction ({rec.extra['reaction']}): nothing to answer"
    if rec.extra.get("order") == "no note":
        # A sale or order notification carries the buyer, but no words of theirs: the order is
        # fulfilled in the shop. With a note from the buyer it is their message, and waits.
        return "an order, with no note from the buyer: nothing to answer"
    spam = spam_reason(h, subject)
    if spam:
        return spam
    cal = rec.extra.get("calendar")
    if isinstance(cal, dict) and cal.get("method") == "REPLY" and not cal.get("comment"):
        # An invitation's answer (iTIP, RFC 5546) is sent by the calendar when the person
        # clicks Yes or No: nothing to answer. With a note written, a person may be waiting.
        status = str(cal.get("partstat") or "").lower()
        return f"calendar reply ({status})" if status else "calendar reply"
    for name, tracker in _TRACKER_HEADERS.items():
        if name in h and not form:
            return f"{tracker} notification"
    prec = h.get("precedence", "").lower().strip()
    grouped = via_group(h, rec.recipients, groups)
    if not grouped:
        if "list-id" in h or "mailing-list" in h or "x-mlserver" in h:  # RFC 2919; ezmlm's; fml's
            return "mailing list"
        if not form and (_LIST_ENVELOPE.match(h.get("return-path", "")) or _LIST_ENVELOPE.match(
                _angle(h.get("sender", "")))):
            return "mailing list (a list server's owner or bounce address)"
        if not form and _NEWSLETTER_NAME.search(rec.sender_name or ""):
            return "newsletter (its sender's name says so)"
        if not rec.extra.get("via") and (_BULK_ENVELOPE.match(_angle(h.get("return-path", ""))) or "errors-to" in h):
            # A bulk mailer's bounce-handling envelope ("bounces@", "bounce-123@",
            # "x@bounce.example") or the Errors-To of old mass mailers: a person's mail
            # client writes neither. Not for a form's lead, whose envelope is its mailer's.
            return "bulk mail (its envelope is a bounce handler's)"
        # A form's or a platform's notification carries a person's message: its mailer's
        # unsubscribe link or bulk precedence (an ESP adds them to everything) is not theirs.
        if "list-unsubscribe" in h and not form:
            return "newsletter (List-Unsubscribe)"
        if prec in ("bulk", "list", "junk") and not form:
            return f"precedence: {prec}"
    if is_noreply(handle):
        return "no-reply sender"
    if not rec.extra.get("via") and is_noreply(_angle(h.get("return-path", ""))):
        # Not for a form's or a platform's lead, whose envelope is its mailer's.
        return "no-reply sender (its Return-Path)"
    return None


def _angle(value: str) -> str:
    """The address in "Name <a@b>" or "<a@b>", else the value."""
    start = value.rfind("<")
    return value[start + 1:].partition(">")[0].strip() if start >= 0 else value.strip()


def machine_reply_reason(h: dict[str, str], subject: str) -> str | None:
    """An automatic reply (a vacation or out-of-office answer, an autoresponder), by RFC 3834's
    ``Auto-Submitted``, the de-facto headers, or the subject. ``h`` has lower-case names."""
    auto = h.get("auto-submitted", "").lower().split(";")[0].strip()
    if auto and auto != "no":
        return f"auto-submitted: {auto}"
    prec = h.get("precedence", "").lower().strip()
    if prec in ("auto_reply", "auto-reply", "autoreply"):
        return "auto-reply (Precedence: auto_reply)"
    if h.get("x-autoreply") or h.get("x-autorespond") or h.get("x-autogenerated", "").lower() == "reply":
        return "auto-reply"
    if _OOF_SUBJECT.search(subject):
        why = " with X-Auto-Response-Suppress" if "x-auto-response-suppress" in h else ""
        return f"out-of-office reply{why} (subject {subject[:40]!r})"
    return None


#: What spam filters write when they deliver mail they judged spam to the inbox: SpamAssassin's
#: ``X-Spam-Flag: YES`` and ``X-Spam-Status: Yes, score=...``, rspamd's ``X-Spam: Yes``, and the
#: subject tags they put in front ("***SPAM***", "[SPAM]").
_SPAM_SUBJECT = re.compile(r"^\s*(?:\*{2,}\s*spam\s*\*{2,}|\[spam\])", re.I)


def spam_reason(h: dict[str, str], subject: str) -> str | None:
    """The owner's mail server judged this spam and still delivered it to the inbox."""
    for name in ("x-spam-flag", "x-spam-status", "x-spam"):
        if h.get(name, "").strip().lower().startswith("yes"):
            return f"spam (your mail server's {_HEADER_NAMES[name]}: yes)"
    if h.get("x-dspam-result", "").strip().lower() in ("spam", "virus", "blacklisted", "blocklisted"):
        return f"spam (your mail server's X-DSPAM-Result: {h['x-dspam-result'].strip()})"
    if _MS_SPAM.search(h.get("x-forefront-antispam-report", "")):
        return "spam (Microsoft 365's filter verdict SFV:SPM)"
    tag = _SPAM_SUBJECT.match(subject)
    if tag:
        return f"spam (subject tagged {' '.join(tag.group(0).split())!r} by your mail server)"
    return None


_HEADER_NAMES = {"x-spam-flag": "X-Spam-Flag", "x-spam-status": "X-Spam-Status", "x-spam": "X-Spam"}
#: Microsoft 365's spam verdict in its report header: "SFV:SPM" (spam), "SFV:SKS" (marked spam
#: before filtering), "SFV:BLK" (a sender the mailbox blocked).
_MS_SPAM = re.compile(r"(?:^|;)\s*SFV:(?:SPM|SKS|BLK)\s*(?:;|$)", re.I)
#: Notifications of issue trackers and code hosts, which set no Auto-Submitted.
_TRACKER_HEADERS = {"x-jira-fingerprint": "Jira", "x-github-reason": "GitHub", "x-gitlab-project": "GitLab",
                    "x-redmine-project": "Redmine", "x-bugzilla-product": "Bugzilla"}
#: A list server's envelope or Sender address: LISTSERV's and Majordomo's "owner-list@",
#: Mailman's "list-bounces@", "list-request@", "list-owner@".
_LIST_ENVELOPE = re.compile(r"^<?\s*(?:owner-[^@\s]+|[^@\s]+-(?:bounces|request|owner)(?:\+[^@\s]*)?)@", re.I)
#: A bulk mailer's bounce-handling envelope address.
_BULK_ENVELOPE = re.compile(r"^(?:bounces?(?:[-_.+][^@]*)?@|[^@]*@bounces?\.)", re.I)
#: A display name that says "newsletter" in the main languages.
_NEWSLETTER_NAME = re.compile(r"\b(?:newsletter|nieuwsbrief|boletim|bolet[íi]n|infolettre|rundbrief)\b", re.I)


#: Subjects of automatic replies, in the main European languages. Anchored at the start (after
#: any "Re:"/"AW:"), so a customer asking about "out of office hours" is not caught.
_OOF_SUBJECT = re.compile(
    r"^(?:(?:re|aw|sv|tr|rif)\s*:\s*)*(?:(?:"
    # phrases only an automatic reply uses: followed by ":", "(", "-" or the end
    r"automatic\s+reply|auto[-\s]?reply|autoreply|auto[-\s]?response|automatic\s+response|"
    r"out\s+of\s+(?:the\s+)?office|away\s+from\s+(?:the\s+)?office|vacation\s+reply|"
    r"abwesenheitsnotiz|automatische\s+antwort|automatische\s+r[üu]ckantwort|"
    r"r[ée]ponse\s+automatique|message\s+d'absence|"
    r"respuesta\s+autom[áa]tica|fuera\s+de\s+la\s+oficina|"
    r"risposta\s+automatica|fuori\s+(?:ufficio|sede)|"
    r"automatisch\s+antwoord|niet\s+aanwezig|"
    r"resposta\s+autom[áa]tica|fora\s+do\s+escrit[óo]rio|"
    r"autosvar|automatisk\s+svar|automaattinen\s+vastaus|autoodpowied[źz]|odpowied[źz]\s+automatyczna|"
    r"automatick[áa]\s+odpov[ěe][ďd]|automatikus\s+v[áa]lasz|r[ăa]spuns\s+automat|otomatik\s+yan[ıi]t|"
    r"автоматический\s+ответ|автоответ|αυτόματη\s+απάντηση|"
    r"自动答复|自動回覆|自动回复|自動回復|自動応答|不在通知|자동\s*회신|자동\s*응답"
    r")\s*(?::|：|\(|-|–|$)|"
    # words a customer might also start with: only as a "Word:" prefix
    r"(?:auto|ooo|on\s+vacation|absence|absent|abwesend|afwezig|ausente|assente|aus[êe]ncia|"
    r"fr[åa]nvaro|frav[æa]r|poissa|nieobecno[śs][ćc])\s*:)", re.I)

#: Subjects only the mail system writes: enough on their own.
_BOUNCE_SUBJECT = re.compile(
    r"^(?:(?:fw|fwd)\s*:\s*)*(?:undeliverable\s*:|undelivered\s+mail|undeliverable\s+mail|returned\s+mail\s*:|"
    r"mail\s+delivery\s+(?:failed|failure|subsystem|system)|delivery\s+status\s+notification|failure\s+notice|"
    r"non[-\s]?delivery\s+(?:report|notification)|nondeliverable\s+mail|message\s+(?:not\s+delivered|"
    r"undeliverable|delivery\s+failure)|mail\s+could\s+not\s+be\s+delivered|could\s+not\s+send\s+message|"
    r"mail\s+system\s+error|returned\s+to\s+sender|delivery\s+notification:\s+delivery\s+has\s+failed|"
    r"warning:\s+could\s+not\s+send|unzustellbar\s*:|nicht\s+zustellbar|non\s+remis\s*:|non\s+distribu[ée]\s*:|"
    r"non\s+recapitabile\s*:|onbestelbaar\s*:|no\s+se\s+puede\s+entregar\s*:|n[ãa]o\s+entregue\s*:|"
    r"kan\s+ikke\s+leveres\s*:|"
    # Japanese, Chinese and Korean servers: "cannot deliver the message", "system bounce"
    r"メッセージを配信できません|配信できませんでした|配信不能|未配達|系统退信|退信通知|无法投递|無法傳遞|"
    r"메일\s*전송\s*실패|전송되지\s*못했습니다)", re.I)
#: Subjects a customer might also write ("Delivery failure", "Delivery delayed"): a bounce only
#: with another sign of the mail system.
_WEAK_BOUNCE_SUBJECT = re.compile(
    r"^(?:(?:fw|fwd)\s*:\s*)*(?:delivery\s+(?:failure|failed|problem|report|delayed|has\s+failed)|"
    r"delayed\s+mail|returned\s+mail)", re.I)
#: RFC 7489 7.2.1.1 (and RFC 8460 for TLS reports): the subject every aggregate report
#: sender uses, "Report Domain: bakery.example Submitter: google.com Report-ID: <...>",
#: Microsoft's with "[Preview]" in front.
_DMARC_SUBJECT = re.compile(r"\breport\s+domain\s*:\s*\S+\s+submitter\s*:\s*.+?\breport-?id\s*:", re.I)
_CHALLENGE_SUBJECT = re.compile(
    r"(please\s+confirm\s+your\s+(?:message|e-?mail)|requires\s+verification|verify#|"
    r"confirm\s+that\s+you\s+are\s+(?:a\s+)?(?:human|sender)|sender\s+verification|"
    r"your\s+message\s+is\s+(?:awaiting|pending)\s+(?:verification|approval)|spam\s*arrest|boxtrapper)", re.I)
_DAEMON_LOCAL = re.compile(r"^(mailer[-_.]?daemon|mail[-_.]?daemon|mailerdaemon)(@|$)", re.I)
_DAEMON_NAME = re.compile(r"^(mail\s+delivery\s+(subsystem|system|service)|mailer[-_.]?daemon|"
                          r"microsoft\s+outlook|postmaster|mail\s+administrator|system\s+administrator)$|"
                          r"\bmail\s+(gateway|system|delivery|server|administrator)\b", re.I)
_REPORT_PARTS = {"message/delivery-status": "delivery report", "message/global-delivery-status": "delivery report",
                 "message/feedback-report": "abuse report (ARF)", "message/disposition-notification": "read receipt"}


#: RFC 3464 2.3.3: the actions of a delivery report that say the message went on.
_DELIVERED = frozenset({"delivered", "relayed", "expanded"})


def _delivery_receipt(rec: MessageRecord) -> str | None:
    """A delivery report that reports no failure: a delivery receipt (Outlook's "Delivered:",
    every recipient delivered, relayed or expanded) or a delay warning. Neither is a bounce:
    the owner's reply was not refused."""
    actions = rec.extra.get("dsn_actions")
    if not isinstance(actions, list) or not actions or "failed" in actions:
        return None
    if all(a in _DELIVERED for a in actions):
        return "delivery receipt (delivered)"
    if all(a in _DELIVERED or a == "delayed" for a in actions):
        return "delivery delayed (not a failure yet)"
    return None


def report_structure(rec: MessageRecord, h: dict[str, str]) -> str | None:
    """A bounce, delivery report, abuse report or read receipt, by its MIME structure alone
    (``multipart/report`` or one of the report parts)."""
    ctype = h.get("content-type", "").lower()
    receipt = _delivery_receipt(rec)
    if "multipart/report" in ctype:
        if "feedback-report" in ctype:
            return "abuse report (ARF)"
        if "tlsrpt" in ctype:
            return "TLS report about your domain (RFC 8460)"
        if "disposition-notification" in ctype:
            return "read receipt"
        return receipt or "bounce (delivery report)"
    for att in rec.attachments:
        why = _REPORT_PARTS.get(att.content_type.lower())
        if why:
            return receipt or (why if why != "delivery report" else "bounce (delivery report)")
    return None


def report_reason(rec: MessageRecord, h: dict[str, str]) -> str | None:
    """A bounce, delivery report, abuse report or read receipt: by structure first, then by a
    null or daemon return path and sender, then by the well-known subjects."""
    structure = report_structure(rec, h)
    if structure:
        return structure
    handle = (rec.sender_handle or "").lower()
    name = " ".join((rec.sender_name or "").split())
    rpath = h.get("return-path", "").replace(" ", "").lower()
    null_path = rpath in ("<>", "<<>>")
    daemon_path = "mailer-daemon" in rpath or "mailer_daemon" in rpath
    daemon_from = bool(_DAEMON_LOCAL.match(handle) or _DAEMON_LOCAL.match(name.lower())) or (
        not handle and bool(_DAEMON_NAME.search(name)))
    subject = " ".join((rec.subject or "").split())
    if daemon_from or daemon_path:
        return "bounce (from the mail system)"
    if null_path:  # RFC 5321: only delivery reports and automatic replies go out with <>
        return "bounce or automatic message (null return path)"
    if _DMARC_SUBJECT.search(subject):
        return "DMARC report about your domain (RFC 7489)"
    if _BOUNCE_SUBJECT.search(subject) or (subject.startswith("DELIVERY FAILURE:")):  # Lotus Notes writes caps
        return f"bounce (subject {subject[:40]!r})"
    if _WEAK_BOUNCE_SUBJECT.search(subject) and (
            not handle or _DAEMON_NAME.search(name) or handle.startswith("postmaster@")
            or "x-failed-recipients" in h or rec.extra.get("returned_id")
            or any(a.content_type.lower() in ("message/rfc822", "text/rfc822-headers") for a in rec.attachments)):
        return f"bounce (subject {subject[:40]!r})"
    if "x-failed-recipients" in h:
        return "bounce (X-Failed-Recipients)"
    if not handle and _DAEMON_NAME.search(name):
        return "bounce (no sender address)"
    return None


def via_group(h: dict[str, str], recipients: Iterable[str], groups: Iterable[str]) -> bool:
    """Delivered through one of the owner's own group aliases (a Google Group behind info@): the
    list headers name it (List-Id ``<info.shop.example>``, List-Post ``<mailto:info@shop.example>``,
    Mailing-list ``list info@shop.example``)."""
    groups = {g.lower() for g in groups if g}
    if not groups:
        return False
    list_id = h.get("list-id", "").lower()
    inner = list_id[list_id.rfind("<") + 1:list_id.rfind(">")] if "<" in list_id else list_id
    if inner.strip() in {g.replace("@", ".") for g in groups}:
        return True
    named = h.get("list-post", "").lower() + " " + h.get("mailing-list", "").lower()
    return any(g in named for g in groups)


def outbound_noise_reason(rec: MessageRecord) -> str | None:
    """Machine mail sent from the owner's own address (the emailed digest, a vacation reply)
    is not a reply to anyone and must not start a "no answer yet" follow-up."""
    if rec.channel in ("sms", "whatsapp") and rec.extra.get("auto_reply"):
        return "an automatic reply (Twilio's answer to the customer's text, not yours)"
    if rec.channel in ("sms", "whatsapp", "call") and rec.extra.get("not_delivered"):
        # A text Twilio could not deliver, or a call back nobody answered: the customer still waits.
        return f"did not reach the customer ({rec.extra['not_delivered']})"
    h = {k.lower(): (v or "").strip() for k, v in rec.headers.items()}
    report = report_structure(rec, h)
    if report:  # a read receipt or report the owner's client sent: it answers nothing
        return f"not a reply: a {report} your mail client sent"
    machine = machine_reply_reason(h, " ".join((rec.subject or "").split()))
    if machine:  # the owner's vacation reply or autoresponder: the customer still waits for a person
        return f"not a reply: sent automatically for you, {machine}"
    if rec.extra.get("reaction"):
        return f"not a reply: your emoji reaction ({rec.extra['reaction']})"
    return None


def is_short_thanks(text: str) -> bool:
    """A short thank-you that needs no answer ("Thanks!", "Great, cheers")."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip() and not ln.lstrip().startswith(">")]
    body = " ".join(lines[:3]).strip()
    if not body or len(body) > 80 or "?" in body:
        return False
    return bool(_THANKS.search(body))
