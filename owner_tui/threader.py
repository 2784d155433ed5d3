"""Which conversation a message belongs to: the pure parts of threading.

Order of evidence: the review id for reviews; then Message-ID / In-Reply-To / References
(RFC 5322 3.6.4), looked up against every id already seen in a thread (so a reply that
arrives before its parent still joins it later); then, for mailers that drop those headers,
the same normalised subject with the same contact within a window. The store does the
look-ups; this module says what to look up.
"""

from __future__ import annotations

import re
import unicodedata

from owner_tui.records import MessageRecord, normalize_msgid

# Reply and forward prefixes as mail clients write them in each language (Outlook's and
# Thunderbird's localised ones: AW/WG German, SV/VB Swedish, Antw/Doorst Dutch, RIF/R/I
# Italian, RES/ENC Portuguese, RV Spanish, TR French, Odp/PD Polish, Ynt/İlt Turkish, Vá
# Hungarian, ΑΠ/ΠΡΘ Greek, Отв/Пересл Russian, 回复/转发 Chinese), with a count ("Re[2]:",
# "Re^2:") and a full-width colon.
_FORWARDS = "fw|fwd|wg|vb|doorst|tr|i|enc|rv|pd|i̇lt|ilt|πρθ|пересл|转发|轉寄|転送|전달"
_REPLIES = "re|aw|sv|vs|antw|rif|r|ref|res|odp|ynt|vá|απ|σχετ|отв|ответ|回复|答复|回覆|返信|회신"
_COUNT_COLON = r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]"
# Any of them, and "[External]" tags and the "*EXTERNAL*" a gateway adds; repeated.
_PREFIX = re.compile(rf"^\s*(?:(?:{_REPLIES}|{_FORWARDS}){_COUNT_COLON}\s*"
                     r"|\[[^\]]{1,30}\]\s*|\*{1,3}\s*external\s*\*{1,3}\s*:?\s*|\(external\)\s*)", re.I)
_FORWARD = re.compile(rf"^\s*(?:{_FORWARDS}){_COUNT_COLON}", re.I)


def is_forward(subject: str) -> bool:
    """The subject starts with a forward prefix ("Fwd:", "WG:", "TR:", "ENC:", "转发："...)."""
    return bool(_FORWARD.match(subject or ""))


_REPLY_OR_FORWARD = re.compile(rf"^\s*(?:{_REPLIES}|{_FORWARDS}){_COUNT_COLON}", re.I)


def starts_a_thread(rec: MessageRecord) -> bool:
    """Neither a reply nor a forward: no threading headers and no "Re:"/"Fwd:" prefix."""
    return not (rec.in_reply_to or rec.references or _REPLY_OR_FORWARD.match(rec.subject or ""))


def is_reply_subject(subject: str) -> bool:
    """A reply or forward prefix, possibly after gateway tags ("[External] RE: Quote")."""
    s = subject or ""
    for _ in range(10):
        if _REPLY_OR_FORWARD.match(s):
            return True
        new = _PREFIX.sub("", s, count=1)
        if new == s:
            return False
        s = new
    return False


# What a person's mailer or keyboard varies between two sends of one question: case, full-width
# or compatibility forms (NFKC), spacing, a closing "?", "!" or "...", quotes around it, and the
# words a few clients write for a subject left empty.
_EDGE_PUNCT = re.compile(r"^[\s\"'“”‘’«»„]+|[\s\"'“”‘’«»„.!?…。！？¡¿]+$")
_NO_SUBJECT = frozenset({"(no subject)", "no subject", "[no subject]", "<no subject>", "(sans objet)",
                         "(kein betreff)", "(sin asunto)", "(senza oggetto)", "(geen onderwerp)", "(无主题)"})


def normalize_subject(subject: str) -> str:
    """The subject two sends of one question share: no reply or forward prefixes, no tags,
    case-folded, NFKC, spaces collapsed, no closing punctuation; "" for an empty one."""
    s = subject or ""
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)
    for _ in range(10):
        new = _PREFIX.sub("", s, count=1)
        if new == s:
            break
        s = new
    s = " ".join(s.casefold().split())
    if s in _NO_SUBJECT:
        return ""
    return _EDGE_PUNCT.sub("", s)[:200]


def thread_ids(rec: MessageRecord) -> list[str]:
    """Ids that may already name this message's thread, most specific first."""
    ids: list[str] = []
    if rec.in_reply_to:
        ids.append(normalize_msgid(rec.in_reply_to))
    ids.extend(normalize_msgid(r) for r in reversed(rec.references))
    ids.append(rec.external_id)
    seen: set[str] = set()
    return [i for i in ids if i and not (i in seen or seen.add(i))]


def root_key(rec: MessageRecord) -> str:
    """The external key of a new conversation: the review id, else the thread's root id."""
    if rec.thread_key:
        return rec.thread_key
    if rec.references:
        root = normalize_msgid(rec.references[0])
        if root:
            return root
    if rec.in_reply_to:
        return normalize_msgid(rec.in_reply_to) or rec.external_id
    return rec.external_id


def has_thread_headers(rec: MessageRecord) -> bool:
    return bool(rec.in_reply_to or rec.references)
