"""Builds the real-world corpus (issue 12): one folder per scenario, ``.eml`` files plus
``scenario.toml``. Run ``python tests/corpus/realworld/mailgen.py`` to rewrite the folders.

Each writer below reproduces what one client or service puts on the wire: header order,
``Received`` chains as the owner's server (Postfix on mx.bakery.example, Dovecot LMTP) stamps
them, ``X-Mailer``/``User-Agent``, MIME structure and boundary style, transfer encodings.
Every other party lives under ``.example``; ids and boundaries are derived from the scenario
name so the files are stable when rebuilt.

The expectations in the scenario specs come from issue 12 and design.md's Definitions, not
from what the engine does today.
"""

from __future__ import annotations

import base64
import hashlib
import html
import quopri
import shutil
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from pathlib import Path

HERE = Path(__file__).resolve().parent
UTC = timezone.utc
OWNER = "hello@bakery.example"
OWNER_NAME = "Rosie Baker"
GROUP = "info@bakery.example"
STAFF = "sam@bakery.example"


# -- small helpers ---------------------------------------------------------------------------

def t(s: str) -> datetime:
    """'2026-11-20 09:14:05' (UTC) -> aware datetime."""
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hx(seed: str, n: int) -> str:
    out = ""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{i}".encode()).hexdigest()
        i += 1
    return out[:n]


def b64id(seed: str, n: int) -> str:
    raw = hashlib.sha256(seed.encode()).digest() * 3
    return base64.b64encode(raw).decode()[:n]


def uuid(seed: str, upper: bool = False) -> str:
    h = hx(seed, 32)
    u = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
    return u.upper() if upper else u


def rdate(dt: datetime, offset_min: int = 0, zone_comment: str | None = None) -> str:
    """RFC 5322 date in the sender's zone (``offset_min`` east of UTC)."""
    local = dt.astimezone(timezone(timedelta(minutes=offset_min)))
    sign = "+" if offset_min >= 0 else "-"
    off = f"{sign}{abs(offset_min) // 60:02d}{abs(offset_min) % 60:02d}"
    s = local.strftime("%a, %d %b %Y %H:%M:%S ") + off
    if zone_comment:
        s += f" ({zone_comment})"
    return s


def rdate_nopad(dt: datetime, offset_min: int = 0) -> str:
    """Apple and Exchange write the day without a leading zero."""
    local = dt.astimezone(timezone(timedelta(minutes=offset_min)))
    sign = "+" if offset_min >= 0 else "-"
    off = f"{sign}{abs(offset_min) // 60:02d}{abs(offset_min) % 60:02d}"
    return f"{local.strftime('%a')}, {local.day} {local.strftime('%b %Y %H:%M:%S')} {off}"


def qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def b64body(text: str) -> str:
    data = base64.b64encode(text.encode("utf-8")).decode()
    return "\n".join(textwrap.wrap(data, 76)) + "\n"


def ew(text: str) -> str:
    """An RFC 2047 encoded word (UTF-8, Q or B as the stdlib picks) for non-ASCII headers."""
    if text.isascii():
        return text
    return Header(text, "utf-8").encode()


def html_of(text: str) -> str:
    paras = [html.escape(p, quote=False).replace("\n", "<br>") for p in text.strip().split("\n\n")]
    return "".join(f"<div>{p}</div><div><br></div>" for p in paras)


def quote(text: str) -> str:
    return "\n".join("> " + ln if ln else ">" for ln in text.strip().splitlines())


def addr(name: str, email: str) -> str:
    if not name:
        return email
    if any(c in name for c in ',.()"@') and name.isascii():
        return f'"{name}" <{email}>'
    return f"{ew(name)} <{email}>"


def mx_received(sender: str, helo: str, ip: str, arrival: datetime, rcpt: str = OWNER,
                qid_seed: str = "", tls: bool = True) -> list[str]:
    """What the owner's server adds on delivery: Return-Path, Delivered-To, LMTP, Postfix."""
    qid = b64id("q" + qid_seed, 11).replace("+", "x").replace("/", "y")
    lmtp_id = b64id("l" + qid_seed, 22).replace("+", "x").replace("/", "y")
    with_ = "ESMTPS" if tls else "ESMTP"
    tlsline = ["\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
               "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)",
               "\t(No client certificate requested)"] if tls else []
    return [
        f"Return-Path: <{sender}>" if sender is not None else "Return-Path: <>",
        f"Delivered-To: {rcpt}",
        "Received: from mx.bakery.example",
        "\tby imap.bakery.example with LMTP",
        f"\tid {lmtp_id}",
        f"\t(envelope-from <{sender or ''}>)",
        f"\tfor <{rcpt}>; {rdate(arrival)}",
        f"Received: from {helo} ({helo} [{ip}])",
        *tlsline,
        f"\tby mx.bakery.example (Postfix) with {with_} id 4{qid[:10]}",
        f"\tfor <{rcpt}>; {rdate(arrival - timedelta(seconds=1))} (UTC)",
    ]


def join(head: list[str], body: str) -> bytes:
    text = "\n".join(head) + "\n\n" + body
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


# -- clients ---------------------------------------------------------------------------------

@dataclass
class Mail:
    """What a person writes; each client function renders it as that client would."""

    frm: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    date: datetime
    body: str
    seed: str
    cc: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    tz: int = 0
    msgid: str | None = None  # filled by the client function

    def refs(self) -> str:
        return "\n ".join(f"<{r}>" for r in self.references)

    def to_h(self) -> str:
        return ", ".join(addr(n, e) for n, e in self.to)

    def cc_h(self) -> str:
        return ", ".join(addr(n, e) for n, e in self.cc)


def gmail(m: Mail, *, inbound: bool, arrival: datetime | None = None, android: bool = False,
          gdomain: str = "") -> bytes:
    """Gmail web (or the Android app): multipart/alternative, ``000000000000`` boundaries,
    Message-ID ``<CA...@mail.gmail.com>`` (here mail.gmail.example)."""
    m.msgid = m.msgid or f"CA{b64id(m.seed, 44).replace('/', '_')}@mail.gmail.example"
    gdomain = gdomain or m.frm[1].split("@")[1]
    boundary = "000000000000" + hx(m.seed + "b", 16)
    head: list[str] = []
    if inbound:
        assert arrival is not None
        ip = f"209.85.{int(hx(m.seed, 2), 16) % 255}.{int(hx(m.seed + 'i', 2), 16) % 255}"
        helo = f"mail-{'wr' if not android else 'ej'}1-f{int(hx(m.seed, 2), 16) % 90 + 10}.google.example"
        head += mx_received(m.frm[1], helo, ip, arrival, qid_seed=m.seed)
        epoch = int(m.date.timestamp())
        head += [
            f"Received: by {helo} with SMTP id {hx(m.seed + 'smtp', 12)}so{int(hx(m.seed, 7), 16)}f8f.1",
            f"        for <{OWNER}>; {rdate(m.date + timedelta(seconds=1), -480, 'PST')}",
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
            f"        d={gdomain}; s=20230601; t={epoch}; x={epoch + 604800}; darn=bakery.example;",
            "        h=" + ("to:subject:message-id:date:from:in-reply-to:references:mime-version"
                           if m.in_reply_to else "to:subject:message-id:date:from:mime-version")
            + ":from:to:cc",
            "         :subject:date:message-id:reply-to;",
            f"        bh={b64id(m.seed + 'bh', 43)}=;",
            f"        b={b64id(m.seed + 'sig1', 70)}",
            f"         {b64id(m.seed + 'sig2', 70)}",
            f"         {b64id(m.seed + 'sig3', 48)}==",
            f"X-Google-Smtp-Source: AGHT+I{b64id(m.seed + 'gs', 60)}",
            f"X-Received: by 2002:a05:6000:{hx(m.seed, 4)}:b0:37d:{hx(m.seed + 'x', 4)}:{hx(m.seed + 'y', 4)} with SMTP id "
            f"{hx(m.seed + 'z', 12)}mr{int(hx(m.seed, 7), 16)}wry.{int(hx(m.seed, 2), 16)}.{epoch}{int(hx(m.seed, 3), 16) % 1000:03d};",
            f"        {rdate(m.date + timedelta(seconds=1), -480, 'PST')}",
        ]
    head += ["MIME-Version: 1.0"]
    if m.in_reply_to:
        head += [f"References: {m.refs()}", f"In-Reply-To: <{m.in_reply_to}>"]
    head += [f"From: {addr(*m.frm)}", f"Date: {rdate(m.date, m.tz)}", f"Message-ID: <{m.msgid}>",
             f"Subject: {ew(m.subject)}", f"To: {m.to_h()}"]
    if m.cc:
        head.append(f"Cc: {m.cc_h()}")
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    plain = m.body.rstrip("\n") + "\n"
    html = f'<div dir="ltr">{html_of(m.body)}</div>\n'
    enc_plain, cte = (plain, "") if plain.isascii() else (qp(plain), "Content-Transfer-Encoding: quoted-printable\n")
    enc_html, cte_h = (html, "") if html.isascii() else (qp(html), "Content-Transfer-Encoding: quoted-printable\n")
    body = (f"--{boundary}\nContent-Type: text/plain; charset=\"UTF-8\"\n{cte}\n{enc_plain}\n"
            f"--{boundary}\nContent-Type: text/html; charset=\"UTF-8\"\n{cte_h}\n{enc_html}\n"
            f"--{boundary}--\n")
    return join(head, body)


def outlook(m: Mail, *, inbound: bool, arrival: datetime | None = None, tenant: str = "contoso.example",
            extra_head: list[str] | None = None, thread_index: str | None = None) -> bytes:
    """Outlook / Exchange Online: Thread-Topic/Thread-Index, X-MS-* headers, ``_000_`` boundary,
    quoted-printable ``us-ascii`` (or ``utf-8``) parts."""
    server = f"DB9PR0{int(hx(m.seed, 1), 16) % 9 + 1}MB{int(hx(m.seed, 4), 16) % 9000 + 1000}"
    if not m.msgid:
        m.msgid = f"{server}{hx(m.seed, 20).upper()}@{server}.eurprd06.prod.outlook.example"
    token = m.msgid.split("@")[0] + m.msgid.split("@")[1].replace(".", "")[:len(server) + 4]
    boundary = f"_000_{token}_"
    topic = m.subject
    for p in ("RE: ", "FW: ", "Re: ", "AW: ", "WG: "):
        topic = topic.removeprefix(p)
    ti = thread_index or ("Ad" + b64id(m.seed + "ti", 28) + "==")
    head: list[str] = []
    if inbound:
        assert arrival is not None
        head += mx_received(m.frm[1], "EUR05-AM6-obe.outbound.protection.outlook.example",
                            "40.107.22." + str(int(hx(m.seed, 2), 16) % 250), arrival, qid_seed=m.seed)
        head += [
            "ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.example; cv=none;",
            f" b={b64id(m.seed + 'arc', 72)}",
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={tenant};",
            " s=selector1; h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck;",
            f" bh={b64id(m.seed + 'bh', 43)}=;",
            f" b={b64id(m.seed + 'b', 72)}",
            f"Received: from {server}.eurprd06.prod.outlook.example (2603:10a6:10:2c3::17)",
            " by AS8PR06MB7712.eurprd06.prod.outlook.example (2603:10a6:20b:33d::9) with",
            " Microsoft SMTP Server (version=TLS1_2,",
            f" cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8182.20; {rdate_nopad(m.date + timedelta(seconds=1))[:-6]}",
            " +0000",
        ]
    head += [f"From: {addr(*m.frm)}", f"To: {', '.join(f'{chr(34)}{e}{chr(34)} <{e}>' if not n else addr(n, e) for n, e in m.to)}"]
    if m.cc:
        head.append(f"CC: {m.cc_h()}")
    head += [f"Subject: {ew(m.subject)}", f"Thread-Topic: {ew(topic)}", f"Thread-Index: {ti}",
             f"Date: {rdate_nopad(m.date, m.tz)}", "Message-ID:", f" <{m.msgid}>"]
    if m.in_reply_to:
        head += [f"References: {m.refs()}", f"In-Reply-To: <{m.in_reply_to}>"]
    head += ["Accept-Language: en-GB, en-US", "Content-Language: en-GB", "X-MS-Has-Attach:",
             "X-MS-TNEF-Correlator:"]
    if inbound:
        head += ["authentication-results: dkim=none (message not signed)",
                 f" header.d=none;dmarc=none action=none header.from={tenant};",
                 "x-ms-publictraffictype: Email",
                 f"x-ms-traffictypediagnostic: {server}:EE_|AS8PR06MB7712:EE_",
                 f"x-ms-office365-filtering-correlation-id: {uuid(m.seed + 'corr')}",
                 "x-ms-exchange-senderadcheck: 1", "x-ms-exchange-antispam-relay: 0"]
    head += extra_head or []
    plain = m.body.rstrip("\n") + "\n"
    charset = "us-ascii" if plain.isascii() else "utf-8"
    html_part = ('<html xmlns:o="urn:schemas-microsoft-com:office:office">\n<head>\n<meta http-equiv="Content-Type" '
            f'content="text/html; charset={charset}">\n</head>\n<body lang="EN-GB" link="#467886" vlink="#96607D" '
            f'style="word-wrap:break-word">\n<div class="WordSection1">\n'
            + "".join(f'<p class="MsoNormal">{html.escape(ln, quote=False) or "&nbsp;"}<o:p></o:p></p>\n' for ln in m.body.strip().splitlines())
            + "</div>\n</body>\n</html>\n")
    head += ["Content-Type: multipart/alternative;", f'\tboundary="{boundary}"', "MIME-Version: 1.0"]
    if inbound:
        head += [f"X-OriginatorOrg: {tenant}",
                 "X-MS-Exchange-CrossTenant-AuthAs: Internal",
                 f"X-MS-Exchange-CrossTenant-AuthSource: {server}.eurprd06.prod.outlook.example",
                 f"X-MS-Exchange-CrossTenant-Network-Message-Id: {uuid(m.seed + 'nmid')}",
                 f"X-MS-Exchange-CrossTenant-originalarrivaltime: {m.date.strftime('%d %b %Y %H:%M:%S')}.{int(hx(m.seed, 4), 16) % 10000:04d}",
                 " (UTC)",
                 "X-MS-Exchange-CrossTenant-fromentityheader: Hosted",
                 f"X-MS-Exchange-CrossTenant-id: {uuid(tenant)}",
                 "X-MS-Exchange-Transport-CrossTenantHeadersStamped: AS8PR06MB7712"]
    body = (f"--{boundary}\nContent-Type: text/plain; charset=\"{charset}\"\nContent-Transfer-Encoding: quoted-printable\n\n"
            f"{qp(plain)}\n--{boundary}\nContent-Type: text/html; charset=\"{charset}\"\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{qp(html_part)}\n--{boundary}--\n")
    return join(head, body)


def apple_mail(m: Mail, *, inbound: bool, arrival: datetime | None = None, domain: str = "") -> bytes:
    """macOS Mail: Apple-Mail=_UUID boundary, ``Mime-Version: 1.0 (Mac OS X Mail 16.0 ...)``."""
    domain = domain or m.frm[1].split("@")[1]
    m.msgid = m.msgid or f"{uuid(m.seed, upper=True)}@{domain}"
    boundary = f"Apple-Mail={uuid(m.seed + 'b', upper=True).replace('-', '_')[:0]}_{uuid(m.seed + 'b', upper=True)}"
    head: list[str] = []
    if inbound:
        assert arrival is not None
        head += mx_received(m.frm[1], f"smtp.{domain}", f"185.70.{int(hx(m.seed, 2), 16) % 250}.12", arrival,
                            qid_seed=m.seed)
    head += [f"From: {addr(*m.frm)}", "Content-Type: multipart/alternative;", f'\tboundary="{boundary}"',
             "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))", f"Subject: {ew(m.subject)}"]
    if m.in_reply_to:
        head += [f"In-Reply-To: <{m.in_reply_to}>"]
    head += [f"Date: {rdate_nopad(m.date, m.tz)}"]
    if m.cc:
        head.append(f"Cc: {m.cc_h()}")
    head += [f"To: {m.to_h()}"]
    if m.in_reply_to:
        head += [f"References: {m.refs()}"]
    head += [f"Message-Id: <{m.msgid}>", "X-Mailer: Apple Mail (2.3826.200.121)"]
    plain = m.body.rstrip("\n") + "\n"
    if plain.isascii():
        p = f"Content-Transfer-Encoding: 7bit\nContent-Type: text/plain;\n\tcharset=us-ascii\n\n{plain}"
    else:
        p = f"Content-Transfer-Encoding: quoted-printable\nContent-Type: text/plain;\n\tcharset=utf-8\n\n{qp(plain)}"
    html = (f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            f'<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">'
            f"{html_of(m.body)}</body></html>")
    body = (f"\n--{boundary}\n{p}\n--{boundary}\nContent-Transfer-Encoding: quoted-printable\n"
            f"Content-Type: text/html;\n\tcharset=utf-8\n\n{qp(html)}\n--{boundary}--\n")
    return join(head, body)


def iphone(m: Mail, *, inbound: bool, arrival: datetime | None = None, domain: str = "") -> bytes:
    """iOS Mail: a single text/plain part, quoted-printable, ``Mime-Version: 1.0 (1.0)``,
    ``X-Mailer: iPhone Mail (22B91)``, "Sent from my iPhone"."""
    domain = domain or m.frm[1].split("@")[1]
    m.msgid = m.msgid or f"{uuid(m.seed, upper=True)}@{domain}"
    head: list[str] = []
    if inbound:
        assert arrival is not None
        head += mx_received(m.frm[1], f"p-east3-cluster4-host2-snip4-10a.{domain}", "17.57.156.29",
                            arrival, qid_seed=m.seed)
    head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable",
             f"From: {addr(*m.frm)}", "Mime-Version: 1.0 (1.0)", f"Date: {rdate_nopad(m.date, m.tz)}",
             f"Subject: {ew(m.subject)}", f"Message-Id: <{m.msgid}>"]
    if m.in_reply_to:
        head += [f"References: {m.refs()}", f"In-Reply-To: <{m.in_reply_to}>"]
    if m.cc:
        head.append(f"Cc: {m.cc_h()}")
    head += [f"To: {m.to_h()}", "X-Mailer: iPhone Mail (22B91)"]
    text = m.body.rstrip("\n") + "\n\nSent from my iPhone\n"
    return join(head, qp(text))


def thunderbird(m: Mail, *, inbound: bool, arrival: datetime | None = None, domain: str = "") -> bytes:
    """Thunderbird 128: text/plain format=flowed, a lower-case UUID Message-ID."""
    domain = domain or m.frm[1].split("@")[1]
    m.msgid = m.msgid or f"{uuid(m.seed)}@{domain}"
    head: list[str] = []
    if inbound:
        assert arrival is not None
        head += mx_received(m.frm[1], f"mail.{domain}", f"92.{int(hx(m.seed, 2), 16) % 250}.17.4",
                            arrival, qid_seed=m.seed)
    head += [f"Message-ID: <{m.msgid}>", f"Date: {rdate(m.date, m.tz)}", "MIME-Version: 1.0",
             "User-Agent: Mozilla Thunderbird"]
    if m.in_reply_to:
        head += [f"Subject: {ew(m.subject)}", "Content-Language: en-GB", f"To: {m.to_h()}"]
        if m.cc:
            head.append(f"Cc: {m.cc_h()}")
        head += [f"References: {m.refs()}", f"From: {addr(*m.frm)}", f"In-Reply-To: <{m.in_reply_to}>"]
    else:
        head += ["Content-Language: en-GB", f"To: {m.to_h()}"]
        if m.cc:
            head.append(f"Cc: {m.cc_h()}")
        head += [f"From: {addr(*m.frm)}", f"Subject: {ew(m.subject)}"]
    plain = m.body.rstrip("\n") + "\n"
    cte = "7bit" if plain.isascii() else "8bit"
    head += ["Content-Type: text/plain; charset=UTF-8; format=flowed", f"Content-Transfer-Encoding: {cte}"]
    return join(head, plain)


