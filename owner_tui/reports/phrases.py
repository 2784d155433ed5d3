"""What customers said most often: the meaningful words and two-word phrases of a set of
messages (low ratings and complaints), counted once per message, with examples.

Deliberately simple and explainable to an owner: lower-cased words of three letters or more,
common words of English, French, German and Spanish left out, phrases made of two adjacent
meaningful words. A phrase said by as many customers as one of its words replaces that word
("cold soup" rather than "cold" and "soup"). Examples are cleaned by ``sanitize``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from owner_tui.sanitize import one_line

TOP = 8
MIN_COUNT = 2
EXAMPLES = 2

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
STOP = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
even ever every few for from further get got had hadn't has hasn't have haven't having he her here hers herself
him himself his how i i'm i've if in into is isn't it it's its itself just let's like made make me more most
much must my myself no nor not now of off on once one only or other ought our ours ourselves out over own really
same she should shouldn't so some still such than that that's the their theirs them themselves then there these
they they're this those through to too two under until up us very via was wasn't way we we're were weren't what
when where which while who whom why will with won't would wouldn't yet you you're your yours yourself
yourselves thanks thank please hello dear regards also went go going came come us today yesterday time visit
le la les un une des du de et est pas pour que qui dans sur avec mais très tres nous vous ils elles été etait
était avons avez ont son ses leur leurs cette ces ce se sa au aux ne plus
der die das und ist nicht ein eine einen dem den des mit für auf war wir sie ich es zu im am aber sehr auch
el los las una unos por para con que muy pero fue del al lo nos es se su sus está estaba
""".split())

#: Words that make an unrated message a complaint (email has no stars).
COMPLAINT = re.compile(
    r"\b(complain\w*|refund\w*|disappoint\w*|unacceptable|rude|terrible|awful|horrible|worst|cold|late|"
    r"never (?:arrived|came)|missing|wrong|broken|damaged|dirty|overcharged|waited|waiting|"
    r"réclamation|déçu\w*|remboursement|beschwerde|enttäuscht|reklamation|queja|reembolso)\b", re.IGNORECASE)


def is_complaint(text: str) -> bool:
    return bool(COMPLAINT.search(text or ""))


def terms(text: str) -> set[str]:
    """The meaningful words and adjacent-word phrases of one message (each once)."""
    words = [w.lower() for w in _WORD.findall(text or "")]
    keep = [w if len(w) >= 3 and w not in STOP else None for w in words]
    out = {w for w in keep if w}
    out |= {f"{a} {b}" for a, b in zip(keep, keep[1:]) if a and b and a != b}
    return out


@dataclass(frozen=True)
class Said:
    """Message counts per term over a set of messages, and the messages (for examples)."""

    counts: dict[str, int] = field(default_factory=dict)
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phrase:
    text: str
    count: int  # messages that said it in this period
    previous: int  # ... in the period before
    examples: tuple[str, ...] = ()


def said(texts: list[str]) -> Said:
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(terms(t))
    return Said(dict(counts), tuple(texts))


def top(s: Said, n: int = TOP) -> list[tuple[str, int]]:
    candidates = [(t, c) for t, c in s.counts.items() if c >= MIN_COUNT]
    phrases = {t: c for t, c in candidates if " " in t}
    chosen = [(t, c) for t, c in candidates
              if " " in t or not any(c == pc and t in p.split() for p, pc in phrases.items())]
    chosen.sort(key=lambda tc: (-tc[1], -tc[0].count(" "), tc[0]))
    return chosen[:n]


def example(text: str, term: str, width: int = 90) -> str:
    """A one-line excerpt of ``text`` around the first place it says ``term``."""
    flat = one_line(text)
    words = term.split()
    m = re.search(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", flat, re.IGNORECASE)
    if not m or len(flat) <= width:
        return one_line(flat, limit=width)
    start = max(0, m.start() - width // 3)
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def compare(now: Said, before: Said, n: int = TOP) -> list[Phrase]:
    out = []
    for term, count in top(now, n):
        hits = [t for t in now.texts if term in terms(t)][:EXAMPLES]
        out.append(Phrase(term, count, before.counts.get(term, 0), tuple(example(t, term) for t in hits)))
    return out
