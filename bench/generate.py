"""Generated data of realistic shape for the benchmarks: stores and Maildirs, 1k to 1M messages.

Why not ``tests/gen.py``: tests want small, exact records; benchmarks need what a real small
business mailbox looks like on the wire and in the store: threads with follow-ups, owner
replies in Sent (some from a phone, with no customer mail in between), newsletters, auto-replies,
bounces and no-reply notifications, multipart/alternative HTML, base64 attachments, RFC 2047
encoded non-ASCII names and subjects, quoted replies, a long-tailed vocabulary (so full-text
search meets both very common and rare words), and reviews on four platforms.

Everything is deterministic for ``(size, seed)`` and dated relative to the fixed ``ANCHOR``, so
a cached store under ``bench/out/`` stays valid between runs. One ``Mail`` feeds both outputs:
``to_record`` (what a source hands ``store.ingest``) and ``to_bytes`` (the RFC 5322 file that a
Maildir import or a Dovecot sync reads).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from itertools import accumulate

from owner_tui.aging import to_iso
from owner_tui.records import Attachment, MessageRecord

#: The data's "now". Fixed, so a store built once stays the same store.
ANCHOR = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SPAN_DAYS = 3 * 365
OWNER = "hello@harbourbakery.example"
OWNER_NAME = "Harbour Bakery"
REVIEW_CHANNELS = ("google", "trustpilot", "yelp", "facebook")

_FIRST = ("Amira Tom Léa Kenji Siobhán Marcus Priya Zoë Jonas Fatima Greg Olivia Mateus Hannah Diego Nora "
          "Łukasz José Søren Chloé Jürgen Ólafur Ana Björn Ines Noah Emma Liam Mia Lucas Sofia Ahmed Yuki "
          "Chen Ravi Aisling Dmitri Élodie Renée Matías Anaïs Ümit Çağla Mihai Oksana Grzegorz Thảo "
          "王芳 Δημήτρης Алексей").split()
_LAST = ("Haddad Becker Moreau Watanabe O'Neill Johnson Natarajan Clarke Lindqvist Zahra Ellis Chen Silva "
         "Weiß Ramírez Al-Sayed Müller Dvořák García Nørgaard Brontë Kowalski Nguyễn Öztürk Jensen Rossi "
         "Smith Brown Martin Bernard Dubois Fischer Schäfer Novák Horváth Popescu Ivanova Kaya Yılmaz Tanaka "
         "Sato Kim Park Singh Patel Murphy Kelly Byrne").split()
_DOMAINS = ("example.com example.net example.org example.fr example.de example.co.uk mail.example "
            "post.example.ie example.jp example.es").split()
_PRODUCTS = ("sourdough croissant baguette brioche focaccia cinnamon-bun cardamom-bun rye-loaf macaron "
             "éclair tart quiche scone muffin bagel panettone stollen pretzel babka crêpe galette "
             "wedding-cake birthday-cake cheesecake pavlova strudel").split()
_SUBJECTS = ("Order #{n} never arrived|Question about the {p}|Booking a table for Saturday|{P} for {n} people?"
             "|Allergens in the {p}|Invoice {n}|Catering quote for {n} guests|Refund request for order {n}"
             "|Ihre Bestellung {n}|Commande n°{n} — {p}|Gluten-free {p}?|Lost scarf|Wholesale {p} for our café"
             "|Gift vouchers|Pick-up time for the {p}|Vegan {p}?|Job application — weekend barista"
             "|Complaint: stale {p}|Custom {p} for a birthday|Delivery to {n} Harbour Street"
             "|¿Tienen {p} sin gluten?|Opening hours on bank holidays|Parking near the shop|Nut-free {p}").split("|")
_COMMON = ("the to and a of i you for is in it we on my be have this that with are would at can your "
           "order please thanks could if will our just not but so from me as was do know like get "
           "delivery cake bread today tomorrow morning week saturday sunday friday time pick up price "
           "thank hi hello dear best regards much also need want still again soon let any one two "
           "there when what how about some all more very good great lovely sorry problem help "
           "booking table people guests party wedding birthday gluten free vegan allergy nuts milk "
           "eggs sugar butter flour coffee tea box dozen slice fresh warm oven shop counter window "
           "staff team card cash paid payment refund invoice receipt address street door bell "
           "email phone call message reply answer quick late early open closed holiday").split()
_NEWS = ("Flour Mill Weekly|EcoPack|Coffee Roasters Club|Bakery Trade News|Market Stall Digest|Dairy Co-op"
         "|Packaging Deals|Local Chamber of Commerce|Point-of-Sale Updates|Equipment Rentals").split("|")

_RARE_SYL = "ka lu mo ri ze ta vo pi ne sa do gu fe hi jo bel tor vin mar sol qua xen dri".split()


def _vocabulary(seed: int = 7) -> tuple[list[str], list[float]]:
    """Common words plus products plus ~6,000 rare made-up words, Zipf-weighted (1/rank^1.1):
    a few words are in most messages, most words in very few, as in real text."""
    rnd = random.Random(seed)
    rare = sorted({"".join(rnd.choice(_RARE_SYL) for _ in range(rnd.randint(2, 4))) for _ in range(7000)})
    rnd.shuffle(rare)
    words = _COMMON + [p.replace("-", " ") for p in _PRODUCTS] + rare
    return words, list(accumulate(1.0 / (i + 1) ** 1.1 for i in range(len(words))))


WORDS, _CUM = _vocabulary()


@dataclass
class Mail:
    """One generated message: an email (folder INBOX or Sent) or a review / review reply."""

    kind: str  # customer, owner-first, newsletter, auto-reply, bounce, notification, review
    channel: str
    folder: str | None
    msgid: str  # normalised (no brackets): the record's external_id
    date: datetime
    from_name: str
    from_addr: str
    to_name: str
    to_addr: str
    subject: str
    text: str
    direction: str  # "in" or "out"
    html: bool = False
    attachments: tuple[tuple[str, str, int], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    rating: int | None = None
    thread_key: str | None = None
    url: str | None = None


class _Gen:
    def __init__(self, seed: int, customers: int):
        self.rnd = random.Random(seed)
        self.customers = max(20, customers)

    def words(self, n: int) -> str:
        return " ".join(self.rnd.choices(WORDS, cum_weights=_CUM, k=n))

    def paragraph(self) -> str:
        r = self.rnd
        sentences = []
        for _ in range(r.randint(1, 4)):
            s = self.words(r.randint(5, 18))
            if r.random() < 0.3:
                s += " " + r.choice(_PRODUCTS).replace("-", " ")
            sentences.append(s[0].upper() + s[1:] + r.choice(".?!."))
        return " ".join(sentences)

    def customer(self) -> tuple[str, str]:
        k = self.rnd.randint(1, self.customers)
        rk = random.Random(k)  # the same customer always has the same name and address
        first, last = rk.choice(_FIRST), rk.choice(_LAST)
        local = f"{first}.{last}".lower().encode("ascii", "ignore").decode().replace("'", "") or "c"
        return f"{first} {last}", f"{local}{k}@{rk.choice(_DOMAINS)}"

    def subject(self) -> str:
        r = self.rnd
        p = r.choice(_PRODUCTS).replace("-", " ")
        return r.choice(_SUBJECTS).format(n=r.randint(1000, 99999), p=p, P=p.capitalize())

    def gap(self) -> timedelta:
        # Replies come minutes to days later: log-uniform between 2 minutes and 5 days.
        return timedelta(minutes=2 * (3600 ** self.rnd.random()))

    def attachments(self) -> tuple[tuple[str, str, int], ...]:
        r = self.rnd
        if r.random() >= 0.07:
            return ()
        kind = r.choice([("photo.jpg", "image/jpeg"), ("order.pdf", "application/pdf"),
                         ("Menü für Samstag.pdf", "application/pdf"), ("plan.png", "image/png")])
        return (kind + (r.randint(2_000, 48_000),),)


def generate(*, messages: int | None = None, conversations: int | None = None, seed: int = 1) -> Iterator[Mail]:
    """Mail thread by thread (each thread in time order) until ``messages`` messages or
    ``conversations`` threads have been made. Dates never pass ``ANCHOR``."""
    if (messages is None) == (conversations is None):
        raise ValueError("give exactly one of messages= or conversations=")
    scale = messages if messages is not None else conversations * 2
    g = _Gen(seed, scale // 6)
    r = g.rnd
    made = threads = 0
    while (messages is None or made < messages) and (conversations is None or threads < conversations):
        threads += 1
        t = threads
        start = ANCHOR - timedelta(days=SPAN_DAYS * r.random() ** 0.7)  # denser towards now
        batch = list(_thread(g, t, start))
        if messages is not None:
            batch = batch[: messages - made]
        made += len(batch)
        yield from batch


def _thread(g: _Gen, t: int, start: datetime) -> Iterator[Mail]:
    r = g.rnd
    kind = r.random()
    if kind < 0.13:
        yield from _review(g, t, start)
        return
    if kind < 0.27:
        name = r.choice(_NEWS)
        addr = f"news@{name.lower().replace(' ', '').replace('-', '')[:14]}.example"
        headers = r.choice([{"list-unsubscribe": f"<https://{addr[5:]}/u/{t}>", "list-id": f"<news.{addr[5:]}>"},
                            {"list-unsubscribe": f"<mailto:unsubscribe@{addr[5:]}>"}, {"precedence": "bulk"}])
        yield Mail("newsletter", "email", "INBOX", f"n{t}.{r.getrandbits(32):x}@{addr[5:]}", start, name, addr,
                   OWNER_NAME, OWNER, f"{name}: {g.words(4)}", "\n\n".join(g.paragraph() for _ in range(3)),
                   "in", html=True, headers=headers)
        return
    if kind < 0.30:
        name, addr = g.customer()
        yield Mail("auto-reply", "email", "INBOX", f"ar{t}@{addr.split('@')[1]}", start, name, addr, OWNER_NAME,
                   OWNER, f"Automatic reply: {g.subject()}", "I am out of the office until Monday.", "in",
                   headers={"auto-submitted": "auto-replied", "x-autoreply": "yes"})
        return
    if kind < 0.31:
        yield Mail("bounce", "email", "INBOX", f"b{t}@mx.example", start, "Mail Delivery System",
                   "mailer-daemon@mx.example", OWNER_NAME, OWNER, "Undelivered Mail Returned to Sender",
                   "This is the mail system. Your message could not be delivered.", "in",
                   headers={"return-path": "<>", "content-type": "multipart/report"})
        return
    if kind < 0.35:
        svc = r.choice(["parcels", "payments", "bookings", "reviews"])
        yield Mail("notification", "email", "INBOX", f"nt{t}@{svc}.example", start, svc.capitalize(),
                   f"no-reply@{svc}.example", OWNER_NAME, OWNER, f"Your {svc} update #{t}", g.paragraph(), "in")
        return
    yield from _conversation(g, t, start, owner_first=kind < 0.39)


def _conversation(g: _Gen, t: int, start: datetime, owner_first: bool) -> Iterator[Mail]:
    r = g.rnd
    name, addr = g.customer()
    domain = addr.split("@")[1]
    subject = g.subject()
    direction = "out" if owner_first else "in"
    when = start
    refs: list[str] = []
    last_text = ""
    for k in range(1 + min(r.randint(0, 5), r.randint(0, 5))):  # mostly short threads, some long
        if when > ANCHOR:
            return
        out = direction == "out"
        body = [f"Hi {'there' if out else OWNER_NAME.split()[0]},"] + [g.paragraph() for _ in range(r.randint(1, 3))]
        body.append(f"Best,\n{'Sam' if out else name.split()[0]}")
        if refs and r.random() < 0.6:  # quoted previous message, as mail clients do
            body.append("\n".join("> " + ln for ln in last_text.splitlines()[:12]))
        text = "\n\n".join(body)
        mid = f"t{t}.{k}.{r.getrandbits(24):x}@{'harbourbakery.example' if out else domain}"
        headerless = bool(refs) and r.random() < 0.04  # a mailer that drops threading headers
        yield Mail("owner-first" if owner_first else "customer", "email", "Sent" if out else "INBOX", mid, when,
                   OWNER_NAME if out else name, OWNER if out else addr, name if out else OWNER_NAME,
                   addr if out else OWNER, ("Re: " if refs else "") + subject, text, direction,
                   html=r.random() < (0.2 if out else 0.45), attachments=() if out else g.attachments(),
                   in_reply_to=None if headerless or not refs else refs[-1],
                   references=() if headerless else tuple(refs[-10:]))
        refs.append(mid)
        last_text = text
        when += g.gap()
        # The owner answers more often than customers chase; now and then the owner sends
        # two in a row (a reply from the phone, then a proper one).
        direction = "out" if (direction == "in" and r.random() < 0.7) or r.random() < 0.15 else "in"


def _review(g: _Gen, t: int, start: datetime) -> Iterator[Mail]:
    r = g.rnd
    channel = r.choices(REVIEW_CHANNELS, weights=(5, 2, 1.5, 1.5))[0]
    name, _addr = g.customer()
    rating = r.choices((1, 2, 3, 4, 5), weights=(10, 5, 8, 20, 57))[0]
    text = "" if r.random() < 0.12 else g.paragraph()
    rid = f"{channel}-r{t}-{r.getrandbits(24):x}"
    url = f"https://reviews.example/{channel}/harbour-bakery/{rid}"
    yield Mail("review", channel, None, rid, start, name, f"{channel}:{name.lower().replace(' ', '.')}", "", "",
               text[:60] or f"{rating}-star rating", text, "in", rating=rating, thread_key=rid, url=url)
    if channel != "yelp" and r.random() < 0.55:
        reply = start + g.gap()
        if reply <= ANCHOR:
            yield Mail("review", channel, None, f"{rid}:reply", reply, OWNER_NAME, OWNER, name, "",
                       "", "Thank you for your review! " + g.paragraph(), "out", thread_key=rid)


# -- outputs -----------------------------------------------------------------------------------

def to_record(m: Mail) -> MessageRecord:
    """The record a source would produce for this message (email direction from the folder)."""
    atts = tuple(Attachment(f, ct, size) for f, ct, size in m.attachments)
    return MessageRecord(
        external_id=m.msgid, channel=m.channel, direction=None if m.channel == "email" else m.direction,
        sent_at=to_iso(m.date), sender_handle=m.from_addr.lower(), sender_name=m.from_name,
        recipients=(m.to_addr,) if m.to_addr else (), subject=m.subject, text=m.text, rating=m.rating,
        thread_key=m.thread_key, in_reply_to=m.in_reply_to, references=m.references, headers=dict(m.headers),
        attachments=atts, url=m.url, folder=m.folder)


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _qp_or_8bit(text: str, ctype: str, rnd: random.Random) -> list[str]:
    if text.isascii() or rnd.random() < 0.5:
        return [f"Content-Type: {ctype}; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", text]
    import quopri

    body = quopri.encodestring(text.encode("utf-8")).decode("ascii")
    return [f"Content-Type: {ctype}; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "", body]


def _html(text: str, newsletter: bool = False) -> str:
    """Mail-client HTML; newsletters get the table layout and inline styles that make real
    ones 15-40 kB."""
    from html import escape

    paras = [f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n")]
    if newsletter:
        cell = ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;'
                'font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#333333"><tr>'
                '<td style="padding:12px 24px"><img src="https://cdn.example/i/{i}.jpg" width="552" alt="" '
                'style="display:block;border:0"></td></tr><tr><td style="padding:0 24px 16px">{p}<a href='
                '"https://links.example/c/{i}?utm_source=newsletter&utm_medium=email" style="color:#0a66c2">'
                'Read more</a></td></tr></table>\n')
        paras = [cell.format(i=i, p=paras[i % len(paras)]) for i in range(3 * len(paras) + 6)]
    return ("<html><head><meta charset=\"utf-8\"><style>p {margin:0 0 1em}</style></head><body>"
            + "".join(paras) + "</body></html>")


def to_bytes(m: Mail) -> bytes:
    """The message as an RFC 5322 file (LF line ends, as Maildir stores it)."""
    import base64
    import textwrap

    rnd = random.Random(m.msgid)
    text = "\n".join(textwrap.fill(p, 76) if not p.startswith(">") else p for p in m.text.split("\n"))
    head = [f"Return-Path: {m.headers.get('return-path') or '<' + m.from_addr + '>'}",
            f"Received: from mx.{m.from_addr.split('@')[-1]} by mail.harbourbakery.example; {format_datetime(m.date)}",
            f"Date: {format_datetime(m.date)}", f"From: {formataddr((m.from_name, m.from_addr), 'utf-8')}",
            f"To: {formataddr((m.to_name, m.to_addr), 'utf-8')}", f"Subject: {_header(m.subject)}",
            f"Message-ID: <{m.msgid}>", "MIME-Version: 1.0"]
    if m.in_reply_to:
        head.append(f"In-Reply-To: <{m.in_reply_to}>")
    if m.references:
        head.append("References: " + "\n ".join(f"<{x}>" for x in m.references))
    for k, v in m.headers.items():
        if k not in ("return-path", "content-type"):
            head.append(f"{'-'.join(w.capitalize() for w in k.split('-'))}: {v}")
    b = f"=_{rnd.getrandbits(64):016x}"
    if m.kind == "bounce":
        body = [f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"', "",
                f"--{b}", *_qp_or_8bit(text, "text/plain", rnd), f"--{b}", "Content-Type: message/delivery-status",
                "", "Reporting-MTA: dns; mx.example", "", "Final-Recipient: rfc822; gone@example.com",
                "Action: failed", "Status: 5.1.1", f"--{b}--"]
    elif m.kind == "newsletter":
        body = _qp_or_8bit(_html(m.text, newsletter=True), "text/html", rnd)
    elif m.html:
        body = [f'Content-Type: multipart/alternative; boundary="{b}"', "", f"--{b}",
                *_qp_or_8bit(text, "text/plain", rnd), f"--{b}", *_qp_or_8bit(_html(text), "text/html", rnd),
                f"--{b}--"]
    else:
        body = _qp_or_8bit(text, "text/plain", rnd)
    if m.attachments:
        mb = f"=_m{rnd.getrandbits(64):016x}"
        parts = [f'Content-Type: multipart/mixed; boundary="{mb}"', "", f"--{mb}", *body]
        for fname, ctype, size in m.attachments:
            data = base64.encodebytes(rnd.randbytes(size)).decode("ascii").rstrip("\n")
            disp = f'filename="{fname}"' if fname.isascii() else f"filename*=utf-8''{_pct(fname)}"
            parts += [f"--{mb}", f"Content-Type: {ctype}", "Content-Transfer-Encoding: base64",
                      f"Content-Disposition: attachment; {disp}", "", data]
        body = parts + [f"--{mb}--"]
    return ("\n".join(head + body) + "\n").encode("utf-8")


def _pct(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


def sizes_arg(text: str) -> list[int]:
    """``"1k,10k,1M"`` -> ``[1000, 10000, 1000000]``."""
    out = []
    for part in text.replace(" ", "").split(","):
        if part:
            mult = {"k": 1_000, "m": 1_000_000}.get(part[-1].lower(), 1)
            out.append(int(float(part[:-1] if mult > 1 else part) * mult))
    return out


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))
