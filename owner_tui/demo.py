"""A throwaway store of realistic data: what a newcomer sees first (``owner-tui demo``).

A small bakery-cafe with one mailbox, four review platforms, on-site feedback and a texting
number (SMS, WhatsApp and calls through Twilio). Waits range from minutes to
weeks; there are follow-ups, owner replies, newsletters, auto-replies, a bounce and reviews
of one to five stars. The data is generated relative to ``now`` so ages always look fresh,
and from a fixed seed so every run shows the same shop.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from owner_tui.aging import to_iso
from owner_tui.records import MessageRecord

OWNER = "hello@harbourbakery.example"
BUSINESS = "Harbour Bakery"

_PEOPLE = [
    ("Amira Haddad", "amira.haddad@example.net"), ("Tom Becker", "tom.becker@example.org"),
    ("Léa Moreau", "lea.moreau@example.fr"), ("Kenji Watanabe", "kenji.w@example.jp"),
    ("Siobhán O'Neill", "siobhan@example.ie"), ("Marcus Johnson", "marcus.j@example.com"),
    ("Priya Natarajan", "priya.n@example.in"), ("Zoë Clarke", "zoe.clarke@example.co.uk"),
    ("Jonas Lindqvist", "jonas.l@example.se"), ("Fatima Zahra", "fatima.z@example.ma"),
    ("Greg Ellis", "greg.ellis@example.com"), ("Olivia Chen", "olivia.chen@example.com"),
    ("Mateus Silva", "mateus@example.com.br"), ("Hannah Weiß", "hannah.weiss@example.de"),
    ("Diego Ramírez", "diego.r@example.mx"), ("Nora Al-Sayed", "nora.s@example.ae"),
]

_EMAIL_THREADS = [
    ("Wedding cake for 14 June?", "Hi! We're getting married on 14 June and would love a three-tier lemon and "
     "elderflower cake for about 90 guests. Do you still have that date free, and could we come in for a tasting?",
     "Also: one of the guests is coeliac. Could one tier be gluten-free?"),
    ("Order #4471 never arrived", "I ordered two sourdough loaves and a box of cinnamon buns for delivery on "
     "Saturday morning and nothing came. I paid online. Can you look into this please?",
     "Hello? It's been two days and I still haven't heard back. I'd like a refund."),
    ("Allergens in the seeded rye", "Does the seeded rye contain sesame? My son has a severe allergy.", None),
    ("Catering for office breakfast", "We'd like pastries and coffee for 25 people next Thursday at 8:30. "
     "Could you send a quote?", "Just checking you got this — we need to confirm by Friday."),
    ("Job application — weekend barista", "Hello, I saw the sign in the window. I have two years of barista "
     "experience and I'm free every weekend. CV attached.", None),
    ("Lost scarf", "I think I left a green wool scarf on the bench by the window yesterday afternoon. "
     "Has anyone handed it in?", None),
    ("Wholesale bread for our café", "We run a small café two streets away and are looking for a daily "
     "wholesale supplier: 20 baguettes and 10 country loaves. Is that something you do?", None),
    ("Gift vouchers", "Do you sell gift vouchers? I'd like one for £50 for my mum's birthday.", None),
    ("Birthday cake pickup time", "Can I pick up the chocolate birthday cake at 7am instead of 9am on Sunday?",
     None),
    ("Vegan options", "Are any of your croissants vegan? Planning to visit this weekend with friends.", None),
]

_REPLIES = [
    "Thanks so much for getting in touch! Let me check and come back to you today.",
    "Hi! Yes, absolutely — I've put a note on your order. See you soon.",
    "So sorry about that. I've refunded you in full and we'd love to make it up to you.",
]

_REVIEWS = {
    "google": [
        (5, "Best cardamom buns in town. Staff are lovely and the coffee is properly hot."),
        (1, "Waited 25 minutes for a takeaway coffee and then they got the order wrong. Not coming back."),
        (4, "Great bread, a bit pricey. The seeded rye is worth it though."),
        (2, "The cake we ordered for a birthday was dry and the icing had melted. Disappointing for the price."),
        (5, ""),
        (3, "Nice pastries but nowhere to sit on a Saturday morning."),
    ],
    "trustpilot": [
        (5, "Ordered a wedding cake — it was stunning and tasted even better. Thank you!"),
        (1, "Delivery never showed up and nobody answers the phone."),
        (4, "Reliable weekly bread delivery, friendly drivers."),
    ],
    "yelp": [
        (2, "Overpriced for what it is. The croissant was stale by 11am."),
        (5, "Hidden gem. The sourdough is the real deal."),
    ],
    "facebook": [
        (5, "Lovely team, they remembered my usual order after two visits!"),
        (1, "Found a hair in my sandwich. Told the staff and they just shrugged."),
    ],
}


def _iso(now: datetime, minutes_ago: float) -> str:
    return to_iso(now - timedelta(minutes=minutes_ago))


#: On-site feedback from the QR code on the tables (minutes ago, stars, table, comment, name, contact).
_ONSITE = [
    (25, 2, "4", "The soup was cold and we waited 20 minutes for it.", "Priya", "priya@example.net"),
    (190, 5, "Terrace 2", "Best cinnamon buns in town, and so friendly!", "", ""),
    (2900, 1, "7", "Cold soup again and the waiter was rude when we said so.", "Tom", "+44 7700 900123"),
    (9000, 4, "Bar", "Lovely coffee, a bit loud at lunchtime.", "", ""),
    (26000, 2, "3", "Cold soup, and the bread was stale.", "Mina", "mina@example.org"),
    (41000, 3, "Terrace 1", "Slow service on a busy Saturday.", "", ""),
]


def _onsite(store, now: datetime) -> int:
    from owner_tui.sources.feedback.submission import (
        ACCOUNT_KIND,
        ACCOUNT_NAME,
        Submission,
        to_record,
    )

    acc = store.ensure_account(ACCOUNT_KIND, ACCOUNT_NAME, {"demo": True})
    recs = []
    for n, (minutes, stars, table, comment, name, contact) in enumerate(_ONSITE):
        sub = Submission(token=f"demo{n}", rating=stars, comment=comment, name=name, table=table,
                         email=contact if "@" in contact else "", phone=contact if contact.startswith("+") else "")
        recs.append(replace(to_record(sub, now), sent_at=_iso(now, minutes)))
    return store.ingest(acc, recs).new


#: Texts and calls to the shop's Twilio number (issue 19): (minutes ago, direction, channel, number,
#: text, extra). Tom also left his number on the feedback form: one contact for both.
SHOP_NUMBER = "+442079460958"
_DEMO_MEDIA = "https://api.twilio.com/2010-04-01/Accounts/ACdemo/Messages/MMdemo1/Media/MEdemo1"
_DEMO_RECORDING = "https://api.twilio.com/2010-04-01/Accounts/ACdemo/Recordings/REdemo1"
_TEXTS = [
    (40, "in", "sms", "+447700900123", "Hi, it's Tom from table 7 on Saturday. Any chance of a refund for the "
     "cold soup? Happy to come in.", {}),
    (185, "in", "sms", "+447700900456", "Do you have any gluten-free loaves left today? Could you keep one for me "
     "until 5?", {}),
    (170, "out", "sms", "+447700900456", "Yes! One is put aside for you, see you at 5. Harbour Bakery", {}),
    (2880, "in", "sms", "+447700900789", f"Is this the scarf someone lost?\n\n1 attachment:\n  image/jpeg: {_DEMO_MEDIA}",
     {"num_media": 1, "media": [{"content_type": "image/jpeg", "url": _DEMO_MEDIA}]}),
    (600, "in", "whatsapp", "+447700900555", "Hello! Can I order a dozen cardamom buns for Sunday morning pickup?",
     {}),
    (1440, "in", "sms", "+447700900999", "STOP", {}),
    (90, "in", "call", "+447700900321", "Voicemail, 0:21\nRecording: " + _DEMO_RECORDING + "\nTranscription: Hi, "
     "this is Dev from the Anchor pub. We'd like to order forty bread rolls for Friday, please call me back on this "
     "number.", {"recordings": [{"sid": "REdemo1", "duration": 21, "url": _DEMO_RECORDING}]}),
    (300, "in", "call", "+447700900456", "Missed call (no answer), 0:00", {}),
]


def _texts(store, now: datetime) -> dict[str, int]:
    """The shop's texts, WhatsApp messages and calls, as the Twilio sync would store them."""
    acc = store.ensure_account("twilio", "demo-phone", {"demo": True, "numbers": [SHOP_NUMBER]})
    recs = []
    for n, (minutes, direction, channel, number, text, extra) in enumerate(_TEXTS):
        sid = {"sms": "SM", "whatsapp": "SM", "call": "CA"}[channel] + f"demo{n:030d}"
        recs.append(MessageRecord(external_id=sid, channel=channel, direction=direction, sent_at=_iso(now, minutes),
                                  sender_handle=number, recipients=(number,), text=text,
                                  thread_key=f"{channel}:{number}",
                                  extra={"sid": sid, "business_number": SHOP_NUMBER, **extra}))
    store.ingest(acc, recs)
    counts: dict[str, int] = {}
    for rec in recs:
        counts[rec.channel] = counts.get(rec.channel, 0) + 1
    return counts


