"""A generated mailbox of realistic shape for tests: threads with follow-ups, owner replies
(some from a phone: only in Sent), newsletters and auto-replies, reviews with replies.
Deterministic for a seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from owner_tui.aging import to_iso
from owner_tui.records import MessageRecord

OWNER = "owner@shop.example"


def generate(n_messages: int, now: datetime, seed: int = 1) -> list[MessageRecord]:
    rnd = random.Random(seed)
    out: list[MessageRecord] = []
    t = 0
    while len(out) < n_messages:
        t += 1
        kind = rnd.random()
        start = now - timedelta(minutes=rnd.randint(5, 60 * 24 * 60))
        cust = f"customer{rnd.randint(1, max(10, n_messages // 6))}@example.com"
        if kind < 0.12:  # noise
            headers = rnd.choice([{"list-unsubscribe": "<mailto:x@y>"}, {"auto-submitted": "auto-replied"},
                                  {"precedence": "bulk"}, {"list-id": "<news.example.com>"}])
            out.append(MessageRecord(external_id=f"noise{t}@news.example", sender_handle=f"news{t % 7}@news.example",
                                     subject=f"Newsletter {t}", text="Deals!", sent_at=to_iso(start),
                                     headers=headers, recipients=(OWNER,)))
            continue
        if kind < 0.25:  # a review, maybe with a reply
            rid = f"rev{t}"
            out.append(MessageRecord(external_id=rid, channel="google", direction="in", thread_key=rid,
                                     sent_at=to_iso(start), sender_handle=f"g:{cust}", sender_name=f"Reviewer {t}",
                                     rating=rnd.randint(1, 5), text=rnd.choice(["", "Great!", "Bad service."])))
            if rnd.random() < 0.5:
                out.append(MessageRecord(external_id=f"{rid}:reply", channel="google", direction="out",
                                         thread_key=rid, sent_at=to_iso(start + timedelta(hours=rnd.randint(1, 50))),
                                         text="Thanks"))
            continue
        root = f"t{t}@example.com"
        msgs = [("in", root, start)]
        cur = start
        for k in range(rnd.randint(0, 4)):
            cur = cur + timedelta(minutes=rnd.randint(1, 3000))
            direction = rnd.choice(["in", "out", "out"])
            msgs.append((direction, f"t{t}.{k}@{'shop.example' if direction == 'out' else 'example.com'}", cur))
        refs: list[str] = []
        for direction, mid, when in msgs:
            if when > now:
                break
            phone = direction == "out" and rnd.random() < 0.3
            out.append(MessageRecord(
                external_id=mid, sender_handle=OWNER if direction == "out" else cust,
                sender_name="" if direction == "out" else f"Customer {cust.split('@')[0]}",
                recipients=(cust,) if direction == "out" else (OWNER,),
                subject=("Re: " if refs else "") + f"Question {t}", text=f"message {mid}",
                sent_at=to_iso(when), in_reply_to=refs[-1] if refs else None, references=tuple(refs),
                folder="Sent" if phone else None))
            refs.append(mid)
    return out[:n_messages]
