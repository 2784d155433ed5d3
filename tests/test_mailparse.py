"""parse_message on real-world and hostile mail: tests/corpus/*.eml plus generated extremes.

Each corpus file is a few lines showing one thing real mailers get wrong; the tests assert the
fields the store and threader use, and that the irregularity is named in ``problems``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from owner_tui.mail.parse import FUTURE_SLACK, MIN_TIME, parse_message
from owner_tui.records import Attachment, MessageRecord

CORPUS = Path(__file__).parent / "corpus"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FALLBACK = "2025-06-01T12:00:00+00:00"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parse(name_or_raw: str | bytes, **kw) -> MessageRecord:
    raw = load(name_or_raw) if isinstance(name_or_raw, str) else name_or_raw
    kw.setdefault("now", NOW)
    rec = parse_message(raw, **kw)
    check_invariants(rec)
    return rec


def check_invariants(rec: MessageRecord) -> None:
    """What the store relies on for any input: SQLite-safe text, a key, a UTC time or ""."""
    assert isinstance(rec, MessageRecord)
    assert rec.external_id and len(rec.external_id) <= 998
    texts = [rec.external_id, rec.sender_handle, rec.sender_name, rec.subject, rec.text,
             rec.in_reply_to or "", *rec.recipients, *rec.references, *rec.problems,
             *rec.headers.keys(), *rec.headers.values(), *(a.filename for a in rec.attachments)]
    for s in texts:
        assert isinstance(s, str)
        s.encode("utf-8")  # no lone surrogates: SQLite and the terminal both need real text
        assert "\x00" not in s
    assert "\r" not in rec.text
    assert "\n" not in rec.subject and "\n" not in rec.sender_name
    assert len(rec.text) <= 1_000_000
    if rec.sent_at:
        dt = datetime.fromisoformat(rec.sent_at)
        assert dt.utcoffset() is not None and dt.utcoffset().total_seconds() == 0
        assert dt.microsecond == 0
    assert not [p for p in rec.problems if "parser failure" in p or "unreadable" in p], rec.problems
    assert all(isinstance(a, Attachment) and a.size >= 0 for a in rec.attachments)


# -- headers ---------------------------------------------------------------------------------

def test_rfc2047_names_subject_and_recipients():
    rec = parse("rfc2047_headers.eml")
    assert rec.sender_name == "Jörg Müller"
    assert rec.sender_handle == "joerg.mueller@example.de"
    # A 4-byte emoji split over two encoded-words is joined as bytes before decoding.
    assert rec.subject == "Bonjour ça 😀café plain =?utf-8?x?bad?="
    assert rec.recipients == ("andre@shop.example", "team@shop.example", "yamada@example.jp")
    assert rec.external_id == "20241001.abc@example.de"
    assert rec.sent_at == "2024-10-01T08:00:00+00:00"
    assert rec.problems == ()


def test_broken_encoded_words_are_kept_and_named():
    rec = parse("broken_encoded_words.eml")
    assert rec.sender_name == "Quoted Name"  # an encoded-word inside quotes (not RFC, common)
    assert rec.subject.startswith("Hello World and café and ")
    assert "=?utf-8?B?!!!?=" in rec.subject  # undecodable: shown as sent, not dropped
    assert "undecodable encoded-word in Subject" in rec.problems
    assert "unknown charset 'x-unknown-cs' in Subject" in rec.problems


def test_raw_8bit_headers_utf8_and_latin1():
    rec = parse("raw_8bit_headers.eml")
    assert rec.sender_name == "Jörg"  # RFC 6532 UTF-8: no problem
    assert rec.subject == "Grüße aus München"  # latin-1 bytes: decoded, and said so
    assert rec.problems == ("subject header decoded as cp1252",)


def test_messy_ids_are_normalised():
    rec = parse("messy_ids.eml")
    assert rec.external_id == "bare-id@example.com"
    assert "Message-ID without angle brackets" in rec.problems
    assert rec.in_reply_to == "parent@example.com"
    assert rec.references == ("root@example.com", "parent@example.com")


def test_display_name_cannot_smuggle_an_address():
    # parseaddr reads the decoded-looking "Bcc:" as a group and would return evil@...;
    # the single <addr> at the end is the address, the rest stays a one-line name.
    rec = parse("from_encoded_colon.eml")
    assert rec.sender_handle == "ann@example.org"
    assert rec.sender_name == "Ann Bcc: evil@attacker.example"


@pytest.mark.parametrize("value,name,addr", [
    # An encoded name holding an address of its own: the "<addr>" at the end is the sender.
    ("=?UTF-8?Q?Jane_Morgan_<jane@evil.example>?= <jane@mail.example>", "Jane Morgan <jane@evil.example>",
     "jane@mail.example"),
    ('"Jane <jane@evil.example>" <jane@mail.example>', "Jane <jane@evil.example>", "jane@mail.example"),
    # No angle brackets at all, as old mailers and some form scripts write it.
    ("Jane Morgan jane@mail.example", "Jane Morgan", "jane@mail.example"),
    # Two authors (RFC 5322 allows it): the first.
    ("Jane Morgan <jane@mail.example>, Tom <tom@mail.example>", "Jane Morgan", "jane@mail.example"),
    ("=?UTF-8?Q?Morgan=2C_Jane?= <jane@mail.example>", "Morgan, Jane", "jane@mail.example"),
])
def test_the_senders_address_is_the_one_at_the_end_not_one_inside_the_name(value, name, addr):
    rec = parse(f"From: {value}\nTo: hello@bakery.example\nSubject: x\nMessage-ID: <a@b>\n\nhi\n".encode())
    assert (rec.sender_name, rec.sender_handle) == (name, addr)


@pytest.mark.parametrize("value,name,addr", [
    ("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@mail.example>", "Jörg Müller", "joerg@mail.example"),
    ("=?UTF-8?Q?Morgan=2C_Jane?= <jane@mail.example>", "Morgan, Jane", "jane@mail.example"),
    ("=?UTF-8?Q?Jane_<x@evil.example>?= <jane@mail.example>", "Jane <x@evil.example>", "jane@mail.example"),
    ("Jane Morgan jane@mail.example", "Jane Morgan", "jane@mail.example"),
])
def test_a_forms_reply_to_names_the_person_decoded(value, name, addr):
    # Wix and Squarespace encode a visitor's name with accents or a comma: the contact was
    # named "=?UTF-8?B?SsO2cmcg...?=", or an address inside the encoded name became the contact.
    from owner_tui.mail.leads import find_lead

    lead = find_lead("no-reply@crm.wix.com", "Wix Forms", {"reply-to": value}, "", subject="New submission")
    assert (lead.name, lead.handle) == (name, addr)


def test_a_spam_filters_header_continued_without_indentation_loses_no_field():
    # Symantec's X-Brightmail-Tracker as a real gateway wrote it (Zammad's mail054): its
    # continuation lines start at column 0, and the stdlib parser ended the headers there.
    raw = (b"Received: from mx.example.com by mail.example.org; Mon, 23 Nov 2026 09:00:00 +0000\n"
           b"X-Brightmail-Tracker: H4sIAAAAAAAAA+NgFlrIKsWRWlGSWpSXmKPExsWi75nTrTtrwZM\n"
           b"Ig5drOCwmrVzP5sDoseXbDeYAxijWzLyk/IoE1owFz6ezFkxKrWjafpWpgfFOchcjF4eQwDZG\n"
           b"From: \"Smith, Karoline\" <Karoline.Smith@example.com>\n"
           b"To: support@example.org\nSubject: AW: One Net Business\n"
           b"Date: Mon, 23 Nov 2026 08:59:00 +0000\nMessage-ID: <k1@example.com>\n\nHallo,\n\nbitte...\n")
    rec = parse(raw)
    assert (rec.sender_handle, rec.sender_name, rec.subject) == (
        "karoline.smith@example.com", "Smith, Karoline", "AW: One Net Business")
    assert rec.text.startswith("Hallo") and "header lines without indentation read as continuations" in rec.problems


def test_a_line_of_text_before_the_headers_is_skipped():
    # A message saved from another client with its banner on top (Zammad's mail068).
    raw = (b"---- Original email message ----\nReturn-Path: peter@mail.example\n"
           b"Received: from web.example\nby mail.example.cz with ESMTP\nfor helpdesk@shop.example\n"
           b"Subject: Contact from Server\nFrom: peter@mail.example\nTo: helpdesk@shop.example\n"
           b"Message-ID: <c1@web.example>\n\nJmeno: Peter\n")
    rec = parse(raw)
    assert (rec.sender_handle, rec.subject, rec.text.strip()) == ("peter@mail.example", "Contact from Server",
                                                                  "Jmeno: Peter")
    assert "text before the headers skipped" in rec.problems


def test_a_body_without_the_blank_line_before_it_stays_the_body():
    rec = parse(b"From: ann@example.org\nSubject: Hi\nMessage-ID: <b1@example.org>\nThis is the body,\nsecond line\n")
    assert (rec.sender_handle, rec.subject) == ("ann@example.org", "Hi")
    assert rec.text.startswith("This is the body") and "second line" in rec.text


@pytest.mark.parametrize("headers,addr,problem", [
    # Two From headers, the first without an address (Zammad's mail017): the one with it.
    ("From: [??????]\nReply-To: reghk@qq.example\nFrom: =?utf-8?B?6YO955C5?= <ghg@mail.example>",
     "ghg@mail.example", "several From headers; the first with an address used"),
    # No From: Sender, then Reply-To (mail016) says whom to answer.
    ("Reply-To: <vip@mail.example>", "vip@mail.example", "sender taken from Reply-To header"),
    ("Sender: Secretary <sec@example.com>\nReply-To: <vip@mail.example>", "sec@example.com",
     "sender taken from Sender header"),
    # An explicit null sender is a machine's: nobody to answer, whatever Reply-To says.
    ('From: "=?GB2312?B?ztI=?=" <>\nReply-To: <vip@mail.example>', "", "From header has no address"),
])
def test_a_from_without_an_address_falls_back_to_whom_the_mail_says_to_answer(headers, addr, problem):
    rec = parse(f"{headers}\nTo: owner@example.com\nSubject: x\nMessage-ID: <f1@x>\n\nhi\n".encode())
    assert rec.sender_handle == addr and problem in rec.problems


@pytest.mark.parametrize("value,name,addr", [
    ('"Yangzhou ABC Lighting Equipment " <bob@example.com>, "LTD" <ly@example.com>',
     "Yangzhou ABC Lighting Equipment", "bob@example.com"),
    ('"Yangzhou ABC Lighting Equipment " <>, "LTD" <ly@example.com>', "LTD", "ly@example.com"),
    # Broken inside the brackets: kept as written, never shortened to another real-looking address.
    ('"your secret past" <power quadrant system@example.com>', "your secret past",
     "power quadrant system@example.com"),
])
def test_a_from_with_several_or_broken_mailboxes_gives_a_clean_name(value, name, addr):
    rec = parse(f"From: {value}\nTo: owner@example.com\nSubject: x\nMessage-ID: <g1@x>\n\nhi\n".encode())
    assert (rec.sender_name, rec.sender_handle) == (name, addr)


def test_raw_8bit_headers_are_read_in_the_charset_the_text_declares():
    # A Chinese mailer's From and Subject in raw GB2312, its text part declaring gb2312
    # (Zammad's mail046): not cp1252 mojibake.
    name, subject = "武兰成".encode("gb2312"), "转发：整体提升企业服务水平".encode("gb2312")
    raw = (b"From: " + name + b" <wu@mail.example>\nTo: owner@example.com\nSubject: " + subject +
           b"\nMessage-ID: <gb1@mail.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=\"gb2312\"\n\n"
           + "你好".encode("gb2312") + b"\n")
    rec = parse(raw)
    assert (rec.sender_name, rec.subject, rec.text.strip()) == ("武兰成", "转发：整体提升企业服务水平", "你好")


def test_shift_jis_labelled_iso_2022_jp_is_read_as_shift_jis():
    # Japanese marketing tools label Shift_JIS as ISO-2022-JP (Zammad's mail093).
    import base64

    word = base64.b64encode("ツール EXAMPLE".encode("cp932")).decode()
    raw = (f"From: =?ISO-2022-JP?B?{word}?= <bar@example.org>\nTo: owner@example.com\nMessage-ID: <sj1@x>\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-2022-jp\nSubject: ").encode() + \
        "ツール".encode("cp932") + b"\n\n" + "テスト".encode("iso2022_jp") + b"\n"
    rec = parse(raw)
    assert (rec.sender_name, rec.subject, rec.text.strip()) == ("ツール EXAMPLE", "ツール", "テスト")


def test_iso_2022_jp_text_without_a_charset_is_read_by_its_escapes():
    raw = (b"From: info@example.com\nTo: owner@example.com\nMessage-ID: <j1@x>\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain;\nContent-Transfer-Encoding: 7bit\n\n" + "これはテストメールです。".encode("iso2022_jp")
           + b"\n")
    assert parse(raw).text.strip() == "これはテストメールです。"


def test_text_labelled_gb2312_that_is_utf8_is_read_as_utf8():
    # A Chinese mailer declaring its locale's charset over UTF-8 text (mail-parser's mail_test_12).
    raw = (b"From: a@mail.example\nTo: owner@example.com\nSubject: x\nMessage-ID: <u1@x>\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain;charset=\"GB2312\"\nContent-Transfer-Encoding: 8bit\n\n"
           + "你好！我公司可代开各类增值税发票".encode() + b"\n")
    rec = parse(raw)
    assert rec.text.strip() == "你好！我公司可代开各类增值税发票"
    assert "body declared GB2312 but is UTF-8" in rec.problems


@pytest.mark.parametrize("value,name,addr", [
    # Two authors written as bare addresses (an SVN hook's "From: tim@x concierge@x").
    ("tim@powerupdev.example concierge@powerupdev.example", "", "tim@powerupdev.example"),
    # RFC 5322's obsolete comments and folding inside the address (its own examples).
    ("Pete <pete(his account)@silly.test(his host)>", "Pete", "pete@silly.test"),
    ("John Doe <jdoe@machine(comment).  example>", "John Doe", "jdoe@machine.example"),
])
def test_old_forms_of_an_address_give_the_address(value, name, addr):
    rec = parse(f"From: {value}\nTo: owner@example.com\nSubject: x\nMessage-ID: <o1@x>\n\nhi\n".encode())
    assert (rec.sender_name, rec.sender_handle) == (name, addr)


def test_no_from_uses_sender():
    rec = parse("no_from.eml")
    assert (rec.sender_handle, rec.sender_name) == ("sec@example.com", "Secretary")
    assert rec.problems == ("no From header", "sender taken from Sender header")


def test_noise_headers_are_kept_unfolded_and_others_dropped():
    rec = parse("newsletter_headers.eml")
    assert rec.headers == {
        "list-id": "Weekly <weekly.list.example>",
        "list-unsubscribe": "<https://list.example/u/1>, <mailto:unsub@list.example>",
        "precedence": "bulk",
    }
    bounce = parse("bounce.eml")
    assert bounce.headers["return-path"] == "<>"
    assert bounce.headers["auto-submitted"] == "auto-replied"


# -- charsets and bodies ---------------------------------------------------------------------

def test_latin1_body_declared_utf8():
    rec = parse("latin1_declared_utf8.eml")
    assert rec.text == "Un café crème et une crêpe, s'il vous plaît.\n"
    assert rec.problems == ("body is not valid utf-8", "body decoded as cp1252")


def test_mostly_valid_utf8_keeps_utf8_with_a_replacement_mark():
    rec = parse("mostly_utf8_broken.eml")
    assert rec.text == "Grüße, € 12 and a cut char \ufffd\n"
    assert "invalid utf-8 bytes in body replaced" in rec.problems


def test_utf16_with_an_odd_byte_keeps_utf16():
    rec = parse("utf16_odd_bytes.eml")
    assert rec.text == "hello\ufffd"
    assert rec.problems == ("body is not valid utf-16", "invalid utf-16 bytes in body replaced")


def test_base64_with_junk_characters():
    rec = parse("base64_junk.eml")
    assert rec.text == "Hello world"
    assert rec.problems == ("invalid characters in base64 body ignored",)


def test_unknown_charset_x_foo():
    rec = parse("unknown_charset.eml")
    assert rec.text == "Grüße aus Köln\n"
    assert rec.problems == ("unknown charset 'x-foo' in body",)


def test_us_ascii_label_on_utf8_text():
    rec = parse("ascii_declared_utf8.eml")
    assert rec.text == "Prix: 12 € — merci\n"
    assert rec.problems == ("body declared us-ascii but is UTF-8",)


def test_iso_2022_jp_is_seven_bit_but_still_decoded():
    rec = parse("iso2022jp.eml")
    assert rec.subject == "日本語"
    assert rec.text == "日本語\n"
    assert rec.sent_at == "2024-10-01T01:00:00+00:00"


def test_quoted_printable_soft_breaks():
    assert parse("quoted_printable.eml").text == "Total: 12 €, this line is soft-wrapped.\n"


def test_html_only_body_becomes_readable_text():
    rec = parse("html_only.eml")
    assert rec.text == (
        "Hello Anna & Co,\n\nYour order:\nline two\n\n- 2 × croissant\n- 1 × baguette\n\n"
        "Track it here (https://track.example/123?a=1&b=2)."
    )
    assert "alert" not in rec.text and "Ignore me" not in rec.text and "color" not in rec.text


def test_alternative_with_empty_plain_part_falls_back_to_html():
    assert parse("empty_plain_alternative.eml").text == "Only the HTML says something."


def test_missing_boundary_is_guessed_from_the_body():
    rec = parse("missing_boundary.eml")
    assert rec.text == "The real text."
    assert rec.attachments == (Attachment("quote.pdf", "application/pdf", 9),)
    assert rec.problems == ("multipart without boundary", "MIME boundary guessed from body")


def test_boundary_that_never_appears_is_guessed_too():
    rec = parse("wrong_boundary.eml")
    assert rec.text == "Text behind a boundary that was never declared."
    assert "MIME boundary never found in body" in rec.problems


def test_nested_multipart_prefers_plain_and_lists_attachments():
    rec = parse("nested_multipart.eml")
    assert rec.text == "Plain wins."
    assert rec.attachments == (Attachment("invoice.pdf", "application/pdf", 9 + 1024),)
    assert rec.problems == ()


def test_attachment_metadata_rfc2231_and_encoded_names():
    rec = parse("attachments.eml")
    assert rec.text == "See attached."  # the text/plain *attachment* is not body text
    assert rec.attachments[:3] == (
        Attachment("Rechnung März.pdf", "application/pdf", 10),
        Attachment("Foto Küche.jpg", "image/jpeg", 6),
        Attachment("notes.txt", "text/plain", 13),
    )
    forwarded = rec.attachments[3]
    assert forwarded.content_type == "message/rfc822" and forwarded.size > 0


def test_bounce_report_parts_are_attachments():
    rec = parse("bounce.eml")
    assert rec.text.startswith("I'm sorry to have to inform you")
    assert [a.content_type for a in rec.attachments] == [
        "message/delivery-status", "message/rfc822"]
    assert rec.sender_handle == "mailer-daemon@mx.example.com"


def test_nul_bytes_are_removed():
    rec = parse("nul_bytes.eml")
    assert rec.text == "Text with NUL bytes.\n"
    assert rec.subject == "nulhere"
    assert "NUL bytes removed" in rec.problems


def test_crlf_and_lf_give_the_same_record():
    crlf, lf = parse("crlf.eml"), parse("lf.eml")
    assert crlf.text == lf.text == "first line\nsecond line\n"
    assert (crlf.external_id, crlf.subject, crlf.sender_name, crlf.sent_at) == (
        lf.external_id, lf.subject, lf.sender_name, lf.sent_at)
    assert crlf.problems == lf.problems == ()


def test_text_without_any_headers():
    rec = parse("no_headers_body.eml", fallback_time=FALLBACK)
    assert rec.text == "this is just text\nwith no headers at all\n"
    assert rec.external_id.startswith("sha256:")
    assert "no headers" in rec.problems


# -- ids -------------------------------------------------------------------------------------

def test_missing_message_id_gives_a_stable_synthetic_id():
    first, second = parse("no_message_id.eml"), parse("no_message_id.eml")
    assert first.external_id == second.external_id
    assert first.external_id.startswith("sha256:") and len(first.external_id) == 7 + 64
    assert first.problems == ("no Message-ID; synthetic id used",)
    # The same message read from IMAP (CRLF) or an mbox (with a From_ line) dedupes.
    assert parse("no_message_id_crlf.eml").external_id == first.external_id
    from_line = b"From nomid@example.com Tue Oct  1 10:00:00 2024\n" + load("no_message_id.eml")
    assert parse(from_line).external_id == first.external_id
    # A different message gets a different id.
    assert parse(load("no_message_id.eml") + b"more\n").external_id != first.external_id


# -- dates -----------------------------------------------------------------------------------

def test_no_date_uses_the_fallback_time():
    rec = parse("no_date.eml", fallback_time=FALLBACK)
    assert rec.sent_at == FALLBACK
    assert rec.problems == ("no Date header", "sent time taken from fallback time")


def test_fallback_may_be_a_naive_or_aware_datetime():
    aware = datetime.fromisoformat("2025-06-01T14:00:00+02:00")
    assert parse("no_date.eml", fallback_time=aware).sent_at == FALLBACK
    assert parse("no_date.eml", fallback_time=datetime(2025, 6, 1, 12)).sent_at == FALLBACK


def test_no_date_and_no_fallback_leaves_sent_at_empty_and_says_so():
    rec = parse("no_date.eml")
    assert rec.sent_at == ""
    assert "no usable sent time" in rec.problems


def test_unparseable_date_uses_the_newest_received_header():
    rec = parse("bad_date_received.eml", fallback_time=FALLBACK)
    assert rec.sent_at == "2024-10-02T08:30:00+00:00"
    assert rec.problems == ("unparseable Date 'sometime last week'",
                            "sent time taken from Received header")


@pytest.mark.parametrize("name", ["date_year0.eml", "date_year9999.eml"])
def test_absurd_year_uses_the_fallback(name):
    rec = parse(name, fallback_time=FALLBACK)
    assert rec.sent_at == FALLBACK
    assert any("out of range" in p for p in rec.problems)


def test_absurd_years_are_clamped_without_a_fallback():
    past = parse("date_year0.eml")
    assert past.sent_at == MIN_TIME.isoformat()  # parsedate alone would say 2000-01-01
    future = parse("date_year9999.eml")
    assert future.sent_at == (NOW + FUTURE_SLACK).isoformat()
    assert "sent time clamped to sane range" in future.problems


def test_fallback_outside_the_sane_range_is_ignored():
    rec = parse("no_date.eml", fallback_time="1970-01-01T00:00:00+00:00")
    assert rec.sent_at == ""


# -- size limits and hostile structure -------------------------------------------------------

def test_one_megabyte_header_line():
    raw = (b"From: a@example.com\nMessage-ID: <big@example.com>\nSubject: "
           + b"x" * 1_000_000 + b"\nDate: Tue, 01 Oct 2024 10:00:00 +0000\n\nbody\n")
    rec = parse(raw)
    assert rec.subject == "x" * 998
    assert rec.text == "body\n" and rec.sent_at == "2024-10-01T10:00:00+00:00"
    assert "subject header over 64 kB, truncated" in rec.problems
    assert "Subject longer than 998 characters, cut" in rec.problems


def test_raw_kept_only_under_the_limit():
    raw = load("lf.eml")
    assert parse(raw).raw == raw
    rec = parse(raw, keep_raw_limit=10)
    assert rec.raw is None and "raw too large, not kept" in rec.problems


def test_text_is_capped_at_one_megabyte():
    raw = b"From: a@example.com\nMessage-ID: <long@x>\n\n" + b"0123456789\n" * 200_000
    rec = parse(raw)
    assert len(rec.text) == 1_000_000
    assert "text over 1 MB, cut" in rec.problems


def _nested(levels: int) -> bytes:
    parts = [b"From: a@example.com\nMessage-ID: <deep@x>\n"]
    parts += [b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
              for i in range(levels)]
    parts.append(b"Content-Type: text/plain\n\ninnermost\n")
    parts += [b"--b%d--\n" % i for i in reversed(range(levels))]
    return b"".join(parts)


def test_nesting_within_the_bound_is_read():
    assert parse(_nested(40)).text == "innermost"


def test_nesting_past_the_bound_is_cut_with_a_problem():
    rec = parse(_nested(60))
    assert "MIME nesting deeper than 50; inner parts ignored" in rec.problems
    assert rec.external_id == "deep@x"


def test_nesting_that_breaks_the_stdlib_parser_keeps_the_body_as_text():
    rec = parse(_nested(1500))  # email.parser recurses per level and fails near 1,000
    assert "MIME nesting deeper than 50; body kept as raw text" in rec.problems
    assert "innermost" in rec.text
    assert rec.external_id == "deep@x" and rec.sender_handle == "a@example.com"


def test_huge_attachment_size_is_computed_without_decoding():
    line = b"QUFB" * 19 + b"\n"  # 76 base64 chars = 57 bytes
    raw = (b"From: a@x.com\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nhi\n--x\n"
           b"Content-Type: application/zip\nContent-Transfer-Encoding: base64\n\n"
           + line * 100_000 + b"--x--\n")
    rec = parse(raw)
    assert rec.attachments == (Attachment("", "application/zip", 57 * 100_000),)


def test_never_raises_on_non_bytes():
    rec = parse_message(bytearray(load("lf.eml")))
    assert rec.external_id == "crlf@example.com"
    assert parse_message(memoryview(load("lf.eml"))).external_id == "crlf@example.com"
    odd = parse_message(12345)  # type: ignore[arg-type]
    assert "input was not bytes" in odd.problems and odd.external_id.startswith("sha256:")


def test_folder_is_passed_through_and_direction_left_to_the_classifier():
    rec = parse("lf.eml", folder="Sent")
    assert rec.folder == "Sent" and rec.direction is None and rec.channel == "email"


# -- property tests --------------------------------------------------------------------------

CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.eml"))
TOKENS = [b"=?", b"?=", b"=?utf-8?b?", b"=?x-foo?q?=E9", b"--", b"\r", b"\n", b"\x00",
          b"boundary=", b'Content-Type: multipart/mixed; boundary=""\n', b"charset=",
          b"\xff", b"\xc3", b"<", b">", b"@", b";", b":", b"\n\n", b"Date: ",
          b"Content-Transfer-Encoding: base64\n", b"filename*=", b"''", b"%", b'"', b"\\"]


@st.composite
def mutated_corpus(draw) -> bytes:
    data = bytearray(load(draw(st.sampled_from(CORPUS_FILES))))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "copy"]))
        if op == "flip" and data:
            data[min(i, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "truncate":
            del data[i:]
        else:
            j = draw(st.integers(0, len(data)))
            data[i:i] = data[j : j + draw(st.integers(1, 300))]
    return bytes(data)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=3000))
def test_never_raises_on_arbitrary_bytes(raw):
    check_invariants(parse_message(raw, now=NOW))


@_FUZZ
@given(mutated_corpus())
def test_never_raises_on_mutated_corpus(raw):
    check_invariants(parse_message(raw, now=NOW, fallback_time=FALLBACK))


@_FUZZ
@given(st.lists(st.tuples(
    st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID", "References",
                     "In-Reply-To", "Content-Type", "Content-Transfer-Encoding",
                     "Content-Disposition", "List-Id"]),
    st.text(max_size=80)), max_size=12), st.text(max_size=300))
def test_never_raises_on_arbitrary_header_text(headers, body):
    raw = "".join(f"{k}: {v}\n" for k, v in headers).encode("utf-8", "surrogatepass")
    check_invariants(parse_message(raw + b"\n" + body.encode("utf-8", "surrogatepass"), now=NOW))


def test_naive_now_counts_as_utc():
    rec = parse_message(load("date_year9999.eml"), now=datetime(2026, 1, 1))
    check_invariants(rec)
    assert rec.sent_at == (NOW + FUTURE_SLACK).isoformat()


def test_big_base64_attachment_is_sized_without_parsing_it():
    """Over 2 MB, big leaves are cut out before the stdlib parser (memory, bounded.py); the
    attachment keeps its real size and a big encoded text part is cut, with a problem."""
    import base64 as b64

    from owner_tui.mail.bounded import reduce_for_parsing
    from owner_tui.mail.decode import Problems
    from owner_tui.mail.parse import parse_message

    blob = b64.encodebytes(bytes(range(256)) * 40000).replace(b"\n", b"\r\n")  # 10,240,000 bytes
    raw = (b"From: a@example.com\r\nMessage-ID: <big@x>\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
           b"--z\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
           b"--z\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + blob + b"--z\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + blob + b"--z--\r\n")
    small, sizes = reduce_for_parsing(raw, Problems())
    assert len(small) < 2_200_000 and list(sizes.values()) == [10_240_000]
    rec = parse_message(raw)
    assert rec.text.startswith("hello")
    assert [a.size for a in rec.attachments if a.filename == "a.pdf"] == [10_240_000]
    assert any("text part was cut" in p for p in rec.problems)
    assert reduce_for_parsing(b"x" * 100, Problems()) == (b"x" * 100, {})


# -- the feedparser without a compile per boundary (issue 18) ---------------------------------

_BOUNDARIES = ["simple", "a.b+c*d?e(f)g[h]i{j}k|l^m$n\\o", "  spaced out  ", "==_Part_1_=_", "x" * 70,
               "'quoted'", "ünïcødé", "--dashes--", "tab\there", "end--"]


@pytest.mark.parametrize("boundary", _BOUNDARIES)
@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
def test_multipart_parsing_is_the_same_with_the_fast_boundary_matcher(boundary, eol):
    import email
    import email.feedparser as feedparser
    import re

    from owner_tui.mail import boundaries

    body = eol.join([
        "From: a@example.com", "To: b@example.com", "Subject: parts", "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"', "",
        "preamble", f"--{boundary}", "Content-Type: text/plain", "", "one", f"--{boundary}  ",
        f"--{boundary}", "Content-Type: multipart/alternative; boundary=inner", "", "--inner",
        "Content-Type: text/plain", "", "two", "--inner--", f"--{boundary}x", "not a boundary",
        f"--{boundary}--", "epilogue", f"--{boundary}--{boundary}", ""])
    raw = body.encode("utf-8")

    def shape(msg):
        return [(p.get_content_type(), p.get_payload() if not p.is_multipart() else None, p.preamble,
                 p.epilogue, [type(d).__name__ for d in p.defects]) for p in msg.walk()]

    boundaries.install()
    fast = shape(email.message_from_bytes(raw))
    saved = feedparser.re
    feedparser.re = re
    try:
        stock = shape(email.message_from_bytes(raw))
    finally:
        feedparser.re = saved
    assert fast == stock
    assert isinstance(feedparser.re, boundaries._Re)
