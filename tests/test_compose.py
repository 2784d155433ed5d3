"""build_reply on its own: subjects, threading headers, addresses, and injection by fuzzing.

The end-to-end checks (what an SMTP server actually receives) are in test_smtp_send.py.
"""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from owner_tui.records import normalize_msgid
from owner_tui.send.compose import (
    MAX_REFERENCES,
    build_reply,
    check_address,
    make_message_id,
    reply_subject,
    thread_references,
)

NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.timezone.utc)
EXPECTED_HEADERS = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
    "content-type", "content-transfer-encoding", "mime-version",
}


def header_names(content: bytes) -> list[str]:
    return [k.lower() for k in email.message_from_bytes(content, policy=policy.compat32).keys()]


def test_reply_subject_does_not_stack_prefixes() -> None:
    assert reply_subject("Opening hours?") == "Re: Opening hours?"
    assert reply_subject("Re: Opening hours?") == "Re: Opening hours?"
    assert reply_subject("RE: Re: AW: Re[3]:  SV: Opening hours?") == "Re: Opening hours?"
    assert reply_subject("Regarding your order") == "Re: Regarding your order"
    assert reply_subject("") == "Re:"


def test_references_dedupe_keep_parent_last_and_cap() -> None:
    assert thread_references(["<a@x>", "<A@x>", "<b@x>"], "<a@x>") == ["<b@x>", "<a@x>"]
    many = [f"<m{i}@x>" for i in range(50)]
    refs = thread_references(many, "<parent@x>")
    assert len(refs) == MAX_REFERENCES
    assert refs[0] == "<m0@x>" and refs[-1] == "<parent@x>" and refs[-2] == "<m49@x>"
    assert thread_references(None, None) == []
    assert thread_references(["junk", "<ok@x>", "<bad id@x>"], None) == ["<ok@x>"]


def test_addresses_are_checked_not_repaired() -> None:
    assert check_address(" ann@example.net ") == "ann@example.net"
    for bad in ["", "ann", "ann@", "@x.net", "a b@x.net", "ann@x.net (Ann)", "Ann <ann@x.net>",
                "a@b@c.net", "jürgen@example.net"]:
        with pytest.raises(ValueError):
            check_address(bad)


def test_build_reply_refuses_bad_inputs() -> None:
    base = dict(from_addr="o@example.com", to=["a@example.net"], subject="s", body="b",
                in_reply_to=None, references=None, message_id="<m@example.com>", date=NOW)
    with pytest.raises(ValueError, match="timezone"):
        build_reply(**{**base, "date": dt.datetime(2026, 1, 1)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recipient"):
        build_reply(**{**base, "to": []})  # type: ignore[arg-type]
    for bad_id in ["m@example.com", "<m@example.com>\r\nBcc: x@y.z", "<a b@c>", ""]:
        with pytest.raises(ValueError, match="Message-ID"):
            build_reply(**{**base, "message_id": bad_id})  # type: ignore[arg-type]


def test_make_message_id() -> None:
    a, b = make_message_id("example.com"), make_message_id("example.com")
    assert a != b and a.startswith("<") and a.endswith("@example.com>")
    assert make_message_id("Bücher.example").endswith("@xn--bcher-kva.example>")
    for bad in ["", "exa mple.com", "x.com>\r\nBcc: y@z", "-x.com"]:
        with pytest.raises(ValueError):
            make_message_id(bad)


# Any text at all in the display fields is neutralised, never refused, and can never
# produce another header or recipient. Alphabet: controls, Unicode line breaks, encoded-
# word syntax and header-ish text, so hypothesis finds the dangerous combinations fast.
_pieces = list("\r\n\t\x00\x0b\x0c\x1b\x7f\x85\u2028\u2029=?qQbB_:<>@,;\" aZ0é") + [
    "=0D", "=0A", "=?utf-8?q?", "=?utf-8?b?", "?=", "DQo=", "Bcc: x@evil.example", "\r\nTo: y@evil.example",
]
_nasty = st.lists(st.sampled_from(_pieces), max_size=20).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_nasty, from_name=_nasty, to_name=_nasty, parent=_nasty)
def test_display_text_never_injects(subject: str, from_name: str, to_name: str, parent: str) -> None:
    msg = build_reply(
        from_addr="owner@example.com", from_name=from_name, to=[(to_name, "ann@example.net")],
        subject=subject, body="b", in_reply_to=parent, references=[parent, "<r@x>"],
        message_id="<m@example.com>", date=NOW,
    )
    raw = msg.as_bytes()
    names = header_names(raw)
    assert len(names) == len(set(names)) and set(names) <= EXPECTED_HEADERS
    again = email.message_from_bytes(raw, policy=policy.default)
    assert [a for _, a in getaddresses([again["To"]])] == ["ann@example.net"]
    assert normalize_msgid(again["Message-ID"]) == "m@example.com"


def test_long_name_full_of_specials_stays_one_quoted_name() -> None:
    # Python 3.11's own folder drops the quotes here and the To header gains a group
    # "Ann Customer (a very long ...: x@evil.example" with an extra recipient.
    name = "Ann Customer (a very long display name, really) Bcc: x@evil.example; y@evil.example"
    msg = build_reply(from_addr="o@example.com", to=[(name, "ann@example.net")], subject="s",
                      body="b", in_reply_to=None, references=None, message_id="<m@example.com>",
                      date=NOW)
    again = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    [addr] = again["To"].addresses
    assert (addr.display_name, addr.addr_spec) == (name, "ann@example.net")


def test_without_a_parent_there_are_no_threading_headers() -> None:
    msg = build_reply(from_addr="o@example.com", to=["a@example.net"], subject="Hello",
                      body="b", in_reply_to=None, references=None, message_id="<m@example.com>",
                      date=NOW)
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg["Subject"] == "Re: Hello"