def oldwebmail(m: Mail, *, arrival: datetime, with_msgid: bool = False) -> bytes:
    """A small ISP's old webmail (SquirrelMail-era PHP mailer behind a relay that adds no
    Message-ID): no Message-ID, no threading headers, ``X-Mailer: PHP/7.4``."""
    head = mx_received(m.frm[1], "relay.oldisp.example", "81.2.69.160", arrival, qid_seed=m.seed, tls=False)
    head += [f"Date: {rdate(m.date, m.tz)}", f"To: {m.to_h()}", f"Subject: {ew(m.subject)}",
             f"From: {addr(*m.frm)}"]
    if with_msgid:
        m.msgid = m.msgid or f"{hx(m.seed, 32)}@webmail.oldisp.example"
        head.append(f"Message-ID: <{m.msgid}>")
    head += ["X-Mailer: PHP/7.4.33", "MIME-Version: 1.0", "Content-Type: text/plain; charset=ISO-8859-1",
             "Content-Transfer-Encoding: 8bit"]
    return ("\n".join(head) + "\n\n" + m.body.rstrip("\n") + "\n").encode("latin-1")


CLIENTS = {"gmail": gmail, "outlook": outlook, "apple": apple_mail, "iphone": iphone,
           "thunderbird": thunderbird}


# -- the scenario model ----------------------------------------------------------------------

@dataclass
class Msg:
    file: str
    raw: bytes
    folder: str
    arrived: datetime
    answered: bool = False
    noise: bool | None = None
    reason: list[str] | None = None
    in_conversation_of: str | None = None


@dataclass
class Scenario:
    name: str
    cls: str
    title: str
    why: str
    messages: list[Msg] = field(default_factory=list)
    expect: list[dict] = field(default_factory=list)
    awaiting_total: int | None = None
    group: bool = False

    def add(self, file: str, raw: bytes, arrived: datetime, folder: str = "INBOX", **kw) -> None:
        self.messages.append(Msg(file, raw, folder, arrived, **kw))

    def customer(self, email: str, awaits: bool, waiting_since: datetime | None = None, status: str = "open",
                 conversations: int | None = 1, reason: list[str] | None = None,
                 last_reply: datetime | None = None, reason_absent: list[str] | None = None) -> None:
        d: dict = {"customer": email, "awaits": awaits, "status": status}
        if waiting_since is not None:
            d["waiting_since"] = iso(waiting_since)
        if conversations is not None:
            d["conversations"] = conversations
        if reason:
            d["reason"] = reason
        if last_reply is not None:
            d["last_reply"] = iso(last_reply)
        if reason_absent:
            d["reason_absent"] = reason_absent
        self.expect.append(d)


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(xs: list[str]) -> str:
    return "[" + ", ".join(toml_str(x) for x in xs) + "]"


def write(sc: Scenario) -> None:
    d = HERE / sc.name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    lines = [f"# {sc.title}", f"# Why: {sc.why}", "", f"class = {toml_str(sc.cls)}", f"title = {toml_str(sc.title)}"]
    if sc.group:
        lines.append(f"group_addresses = [{toml_str(GROUP)}]")
    if sc.awaiting_total is not None:
        lines.append(f"awaiting_total = {sc.awaiting_total}")
    for m in sorted(sc.messages, key=lambda x: x.arrived):
        (d / m.file).write_bytes(m.raw)
        lines += ["", "[[message]]", f"file = {toml_str(m.file)}", f"folder = {toml_str(m.folder)}",
                  f"arrived = {toml_str(iso(m.arrived))}"]
        if m.answered:
            lines.append("answered = true")
        if m.noise is not None:
            lines.append(f"noise = {'true' if m.noise else 'false'}")
        if m.reason:
            lines.append(f"reason = {toml_list(m.reason)}")
        if m.in_conversation_of:
            lines.append(f"in_conversation_of = {toml_str(m.in_conversation_of)}")
    for e in sc.expect:
        lines += ["", "[[expect]]"]
        for k in ("customer", "awaits", "waiting_since", "status", "conversations", "reason", "last_reply",
                  "reason_absent"):
            if k not in e:
                continue
            v = e[k]
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, int):
                v = str(v)
            elif isinstance(v, list):
                v = toml_list(v)
            else:
                v = toml_str(v)
            lines.append(f"{k} = {v}")
    (d / "scenario.toml").write_text("\n".join(lines) + "\n")


# -- services --------------------------------------------------------------------------------

def sendgrid_head(seed: str, frm: str, helo: str, ip: str, arrival: datetime, dkim_d: str) -> list[str]:
    bounce = f"bounces+{int(hx(seed, 6), 16) % 9000000}-{hx(seed, 4)}-hello=bakery.example@{helo.split('.', 1)[1]}"
    return mx_received(bounce, helo, ip, arrival, qid_seed=seed) + [
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={dkim_d};",
        "\th=content-type:from:mime-version:reply-to:subject:to:cc:content-type:from:",
        f"\tsubject:to; s=s1; bh={b64id(seed + 'bh', 43)}=;",
        f"\tb={b64id(seed + 'b', 72)}",
        f"\t{b64id(seed + 'b2', 60)}=",
    ]