def build_demo(store, now: datetime, seed: int = 7) -> dict[str, int]:
    """Fill ``store`` with the demo shop; returns message counts per channel."""
    rnd = random.Random(seed)
    counts: dict[str, int] = {}
    email = store.ensure_account("imap", "demo-mail", {"address": OWNER, "demo": True})
    records: list[MessageRecord] = []
    people = list(_PEOPLE)
    rnd.shuffle(people)
    # Ages chosen to fill every bucket: minutes, hours, a day or two, weeks.
    first_ages = [12, 95, 300, 1500, 2900, 5200, 9000, 22000, 45, 700]
    for i, (subject, body, follow) in enumerate(_EMAIL_THREADS):
        name, addr = people[i]
        age = first_ages[i]
        root = f"demo-{i}@{addr.split('@')[1]}"
        records.append(MessageRecord(external_id=root, sender_handle=addr, sender_name=name,
                                     recipients=(OWNER,), subject=subject, text=f"{body}\n\n{name.split()[0]}",
                                     sent_at=_iso(now, age), folder="INBOX"))
        if i in (6, 7, 8):  # answered: the owner wrote last
            records.append(MessageRecord(external_id=f"reply-{i}@harbourbakery.example", sender_handle=OWNER,
                                         sender_name=BUSINESS, recipients=(addr,), subject="Re: " + subject,
                                         text=_REPLIES[i % 3], sent_at=_iso(now, age - 30 if age > 60 else age / 2),
                                         in_reply_to=root, references=(root,), folder="Sent"))
        if follow and i not in (6, 7, 8):
            records.append(MessageRecord(external_id=f"follow-{i}@{addr.split('@')[1]}", sender_handle=addr,
                                         sender_name=name, recipients=(OWNER,), subject="Re: " + subject,
                                         text=follow, sent_at=_iso(now, age * 0.4), in_reply_to=root,
                                         references=(root,), folder="INBOX"))
    # An old answered thread where the customer never came back ("no answer yet").
    name, addr = people[10]
    records += [
        MessageRecord(external_id="quote-1@example.com", sender_handle=addr, sender_name=name, recipients=(OWNER,),
                      subject="Quote for 200 mini quiches", text="Could you quote for 200 mini quiches?",
                      sent_at=_iso(now, 8 * 1440), folder="INBOX"),
        MessageRecord(external_id="quote-1-reply@harbourbakery.example", sender_handle=OWNER, sender_name=BUSINESS,
                      recipients=(addr,), subject="Re: Quote for 200 mini quiches",
                      text="Happy to! That would be £180 including delivery. Shall I book it in?",
                      sent_at=_iso(now, 8 * 1440 - 120), in_reply_to="quote-1@example.com",
                      references=("quote-1@example.com",), folder="Sent"),
    ]
    # A lead from the web-site contact form: sent by the form's no-reply address, the person is
    # in Reply-To. And the catering question forwarded to the flour mill: a forward is not a
    # reply, so that customer still waits (the conversation says why).
    records += [
        MessageRecord(external_id="wix-lead-1@crm.wix.example", sender_handle="no-reply@crm.wix.com",
                      sender_name="Wix Forms", recipients=(OWNER,), subject="New submission: Contact us",
                      text="Name: Ines Duarte\nEmail: ines.duarte@example.pt\nMessage: Do you bake pastéis de "
                           "nata on Sundays? I'd like to order 24 for a family lunch.",
                      headers={"reply-to": "Ines Duarte <ines.duarte@example.pt>"},
                      sent_at=_iso(now, 170), folder="INBOX"),
        MessageRecord(external_id="fwd-catering@harbourbakery.example", sender_handle=OWNER, sender_name=BUSINESS,
                      recipients=("orders@flourmill.example",), subject="Fwd: Catering for office breakfast",
                      text="Can you deliver extra flour on Wednesday for this order?", in_reply_to="demo-3@"
                      + people[3][1].split("@")[1], references=("demo-3@" + people[3][1].split("@")[1],),
                      sent_at=_iso(now, first_ages[3] - 20), folder="Sent"),
    ]
    # Noise: newsletters, an auto-reply, a bounce, a no-reply notification.
    noise = [
        ("news@flourmill.example", "Flour Mill Weekly", "This week's grain prices", {"list-unsubscribe": "<mailto:u@x>"}),
        ("promo@packaging.example", "EcoPack", "20% off compostable cups", {"precedence": "bulk"}),
        ("greg.ellis@example.com", "Greg Ellis", "Out of office: Re: invoice", {"auto-submitted": "auto-replied"}),
        ("mailer-daemon@mx.example", "Mail Delivery System", "Undelivered Mail Returned to Sender", {}),
        ("no-reply@payments.example", "Payments", "You received a payment of £42.50", {}),
    ]
    for j, (addr, name, subject, headers) in enumerate(noise):
        records.append(MessageRecord(external_id=f"noise-{j}@x.example", sender_handle=addr, sender_name=name,
                                     recipients=(OWNER,), subject=subject, text=f"{subject}.", headers=headers,
                                     sent_at=_iso(now, 60 * (j + 1) * 7), folder="INBOX"))
    counts["email"] = store.ingest(email, records).new

    review_people = people[11:] + people[:6]
    k = 0
    for channel, reviews in _REVIEWS.items():
        acc = store.ensure_account(channel, f"demo-{channel}", {"demo": True})
        recs: list[MessageRecord] = []
        for n, (stars, text) in enumerate(reviews):
            name = review_people[k % len(review_people)][0]
            k += 1
            rid = f"{channel}-review-{n}"
            minutes = rnd.choice([20, 150, 600, 2000, 4000, 12000, 30000])
            url = f"https://reviews.example/{channel}/harbour-bakery/{rid}"
            recs.append(MessageRecord(external_id=rid, channel=channel, direction="in", sent_at=_iso(now, minutes),
                                      sender_handle=f"{channel}:{name.lower().replace(' ', '.')}", sender_name=name,
                                      subject=text[:60] if text else f"{stars}-star rating", text=text,
                                      rating=stars, thread_key=rid, url=url))
            if n % 3 == 2 and channel != "yelp":  # some already answered on the platform
                recs.append(MessageRecord(external_id=f"{rid}:reply", channel=channel, direction="out",
                                          sent_at=_iso(now, minutes - 60 if minutes > 120 else minutes / 2),
                                          sender_handle=OWNER, sender_name=BUSINESS, thread_key=rid,
                                          text="Thank you for taking the time to write — see you soon!"))
        counts[channel] = store.ingest(acc, recs).new
    counts["on-site"] = _onsite(store, now)
    counts.update(_texts(store, now))
    store.save_template("thanks", "Hi {first_name},\n\nThank you so much for your message!\n\n{signature}")
    store.save_template("sorry", "Hi {first_name},\n\nI'm really sorry about this. I'd like to put it right: "
                                 "could you reply with your order number?\n\n{signature}")
    store.save_template("review-thanks", "Thank you, {first_name}! We're so glad you enjoyed it. — {business}")
    return counts