def wix_form(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime,
             form: str = "Contact us", unsubscribe: bool = False) -> tuple[bytes, str]:
    """Wix Forms through SendGrid; ``unsubscribe`` adds what SendGrid's subscription tracking
    puts on every message it sends (List-Unsubscribe with mailto and one-click https)."""
    boundary = hx(seed + "bd", 60)
    msgid = f"{b64id(seed, 22).replace('/', '_')}@geopod-ismtpd-{int(hx(seed, 2), 16) % 40}"
    first, _, last = person[0].partition(" ")
    head = sendgrid_head(seed, "no-reply@crm.wix.example", "o1.ptr4017.crm.wix.example", "149.72.141.84",
                         arrival, "crm.wix.example") + [
        f"Content-Type: multipart/alternative; boundary={boundary}",
        f"Date: {rdate(date)} (UTC)",
        "From: Wix Forms <no-reply@crm.wix.example>",
        "Mime-Version: 1.0",
        f"Reply-To: {addr(*person)}",
        f"Subject: New submission: {form}",
        f"Message-ID: <{msgid}>",
        f"X-SG-EID: {b64id(seed + 'eid', 88)}",
        f"X-SG-ID: {b64id(seed + 'sgid', 60)}",
        f"To: {OWNER}",
        f"X-Entity-ID: {b64id(seed + 'ent', 24)}==",
    ]
    if unsubscribe:
        token = b64id(seed + "asm", 48).replace("/", "_").replace("+", "-")
        head += [f"List-Unsubscribe: <mailto:unsubscribe@sendgrid.example?subject=unsubscribe_{hx(seed, 16)}>,",
                 f" <https://u4017.ct.sendgrid.example/asm/unsubscribe/?user_id=4017&data={token}>",
                 "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
    plain = (f"You got a new submission\n\nForm: {form}\nSite: Rosie's Bakery\n\n"
             f"First name: {first}\nLast name: {last}\nEmail: {person[1]}\nMessage: {message}\n\n"
             "View submission: https://manage.wix.example/dashboard/forms/submissions\n")
    html = ("<!doctype html><html><body><table>"
            f"<tr><td><h2>You got a new submission</h2></td></tr><tr><td>First name</td><td>{first}</td></tr>"
            f"<tr><td>Last name</td><td>{last}</td></tr><tr><td>Email</td><td><a href=\"mailto:{person[1]}\">"
            f"{person[1]}</a></td></tr><tr><td>Message</td><td>{message}</td></tr></table></body></html>\n")
    body = (f"--{boundary}\nContent-Transfer-Encoding: quoted-printable\nContent-Type: text/plain; charset=us-ascii\n"
            f"Mime-Version: 1.0\n\n{qp(plain)}\n--{boundary}\nContent-Transfer-Encoding: quoted-printable\n"
            f"Content-Type: text/html; charset=us-ascii\nMime-Version: 1.0\n\n{qp(html)}\n--{boundary}--\n")
    return join(head, body), msgid


def squarespace_form(seed: str, person: tuple[str, str], subject_field: str, message: str, date: datetime,
                     arrival: datetime) -> tuple[bytes, str]:
    msgid = f"{int(hx(seed, 10), 16)}.{int(hx(seed + 'x', 6), 16)}@squarespace.example"
    boundary = f"----=_Part_{int(hx(seed, 6), 16)}_{int(hx(seed + 'p', 8), 16)}.{int(date.timestamp()) * 1000}"
    head = mx_received(f"bounce+{hx(seed, 6)}@mg.squarespace.example", "m42-8.mailgun.example", "159.135.228.8",
                       arrival, qid_seed=seed) + [
        "DKIM-Signature: a=rsa-sha256; v=1; c=relaxed/relaxed; d=squarespace.example; q=dns/txt;",
        f" s=mailo; t={int(date.timestamp())}; h=Content-Type: MIME-Version: Subject: Reply-To: To: From: Message-ID: Date;",
        f" bh={b64id(seed + 'bh', 43)}=; b={b64id(seed + 'b', 70)}",
        f"X-Mailgun-Sid: {b64id(seed + 'sid', 64)}",
        f"Date: {rdate(date)} (UTC)",
        "From: Squarespace <form-submission@squarespace.example>",
        f"Reply-To: {person[1]}",
        f"To: {OWNER}",
        f"Message-ID: <{msgid}>",
        f"Subject: Form Submission - New Form - {subject_field}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "Sender: form-submission@squarespace.example",
    ]
    plain = (f"Sent via form submission from Rosie's Bakery\n\nName: {person[0]}\n\nEmail Address: {person[1]}\n\n"
             f"Subject: {subject_field}\n\nMessage: {message}\n\n(Sent via Rosie's Bakery (https://bakery.example/))\n")
    html = (f"<html><body><p>Sent via form submission from <a href=\"https://bakery.example\">Rosie's Bakery</a></p>"
            f"<p>Name: {person[0]}</p><p>Email Address: {person[1]}</p><p>Subject: {subject_field}</p>"
            f"<p>Message: {message}</p></body></html>\n")
    body = (f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 7bit\n\n{plain}\n"
            f"--{boundary}\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: 7bit\n\n{html}\n"
            f"--{boundary}--\n")
    return join(head, body), msgid


def wordpress_head(seed: str, arrival: datetime) -> list[str]:
    return mx_received("wordpress@bakery.example", "web1.hostingco.example", "203.0.113.80", arrival,
                       qid_seed=seed)


def cf7_form(seed: str, person: tuple[str, str], subject_field: str, message: str, date: datetime,
             arrival: datetime, reply_to: bool, frm: str = "Rosie's Bakery <wordpress@bakery.example>"
             ) -> tuple[bytes, str]:
    """Contact Form 7's default "Mail" template through wp_mail (PHPMailer). ``frm`` is the
    form's "From" setting (CF7 suggests an address of the site's own domain, for SPF)."""
    msgid = f"{b64id(seed, 43).replace('/', '').replace('+', '')}@bakery.example"
    head = wordpress_head(seed, arrival) + [
        f"To: {OWNER}",
        f"Subject: Rosie's Bakery \"{subject_field}\"",
        f"Date: {rdate(date)}",
        f"From: {frm}",
    ]
    if reply_to:
        head.append(f"Reply-To: {person[1]}")
    head += [f"Message-ID: <{msgid}>", "X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit"]
    body = (f"From: {person[0]} <{person[1]}>\nSubject: {subject_field}\n\nMessage Body:\n{message}\n\n-- \n"
            "This e-mail was sent from a contact form on Rosie's Bakery (https://bakery.example)\n")
    return join(head, body), msgid


def wpforms(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime,
            frm: str = "Rosie's Bakery <wordpress@bakery.example>") -> tuple[bytes, str]:
    """WPForms' default notification ("New Entry: Contact Form"), here without Reply-To (the
    site's notification was set up before WPForms filled it in): the address is only in the body.
    ``frm`` is its "From Email" setting (WPForms' default is ``{admin_email}``, the owner's own)."""
    msgid = f"{b64id(seed, 43).replace('/', '').replace('+', '')}@bakery.example"
    boundary = f"b1=_{b64id(seed + 'bd', 43).replace('/', '').replace('+', '')}"
    head = wordpress_head(seed, arrival) + [
        f"To: {OWNER}",
        "Subject: New Entry: Contact Form",
        f"Date: {rdate(date)}",
        f"From: {frm}",
        f"Message-ID: <{msgid}>",
        "X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative;",
        f' boundary="{boundary}"',
        "Content-Transfer-Encoding: 8bit",
    ]
    plain = (f"Name\n{person[0]}\n\nEmail\n{person[1]}\n\nComment or Message\n{message}\n\n"
             "---\n\nSent from Rosie's Bakery\n")
    html = ("<table class=\"body\"><tr><td class=\"field-name\"><strong>Name</strong></td></tr>"
            f"<tr><td class=\"field-value\">{person[0]}</td></tr><tr><td class=\"field-email\"><strong>Email</strong></td></tr>"
            f"<tr><td class=\"field-value\"><a href=\"mailto:{person[1]}\">{person[1]}</a></td></tr>"
            "<tr><td class=\"field-textarea\"><strong>Comment or Message</strong></td></tr>"
            f"<tr><td class=\"field-value\">{message}</td></tr></table>\n")
    body = (f"This is a multi-part message in MIME format.\n--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
            f"{plain}\n--{boundary}\nContent-Type: text/html; charset=us-ascii\n\n{html}\n--{boundary}--\n")
    return join(head, body), msgid


def shopify_contact(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime,
                    country: str = "GB", phone: str = "") -> tuple[bytes, str]:
    msgid = f"{hx(seed, 24)}_{int(hx(seed, 4), 16)}@shopify.example"
    local = date.astimezone(timezone(timedelta(minutes=0)))
    when = f"{local.strftime('%B')} {local.day}, {local.year} at {local.strftime('%I:%M').lstrip('0')} {local.strftime('%p').lower()}"
    head = mx_received(f"bounces+{hx(seed, 8)}@email.shopify.example", "mail242.email.shopify.example",
                       "23.227.38.242", arrival, qid_seed=seed) + [
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shopify.example; s=shopify; t={int(date.timestamp())};",
        f"\tbh={b64id(seed + 'bh', 43)}=; h=Date:From:Reply-To:To:Message-ID:Subject:Mime-Version:Content-Type;",
        f"\tb={b64id(seed + 'b', 70)}",
        f"Date: {rdate(date)}",
        "From: Rosie's Bakery <mailer@shopify.example>",
        f"Reply-To: {person[1]}",
        f"To: {OWNER}",
        f"Message-ID: <{msgid}>",
        f"Subject: New customer message on {when}",
        "Mime-Version: 1.0",
        "Content-Type: text/plain;",
        " charset=UTF-8",
        "Content-Transfer-Encoding: quoted-printable",
        "X-Shopify-Email-Template: contact_buyer",
    ]
    body = (f"You received a new message from your online store's contact form.\n\nCountry Code:\n{country}\n\n"
            f"Name:\n{person[0]}\n\nEmail:\n{person[1]}\n\nPhone Number:\n{phone}\n\nBody:\n{message}\n")
    return join(head, qp(body)), msgid


def jotform(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime) -> tuple[bytes, str]:
    msgid = f"jotform.{int(hx(seed, 12), 16)}@jotform.example"
    sub = int(hx(seed, 12), 16) % 10**18
    head = mx_received("noreply@jotform.example", "mail-01.jotform.example", "198.51.100.40", arrival,
                       qid_seed=seed) + [
        f"Date: {rdate(date)}",
        "From: Jotform <noreply@jotform.example>",
        f"Reply-To: {addr(*person)}",
        f"To: {OWNER}",
        f"Subject: Re: Custom Cake Order - {person[0]}",
        f"Message-ID: <{msgid}>",
        "X-Mailer: JotForm Mailer",
        f"X-Jotform-Submission-ID: {sub}",
        "MIME-Version: 1.0",
        'Content-Type: text/html; charset="UTF-8"',
        "Content-Transfer-Encoding: quoted-printable",
    ]
    html = ("<html><body><table width=\"600\"><tr><td>Custom Cake Order</td></tr>"
            f"<tr><td>Full Name</td><td>{person[0]}</td></tr>"
            f"<tr><td>E-mail</td><td><a href=\"mailto:{person[1]}\">{person[1]}</a></td></tr>"
            f"<tr><td>Tell us about your cake</td><td>{message}</td></tr>"
            f"<tr><td colspan=\"2\">Submission ID: {sub}</td></tr></table></body></html>\n")
    return join(head, qp(html)), msgid


def typeform(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime,
             reply_to: bool = True) -> tuple[bytes, str]:
    """Typeform's "new response" notification, Reply-To set to the respondent's email answer
    (an option of the form's notification; without it the address is only in the answers)."""
    msgid = f"{uuid(seed)}@typeform.example"
    b = hx(seed + "bd", 28)
    head = sendgrid_head(seed, "notifications@typeform.example", "o7.email.typeform.example", "167.89.100.7",
                         arrival, "typeform.example") + [
        f"Content-Type: multipart/alternative; boundary={b}",
        f"Date: {rdate(date)} (UTC)",
        "From: Typeform <notifications@typeform.example>",
        "Mime-Version: 1.0",
        *([f"Reply-To: {person[1]}"] if reply_to else []),
        "Subject: New response to Cake enquiry",
        f"Message-ID: <{msgid}>",
        f"To: {OWNER}",
    ]
    plain = (f"Cake enquiry has a new response\n\nWhat's your name?\n{person[0]}\n\nWhat's your email address?\n"
             f"{person[1]}\n\nWhat can we bake for you?\n{message}\n\nSee all responses: "
             "https://admin.typeform.example/form/Xa1b2C/results\n")
    html = (f"<html><body><h1>Cake enquiry has a new response</h1><p><b>What's your name?</b><br>{person[0]}</p>"
            f"<p><b>What's your email address?</b><br>{person[1]}</p><p><b>What can we bake for you?</b><br>"
            f"{message}</p></body></html>\n")
    body = (f"--{b}\nContent-Transfer-Encoding: quoted-printable\nContent-Type: text/plain; charset=us-ascii\n"
            f"Mime-Version: 1.0\n\n{qp(plain)}\n--{b}\nContent-Transfer-Encoding: quoted-printable\n"
            f"Content-Type: text/html; charset=us-ascii\nMime-Version: 1.0\n\n{qp(html)}\n--{b}--\n")
    return join(head, body), msgid


def etsy_sale(seed: str, person: tuple[str, str], note_text: str, date: datetime, arrival: datetime) -> tuple[bytes, str]:
    """Etsy's "You made a sale" to the seller: transaction@ From, no Reply-To, the buyer's name and
    email in the order details and their "Note from buyer"."""
    order = int(hx(seed, 8), 16) % 10**10
    msgid = f"{int(hx(seed, 10), 16)}.{order}.transaction@etsy.example"
    b = f"=_{hx(seed + 'bd', 32)}"
    head = mx_received("bounce-transaction@etsy.example", "mail-a12.etsy.example", "66.102.4.12", arrival,
                       qid_seed=seed) + [
        f"Date: {rdate(date, -300)}",
        f"To: {OWNER}",
        "From: Etsy <transaction@etsy.example>",
        f"Subject: You made a sale on Etsy - Ship by Nov 27 - [$38.00, Order #{order}]",
        f"Message-ID: <{msgid}>",
        "X-Etsy-Email-Type: transaction_seller_sale",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{b}"',
    ]
    note = f"Note from buyer:\n{note_text}\n\n" if note_text else ""  # Etsy leaves the section out
    plain = (f"Congratulations on your Etsy sale of 1 item.\n\nShip by: Nov 27\n\n{note}"
             f"Order details\nOrder number: {order}\nItem: Personalised gingerbread house\nQuantity: 1\nItem total: $38.00\n\n"
             f"Buyer\n{person[0]}\nEmail: {person[1]}\n\nShipping address\n{person[0]}\n12 Mill Lane\nOxford OX1 1AA\nUnited Kingdom\n")
    note_html = f"<h3>Note from buyer</h3><p>{note_text}</p>" if note_text else ""
    html = (f"<html><body><p>Congratulations on your Etsy sale of 1 item.</p>{note_html}"
            f"<h3>Buyer</h3><p>{person[0]}<br><a href=\"mailto:{person[1]}\">{person[1]}</a></p></body></html>\n")
    body = (f"--{b}\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n{qp(plain)}\n"
            f"--{b}\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n{qp(html)}\n--{b}--\n")
    return join(head, body), msgid


def google_forms_addon(seed: str, person: tuple[str, str], message: str, date: datetime,
                       arrival: datetime) -> tuple[bytes, str]:
    """A Google Forms notification add-on (Email Notifications for Forms, Form Mailer): Apps
    Script sends it through the form owner's Google account (here the shop's Gmail for its forms),
    with Reply-To set to the respondent's email answer."""
    sender = "rosiesbakery.forms@gmail.example"
    msgid = f"000000000000{hx(seed, 16)}@google.example"
    b = "000000000000" + hx(seed + "bd", 16)
    head = mx_received(sender, "mail-sor-f41.google.example", "209.85.220.41", arrival, qid_seed=seed) + [
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
        f"        d=gmail.example; s=20230601; t={int(date.timestamp())}; x={int(date.timestamp()) + 604800}; darn=bakery.example;",
        "        h=to:from:subject:date:message-id:reply-to:mime-version:from:to:cc",
        "         :subject:date:message-id:reply-to;",
        f"        bh={b64id(seed + 'bh', 43)}=;",
        f"        b={b64id(seed + 'b', 70)}",
        f"X-Google-Smtp-Source: AGHT+I{b64id(seed + 'gs', 60)}",
        "MIME-Version: 1.0",
        f"Reply-To: {person[1]}",
        f"Sender: {sender}",
        f"Message-ID: <{msgid}>",
        f"Date: {rdate(date)}",
        "Subject: New response: Cake order form",
        f"From: Cake Order Form <{sender}>",
        f"To: {OWNER}",
        f'Content-Type: multipart/alternative; boundary="{b}"',
    ]
    plain = (f"{person[0]} submitted a response to Cake order form\n\nName\n{person[0]}\n\nEmail address\n{person[1]}\n\n"
             f"What would you like?\n{message}\n\nView all responses in Google Sheets\n")
    html_part = (f"<div><p><b>{person[0]}</b> submitted a response to <b>Cake order form</b></p><table>"
                 f"<tr><td>Name</td><td>{person[0]}</td></tr><tr><td>Email address</td><td>{person[1]}</td></tr>"
                 f"<tr><td>What would you like?</td><td>{message}</td></tr></table></div>\n")
    body = (f"--{b}\nContent-Type: text/plain; charset=\"UTF-8\"\n\n{plain}\n"
            f"--{b}\nContent-Type: text/html; charset=\"UTF-8\"\n\n{html_part}\n--{b}--\n")
    return join(head, body), msgid


def google_group(seed: str, person: tuple[str, str], subject: str, body_text: str, date: datetime,
                 arrival: datetime, rewrite: bool) -> tuple[bytes, str]:
    """A message to info@bakery.example as a Google Group delivers it to each member (here the
    owner's hello@): List-Id, Precedence: list, Mailing-list, and, when the sender's domain has a
    DMARC reject policy, From rewritten to "Name via Info" <info@...>, the person in Reply-To
    and X-Original-From (Google Groups' DMARC mitigation)."""
    g = Mail(frm=person, to=[("", GROUP)], subject=subject, date=date, body=body_text, seed=seed)
    inner = gmail(g, inbound=False)
    inner_head, _, inner_body = inner.decode().partition("\n\n")
    ih = [ln for ln in inner_head.split("\n") if not ln.startswith(("From:", "MIME-Version"))]
    frm = (f'"{person[0]} via Info" <{GROUP}>' if rewrite else addr(*person))
    bounce = f"info+bncBDL{b64id(seed, 30).replace('/', '')}@bakery.example"
    head = mx_received(bounce, "mail-sor-f69.google.example", "209.85.220.69", arrival, qid_seed=seed) + [
        f"ARC-Seal: i=2; a=rsa-sha256; t={int(date.timestamp())}; cv=pass;",
        "        d=google.example; s=arc-20240605;",
        f"        b={b64id(seed + 'arc', 70)}",
        f"X-Original-Sender: {person[1]}",
        f"X-Original-Authentication-Results: mx.google.example; dkim=pass header.i=@{person[1].split('@')[1]};",
        f"       dmarc=pass (p={'REJECT' if rewrite else 'NONE'} sp={'REJECT' if rewrite else 'NONE'} dis=NONE) header.from={person[1].split('@')[1]}",
        "MIME-Version: 1.0",
        f"From: {frm}",
    ]
    if rewrite:
        head += [f"Reply-To: {addr(*person)}", f"X-Original-From: {addr(*person)}"]
    head += ih + [
        "Precedence: list",
        "Mailing-list: list info@bakery.example; contact info+owners@bakery.example",
        "List-ID: <info.bakery.example>",
        "X-Spam-Checked-In-Group: " + person[1],
        "X-Google-Group-Id: 4938720155",
        "List-Post: <https://groups.google.example/a/bakery.example/group/info/post>, <mailto:info@bakery.example>",
        "List-Help: <https://support.google.example/a/bakery.example/bin/topic.py?topic=25838>,",
        " <mailto:info+help@bakery.example>",
        "List-Archive: <https://groups.google.example/a/bakery.example/group/info/>",
        "List-Unsubscribe: <mailto:googlegroups-manage+4938720155+unsubscribe@googlegroups.example>,",
        " <https://groups.google.example/a/bakery.example/group/info/subscribe>",
    ]
    return join(head, inner_body), g.msgid


# -- machines: auto-replies, bounces, reports --------------------------------------------------

def exchange_ooo(seed: str, person: tuple[str, str], subject_prefix: str, orig_subject: str, text: str,
                 date: datetime, arrival: datetime, in_reply_to: str, tz: int = 60,
                 auto_submitted: bool = False) -> bytes:
    """An Exchange/Outlook out-of-office: "Automatic reply:" (localised) subject,
    X-Auto-Response-Suppress: All, X-MS-Exchange-Inbox-Rules-Loop, In-Reply-To the trigger,
    no Auto-Submitted header (on-premises Exchange and old Outlook rules leave it out)."""
    head_extra = ["X-Auto-Response-Suppress: All",
                  f"X-MS-Exchange-Inbox-Rules-Loop: {person[1]}",
                  "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
                  "X-MS-Exchange-Transport-EndToEndLatency: 00:00:00.4112381",
                  "X-MS-Exchange-Processed-By-BccFoldering: 15.20.8182.017"]
    if auto_submitted:
        head_extra.insert(0, "Auto-Submitted: auto-generated")
    m = Mail(frm=person, to=[(OWNER_NAME, OWNER)], subject=f"{subject_prefix} {orig_subject}", date=date,
             body=text, seed=seed, in_reply_to=in_reply_to, references=[in_reply_to], tz=tz)
    return outlook(m, inbound=True, arrival=arrival, tenant=person[1].split("@")[1], extra_head=head_extra)


def lotus_auto(seed: str, person: tuple[str, str], orig_subject: str, returning: str, date: datetime,
               arrival: datetime) -> bytes:
    """Lotus Notes/Domino: "AUTO: Name is out of the office (returning ...)", no In-Reply-To,
    X-Mailer: Lotus Domino; only the subject and Precedence say it is automatic."""
    domain = person[1].split("@")[1]
    head = mx_received(person[1], f"smtp1.{domain}", "198.51.100.77", arrival, qid_seed=seed, tls=False) + [
        f"Subject: AUTO: {person[0]} is out of the office (returning {returning})",
        f"To: {OWNER}",
        f"Message-ID: <OF{hx(seed, 8).upper()}.{hx(seed + 'a', 8).upper()}-ON{hx(seed + 'b', 8).upper()}.{hx(seed + 'c', 8).upper()}@{domain}>",
        f"From: {person[1]}",
        f"Date: {rdate(date, 60)}",
        f"X-MIMETrack: Serialize by Router on DOMINO01/{domain.split('.')[0].upper()}(Release 12.0.2FP3|February 20, 2024) at",
        f" {date.strftime('%d/%m/%Y %H:%M:%S')}",
        "MIME-Version: 1.0",
        "Content-type: text/plain; charset=US-ASCII",
        "X-Mailer: Lotus Domino Release 12.0.2FP3",
    ]
    body = (f"I will be out of the office starting  20/11/2026 and will not return until {returning}.\n\n"
            f"I will respond to your message when I return. For urgent matters please call reception.\n\n"
            f"Note: This is an automated response to your message  \"{orig_subject}\" sent on "
            f"{(date - timedelta(minutes=1)).strftime('%d/%m/%Y %H:%M:%S')}.\n\n"
            "This is the only notification you will receive while this person is away.\n")
    return join(head, body)


def exim_autoresponder(seed: str, person: tuple[str, str], orig_subject: str, text: str, date: datetime,
                       arrival: datetime, in_reply_to: str | None, style: str) -> bytes:
    """cPanel/Exim and hosted-webmail autoresponders. ``style``: "precedence" (Precedence:
    auto_reply only), "x-autoreply" (X-Autoreply: yes), "x-autorespond" (X-Autorespond)."""
    domain = person[1].split("@")[1]
    head = mx_received(person[1], f"server{int(hx(seed, 2), 16)}.webhost.example", "192.0.2.33", arrival,
                       qid_seed=seed) + [
        f"Received: from {person[1].split('@')[0]} by server{int(hx(seed, 2), 16)}.webhost.example with local (Exim 4.98)",
        f"\t(envelope-from <{person[1]}>)",
        f"\tid 1t{b64id(seed, 5)}-0000{hx(seed, 2).upper()}-{b64id(seed + 'e', 2)}",
        f"\tfor {OWNER}; {rdate(date, 60)}",
        f"To: {OWNER}",
        f"Subject: {ew(text.splitlines()[0])}",
        f"From: {addr(*person)}",
    ]
    if style == "precedence":
        head += ["Precedence: auto_reply"]
    elif style == "x-autoreply":
        head += ["X-Autoreply: yes"]
    else:
        head += ["X-Autorespond: " + ew(text.splitlines()[0])]
    if in_reply_to:
        head += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    head += [f"Message-Id: <E1t{b64id(seed, 6)}-0000{hx(seed, 2).upper()}-{b64id(seed + 'm', 2)}@server{int(hx(seed, 2), 16)}.webhost.example>",
             f"Date: {rdate(date, 60)}", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: 8bit"]
    return join(head, "\n".join(text.splitlines()[1:]).strip() + "\n")


def postfix_bounce(seed: str, original: bytes, failed_rcpt: str, date: datetime, arrival: datetime,
                   reporting_mta: str = "mx.bakery.example", diag: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
                   from_header: str | None = "MAILER-DAEMON@mx.bakery.example (Mail Delivery System)") -> bytes:
    """Postfix's own bounce: multipart/report; report-type=delivery-status, the notification,
    message/delivery-status, and the returned message (here its headers, text/rfc822-headers)."""
    qid = b64id("qq" + seed, 10).replace("/", "x").replace("+", "y")
    boundary = f"{qid[:10]}.{int(date.timestamp())}/{reporting_mta}"
    orig_head = original.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    head = [
        "Return-Path: <>",
        f"Delivered-To: {OWNER}",
        "Received: from mx.bakery.example",
        "\tby imap.bakery.example with LMTP",
        f"\tid {b64id(seed + 'l', 22).replace('/', 'x')}",
        f"\tfor <{OWNER}>; {rdate(arrival)}",
        f"Received: by {reporting_mta} (Postfix)",
        f"\tid 4{qid}; {rdate(arrival - timedelta(seconds=1))} (UTC)",
        f"Date: {rdate(date)} (UTC)",
    ]
    if from_header is not None:
        head.append(f"From: {from_header}")
    head += [
        "Subject: Undelivered Mail Returned to Sender",
        f"To: {OWNER}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f'\tboundary="{boundary}"',
        "Content-Transfer-Encoding: 7bit",
        f"Message-Id: <20261120{hx(seed, 6)}.4{qid}@{reporting_mta}>",
    ]
    d = diag.format(rcpt=failed_rcpt)
    body = (
        "This is a MIME-encapsulated message.\n\n"
        f"--{boundary}\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"This is the mail system at host {reporting_mta}.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "For further assistance, please send mail to postmaster.\n\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the attached returned message.\n\n"
        "                   The mail system\n\n"
        f"<{failed_rcpt}>: host mx.{failed_rcpt.split('@')[1]}[198.51.100.25] said: {d} (in reply to RCPT TO command)\n\n"
        f"--{boundary}\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; {reporting_mta}\nX-Postfix-Queue-ID: 4{qid}\nX-Postfix-Sender: rfc822; {OWNER}\n"
        f"Arrival-Date: {rdate(date - timedelta(seconds=3))} (UTC)\n\n"
        f"Final-Recipient: rfc822; {failed_rcpt}\nOriginal-Recipient: rfc822;{failed_rcpt}\nAction: failed\n"
        f"Status: 5.1.1\nRemote-MTA: dns; mx.{failed_rcpt.split('@')[1]}\nDiagnostic-Code: smtp; {d}\n\n"
        f"--{boundary}\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
        f"{orig_head}\n\n--{boundary}--\n"
    )
    return join(head, body)


def gmail_dsn(seed: str, original: bytes, original_id: str, failed_rcpt: str, date: datetime,
              arrival: datetime) -> bytes:
    """Gmail's "Delivery Status Notification (Failure)" from mailer-daemon@googlemail.com,
    with X-Failed-Recipients and In-Reply-To/References to the message that failed."""
    boundary = "000000000000" + hx(seed + "dsn", 16)
    orig_head = original.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    head = mx_received("", "mail-sor-f73.google.example", "209.85.220.73", arrival, qid_seed=seed) + [
        f"Received: by 2002:a05:6402:{hx(seed, 4)}:b0:5c8:{hx(seed + 'q', 4)}:{hx(seed + 'r', 4)} with SMTP id {hx(seed, 10)};",
        f"        {rdate(date, -480, 'PST')}",
        f"X-Failed-Recipients: {failed_rcpt}",
        f"Message-ID: <{hx(seed, 12)}.050a0220.{hx(seed + 'm', 6)}.{hx(seed + 'n', 4)}.GMR@mx.google.example>",
        f"Date: {rdate(date, -480)}",
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.example>",
        f"To: {OWNER}",
        "Auto-Submitted: auto-replied",
        "Subject: Delivery Status Notification (Failure)",
        f"References: <{original_id}>",
        f"In-Reply-To: <{original_id}>",
        "X-Gm-Message-State: " + b64id(seed + "st", 60),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; boundary="{boundary}"; report-type=delivery-status',
    ]
    body = (
        f"--{boundary}\nContent-Type: multipart/related; boundary=\"{boundary}x\"\n\n"
        f"--{boundary}x\nContent-Type: multipart/alternative; boundary=\"{boundary}y\"\n\n"
        f"--{boundary}y\nContent-Type: text/plain; charset=\"UTF-8\"\n\n\n"
        "** Address not found **\n\n"
        f"Your message wasn't delivered to {failed_rcpt} because the address couldn't be found, "
        "or is unable to receive mail.\n\nLearn more here: https://support.google.example/mail/?p=NoSuchUser\n\n"
        f"The response was:\n\n550 5.1.1 The email account that you tried to reach does not exist.\n\n"
        f"--{boundary}y--\n--{boundary}x--\n"
        f"--{boundary}\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; googlemail.example\nReceived-From-MTA: dns; {OWNER}\n"
        f"Arrival-Date: {rdate(date - timedelta(seconds=2), -480)}\nX-Original-Message-ID: <{original_id}>\n\n"
        f"Final-Recipient: rfc822; {failed_rcpt}\nAction: failed\nStatus: 5.1.1\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.\n"
        f"Last-Attempt-Date: {rdate(date, -480)}\n\n"
        f"--{boundary}\nContent-Type: message/rfc822\n\n{original.decode('utf-8', 'replace')}\n"
        f"--{boundary}--\n"
    )
    return join(head, body)


def exchange_ndr(seed: str, original: bytes, original_subject: str, failed_rcpt: str, date: datetime,
                 arrival: datetime) -> bytes:
    """Exchange Online NDR: "Undeliverable: ...", From postmaster@<tenant>, multipart/report."""
    tenant = failed_rcpt.split("@")[1]
    b = f"_{hx(seed, 8)}-{hx(seed + 'a', 4)}-{hx(seed + 'b', 4)}-{hx(seed + 'c', 4)}-{hx(seed + 'd', 12)}_"
    orig_head = original.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    head = mx_received("", "EUR03-AM7-obe.outbound.protection.outlook.example", "40.107.105.81", arrival,
                       qid_seed=seed) + [
        f"From: postmaster@{tenant}",
        f"To: {OWNER}",
        f"Date: {rdate_nopad(date)}",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f'\tboundary="{b}"',
        "X-MS-Exchange-Message-Is-Ndr:",
        "Content-Language: en-GB",
        "Message-ID:",
        f" <{uuid(seed)}@AM8PR06MB7735.eurprd06.prod.outlook.example>",
        f"Subject: Undeliverable: {original_subject}",
        "Auto-Submitted: auto-replied",
        "X-MS-PublicTrafficType: Email",
        "MIME-Version: 1.0",
    ]
    body = (
        f"--{b}\nContent-Type: multipart/alternative; differences=Content-Type;\n\tboundary=\"{b}a\"\n\n"
        f"--{b}a\nContent-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: quoted-printable\n\n"
        + qp(f"Your message to {failed_rcpt} couldn't be delivered.\n{failed_rcpt.split('@')[0]} wasn't found at {tenant}.\n"
             "\nAction Required\nUnknown To address\n\nDiagnostic information for administrators:\n\n"
             f"Generating server: AM8PR06MB7735.eurprd06.prod.outlook.example\n{failed_rcpt}\n"
             "Remote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n")
        + f"\n--{b}a--\n\n--{b}\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns;AM8PR06MB7735.eurprd06.prod.outlook.example\nReceived-From-MTA: dns;mx.bakery.example\n"
        f"Arrival-Date: {rdate_nopad(date - timedelta(seconds=2))}\n\n"
        f"Original-Recipient: rfc822;{failed_rcpt}\nFinal-Recipient: rfc822;{failed_rcpt}\nAction: failed\n"
        "Status: 5.1.10\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\n\n"
        f"--{b}\nContent-Type: message/rfc822\n\n{original.decode('utf-8', 'replace')}\n--{b}--\n"
    )
    return join(head, body)


# -- scenario building helpers ---------------------------------------------------------------

OWNER_FROM = (OWNER_NAME, OWNER)


def send(client: str, m: Mail, arrival: datetime | None = None, **kw) -> bytes:
    fn = CLIENTS[client]
    return fn(m, inbound=arrival is not None, arrival=arrival, **kw)


def ask(sc: Scenario, file: str, client: str, person: tuple[str, str], subject: str, date: datetime, body: str,
        delay: int = 3, to: list[tuple[str, str]] | None = None, cc=None, reply_to: Mail | None = None,
        arrived: datetime | None = None, tz: int = 0, **msg_kw) -> Mail:
    """An inbound message from a person (optionally answering ``reply_to``)."""
    m = Mail(frm=person, to=to or [("", OWNER)], subject=subject, date=date, body=body, seed=sc.name + file,
             cc=cc or [], tz=tz)
    if reply_to is not None:
        m.in_reply_to = reply_to.msgid
        m.references = [*reply_to.references, reply_to.msgid]
    arrival = arrived or date + timedelta(seconds=delay)
    sc.add(file, send(client, m, arrival), arrival, **msg_kw)
    return m


def reply(sc: Scenario, file: str, client: str, parent: Mail, to: list[tuple[str, str]], date: datetime,
          body: str, subject: str | None = None, cc=None, delay: int = 2, arrived: datetime | None = None,
          frm=OWNER_FROM, folder: str = "Sent", quote_parent: bool = True, **msg_kw) -> Mail:
    """The owner's message in the thread of ``parent``: a Sent copy written by ``client``."""
    subj = subject or ("RE: " if client == "outlook" else "Re: ") + parent.subject.removeprefix("Re: ").removeprefix("RE: ")
    text = body
    if quote_parent:
        text = body.rstrip() + "\n\n" + attribution(client, parent) + "\n"
    m = Mail(frm=frm, to=to, subject=subj, date=date, body=text, seed=sc.name + file, cc=cc or [],
             in_reply_to=parent.msgid, references=[*parent.references, parent.msgid] if parent.msgid else [])
    arrival = arrived or date + timedelta(seconds=delay)
    kw = {}
    if client == "outlook":
        kw["tenant"] = "bakery.example"
    sc.add(file, send(client, m, None, **kw), arrival, folder=folder, **msg_kw)
    return m


def attribution(client: str, parent: Mail) -> str:
    """The quoted parent as each client writes it under a reply."""
    name, email_ = parent.frm[0] or parent.frm[1], parent.frm[1]
    d = parent.date
    if client == "thunderbird":
        return f"On {d.strftime('%d/%m/%Y %H:%M')}, {name} wrote:\n{quote(parent.body)}"
    if client in ("apple", "iphone"):
        return f"> On {d.day} {d.strftime('%b %Y')}, at {d.strftime('%H:%M')}, {name} <{email_}> wrote:\n> \n{quote(parent.body)}"
    if client == "outlook":
        return (f"From: {name} <{email_}>\nSent: {d.strftime('%d %B %Y %H:%M')}\nTo: {OWNER} <{OWNER}>\n"
                f"Subject: {parent.subject}\n\n{parent.body.strip()}")
    return f"On {d.strftime('%a, %d %b %Y at %H:%M')}, {name} <{email_}> wrote:\n{quote(parent.body)}"


def note(sc: Scenario, file: str, raw: bytes, arrived: datetime, **kw) -> None:
    sc.add(file, raw, arrived, **kw)


PEOPLE = {
    "jane": ("Jane Morgan", "jane.morgan@mail.example"),
    "tom": ("Tom Fletcher", "tom.fletcher@mail.example"),
    "priya": ("Priya Shah", "priya.shah@mail.example"),
    "amelia": ("Amelia Clarke", "amelia.clarke@mail.example"),
    "oliver": ("Oliver Grant", "oliver.grant@mail.example"),
    "claire": ("Claire Dubois", "claire@dubois.example"),
    "paul": ("Paul Harris", "paul.harris@contoso.example"),
    "mike": ("Mike Chen", "mike.chen@icloud.example"),
    "lena": ("Lena Vogel", "lena.vogel@vogel-events.example"),
    "marco": ("Marco Rossi", "marco.rossi@rossi-catering.example"),
    "sofia": ("Sofía García", "sofia.garcia@correo.example"),
    "anna": ("Anna de Vries", "anna.devries@devries.example"),
    "hugo": ("Hugo Martin", "hugo.martin@martin-traiteur.example"),
    "peter": ("Peter Novak", "peter@novak.example"),
    "grace": ("Grace Kim", "grace.kim@gmail.example"),
    "ruth": ("Ruth Ellis", "ruth.ellis@gmail.example"),
    "dan": ("Dan Wright", "dan.wright@gmail.example"),
    "nina": ("Nina Patel", "nina.patel@outlook.example"),
    "sean": ("Sean Murphy", "sean.murphy@mail.example"),
    "ivy": ("Ivy Turner", "ivy.turner@mail.example"),
}
SUPPLIER = ("Orders", "orders@flourmill.example")
STAFF_P = ("Sam Baker", STAFF)


# -- the scenarios ---------------------------------------------------------------------------

ALL: list[Scenario] = []


def one_lead(sc: Scenario, file: str, raw: bytes, date: datetime, delay: int, customer: str) -> None:
    """A scenario of one form or platform message that arrived ``delay`` seconds after its Date:
    read as the person's own, and that person waits since the Date."""
    sc.add(file, raw, date + timedelta(seconds=delay), noise=False, reason=LEAD_REASON)
    sc.customer(customer, True, date, reason=LEAD_REASON)
    sc.awaiting_total = 1


def scenario(name: str, cls: str, title: str, why: str, **kw) -> Scenario:
    sc = Scenario(name, cls, title, why, **kw)
    ALL.append(sc)
    return sc


def stub(person, subject, date, body, msgid) -> Mail:
    return Mail(frm=person, to=[("", OWNER)], subject=subject, date=date, body=body, seed="", msgid=msgid)


def plain_scenarios() -> None:
    P = PEOPLE
    sc = scenario("01-gmail-web-question", "plain", "Gmail web: a new question, unanswered",
                  "The baseline: one inbound message awaits since its Date.")
    q = ask(sc, "01-question.eml", "gmail", P["grace"], "Gluten-free sourdough?", t("2026-11-20 08:41:12"),
            "Hi,\n\nDo you bake a gluten-free sourdough, and if so which days?\n\nThanks,\nGrace")
    sc.customer(P["grace"][1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("02-gmail-android-answered", "plain", "Gmail Android app question, owner answers from Thunderbird",
                  "An owner reply To the customer in Sent closes the wait.")
    q = ask(sc, "01-question.eml", "gmail", P["dan"], "Opening hours on Sunday", t("2026-11-19 07:12:40"),
            "Are you open this Sunday morning?\nDan")
    reply(sc, "02-reply.eml", "thunderbird", q, [P["dan"]], t("2026-11-19 08:05:00"),
          "Hi Dan,\n\nYes, 8am to 1pm on Sundays.\n\nRosie")
    sc.customer(P["dan"][1], False)
    sc.awaiting_total = 0

    sc = scenario("03-outlook-exchange-thread", "plain", "Outlook/Exchange thread: question, answer, new question",
                  "Waiting since the first inbound message after the owner's last reply.")
    q = ask(sc, "01-question.eml", "outlook", P["paul"], "Catering order for 40 people", t("2026-11-18 13:02:09"),
            "Hello,\n\nCould you quote for sandwiches and pastries for 40 people on 4 December?\n\nKind regards,\nPaul Harris")
    r = reply(sc, "02-reply.eml", "thunderbird", q, [P["paul"]], t("2026-11-18 16:40:00"),
              "Dear Paul,\n\nHappy to: about 6 GBP a head. Shall I hold the date?\n\nRosie")
    q2 = ask(sc, "03-followup.eml", "outlook", P["paul"], "RE: Catering order for 40 people", t("2026-11-20 09:15:31"),
             "Hi Rosie,\n\nYes please, and can two of them be vegan?\n\nPaul", reply_to=r)
    sc.customer(P["paul"][1], True, q2.date)
    sc.awaiting_total = 1

    sc = scenario("04-apple-mail-answered", "plain", "Apple Mail (macOS) question in +0100, owner answers from Apple Mail",
                  "A reply from Apple Mail with In-Reply-To closes the wait; Date zones are read.")
    q = ask(sc, "01-question.eml", "apple", P["claire"], "Galette des rois en janvier ?", t("2026-11-20 10:20:00"),
            "Bonjour,\n\nFerez-vous des galettes des rois en janvier ? J'en voudrais trois pour le 6.\n\nMerci,\nClaire",
            tz=60)
    reply(sc, "02-reply.eml", "apple", q, [P["claire"]], t("2026-11-20 11:02:44"),
          "Bonjour Claire,\n\nOui, bien sûr. Je vous en mets trois de côté pour le 6 janvier.\n\nRosie")
    sc.customer(P["claire"][1], False)
    sc.awaiting_total = 0

    sc = scenario("05-iphone-two-questions", "plain", "iPhone Mail: a question and a second one half an hour later",
                  "Two inbound messages in one thread: one row, waiting since the first (10:00, not 10:30).")
    q = ask(sc, "01-question.eml", "iphone", P["mike"], "Wedding cake tasting", t("2026-11-21 10:00:03"),
            "Hi, can we book a tasting for our wedding cake next week?\nMike")
    ask(sc, "02-again.eml", "iphone", P["mike"], "Re: Wedding cake tasting", t("2026-11-21 10:30:41"),
        "Also, do you deliver to Oxford?", reply_to=q)
    sc.customer(P["mike"][1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("06-thunderbird-answered-from-phone", "plain", "Thunderbird question, owner answers from iPhone",
                  "A reply written on the phone (in Sent) closes the wait.")
    q = ask(sc, "01-question.eml", "thunderbird", P["peter"], "Bread subscription", t("2026-11-19 18:22:10"),
            "Hello,\n\nDo you offer a weekly bread subscription with delivery?\n\nPeter")
    reply(sc, "02-reply.eml", "iphone", q, [P["peter"]], t("2026-11-19 19:01:37"),
          "Hi Peter, yes: 12 GBP a week, delivered Fridays. Rosie", quote_parent=False)
    sc.customer(P["peter"][1], False)
    sc.awaiting_total = 0


LEAD_REASON = ["reply-to", "form", "contact form", "platform", "on behalf"]


def lead_scenarios() -> None:
    P = PEOPLE
    sc = scenario("07-lead-wix-forms", "lead", "Wix Forms submission: no-reply From, person in Reply-To",
                  "Issue 12 finding 1: the person in Reply-To is the customer and awaits a reply.")
    d = t("2026-11-20 09:14:05")
    raw, mid = wix_form(sc.name, P["jane"], "Hi! Do you make wedding cakes for 120 guests in June?", d,
                        d + timedelta(seconds=4))
    one_lead(sc, "01-wix-submission.eml", raw, d, 4, P["jane"][1])

    sc = scenario("08-lead-squarespace", "lead", "Squarespace form submission with Reply-To",
                  "A platform From (form-submission@) with the person in Reply-To is that person's message.")
    d = t("2026-11-20 12:31:47")
    raw, _ = squarespace_form(sc.name, P["tom"], "Nut allergy", "Are your croissants made in a nut-free kitchen?",
                              d, d + timedelta(seconds=6))
    sc.add("01-squarespace-submission.eml", raw, d + timedelta(seconds=6), noise=False, reason=LEAD_REASON)
    sc.customer(P["tom"][1], True, d)
    sc.awaiting_total = 1

    sc = scenario("09-lead-contact-form-7-reply-to", "lead", "WordPress Contact Form 7 (PHPMailer) with Reply-To",
                  "wordpress@ From (the site, not a person) with Reply-To the visitor: the visitor awaits.")
    d = t("2026-11-21 07:55:20")
    raw, _ = cf7_form(sc.name, P["priya"], "Birthday cake for Saturday",
                      "Could you do a chocolate cake for 12 with 'Happy 7th Birthday Leo' on it, for Saturday?",
                      d, d + timedelta(seconds=2), reply_to=True)
    sc.add("01-cf7.eml", raw, d + timedelta(seconds=2), noise=False)
    sc.customer(P["priya"][1], True, d)
    sc.awaiting_total = 1

    sc = scenario("10-lead-contact-form-7-body-only", "lead", "Contact Form 7 default template, no Reply-To",
                  "The address is only in the body, in CF7's 'From: Name <addr>' line: that person awaits.")
    d = t("2026-11-21 13:07:59")
    raw, _ = cf7_form(sc.name, P["amelia"], "Office order",
                      "We'd like 30 mixed pastries every Monday for our office. Is that possible?",
                      d, d + timedelta(seconds=2), reply_to=False)
    one_lead(sc, "01-cf7.eml", raw, d, 2, P["amelia"][1])

    sc = scenario("11-lead-wpforms-body-only", "lead", "WPForms 'New Entry: Contact Form', address only in the body",
                  "WPForms' Name/Email field layout (text and HTML table): the Email field's person awaits.")
    d = t("2026-11-22 16:40:02")
    raw, _ = wpforms(sc.name, P["oliver"], "Do you sell gift vouchers? I'd like one for 50 GBP.", d,
                     d + timedelta(seconds=3))
    one_lead(sc, "01-wpforms.eml", raw, d, 3, P["oliver"][1])

    sc = scenario("12-lead-shopify-contact", "lead", "Shopify 'New customer message' from mailer@, Reply-To customer",
                  "A shop platform's contact notification: the customer in Reply-To awaits.")
    d = t("2026-11-20 15:12:31")
    raw, _ = shopify_contact(sc.name, P["sean"], "My order #1043 says delivered but nothing came. Can you check?",
                             d, d + timedelta(seconds=5), phone="+44 7700 900123")
    sc.add("01-shopify.eml", raw, d + timedelta(seconds=5), noise=False, reason=LEAD_REASON)
    sc.customer(P["sean"][1], True, d)
    sc.awaiting_total = 1

    sc = scenario("13-lead-jotform-html", "lead", "Jotform submission (HTML only) from noreply@ with Reply-To",
                  "noreply@ alone would be noise; with a person in Reply-To it is that person's message.")
    d = t("2026-11-21 20:03:44")
    raw, _ = jotform(sc.name, P["ivy"], "A two-tier lemon cake for 30 on 12 December, with fresh flowers.", d,
                     d + timedelta(seconds=2))
    sc.add("01-jotform.eml", raw, d + timedelta(seconds=2), noise=False, reason=LEAD_REASON)
    sc.customer(P["ivy"][1], True, d)
    sc.awaiting_total = 1


def reply_scenarios() -> None:
    P = PEOPLE
    sc = scenario("14-reply-to-wix-lead-closes", "reply", "Owner answers a Wix lead: the reply goes to the Reply-To person",
                  "A reply addressed to the lead's person closes the lead's wait.")
    d = t("2026-11-19 11:02:18")
    person = ("Rachel Green", "rachel.green@mail.example")
    raw, mid = wix_form(sc.name, person, "Can I order 24 cupcakes for Friday pickup?", d, d + timedelta(seconds=3))
    sc.add("01-wix-submission.eml", raw, d + timedelta(seconds=3), noise=False)
    lead = stub(person, "New submission: Contact us", d, "Can I order 24 cupcakes for Friday pickup?", mid)
    reply(sc, "02-reply.eml", "thunderbird", lead, [person], t("2026-11-19 12:30:00"),
          "Hi Rachel,\n\nYes, 24 cupcakes for Friday are fine. Any flavours?\n\nRosie",
          subject="Re: New submission: Contact us")
    sc.customer(person[1], False)
    sc.awaiting_total = 0

    sc = scenario("15-reply-customer-in-cc", "reply", "Owner replies To the customer's colleague with the customer in Cc",
                  "Cc counts: a reply addressed (To or Cc) to a customer address closes the wait.")
    q = ask(sc, "01-question.eml", "outlook", P["lena"], "Anfrage: Brezeln für Firmenfeier", t("2026-11-19 08:12:55"),
            "Hallo,\n\nwir bräuchten 200 Brezeln für den 11.12. Mein Kollege Max übernimmt die Abholung.\n\nViele Grüße\nLena Vogel",
            cc=[("Max Braun", "max.braun@vogel-events.example")], tz=60)
    reply(sc, "02-reply.eml", "thunderbird", q, [("Max Braun", "max.braun@vogel-events.example")],
          t("2026-11-19 10:45:10"), "Hallo Max, hallo Lena,\n\n200 Brezeln am 11.12. passen. Abholung ab 7 Uhr.\n\nRosie",
          cc=[P["lena"]])
    sc.customer(P["lena"][1], False)
    sc.awaiting_total = 0

    sc = scenario("16-reply-cc-staff", "reply", "Owner replies To the customer and Cc's a member of staff",
                  "A reply to the customer that also copies staff is a reply.")
    q = ask(sc, "01-question.eml", "gmail", P["nina"], "Order #1042 collection time", t("2026-11-20 17:05:33"),
            "Hi, what time can I collect order #1042 tomorrow?\nNina")
    reply(sc, "02-reply.eml", "outlook", q, [P["nina"]], t("2026-11-20 17:40:02"),
          "Hi Nina,\n\nAny time after 9. Sam will have it ready.\n\nRosie", cc=[STAFF_P])
    sc.customer(P["nina"][1], False)
    sc.awaiting_total = 0

    sc = scenario("17-reply-address-case-differs", "reply", "Reply To an address written in another case",
                  "Addresses compare case-insensitively: Ruth.Ellis@Gmail.Example is the customer.")
    q = ask(sc, "01-question.eml", "gmail", P["ruth"], "Christmas stollen", t("2026-11-21 09:30:00"),
            "Hello! Will you have stollen this year, and can I reserve two?\nRuth")
    reply(sc, "02-reply.eml", "iphone", q, [("Ruth Ellis", "Ruth.Ellis@Gmail.Example")], t("2026-11-21 09:58:12"),
          "Hi Ruth, yes from 1 December, two reserved for you. Rosie", quote_parent=False)
    sc.customer(P["ruth"][1], False)
    sc.awaiting_total = 0

    sc = scenario("18-reply-to-shopify-lead-closes", "reply", "Owner answers a Shopify contact message from the phone",
                  "The reply goes to the Reply-To person, which closes that person's wait.")
    d = t("2026-11-20 10:01:10")
    person = ("Holly Adams", "holly.adams@mail.example")
    raw, mid = shopify_contact(sc.name, person, "Can I change the delivery address on order #1051?", d,
                               d + timedelta(seconds=4))
    sc.add("01-shopify.eml", raw, d + timedelta(seconds=4), noise=False)
    lead = stub(person, "New customer message", d, "Can I change the delivery address on order #1051?", mid)
    reply(sc, "02-reply.eml", "iphone", lead, [person], t("2026-11-20 10:35:50"),
          "Hi Holly, done, it will go to the new address. Rosie",
          subject="Re: New customer message on November 20, 2026 at 10:01 am", quote_parent=False)
    sc.customer(person[1], False)
    sc.awaiting_total = 0


FORWARD_REASON = ["forward"]
NOTE_REASON = ["internal", "not addressed", "not a reply", "note", "not to the customer"]


def gmail_forward_text(note_text: str, q: Mail) -> str:
    return (f"{note_text}\n\n---------- Forwarded message ---------\nFrom: {q.frm[0]} <{q.frm[1]}>\n"
            f"Date: {q.date.strftime('%a, %d %b %Y at %H:%M')}\nSubject: {q.subject}\nTo: <{OWNER}>\n\n\n{q.body}")


def outlook_forward_text(note_text: str, q: Mail) -> str:
    return (f"{note_text}\n\n________________________________\nFrom: {q.frm[0]} <{q.frm[1]}>\n"
            f"Sent: {q.date.strftime('%d %B %Y %H:%M')}\nTo: {OWNER} <{OWNER}>\nSubject: {q.subject}\n\n{q.body}")


def forward_scenarios() -> None:
    P = PEOPLE
    sc = scenario("19-forward-gmail-to-supplier", "forward", "Owner forwards the question to the flour mill (Gmail, Fwd:)",
                  "Issue 12 finding 2: a forward keeps In-Reply-To/References but is not addressed to the "
                  "customer, so the customer keeps waiting.")
    q = ask(sc, "01-question.eml", "gmail", P["marco"], "40 focacce for a party", t("2026-11-20 08:02:11"),
            "Ciao Rosie,\n\ncan you make 40 focacce for Saturday 28th? Rosemary and olive.\n\nMarco")
    reply(sc, "02-forward.eml", "gmail", q, [SUPPLIER], t("2026-11-20 08:30:45"),
          gmail_forward_text("Hi, can you deliver 25 kg of tipo 0 by Thursday?", q),
          subject="Fwd: 40 focacce for a party", quote_parent=False, reason=FORWARD_REASON,
          in_conversation_of=P["marco"][1])
    sc.customer(P["marco"][1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("20-forward-outlook-to-supplier", "forward", "Owner forwards from Outlook (FW:, Thread-Index, In-Reply-To kept)",
                  "Outlook's forward keeps the thread headers; it is history, not a reply.")
    q = ask(sc, "01-question.eml", "apple", P["hugo"], "Devis: 80 croissants", t("2026-11-19 06:40:10"),
            "Bonjour,\n\nPourriez-vous me faire un devis pour 80 croissants livrés le 3 décembre ?\n\nHugo Martin",
            tz=60)
    reply(sc, "02-forward.eml", "outlook", q, [("Butter Co", "sales@butterco.example")], t("2026-11-19 09:12:30"),
          outlook_forward_text("Hi, please add 10 kg of AOP butter sheets to Tuesday's delivery.", q),
          subject="FW: Devis: 80 croissants", quote_parent=False, reason=FORWARD_REASON,
          in_conversation_of=P["hugo"][1])
    sc.customer(P["hugo"][1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("21-note-cc-only-staff", "forward", "A 'Re:' the owner sends to herself with staff in Cc",
                  "An internal note in the thread (To the owner, Cc staff, nothing to the customer) is not a reply.")
    q = ask(sc, "01-question.eml", "outlook", P["anna"], "Taart voor 25 personen", t("2026-11-21 11:11:11"),
            "Hallo,\n\nKunnen jullie een appeltaart voor 25 personen maken voor zondag?\n\nGroeten,\nAnna de Vries", tz=60)
    reply(sc, "02-note.eml", "thunderbird", q, [(OWNER_NAME, OWNER)], t("2026-11-21 11:40:00"),
          "Sam, can we fit this in on Sunday? Check the oven plan before I answer.", cc=[STAFF_P],
          reason=NOTE_REASON, in_conversation_of=P["anna"][1])
    sc.customer(P["anna"][1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("22-note-to-staff-apple", "forward", "Apple Mail 'Re:' sent only to staff",
                  "A message in the thread To staff only is history; the customer keeps waiting.")
    q = ask(sc, "01-question.eml", "gmail", P["tom"], "Sourdough class", t("2026-11-20 19:45:00"),
            "Hi, do you still run the Saturday sourdough class? Two places please.\nTom")
    reply(sc, "02-note.eml", "apple", q, [STAFF_P], t("2026-11-20 20:02:31"),
          "Sam, are there two places left on the 5th?", reason=NOTE_REASON,
          in_conversation_of=P["tom"][1])
    sc.customer(P["tom"][1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("23-forward-then-supplier-then-reply", "forward", "Forward, the supplier's answer, then the owner's reply",
                  "History in the thread does not count; the owner's reply to the customer closes the wait.")
    q = ask(sc, "01-question.eml", "thunderbird", P["peter"], "Rye flour", t("2026-11-18 08:00:00"),
            "Could you sell me 5 kg of your dark rye flour?\n\nPeter")
    fwd = reply(sc, "02-forward.eml", "gmail", q, [SUPPLIER], t("2026-11-18 08:20:00"),
                gmail_forward_text("Do you have dark rye in stock?", q), subject="Fwd: Rye flour", quote_parent=False)
    ask(sc, "03-supplier.eml", "outlook", SUPPLIER, "RE: Fwd: Rye flour", t("2026-11-18 10:05:00"),
        "Yes, 20 bags in stock, delivery Thursday.", reply_to=fwd)
    reply(sc, "04-reply.eml", "thunderbird", q, [P["peter"]], t("2026-11-18 10:30:00"),
          "Hi Peter, yes: 5 kg ready from Thursday.\n\nRosie")
    sc.customer(P["peter"][1], False)
    sc.awaiting_total = 0


    sc = scenario("77-forward-reply-then-suppliers-answer", "forward",
                  "Forward to the mill, 'checking with the mill' to the customer, then the mill's answer",
                  "The supplier's answer to the owner's forward is in the customer's thread but is not the "
                  "customer speaking: the customer was answered and does not wait again.")
    q = ask(sc, "01-question.eml", "iphone", P["amelia"], "Spelt loaves for Friday", t("2026-11-20 07:31:02"),
            "Hi Rosie, could I order 6 spelt loaves for Friday morning?\nAmelia")
    fwd = reply(sc, "02-forward.eml", "gmail", q, [SUPPLIER], t("2026-11-20 08:10:00"),
                gmail_forward_text("Hi, can you get me 2 bags of wholegrain spelt by Thursday?", q),
                subject="Fwd: Spelt loaves for Friday", quote_parent=False, reason=FORWARD_REASON)
    reply(sc, "03-reply.eml", "gmail", q, [P["amelia"]], t("2026-11-20 08:12:30"),
          "Hi Amelia, I'm checking the spelt with the mill and will confirm today.\n\nRosie")
    ask(sc, "04-supplier.eml", "outlook", SUPPLIER, "RE: Fwd: Spelt loaves for Friday", t("2026-11-20 11:47:19"),
        "Hi Rosie, yes, 2 bags on Thursday's van.\n\nFlour Mill Orders", reply_to=fwd, noise=True,
        reason=["not from the customer"], in_conversation_of=P["amelia"][1])
    sc.customer(P["amelia"][1], False)
    sc.awaiting_total = 0

    sc = scenario("78-forward-suppliers-answer-owner-thanks-supplier", "forward",
                  "Forward to the butter supplier, its answer, the owner's thanks to it; the customer not yet answered",
                  "Neither the supplier's answer nor the owner's message back to the supplier is a reply to the "
                  "customer: she waits since her question.")
    q = ask(sc, "01-question.eml", "outlook", P["lena"], "Butter croissants for 60", t("2026-11-21 09:02:44"),
            "Hello,\n\nCould you supply 60 butter croissants for our event on 1 December?\n\nLena Vogel", tz=60)
    butter = ("Butter Co", "sales@butterco.example")
    fwd = reply(sc, "02-forward.eml", "outlook", q, [butter], t("2026-11-21 09:40:00"),
                outlook_forward_text("Can you add 5 kg of butter sheets to Monday's delivery?", q),
                subject="FW: Butter croissants for 60", quote_parent=False, reason=FORWARD_REASON)
    s_ans = ask(sc, "03-supplier.eml", "gmail", butter, "Re: FW: Butter croissants for 60", t("2026-11-21 10:15:00"),
                "Yes, no problem, on Monday.", reply_to=fwd, noise=True, reason=["not from the customer"])
    reply(sc, "04-thanks.eml", "outlook", s_ans, [butter], t("2026-11-21 10:20:00"), "Thanks!",
          reason=["not a reply"], in_conversation_of=P["lena"][1])
    sc.customer(P["lena"][1], True, q.date)
    sc.awaiting_total = 1

DATE_REASON = ["date"]


def skew_scenarios() -> None:
    P = PEOPLE
    sc = scenario("24-skew-phone-reply-dated-before-question", "skew",
                  "iPhone reply dated 8 minutes before the question it answers",
                  "Issue 12 finding 3: a reply is never ordered before its parent; the Date gives way to "
                  "the arrival time and the customer no longer waits.")
    q = ask(sc, "01-question.eml", "gmail", P["grace"], "Pick-up today?", t("2026-11-21 10:02:30"),
            "Hi! Can I pick up my rye loaf at 4 today instead of tomorrow?\nGrace")
    reply(sc, "02-reply-slow-clock.eml", "iphone", q, [P["grace"]], t("2026-11-21 09:54:30"),
          "Of course, see you at 4! Rosie", arrived=t("2026-11-21 10:20:11"), quote_parent=False,
          reason=DATE_REASON)
    sc.customer(P["grace"][1], False, last_reply=t("2026-11-21 10:20:11"))
    sc.awaiting_total = 0

    sc = scenario("25-skew-customer-reply-dated-before-owner", "skew",
                  "Customer's answer dated before the owner's message it answers, received after it",
                  "The customer's reply (In-Reply-To the owner's) is ordered after it: the customer waits "
                  "since its arrival time.")
    q = ask(sc, "01-question.eml", "outlook", P["paul"], "Invoice for November", t("2026-11-20 14:00:00"),
            "Hello,\n\ncould you send the November invoice to accounts@contoso.example?\n\nPaul")
    r = reply(sc, "02-reply.eml", "thunderbird", q, [P["paul"]], t("2026-11-20 15:10:00"),
              "Hi Paul,\n\nSent. Do you want it monthly from now on?\n\nRosie")
    q2 = ask(sc, "03-answer-slow-clock.eml", "outlook", P["paul"], "RE: Invoice for November", t("2026-11-20 15:02:00"),
             "Yes please, monthly, and could you add our PO number 7781?", reply_to=r,
             arrived=t("2026-11-20 15:17:40"), reason=DATE_REASON)
    sc.customer(P["paul"][1], True, t("2026-11-20 15:17:40"))
    sc.awaiting_total = 1

    sc = scenario("26-skew-date-in-the-future", "skew", "A Date three days after the message arrived",
                  "A Date in the future (after arrival, and after the clock) gives way to the arrival time.")
    d_wrong = t("2026-11-24 09:00:00")
    q = ask(sc, "01-question.eml", "thunderbird", P["oliver"], "Sourdough starter", d_wrong,
            "Hello,\n\ndo you sell some of your sourdough starter?\n\nOliver", arrived=t("2026-11-21 09:03:12"),
            reason=DATE_REASON)
    sc.customer(P["oliver"][1], True, t("2026-11-21 09:03:12"))
    sc.awaiting_total = 1

    sc = scenario("27-skew-date-days-before-arrival", "skew", "A Date four days before the message arrived",
                  "A message composed offline (or a stopped clock) carries an old Date: far from arrival, so "
                  "the arrival time is the waiting-since, not four days earlier.")
    q = ask(sc, "01-question.eml", "outlook", P["amelia"], "Allergy information", t("2026-11-16 08:00:00"),
            "Hello,\n\nplease could you send the allergen list for your Christmas range?\n\nAmelia",
            arrived=t("2026-11-20 18:45:10"), reason=DATE_REASON)
    sc.customer(P["amelia"][1], True, t("2026-11-20 18:45:10"))
    sc.awaiting_total = 1


def repeat_scenarios() -> None:
    P = PEOPLE
    sc = scenario("28-repeat-loyalty-card-owner-answers-second", "repeat",
                  "'Loyalty card' twice without threading headers or Re:, the owner answers the second",
                  "Issue 12 finding 4: a header-less repeat joins the open conversation; answering it closes "
                  "the one row.")
    q1 = ask(sc, "01-first.eml", "apple", P["sean"], "Loyalty card", t("2026-11-19 09:10:00"),
             "Hi, I lost my loyalty card, can you transfer my stamps to a new one?\nSean")
    q2 = ask(sc, "02-second.eml", "apple", P["sean"], "Loyalty card", t("2026-11-20 08:30:00"),
             "Hello again, just checking you got my message about my loyalty card?\nSean")
    reply(sc, "03-reply.eml", "thunderbird", q2, [P["sean"]], t("2026-11-20 09:00:00"),
          "Hi Sean, yes, we'll have a new card with your 7 stamps at the counter.\n\nRosie")
    sc.customer(P["sean"][1], False, conversations=1)
    sc.awaiting_total = 0

    sc = scenario("29-repeat-two-without-message-id", "repeat", "Old webmail: two messages without Message-ID",
                  "Two header-less messages from one sender with one subject are one conversation, waiting "
                  "since the first.")
    person = ("Margaret Hill", "margaret.hill@oldisp.example")
    body1 = "Dear Sir/Madam,\n\nI would like to order a Christmas cake, 8 inch, for collection on 23rd December.\n\nMargaret Hill\n"
    body2 = "Dear Sir/Madam,\n\nI wrote yesterday about a Christmas cake. Please could you confirm?\n\nMargaret Hill\n"
    for file, date, body in (("01-first.eml", t("2026-11-20 10:00:00"), body1),
                             ("02-second.eml", t("2026-11-21 16:20:00"), body2)):
        m = Mail(frm=person, to=[("", OWNER)], subject="Christmas cake order", date=date, body=body,
                 seed=sc.name + file)
        sc.add(file, oldwebmail(m, arrival=date + timedelta(seconds=20)), date + timedelta(seconds=20))
    sc.customer(person[1], True, t("2026-11-20 10:00:00"), conversations=1)
    sc.awaiting_total = 1

    sc = scenario("30-repeat-three-times-unanswered", "repeat", "The same subject three times from the Gmail app",
                  "Three new messages, no threading headers: one row, waiting since the first.")
    first = None
    for i, (date, body) in enumerate(((t("2026-11-19 12:00:00"), "My order #1042 hasn't arrived yet."),
                                      (t("2026-11-20 12:05:00"), "Still nothing. Can someone check #1042?"),
                                      (t("2026-11-21 08:00:00"), "Third time asking: where is order #1042?"))):
        m = ask(sc, f"0{i + 1}-message.eml", "gmail", P["nina"], "Order #1042 not arrived", date, body)
        first = first or m
    sc.customer(P["nina"][1], True, first.date, conversations=1)
    sc.awaiting_total = 1

    sc = scenario("31-repeat-after-answer", "repeat", "Same subject again after the owner answered, no headers",
                  "A header-less message joins the contact's conversation with that subject; it waits since "
                  "the new message, not since the old one.")
    q = ask(sc, "01-question.eml", "iphone", P["tom"], "Table booking", t("2026-11-17 09:00:00"),
            "Can I book the big table for 6 on Saturday morning?")
    reply(sc, "02-reply.eml", "thunderbird", q, [P["tom"]], t("2026-11-17 10:00:00"),
          "Hi Tom, booked for 10am Saturday.\n\nRosie")
    q2 = ask(sc, "03-new-message.eml", "iphone", P["tom"], "Table booking", t("2026-11-20 18:00:00"),
             "Could we make it 8 people instead of 6?")
    sc.customer(P["tom"][1], True, q2.date, conversations=1)
    sc.awaiting_total = 1


    sc = scenario("73-repeat-iphone-follow-up-without-subject", "repeat",
                  "iPhone: a question, then a quick follow-up with no subject; the owner answers the follow-up",
                  "A message with no subject and no threading headers joins the same person's open "
                  "conversation: one row, and the one answer closes it.")
    ask(sc, "01-question.eml", "iphone", P["ivy"], "Birthday cake for Saturday", t("2026-11-20 19:02:11"),
        "Hi, could you do a chocolate birthday cake for 12 people this Saturday?\nIvy")
    q2 = ask(sc, "02-no-subject.eml", "iphone", P["ivy"], "", t("2026-11-20 19:06:40"),
             "Also could it say Happy 40th Mark on it\n\nSent from my iPhone")
    reply(sc, "03-reply.eml", "thunderbird", q2, [P["ivy"]], t("2026-11-21 08:30:00"),
          "Hi Ivy, yes to both: chocolate for 12, 'Happy 40th Mark'. Ready from 10am Saturday.\n\nRosie",
          subject="Re: Birthday cake for Saturday")
    sc.customer(P["ivy"][1], False, conversations=1)
    sc.awaiting_total = 0

    sc = scenario("74-repeat-case-and-question-mark", "repeat",
                  "Gmail: 'Gift vouchers' then 'gift vouchers?' a day later, unanswered",
                  "Subjects are compared without case, spacing or closing punctuation: one row, waiting "
                  "since the first.")
    q = ask(sc, "01-first.eml", "gmail", P["ruth"], "Gift vouchers", t("2026-11-19 11:15:00"),
            "Hello, do you sell gift vouchers? I'd like one for 30 pounds.\nRuth")
    ask(sc, "02-second.eml", "gmail", P["ruth"], "gift vouchers?", t("2026-11-20 11:40:00"),
        "Hi again, just wondering about the vouchers.\nRuth")
    sc.customer(P["ruth"][1], True, q.date, conversations=1)
    sc.awaiting_total = 1

AUTO_REASON = ["auto", "out of office", "out-of-office", "vacation"]


def answered_thread(sc: Scenario, client: str, person, subject: str, day: str, body: str, tz: int = 0,
                    owner_client: str = "thunderbird") -> tuple[Mail, Mail]:
    q = ask(sc, "01-question.eml", client, person, subject, t(f"{day} 09:00:00"), body, tz=tz)
    r = reply(sc, "02-reply.eml", owner_client, q, [person], t(f"{day} 10:00:00"),
              "Hello,\n\nthank you, that's all arranged.\n\nRosie")
    return q, r


def autoreply_scenarios() -> None:
    P = PEOPLE
    sc = scenario("32-ooo-en-exchange", "autoreply", "Exchange out-of-office 'Automatic reply:' with X-Auto-Response-Suppress",
                  "Issue 12 finding 5: no Auto-Submitted, only X-Auto-Response-Suppress: All and the subject: "
                  "noise, and the answered customer stays answered.")
    karen = ("Karen Lewis", "karen.lewis@contoso.example")
    q, r = answered_thread(sc, "outlook", karen, "Office party platters", "2026-11-19",
                           "Hi, can we order 5 sandwich platters for 3 December?")
    raw = exchange_ooo(sc.name + "ooo", karen, "Automatic reply:", r.subject,
                       "Thank you for your email. I am out of the office until Monday 30 November with limited "
                       "access to email.\n\nFor urgent matters please contact facilities@contoso.example.\n\nKaren",
                       t("2026-11-19 10:00:07"), t("2026-11-19 10:00:09"), r.msgid, tz=0)
    sc.add("03-automatic-reply.eml", raw, t("2026-11-19 10:00:09"), noise=True, reason=AUTO_REASON)
    sc.customer(karen[1], False, conversations=None)
    sc.awaiting_total = 0

    sc = scenario("33-ooo-de-exchange", "autoreply", "German Exchange 'Automatische Antwort:'",
                  "German out-of-office from Exchange: noise with the reason kept.")
    q, r = answered_thread(sc, "outlook", P["lena"], "Stollen für das Team", "2026-11-18",
                           "Hallo, wir möchten 10 Stollen für unser Team bestellen.", tz=60)
    raw = exchange_ooo(sc.name + "ooo", P["lena"], "Automatische Antwort:", r.subject,
                       "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 27.11.2026 nicht im Büro und "
                       "habe keinen Zugriff auf meine E-Mails.\n\nIn dringenden Fällen wenden Sie sich bitte an "
                       "info@vogel-events.example.\n\nMit freundlichen Grüßen\nLena Vogel",
                       t("2026-11-18 10:00:05"), t("2026-11-18 10:00:08"), r.msgid, tz=60)
    sc.add("03-automatische-antwort.eml", raw, t("2026-11-18 10:00:08"), noise=True, reason=AUTO_REASON)
    sc.customer(P["lena"][1], False, conversations=None)
    sc.awaiting_total = 0

    sc = scenario("34-ooo-fr-precedence-auto-reply", "autoreply", "French autoresponder with only Precedence: auto_reply",
                  "Precedence: auto_reply (cPanel/Exim and many webmails) is an auto-reply.")
    q, r = answered_thread(sc, "apple", P["hugo"], "Commande de pains", "2026-11-19",
                           "Bonjour, je voudrais commander 20 baguettes pour vendredi.", tz=60)
    raw = exim_autoresponder(sc.name + "ooo", P["hugo"], r.subject,
                             f"Réponse automatique : {r.subject}\nBonjour,\n\nJe suis absent du bureau jusqu'au "
                             "30 novembre. Votre message sera traité à mon retour.\n\nCordialement,\nHugo Martin",
                             t("2026-11-19 10:00:04"), t("2026-11-19 10:00:06"), r.msgid, "precedence")
    sc.add("03-reponse-automatique.eml", raw, t("2026-11-19 10:00:06"), noise=True, reason=AUTO_REASON)
    sc.customer(P["hugo"][1], False, conversations=None)
    sc.awaiting_total = 0

    sc = scenario("35-ooo-es-x-autoreply", "autoreply", "Spanish 'Respuesta automática' with X-Autoreply: yes",
                  "X-Autoreply marks an auto-reply; Spanish subject and body.")
    q, r = answered_thread(sc, "gmail", P["sofia"], "Pedido de roscón de reyes", "2026-11-20",
                           "Hola, ¿hacéis roscón de reyes para el 6 de enero?", tz=60)
    raw = exim_autoresponder(sc.name + "ooo", P["sofia"], r.subject,
                             f"Respuesta automática: {r.subject}\nHola,\n\nEstoy fuera de la oficina hasta el 1 de "
                             "diciembre. Responderé a su mensaje a mi regreso.\n\nUn saludo,\nSofía García",
                             t("2026-11-20 10:00:03"), t("2026-11-20 10:00:05"), r.msgid, "x-autoreply")
    sc.add("03-respuesta-automatica.eml", raw, t("2026-11-20 10:00:05"), noise=True, reason=AUTO_REASON)
    sc.customer(P["sofia"][1], False, conversations=None)
    sc.awaiting_total = 0

    sc = scenario("36-ooo-it-x-autorespond", "autoreply", "Italian 'Risposta automatica' with X-Autorespond",
                  "X-Autorespond marks an auto-reply; Italian subject and body.")
    q, r = answered_thread(sc, "gmail", P["marco"], "Panettone per Natale", "2026-11-20",
                           "Buongiorno, vorrei ordinare 6 panettoni per Natale.", tz=60)
    raw = exim_autoresponder(sc.name + "ooo", P["marco"], r.subject,
                             f"Risposta automatica: {r.subject}\nBuongiorno,\n\nsono fuori ufficio fino al 30 "
                             "novembre con accesso limitato alla posta.\n\nCordiali saluti,\nMarco Rossi",
                             t("2026-11-20 10:00:02"), t("2026-11-20 10:00:04"), r.msgid, "x-autorespond")
    sc.add("03-risposta-automatica.eml", raw, t("2026-11-20 10:00:04"), noise=True, reason=AUTO_REASON)
    sc.customer(P["marco"][1], False, conversations=None)
    sc.awaiting_total = 0

    sc = scenario("37-ooo-nl-exchange", "autoreply", "Dutch Exchange 'Automatisch antwoord:'",
                  "Dutch out-of-office from Exchange (X-Auto-Response-Suppress, no Auto-Submitted).")
    q, r = answered_thread(sc, "outlook", P["anna"], "Kerststol bestellen", "2026-11-21",
                           "Goedemorgen, ik wil graag 4 kerststollen bestellen.", tz=60, owner_client="outlook")
    raw = exchange_ooo(sc.name + "ooo", P["anna"], "Automatisch antwoord:", r.subject,
                       "Bedankt voor uw bericht. Ik ben afwezig tot en met 29 november en heb beperkt toegang tot "
                       "mijn e-mail.\n\nMet vriendelijke groet,\nAnna de Vries",
                       t("2026-11-21 10:00:06"), t("2026-11-21 10:00:08"), r.msgid, tz=60)
    sc.add("03-automatisch-antwoord.eml", raw, t("2026-11-21 10:00:08"), noise=True, reason=AUTO_REASON)
    sc.customer(P["anna"][1], False, conversations=None)
    sc.awaiting_total = 0

    sc = scenario("38-ooo-lotus-notes-auto", "autoreply", "Lotus Notes 'AUTO: ... is out of the office', no In-Reply-To",
                  "Domino's out-of-office carries only its subject (and no threading): noise, never a wait.")
    helen = ("Helen Price", "helen.price@lawfirm.example")
    q, r = answered_thread(sc, "outlook", helen, "Breakfast meeting pastries", "2026-11-20",
                           "Good morning, could you deliver pastries for 12 on Tuesday at 8?")
    raw = lotus_auto(sc.name + "ooo", helen, r.subject, "30/11/2026", t("2026-11-20 10:00:09"),
                     t("2026-11-20 10:00:12"))
    sc.add("03-auto-out-of-office.eml", raw, t("2026-11-20 10:00:12"), noise=True, reason=AUTO_REASON)
    sc.customer(helen[1], False, conversations=None)
    sc.awaiting_total = 0


BOUNCE_REASON = ["bounce", "undeliver", "delivery", "returned"]


def plain_machine(seed: str, frm: str | None, return_path: str | None, subject: str, body: str, date: datetime,
                  arrival: datetime, helo: str, extra: list[str] | None = None, msgid: bool = True) -> bytes:
    """A text/plain machine message from an old gateway: only what its headers say."""
    head = mx_received(return_path if return_path is not None else None, helo, "198.51.100.99", arrival,
                       qid_seed=seed, tls=False)
    if return_path is None:
        head[0] = "Return-Path: <>"
    if frm is not None:
        head.append(f"From: {frm}")
    head += [f"To: {OWNER}", f"Subject: {subject}", f"Date: {rdate(date)}"]
    if msgid:
        head.append(f"Message-ID: <{hx(seed, 16)}@{helo}>")
    head += (extra or []) + ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii"]
    return join(head, body)


def bounce_scenarios() -> None:
    P = PEOPLE
    sc = scenario("39-bounce-own-reply-postfix", "bounce", "The owner's reply bounces (Postfix DSN, mailbox full)",
                  "The bounce of the owner's own reply belongs in that customer's conversation ('your reply "
                  "bounced') and the customer keeps waiting.")
    ben = ("Ben Carter", "ben.carter@mail.example")
    q = ask(sc, "01-question.eml", "gmail", ben, "Bread for the school fair", t("2026-11-20 07:30:00"),
            "Hi, could you donate or discount 20 loaves for the school fair on the 5th?\nBen")
    reply(sc, "02-reply.eml", "thunderbird", q, [ben], t("2026-11-20 09:00:00"),
          "Hi Ben,\n\nHappy to give 20 loaves at half price.\n\nRosie")
    original = sc.messages[-1].raw
    raw = postfix_bounce(sc.name, original, ben[1], t("2026-11-20 09:00:06"), t("2026-11-20 09:00:07"),
                         diag="552 5.2.2 <{rcpt}>: Mailbox full")
    sc.add("03-bounce.eml", raw, t("2026-11-20 09:00:07"), noise=True, reason=BOUNCE_REASON,
           in_conversation_of=ben[1])
    sc.customer(ben[1], True, q.date, reason=BOUNCE_REASON)
    sc.awaiting_total = 1

    sc = scenario("40-bounce-own-reply-gmail-dsn", "bounce", "The owner's reply bounces (Gmail 'Delivery Status Notification (Failure)')",
                  "Gmail's DSN names the failed message in In-Reply-To: shown in the conversation, customer waits.")
    kim = ("Kim Lee", "kim.lee@mail.example")
    q = ask(sc, "01-question.eml", "iphone", kim, "Vegan brownies", t("2026-11-21 08:15:00"),
            "Do you make vegan brownies? I need 30 for Sunday.")
    reply(sc, "02-reply.eml", "gmail", q, [kim], t("2026-11-21 09:40:00"),
          "Hi Kim,\n\nYes we do, 30 for Sunday is fine.\n\nRosie")
    original, oid = sc.messages[-1].raw, None
    oid = original.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
    raw = gmail_dsn(sc.name, original, oid, kim[1], t("2026-11-21 09:40:03"), t("2026-11-21 09:40:05"))
    sc.add("03-dsn.eml", raw, t("2026-11-21 09:40:05"), noise=True, reason=BOUNCE_REASON,
           in_conversation_of=kim[1])
    sc.customer(kim[1], True, q.date, reason=BOUNCE_REASON)
    sc.awaiting_total = 1

    sc = scenario("41-bounce-exchange-undeliverable", "bounce", "Exchange Online NDR 'Undeliverable:' from postmaster@",
                  "An NDR (multipart/report) for a message to an old supplier contact: noise, nobody waits.")
    orig = Mail(frm=OWNER_FROM, to=[("", "j.smith@contoso.example")], subject="Invoice 2211",
                date=t("2026-11-20 11:00:00"), body="Hello,\n\nplease find invoice 2211 attached.\n\nRosie",
                seed=sc.name + "orig")
    original = thunderbird(orig, inbound=False)
    raw = exchange_ndr(sc.name, original, "Invoice 2211", "j.smith@contoso.example", t("2026-11-20 11:00:04"),
                       t("2026-11-20 11:00:06"))
    sc.add("01-ndr.eml", raw, t("2026-11-20 11:00:06"), noise=True, reason=BOUNCE_REASON)
    sc.awaiting_total = 0

    sc = scenario("42-bounce-mailer-daemon-null-address", "bounce",
                  "'From: MAILER-DAEMON <>' with Return-Path <MAILER-DAEMON@...>, text/plain",
                  "Issue 12 finding 7: the From has no @, the return path names MAILER-DAEMON: a bounce.")
    raw = plain_machine(sc.name, "MAILER-DAEMON <>", "MAILER-DAEMON@gw.printshop.example",
                        "Returned mail: see transcript for details",
                        "The original message was received at Fri, 20 Nov 2026 12:00:01 GMT\nfrom mx.bakery.example [203.0.113.10]\n\n"
                        "   ----- The following addresses had permanent fatal errors -----\n<orders@printshop.example>\n"
                        "    (reason: 550 5.1.1 User unknown)\n\n   ----- Transcript of session follows -----\n"
                        "... while talking to mail.printshop.example.:\n>>> RCPT To:<orders@printshop.example>\n"
                        "<<< 550 5.1.1 User unknown\n550 5.1.1 <orders@printshop.example>... User unknown\n",
                        t("2026-11-20 12:00:05"), t("2026-11-20 12:00:08"), "gw.printshop.example")
    sc.add("01-returned-mail.eml", raw, t("2026-11-20 12:00:08"), noise=True, reason=BOUNCE_REASON)
    sc.awaiting_total = 0

    sc = scenario("43-bounce-postmaster-null-address", "bounce", "'From: Postmaster <>' delivery failure notice",
                  "A postmaster notice with an empty address and a delivery-failure subject is a bounce.")
    raw = plain_machine(sc.name, "Postmaster <>", "postmaster@mail.townhall.example", "Delivery Failure",
                        "Your message\n\n  Subject: Re: Christmas market stall\n\nwas not delivered to:\n\n"
                        "  events@townhall.example\n\nbecause:\n\n  User events (events@townhall.example) not listed in Domino Directory\n",
                        t("2026-11-21 14:10:00"), t("2026-11-21 14:10:03"), "mail.townhall.example")
    sc.add("01-delivery-failure.eml", raw, t("2026-11-21 14:10:03"), noise=True, reason=BOUNCE_REASON)
    sc.awaiting_total = 0

    sc = scenario("44-bounce-no-from-header", "bounce", "A bounce with no From header at all (Exim subject)",
                  "No From, null return path, 'Mail delivery failed': a bounce, never a waiting customer.")
    raw = plain_machine(sc.name, None, None, "Mail delivery failed: returning message to sender",
                        "This message was created automatically by mail delivery software.\n\n"
                        "A message that you sent could not be delivered to one or more of its\nrecipients. "
                        "This is a permanent error. The following address(es) failed:\n\n  bookings@oldvenue.example\n"
                        "    host mx.oldvenue.example [198.51.100.5]\n    SMTP error from remote mail server after RCPT TO:<bookings@oldvenue.example>:\n"
                        "    550 No such user\n",
                        t("2026-11-21 15:00:00"), t("2026-11-21 15:00:02"), "relay.oldvenue.example",
                        extra=["X-Failed-Recipients: bookings@oldvenue.example"])
    sc.add("01-mail-delivery-failed.eml", raw, t("2026-11-21 15:00:02"), noise=True, reason=BOUNCE_REASON)
    sc.awaiting_total = 0

    sc = scenario("45-bounce-gateway-subject-only", "bounce", "A security gateway's bounce known only by its subject",
                  "An ordinary-looking From, text/plain, no report structure: 'Undeliverable:' says it all.")
    raw = plain_machine(sc.name, "Secure Mail Gateway <mailgw@securemail.example>", "mailgw@securemail.example",
                        "Undeliverable: Re: Cake order for Friday",
                        "Delivery has failed to these recipients or groups:\n\nfrank.jones@securemail.example\n"
                        "The recipient's mailbox is disabled.\n\nThis message was generated by the mail gateway.\n",
                        t("2026-11-22 08:00:00"), t("2026-11-22 08:00:04"), "gw1.securemail.example")
    sc.add("01-undeliverable.eml", raw, t("2026-11-22 08:00:04"), noise=True, reason=BOUNCE_REASON)
    sc.awaiting_total = 0

    sc = scenario("46-arf-abuse-report", "bounce", "ARF abuse complaint (multipart/report; report-type=feedback-report)",
                  "A feedback-loop report about the owner's newsletter: a report, not a person waiting.")
    b = f"----=_ARF_{hx(sc.name, 16)}"
    orig = Mail(frm=OWNER_FROM, to=[("", "subscriber@mail.example")], subject="Our Christmas menu is here",
                date=t("2026-11-18 17:00:00"), body="Dear customer,\n\nour Christmas menu is out!\n\nRosie",
                seed=sc.name + "orig")
    orig_raw = thunderbird(orig, inbound=False).decode()
    head = mx_received("fbl-bounces@mail.example", "fbl.mail.example", "192.0.2.150", t("2026-11-21 03:12:09"),
                       qid_seed=sc.name) + [
        "From: Mail.example Feedback Loop <fbl@mail.example>",
        f"To: {OWNER}",
        "Subject: complaint about message from 203.0.113.10",
        f"Date: {rdate(t('2026-11-21 03:12:05'))}",
        f"Message-ID: <fbl.{hx(sc.name, 20)}@fbl.mail.example>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{b}"',
    ]
    body = (f"--{b}\nContent-Type: text/plain; charset=\"US-ASCII\"\nContent-Transfer-Encoding: 7bit\n\n"
            "This is an email abuse report for an email message received from IP 203.0.113.10 on "
            "Wed, 18 Nov 2026 17:00:03 +0000.\nFor more information about this format please see "
            "https://www.rfc-editor.org/rfc/rfc5965\n\n"
            f"--{b}\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: MailExampleFBL/1.0\n"
            "Version: 1\nOriginal-Mail-From: <hello@bakery.example>\nOriginal-Rcpt-To: <subscriber@mail.example>\n"
            "Arrival-Date: Wed, 18 Nov 2026 17:00:03 +0000\nSource-IP: 203.0.113.10\nReported-Domain: bakery.example\n\n"
            f"--{b}\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n{orig_raw}\n--{b}--\n")
    sc.add("01-abuse-report.eml", join(head, body), t("2026-11-21 03:12:09"), noise=True,
           reason=["abuse", "feedback", "complaint", "report"])
    sc.awaiting_total = 0

    sc = scenario("47-challenge-response", "bounce", "A challenge-response 'please confirm' mail after the owner's reply",
                  "TMDA-style confirmation request in the customer's thread: machine mail, the customer stays answered.")
    mike = P["mike"]
    q = ask(sc, "01-question.eml", "iphone", mike, "Cake delivery", t("2026-11-20 13:00:00"),
            "Can you deliver a cake to Abingdon on Saturday?")
    r = reply(sc, "02-reply.eml", "thunderbird", q, [mike], t("2026-11-20 13:30:00"),
              "Hi Mike,\n\nYes, delivery to Abingdon is 8 GBP.\n\nRosie")
    cid = hx(sc.name, 10)
    head = mx_received(f"mike.chen-confirm+{cid}@icloud.example", "mail.icloud.example", "17.58.6.40",
                       t("2026-11-20 13:30:06"), qid_seed=sc.name) + [
        f"From: Mike Chen <mike.chen-confirm+{cid}@icloud.example>",
        f"To: {OWNER}",
        f"Subject: Please confirm your message ({r.subject})",
        f"Date: {rdate(t('2026-11-20 13:30:04'))}",
        f"Message-ID: <TMDA.{cid}@icloud.example>",
        f"In-Reply-To: <{r.msgid}>",
        f"References: <{r.msgid}>",
        "Auto-Submitted: auto-replied (confirm)",
        "Precedence: bulk",
        "X-Delivery-Agent: TMDA/1.1.12 (Macallan)",
        "X-TMDA-Confirm-Done: 1",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    body = ("Hello,\n\nI am protecting myself from unsolicited mail. To confirm that your message is not spam, "
            f"please reply to this message or visit:\n\nhttps://confirm.icloud.example/tmda/{cid}\n\n"
            "Once confirmed, your original message will be delivered.\n")
    sc.add("03-confirm.eml", join(head, body), t("2026-11-20 13:30:06"), noise=True,
           reason=["auto", "challenge", "confirm", "bulk"])
    sc.customer(mike[1], False, conversations=None)
    sc.awaiting_total = 0


def role_scenarios() -> None:
    sc = scenario("48-role-postmaster-person", "role", "A person writing from postmaster@ (Thunderbird, no machine header)",
                  "Issue 12 finding 7: a lone role address never makes a person's message noise.")
    dave = ("Dave Collins", "postmaster@printshop.example")
    q = ask(sc, "01-question.eml", "thunderbird", dave, "Your order confirmations", t("2026-11-20 11:20:00"),
            "Hi Rosie,\n\nI look after the mail here at the print shop. Could you send the menu artwork again? "
            "Our filter ate the last one.\n\nDave")
    sc.customer(dave[1], True, q.date)
    sc.awaiting_total = 1

    sc = scenario("49-role-postmaster-iphone", "role", "The village hall's 'Postmaster' asking from an iPhone",
                  "postmaster@ with a person's question and an iPhone X-Mailer awaits a reply.")
    hall = ("Village Hall Postmaster", "postmaster@villagehall.example")
    q = ask(sc, "01-question.eml", "iphone", hall, "Cakes for the Christmas fair", t("2026-11-21 17:45:10"),
            "Hello, could you supply 6 Victoria sponges for our Christmas fair on 12 Dec? What would it cost?")
    sc.customer(hall[1], True, q.date)
    sc.awaiting_total = 1


GROUP_REASON = ["group", "list", "info@"]


def group_scenarios() -> None:
    kate = ("Kate Wilson", "kate.wilson@yahoo.example")
    sc = scenario("50-group-alias-dmarc-rewrite", "group", "info@ Google Group, DMARC From rewrite 'Kate Wilson via Info'",
                  "Issue 12 finding 6: mail through a list that is the owner's own group address is customer "
                  "mail from the person in Reply-To/X-Original-From.", group=True)
    d = t("2026-11-20 14:05:00")
    raw, _ = google_group(sc.name, kate, "Birthday cake for Saturday", "Hi,\n\ncan I order a lemon drizzle "
                          "cake for 10 for Saturday?\n\nKate", d, d + timedelta(seconds=5), rewrite=True)
    sc.add("01-via-info.eml", raw, d + timedelta(seconds=5), noise=False, reason=GROUP_REASON)
    sc.customer(kate[1], True, d)
    sc.awaiting_total = 1

    grace = PEOPLE["grace"]
    sc = scenario("51-group-alias-plain-from", "group", "info@ Google Group delivery with the sender's own From",
                  "List-Id and Precedence: list from the owner's own group: still a customer who awaits.",
                  group=True)
    d = t("2026-11-21 08:10:00")
    raw, _ = google_group(sc.name, grace, "Christmas opening hours", "Hello, what are your opening hours over "
                          "Christmas?\n\nGrace", d, d + timedelta(seconds=4), rewrite=False)
    sc.add("01-group-delivery.eml", raw, d + timedelta(seconds=4), noise=False)
    sc.customer(grace[1], True, d)
    sc.awaiting_total = 1

    sc = scenario("52-group-alias-answered", "group", "info@ group mail answered by the owner To the person",
                  "The reply to the person in Reply-To closes the group mail's wait.", group=True)
    d = t("2026-11-19 09:30:00")
    body = "Hi, do you make sugar-free cakes?\n\nKate"
    raw, mid = google_group(sc.name, kate, "Sugar-free cakes", body, d, d + timedelta(seconds=5), rewrite=True)
    sc.add("01-via-info.eml", raw, d + timedelta(seconds=5), noise=False)
    lead = stub(kate, "Sugar-free cakes", d, body, mid)
    reply(sc, "02-reply.eml", "thunderbird", lead, [kate], t("2026-11-19 10:10:00"),
          "Hi Kate,\n\nYes, with a day's notice.\n\nRosie")
    sc.customer(kate[1], False)
    sc.awaiting_total = 0


LIST_REASON = ["list", "newsletter", "bulk", "unsubscribe"]


def noise_scenarios() -> None:
    sc = scenario("53-newsletter-mailchimp", "noise", "A supplier's Mailchimp newsletter",
                  "List-Unsubscribe, List-Id and Precedence: bulk: noise, never waiting.")
    d = t("2026-11-20 06:00:00")
    b = f"_----------={hx(sc.name, 26)}"
    head = mx_received(f"bounce-mc.us21_{int(hx(sc.name, 6), 16)}.{int(hx(sc.name + 'a', 6), 16)}-hello=bakery.example@mail{int(hx(sc.name, 2), 16)}.suw21.mcdlv.example",
                       f"mail{int(hx(sc.name, 2), 16)}.suw21.mcdlv.example", "198.2.180.11", d + timedelta(seconds=40),
                       qid_seed=sc.name) + [
        "Subject: =?utf-8?Q?Winter_flours_are_here_=E2=9D=84?=",
        "From: =?utf-8?Q?Flour_Mill?= <news@flourmill.example>",
        "Reply-To: =?utf-8?Q?Flour_Mill?= <news@flourmill.example>",
        f"To: =?utf-8?Q?Rosie?= <{OWNER}>",
        f"Date: {rdate(d)}",
        f"Message-ID: <{hx(sc.name, 20)}.{hx(sc.name + 'm', 20)}@mail{int(hx(sc.name, 2), 16)}.suw21.mcdlv.example>",
        "X-Mailer: MailChimp Mailer - **CID" + hx(sc.name, 20) + "**",
        "X-Campaign: mailchimp" + hx(sc.name, 20) + "." + hx(sc.name + "c", 10),
        "X-campaignid: mailchimp" + hx(sc.name, 20) + "." + hx(sc.name + "c", 10),
        "X-Report-Abuse: Please report abuse for this campaign here: https://mailchimp.example/contact/abuse/",
        "X-MC-User: " + hx(sc.name + "u", 24),
        "Feedback-ID: 119486:119486.1231098:us21:mc",
        "List-ID: " + hx(sc.name + "l", 24) + "mc list <" + hx(sc.name + "l", 24) + ".1231098.list-id.mcsv.example>",
        "X-Accounttype: pd",
        "List-Unsubscribe: <https://flourmill.us21.list-manage.example/unsubscribe?u=abc&id=def&e=ghi&c=jkl>,",
        " <mailto:unsubscribe-mc.us21_abc.def-ghi@unsubscribe.mailchimp.example?subject=unsubscribe>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Precedence: bulk",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{b}"',
    ]
    body = (f"This is a multi-part message in MIME format\n\n--{b}\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: quoted-printable\n\n" + qp("Winter flours are here ❄\n\nNew: Maris Widgeon wholemeal, "
            "25 kg sacks.\n\nUnsubscribe: https://flourmill.us21.list-manage.example/unsubscribe\n")
            + f"\n--{b}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            + qp("<html><body><h1>Winter flours are here ❄</h1></body></html>\n") + f"\n--{b}--\n")
    sc.add("01-newsletter.eml", join(head, body), d + timedelta(seconds=40), noise=True, reason=LIST_REASON)
    sc.customer("news@flourmill.example", False, status="noise")
    sc.awaiting_total = 0

    sc = scenario("54-list-other-google-group", "noise", "A bakers' guild Google Group the owner is a member of",
                  "A real list that is not one of the owner's addresses stays noise even from a person.")
    d = t("2026-11-21 19:20:00")
    member = ("Joe Baker", "joe@joesbakery.example")
    g = Mail(frm=member, to=[("", "bakers-guild@googlegroups.example")], subject="Flour prices going up again",
             date=d, body="Has anyone else had the 12% price rise letter from their mill?\n\nJoe", seed=sc.name)
    inner = gmail(g, inbound=False).decode()
    ih, _, ib = inner.partition("\n\n")
    head = mx_received("bakers-guild+bncBAABB@googlegroups.example", "mail-sor-f65.google.example", "209.85.220.65",
                       d + timedelta(seconds=6), qid_seed=sc.name) + ih.split("\n") + [
        "X-Original-Sender: joe@joesbakery.example",
        "Precedence: list",
        "Mailing-list: list bakers-guild@googlegroups.example; contact bakers-guild+owners@googlegroups.example",
        "List-ID: <bakers-guild.googlegroups.example>",
        "X-Google-Group-Id: 77123456789",
        "List-Post: <https://groups.google.example/group/bakers-guild/post>, <mailto:bakers-guild@googlegroups.example>",
        "List-Help: <https://groups.google.example/support/>, <mailto:bakers-guild+help@googlegroups.example>",
        "List-Archive: <https://groups.google.example/group/bakers-guild/>",
        "List-Unsubscribe: <mailto:googlegroups-manage+77123456789+unsubscribe@googlegroups.example>,",
        " <https://groups.google.example/group/bakers-guild/subscribe>",
    ]
    sc.add("01-list-post.eml", join(head, ib), d + timedelta(seconds=6), noise=True, reason=LIST_REASON)
    sc.customer(member[1], False, status="noise")
    sc.awaiting_total = 0

    sc = scenario("55-list-mailman3", "noise", "A Mailman 3 list post ('[Market Traders] ...')",
                  "List-Id/List-Post from Mailman: noise.")
    d = t("2026-11-22 10:00:00")
    member = ("Sue Green", "sue@greengrocer.example")
    m = Mail(frm=member, to=[("", "traders@lists.market.example")], subject="[Market Traders] Stall fees for 2027",
             date=d, body="Hi all,\n\nthe council has published the 2027 stall fees.\n\nSue", seed=sc.name)
    tb = thunderbird(m, inbound=False).decode()
    ih, _, ib = tb.partition("\n\n")
    head = mx_received("traders-bounces@lists.market.example", "mail.lists.market.example", "192.0.2.60",
                       d + timedelta(seconds=30), qid_seed=sc.name) + ih.split("\n") + [
        "Message-ID-Hash: " + hx(sc.name, 32).upper()[:32],
        "X-Message-ID-Hash: " + hx(sc.name, 32).upper()[:32],
        "X-MailFrom: sue@greengrocer.example",
        "X-Mailman-Rule-Misses: dmarc-mitigation; no-senders; approved; emergency; loop; banned-address; member-moderation; header-match-traders.lists.market.example-0; nonmember-moderation; administrivia; implicit-dest; max-recipients; max-size; news-moderation; no-subject; digests; suspicious-header",
        "X-Mailman-Version: 3.3.9",
        "Precedence: list",
        "List-Id: Market Traders <traders.lists.market.example>",
        "Archived-At: <https://lists.market.example/archives/list/traders@lists.market.example/message/ABC/>",
        "List-Archive: <https://lists.market.example/archives/list/traders@lists.market.example/>",
        "List-Help: <mailto:traders-request@lists.market.example?subject=help>",
        "List-Owner: <mailto:traders-owner@lists.market.example>",
        "List-Post: <mailto:traders@lists.market.example>",
        "List-Subscribe: <mailto:traders-join@lists.market.example>",
        "List-Unsubscribe: <mailto:traders-leave@lists.market.example>",
    ]
    sc.add("01-list-post.eml", join(head, ib), d + timedelta(seconds=30), noise=True, reason=LIST_REASON)
    sc.customer(member[1], False, status="noise")
    sc.awaiting_total = 0


ELSEWHERE_REASON = ["answered elsewhere", "elsewhere"]
#: The store's clock in the tests: "when the \\Answered flag was first seen" by an import or a sync.
FIXED = t("2026-11-23 12:00:00")


def answered_scenarios() -> None:
    P = PEOPLE
    liam = ("Liam Scott", "liam.scott@gmail.example")
    sc = scenario("56-answered-flag-no-reply", "answered", "\\Answered set by another client, no reply in any folder",
                  "Answered elsewhere (e.g. from a phone client that keeps no Sent copy): closes the wait and says so.")
    ask(sc, "01-question.eml", "gmail", liam, "Gift hamper", t("2026-11-20 09:45:00"),
        "Hi, do you do gift hampers for delivery?\nLiam", answered=True)
    sc.customer(liam[1], False, reason=ELSEWHERE_REASON, last_reply=FIXED)
    sc.awaiting_total = 0

    sc = scenario("57-answered-flag-on-followup", "answered", "Outlook thread: the follow-up is flagged \\Answered, no reply to it",
                  "The flag on the latest inbound message closes the wait even though Sent holds only the "
                  "earlier reply.")
    q = ask(sc, "01-question.eml", "outlook", P["paul"], "Christmas party order", t("2026-11-18 09:00:00"),
            "Hello, we need 60 mince pies on 18 December.")
    r = reply(sc, "02-reply.eml", "thunderbird", q, [P["paul"]], t("2026-11-18 11:00:00"),
              "Hi Paul,\n\nNo problem. Delivery or collection?\n\nRosie")
    ask(sc, "03-followup.eml", "outlook", P["paul"], "RE: Christmas party order", t("2026-11-19 08:30:00"),
        "Delivery please, to the Cowley office.", reply_to=r, answered=True)
    sc.customer(P["paul"][1], False, reason=ELSEWHERE_REASON, last_reply=FIXED)
    sc.awaiting_total = 0

    sc = scenario("58-answered-flag-with-sent-reply", "answered", "\\Answered set and the reply is in Sent",
                  "With the reply found, the reply closes the wait at its own time (not 'answered elsewhere').")
    q = ask(sc, "01-question.eml", "apple", P["claire"], "Macarons", t("2026-11-20 16:00:00"),
            "Bonjour, vendez-vous des macarons à l'unité ?", answered=True, tz=60)
    reply(sc, "02-reply.eml", "apple", q, [P["claire"]], t("2026-11-20 16:30:00"),
          "Bonjour Claire, oui, 1,50 € pièce.\n\nRosie")
    sc.customer(P["claire"][1], False, last_reply=t("2026-11-20 16:30:00"), reason_absent=ELSEWHERE_REASON)
    sc.awaiting_total = 0


def more_lead_scenarios() -> None:
    sc = scenario("59-lead-typeform", "lead", "Typeform 'New response' notification with Reply-To the respondent",
                  "Another form service: the respondent in Reply-To awaits, the notifier is not the contact.")
    d = t("2026-11-22 09:12:40")
    person = ("Lucy Hall", "lucy.hall@mail.example")
    raw, _ = typeform(sc.name, person, "A unicorn cake for 15 children on 6 December, gluten-free if possible.", d,
                      d + timedelta(seconds=3))
    sc.add("01-typeform.eml", raw, d + timedelta(seconds=3), noise=False, reason=LEAD_REASON)
    sc.customer(person[1], True, d)
    sc.awaiting_total = 1

    sc = scenario("60-lead-etsy-sale-note", "lead", "Etsy 'You made a sale' with a question in the buyer's note",
                  "A marketplace notification without Reply-To: the buyer's email is only in the order details.")
    d = t("2026-11-21 14:30:00")
    person = ("Emily Stone", "emily.stone@mail.example")
    raw, _ = etsy_sale(sc.name, person, "Could you write 'Happy Christmas Sam' on the roof? Thank you!", d,
                       d + timedelta(seconds=8))
    one_lead(sc, "01-etsy-sale.eml", raw, d, 8, person[1])


def google_forms_scenario() -> None:
    sc = scenario("61-lead-google-forms-addon", "lead",
                  "Google Forms notification add-on: sent from the shop's form Gmail, Reply-To the respondent",
                  "A Reply-To that differs from the notifying account's From: the respondent is the customer.")
    d = t("2026-11-22 11:45:00")
    person = ("Tariq Aziz", "tariq.aziz@mail.example")
    raw, _ = google_forms_addon(sc.name, person, "Two dozen iced biscuits with our company logo, for 3 December.",
                                d, d + timedelta(seconds=4))
    sc.add("01-forms-notification.eml", raw, d + timedelta(seconds=4), noise=False, reason=LEAD_REASON)
    sc.customer(person[1], True, d)
    sc.awaiting_total = 1


def reply_to_address_scenario() -> None:
    sc = scenario("62-reply-to-personal-address", "reply",
                  "Customer writes from work with Reply-To her own Gmail; the owner answers there",
                  "Mail clients answer to Reply-To (RFC 5322 3.6.2): a reply addressed there is the reply, "
                  "and closes the wait.")
    person = ("Helen Park", "helen.park@parkdesign.example")
    home = ("Helen Park", "helen.park@gmail.example")
    d = t("2026-11-20 08:41:17")
    q = Mail(frm=person, to=[("", OWNER)], subject="Birthday cake for Saturday", date=d, tz=60,
             body="Hello,\n\nCould you make a chocolate birthday cake for 12 for Saturday?\n"
                  "Please answer to my personal address.\n\nHelen", seed=sc.name + "01")
    arrival = d + timedelta(seconds=3)
    sc.add("01-question.eml", outlook(q, inbound=True, arrival=arrival, tenant="parkdesign.example",
                                      extra_head=[f"Reply-To: {addr(*home)}"]), arrival)
    reply(sc, "02-reply.eml", "iphone", q, [home], t("2026-11-20 09:30:02"),
          "Hi Helen, yes: chocolate for 12, ready Saturday 10 am. Rosie")
    sc.customer(person[1], False)
    sc.awaiting_total = 0


def form_list_header_scenario() -> None:
    sc = scenario("63-lead-wix-sendgrid-list-unsubscribe", "lead",
                  "Wix Forms submission with the List-Unsubscribe that SendGrid adds to every message",
                  "The mailer's unsubscribe link is not the person's: the form's lead still awaits a reply.")
    d = t("2026-11-22 16:20:41")
    person = ("Omar Haddad", "omar.haddad@mail.example")
    raw, _ = wix_form(sc.name, person, "Can I order 40 cupcakes for a school fair on 5 December?", d,
                      d + timedelta(seconds=5), unsubscribe=True)
    one_lead(sc, "01-wix-submission.eml", raw, d, 5, person[1])


def gmail_reaction(seed: str, person: tuple[str, str], parent: Mail, emoji: str, date: datetime,
                   arrival: datetime) -> bytes:
    """A Gmail emoji reaction (developers.google.com/workspace/gmail/reactions/format): text,
    the ``text/vnd.google.email-reaction+json`` part, then HTML; In-Reply-To the message reacted to."""
    m = Mail(frm=person, to=[("", OWNER)], subject="Re: " + parent.subject.removeprefix("Re: "), date=date,
             body="", seed=seed, in_reply_to=parent.msgid, references=[*parent.references, parent.msgid])
    m.msgid = f"CA{b64id(seed, 44).replace('/', '_')}@mail.gmail.example"
    boundary = "000000000000" + hx(seed + "b", 16)
    head = mx_received(person[1], "mail-wr1-f54.google.example", "209.85.221.54", arrival, qid_seed=seed) + [
        "MIME-Version: 1.0", f"References: {m.refs()}", f"In-Reply-To: <{m.in_reply_to}>",
        f"From: {addr(*person)}", f"Date: {rdate(date)}", f"Message-ID: <{m.msgid}>",
        f"Subject: {ew(m.subject)}", f"To: {OWNER}",
        f'Content-Type: multipart/alternative; boundary="{boundary}"']
    link = "https://www.google.com/gmail/about/?utm_source=gmail-in-product&utm_medium=et&utm_campaign=emojireactionemail#app"
    name = person[0].split()[0]
    plain = f"{emoji}\n{name} reacted via Gmail {link}"
    data = '{\n  "emoji": "' + emoji + '",\n  "version": 1\n}'
    html = f'<div><p style="font-size:50px">{emoji}</p><p>{name} reacted via <a href="{link}">Gmail</a></p></div>'
    qp_head = 'charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
    body = (f"--{boundary}\nContent-Type: text/plain; {qp_head}{qp(plain)}\n\n"
            f"--{boundary}\nContent-Type: text/vnd.google.email-reaction+json; {qp_head}{qp(data)}\n"
            f"--{boundary}\nContent-Type: text/html; {qp_head}{qp(html)}\n"
            f"--{boundary}--\n")
    return join(head, body)


def pigeonhole_vacation(seed: str, parent: Mail, text: str, date: datetime) -> bytes:
    """The owner's own vacation reply as Dovecot's Sieve (Pigeonhole) sends it, with its copy
    filed in Sent (``vacation :fcc "Sent"``, RFC 8580): "Auto:" subject, RFC 3834 headers."""
    head = ["X-Sieve: Pigeonhole Sieve 0.5.21", f"Message-ID: <dovecot-sieve-{int(date.timestamp())}-{hx(seed, 8)}-0@mx1.bakery.example>",
            f"Date: {rdate(date)}", f"From: <{OWNER}>", f"To: <{parent.frm[1]}>",
            f"Subject: Auto: {parent.subject}", f"In-Reply-To: <{parent.msgid}>",
            f"References: <{parent.msgid}>", "Auto-Submitted: auto-replied (vacation)", "Precedence: bulk",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return join(head, text)


def spamassassin_tagged(seed: str, frm: tuple[str, str], subject: str, text: str, date: datetime,
                        arrival: datetime) -> bytes:
    """Mail a cPanel host's SpamAssassin judged spam and delivered to the inbox anyway, with its
    subject rewritten and its verdict headers."""
    head = mx_received(frm[1], "mail.seo-growth.example", "198.51.100.23", arrival, qid_seed=seed) + [
        "X-Spam-Status: Yes, score=8.4", "X-Spam-Score: 84", "X-Spam-Bar: ++++++++",
        "X-Spam-Report: Spam detection software, running on the system \"server.hostingco.example\",",
        " has identified this incoming email as possible spam.", "X-Spam-Flag: YES",
        f"Subject: ***SPAM*** {subject}", f"From: {addr(*frm)}", f"To: {OWNER}", f"Date: {rdate(date)}",
        f"Message-ID: <{hx(seed, 20)}@mail.seo-growth.example>", "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8"]
    return join(head, text)


def machine_mail_scenarios() -> None:
    P = PEOPLE
    sc = scenario("64-lead-wpforms-from-admin-email", "lead",
                  "WPForms notification sent From the owner's own address ({admin_email}, its default)",
                  "A form that mails from the site's own address is the visitor's message, not the owner's: "
                  "the Email field's person awaits.")
    d = t("2026-11-22 18:02:13")
    person = ("Rachel Green", "rachel.green@mail.example")
    raw, _ = wpforms(sc.name, person, "Do you make gluten-free birthday cakes? It's for Sunday.", d,
                     d + timedelta(seconds=3), frm=f"Rosie's Bakery <{OWNER}>")
    one_lead(sc, "01-wpforms.eml", raw, d, 3, person[1])

    sc = scenario("65-lead-cf7-from-own-address-reply-to", "lead",
                  "Contact Form 7 set up with From '[your-name] <hello@...>' and Reply-To the visitor",
                  "CF7's advice for SPF: mail from the site's own domain. The visitor in Reply-To awaits.")
    d = t("2026-11-21 10:15:40")
    person = ("Tariq Aziz", "tariq.aziz@mail.example")
    raw, _ = cf7_form(sc.name, person, "Wedding cake tasting",
                      "Could we book a tasting for a three-tier wedding cake next week?", d, d + timedelta(seconds=2),
                      reply_to=True, frm=f"{person[0]} <{OWNER}>")
    one_lead(sc, "01-cf7.eml", raw, d, 2, person[1])

    sc = scenario("66-reaction-gmail-after-answer", "noise",
                  "The customer reacts to the owner's answer with a Gmail emoji reaction",
                  "A reaction (text/vnd.google.email-reaction+json) needs no answer: it must not reopen the wait.")
    q, r = answered_thread(sc, "gmail", P["grace"], "Sourdough on Saturday", "2026-11-20",
                           "Hi! Will you have sourdough on Saturday morning?")
    at = t("2026-11-20 10:12:31")
    sc.add("03-reaction.eml", gmail_reaction(sc.name + "react", P["grace"], r, "\U0001f44d", at,
                                             at + timedelta(seconds=2)),
           at + timedelta(seconds=2), noise=True, reason=["reaction"])
    sc.customer(P["grace"][1], False)
    sc.awaiting_total = 0

    sc = scenario("67-owner-vacation-sieve-fcc", "autoreply",
                  "The owner's own Sieve vacation reply, its copy filed in Sent",
                  "An automatic reply sent for the owner answers nothing: the customer still waits for a person.")
    d = t("2026-11-22 09:05:12")
    q = ask(sc, "01-question.eml", "outlook", P["paul"], "Catering for 40 on Friday", d,
            "Hello, can you cater sandwiches for 40 people this Friday? Paul")
    v = pigeonhole_vacation(sc.name, q, "Thank you for your message. The bakery is closed until Tuesday; "
                            "we will answer then.\n\nRosie\n", d + timedelta(seconds=5))
    sc.add("02-vacation.eml", v, d + timedelta(seconds=6), folder="Sent", noise=True, reason=AUTO_REASON)
    sc.customer(P["paul"][1], True, d)
    sc.awaiting_total = 1

    sc = scenario("68-spam-tagged-by-spamassassin", "noise",
                  "Mail the host's SpamAssassin marked ***SPAM*** and delivered to the inbox",
                  "The mail server's verdict (X-Spam-Flag: YES) is noise: kept and viewable, never waiting.")
    d = t("2026-11-22 03:14:55")
    raw = spamassassin_tagged(sc.name, ("Kevin | SEO Growth", "kevin@seo-growth.example"),
                              "Get your bakery to #1 on Google this month",
                              "Hi,\n\nI noticed your website is not ranking for 'bakery near me'. Can I send you "
                              "a free audit?\n\nKevin\n", d, d + timedelta(seconds=4))
    sc.add("01-spam.eml", raw, d + timedelta(seconds=4), noise=True, reason=["spam"])
    sc.customer("kevin@seo-growth.example", False, status="noise", conversations=None)
    sc.awaiting_total = 0


def ms_security_alert(seed: str, date: datetime, arrival: datetime) -> bytes:
    """Microsoft's account security alert: transactional, so no List-Unsubscribe; the only sign
    is the no-reply word inside the sender's local part."""
    head = mx_received("account-security-noreply@accountprotection.microsoft.com",
                       "mail-db8eur05on2045.outbound.protection.outlook.example", "40.107.20.45", arrival,
                       qid_seed=seed) + [
        "From: Microsoft account team <account-security-noreply@accountprotection.microsoft.com>",
        f"To: {OWNER}", "Subject: Microsoft account security alert", f"Date: {rdate(date)}",
        f"Message-ID: <{uuid(seed)}@az.westeurope.microsoft.example>", "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8", "X-MS-Exchange-Organization-AuthAs: Anonymous"]
    return join(head, "Microsoft account\n\nUnusual sign-in activity\n\nWe detected something unusual about a "
                      "recent sign-in to the Microsoft account ho*****@bakery.example.\n\nThanks,\n"
                      "The Microsoft account team\n")


def ms_dmarc_report(seed: str, date: datetime, arrival: datetime) -> bytes:
    """A DMARC aggregate report (RFC 7489 7.2.1.1 subject) as Microsoft sends it to the rua
    address, which a small business often sets to its own mailbox."""
    boundary = f"_{hx(seed, 8)}-{hx(seed + 'b', 4)}_"
    start = int(date.timestamp()) - 86400
    report_id = hx(seed + "id", 32)
    head = mx_received("dmarcreport@microsoft.com", "mail-am6eur05on2089.outbound.protection.outlook.example",
                       "40.107.22.89", arrival, qid_seed=seed) + [
        "From: DMARC Aggregate Report <dmarcreport@microsoft.com>", f"To: <{OWNER}>",
        f"Subject: Report Domain: bakery.example Submitter: enterprise.protection.outlook.com Report-ID: {report_id}",
        f"Date: {rdate(date)}", f"Message-ID: <{uuid(seed)}@microsoft.example>", "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"']
    body = (f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
            "This is a DMARC aggregate report from Microsoft Corporation. For Emails received between "
            f"{rdate(date - timedelta(days=1))} UTC to {rdate(date)} UTC.\n\n"
            f"--{boundary}\nContent-Type: application/gzip\n"
            f'Content-Disposition: attachment; filename="enterprise.protection.outlook.com!bakery.example!{start}!{start + 86400}.xml.gz"\n'
            f"Content-Transfer-Encoding: base64\n\n{b64id(seed + 'gz', 76)}\n{b64id(seed + 'gz2', 40)}==\n--{boundary}--\n")
    return join(head, body)


def woocommerce_new_order(seed: str, person: tuple[str, str], note_text: str, date: datetime,
                          arrival: datetime) -> bytes:
    """WooCommerce's "New order" mail to the shop (wp_mail through PHPMailer), Reply-To the
    customer's billing address, the customer's order note in its own row when there is one."""
    msgid = f"{b64id(seed, 43).replace('/', '').replace('+', '')}@bakery.example"
    order = int(hx(seed, 4), 16) % 9000 + 1000
    head = wordpress_head(seed, arrival) + [
        f"To: {OWNER}", f"Subject: [Rosie's Bakery]: New order #{order}", f"Date: {rdate(date)}",
        "From: Rosie's Bakery <wordpress@bakery.example>", f"Reply-To: {addr(*person)}",
        f"Message-ID: <{msgid}>", "X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)",
        "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit"]
    note = f"Note: {note_text}\n" if note_text else ""
    body = (f"New order: #{order}\n\nYou've received the following order from {person[0]}:\n\n"
            f"[Order #{order}] (November 22, 2026)\n\nProduct\tQuantity\tPrice\nChristmas stollen\t2\t£24.00\n\n"
            f"Subtotal:\t£24.00\nShipping:\tLocal pickup\nPayment method:\tCredit Card\nTotal:\t£24.00\n{note}\n"
            f"Billing address\n{person[0]}\n12 Mill Lane\nOxford\n07700 900123\n{person[1]}\n\n"
            "Congratulations on the sale.\n")
    return join(head, body)


def order_scenarios() -> None:
    sc = scenario("71-order-etsy-sale-without-note", "noise",
                  "Etsy 'You made a sale' where the buyer wrote nothing",
                  "An order to fulfil in the shop, not a message: it must not sit in the list as waiting.")
    d = t("2026-11-22 11:05:00")
    person = ("Ben Archer", "ben.archer@mail.example")
    raw, _ = etsy_sale(sc.name, person, "", d, d + timedelta(seconds=8))
    sc.add("01-etsy-sale.eml", raw, d + timedelta(seconds=8), noise=True, reason=["order"])
    sc.customer(person[1], False, status="noise", conversations=None)
    sc.awaiting_total = 0

    sc = scenario("72-order-woocommerce-with-customer-note", "lead",
                  "WooCommerce 'New order' with the customer's order note, Reply-To the customer",
                  "The customer wrote in the order: that note is their message, and waits for a reply.")
    d = t("2026-11-22 17:44:12")
    person = ("Chloe Baptiste", "chloe.baptiste@mail.example")
    raw = woocommerce_new_order(sc.name, person, "Can you slice one of them? We'll collect on Friday after 4.",
                                d, d + timedelta(seconds=2))
    one_lead(sc, "01-new-order.eml", raw, d, 2, person[1])


def elementor_form(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime) -> bytes:
    """Elementor Pro's form action "Email" through wp_mail: From "email@" the site's domain named
    after the site, HTML fields, the "---" footer with the page and "Powered by: Elementor"; no
    Reply-To (the form's Reply-To setting left empty)."""
    msgid = f"{b64id(seed, 43).replace('/', '').replace('+', '')}@bakery.example"
    head = mx_received("email@bakery.example", "web1.hostingco.example", "203.0.113.80", arrival, qid_seed=seed) + [
        f"To: {OWNER}", 'Subject: New message from "Rosie\'s Bakery"', f"Date: {rdate(date)}",
        "From: Rosie's Bakery <email@bakery.example>", f"Message-ID: <{msgid}>",
        "X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)", "MIME-Version: 1.0",
        "Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: 8bit"]
    body = (f"Name: {person[0]}<br>Email: {person[1]}<br>Message: {message}<br><br>---<br><br>"
            f"Date: {date.strftime('%B %-d, %Y')}<br>Time: {date.strftime('%-I:%M %p').lower()}<br>"
            "Page URL: https://bakery.example/contact/<br>User Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like "
            "Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1<br>"
            "Remote IP: 198.51.100.23<br>Powered by: Elementor<br>\n")
    return join(head, body)


def site_script_form(seed: str, person: tuple[str, str], message: str, date: datetime, arrival: datetime) -> bytes:
    """A site's own form-to-mail script (an agency's PHP on the shop's web host), mailing from
    an ordinary-looking address on the site's domain, which is not the mailbox's, with the
    site's own subject and the fields as "*Label:*" lines, each value on the line below (the
    shape of real dealers' and shops' site forms in lead parsers' fixtures)."""
    msgid = f"{b64id(seed, 32).replace('/', '').replace('+', '')}@rosies-cakes.example"
    head = mx_received("contato@rosies-cakes.example", "web2.hostingco.example", "203.0.113.81", arrival,
                       qid_seed=seed) + [
        f"To: {OWNER}", "Subject: Rosie's Cakes - Orders page", f"Date: {rdate(date)}",
        "From: Rosie's Cakes <contato@rosies-cakes.example>", f"Message-ID: <{msgid}>",
        "X-Mailer: PHPMailer 6.8.0 (https://github.com/PHPMailer/PHPMailer)", "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit"]
    body = (f"Contact from the site\n\n*Name:*\n\n{person[0]}\n\n*Phone:*\n\n07700 900 456\n\n*E-mail:*\n\n"
            f"{person[1]}\n\n*Message:*\n\n{message}\n\n-----------------------------------------\n\n"
            "*Conversion source:*\n\nhttps://rosies-cakes.example/orders\n")
    return join(head, body)


def site_form_scenarios() -> None:
    sc = scenario("75-lead-elementor-from-the-sites-own-address", "lead",
                  "Elementor form mailing from email@ the shop's own domain, no Reply-To",
                  "Another address on the owner's own domain sending a form-shaped message is the site's "
                  "form: the visitor in its Email field waits, not 'email@'.")
    d = t("2026-11-22 20:31:07")
    person = ("Hannah Lee", "hannah.lee@mail.example")
    one_lead(sc, "01-elementor.eml", elementor_form(sc.name, person, "Do you make vegan cupcakes for a party of 20?",
                                                     d, d + timedelta(seconds=4)), d, 4, person[1])

    sc = scenario("76-lead-typeform-without-reply-to", "lead",
                  "Typeform 'New response' whose notification sets no Reply-To",
                  "A form that asks in sentences ('What's your email address?'): the answer under the "
                  "question is the visitor, who waits.")
    d = t("2026-11-22 13:10:45")
    person = ("Omar Haddad", "omar.haddad@mail.example")
    raw, _ = typeform(sc.name, person, "Twelve cinnamon buns for Sunday?", d, d + timedelta(seconds=3),
                      reply_to=False)
    one_lead(sc, "01-typeform.eml", raw, d, 3, person[1])

    sc = scenario("80-reply-through-a-gateway-that-breaks-a-header", "plain",
                  "A customer's Outlook reply whose company gateway (Symantec) continued a header at column 0",
                  "The stdlib parser ends the headers at the first line that is neither a field nor indented; "
                  "read as continuations, From and Subject survive and the customer waits again.")
    paul = ("Paul Harris", "paul.harris@contoso.example")
    q = ask(sc, "01-question.eml", "outlook", paul, "Quote for 60 croissants", t("2026-11-19 08:10:00"),
            "Hello,\n\nCould you quote for 60 croissants on Friday?\n\nPaul")
    r = reply(sc, "02-reply.eml", "thunderbird", q, [paul], t("2026-11-19 09:00:00"),
              "Hi Paul, 60 croissants are 54 GBP. Shall I book them?\n\nRosie")
    d = t("2026-11-20 10:31:12")
    m = Mail(frm=paul, to=[("", OWNER)], subject="RE: Quote for 60 croissants", date=d,
             body="Yes please, for 8am.\n\nPaul", seed=sc.name + "03", in_reply_to=r.msgid,
             references=[*r.references, r.msgid])
    raw = send("outlook", m, d + timedelta(seconds=4), tenant="bakery.example")
    at = raw.index(b"\nFrom:")
    raw = (raw[:at] + b"\nX-Brightmail-Tracker: H4sIAAAAAAAAA+NgFlrIKsWRWlGSWpSXmKPExsWi75nTrTtrwZM\n"
           b"Ig5drOCwmrVzP5sDoseXbDeYAxijWzLyk/IoE1owFz6ezFkxKrWjafpWpgfFOchcjF4eQwDZG\n"
           b"3a8+d3eAeUv0jYsNi8ZvKxzhfCw0v0Y8ZcuU6q1tqdN7nwYAGyZhr0IDAAA=" + raw[at:])
    sc.add("03-reply-through-gateway.eml", raw, d + timedelta(seconds=4), noise=False)
    sc.customer(paul[1], True, d)
    sc.awaiting_total = 1

    sc = scenario("79-lead-site-script-on-another-domain", "lead",
                  "A site's own form script mailing from contato@ the site's domain (not the mailbox's), its own subject",
                  "No no-reply sender, no form subject, no known footer: the body opening with a form's fields "
                  "says it is a form, and the visitor in its E-mail field waits.")
    d = t("2026-11-22 15:20:33")
    person = ("Laura Pinto", "laura.pinto@mail.example")
    one_lead(sc, "01-site-form.eml", site_script_form(sc.name, person, "Could you do a lemon drizzle for 20 on Friday?",
                                                       d, d + timedelta(seconds=2)), d, 2, person[1])


def machine_sender_scenarios() -> None:
    sc = scenario("69-noreply-word-inside-the-address", "noise",
                  "Microsoft's account security alert from account-security-noreply@",
                  "Transactional mail carries no list headers: a no-reply word anywhere in the local part is "
                  "a sender nobody can answer.")
    d = t("2026-11-22 06:41:09")
    sc.add("01-security-alert.eml", ms_security_alert(sc.name, d, d + timedelta(seconds=3)), d + timedelta(seconds=3),
           noise=True, reason=["no-reply"])
    sc.customer("account-security-noreply@accountprotection.microsoft.com", False, status="noise", conversations=None)
    sc.awaiting_total = 0

    sc = scenario("70-dmarc-aggregate-report", "noise",
                  "A DMARC aggregate report from Microsoft to the owner's own mailbox (rua=)",
                  "RFC 7489's report subject names it: a report about the owner's domain, nothing to answer.")
    d = t("2026-11-22 01:12:45")
    sc.add("01-dmarc.eml", ms_dmarc_report(sc.name, d, d + timedelta(seconds=6)), d + timedelta(seconds=6),
           noise=True, reason=["DMARC"])
    sc.customer("dmarcreport@microsoft.com", False, status="noise", conversations=None)
    sc.awaiting_total = 0


def build() -> list[Scenario]:
    ALL.clear()
    for fn in (plain_scenarios, lead_scenarios, reply_scenarios, forward_scenarios, skew_scenarios,
               repeat_scenarios, autoreply_scenarios, bounce_scenarios, role_scenarios, group_scenarios,
               noise_scenarios, answered_scenarios, more_lead_scenarios, google_forms_scenario,
               reply_to_address_scenario, form_list_header_scenario, machine_mail_scenarios,
               machine_sender_scenarios, order_scenarios, site_form_scenarios):
        fn()
    return ALL


README_HEAD = """# The real-world mail corpus (issue 12)

Generated by `mailgen.py` (run it from the repository root to rebuild every folder and this file);
run by `tests/test_realworld_corpus.py` through Maildir import, mbox import and IMAP sync against
Dovecot. Each folder holds the `.eml` files and `scenario.toml` (arrival times, folders, flags and
the expectations, which follow issue 12 and design.md's Definitions, not today's engine).

The owner is `hello@bakery.example`; `info@bakery.example` is a Google Group alias
(`[owner] group_addresses`). The store's clock is fixed at 2026-11-23T12:00:00Z.

| scenario | class | what | why |
|---|---|---|---|
"""


def write_readme(scs: list[Scenario]) -> None:
    rows = [f"| `{sc.name}` | {sc.cls} | {sc.title.replace('|', '/')} | {sc.why.replace('|', '/')} |" for sc in scs]
    (HERE / "README.md").write_text(README_HEAD + "\n".join(rows) + "\n")


if __name__ == "__main__":
    for d in HERE.iterdir():
        if d.is_dir() and d.name[:2].isdigit():
            shutil.rmtree(d)
    for sc in build():
        write(sc)
    write_readme(ALL)
    print(f"{len(ALL)} scenarios written to {HERE}")
