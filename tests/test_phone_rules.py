"""The rules checked before a text goes (``send/phone_rules``): STOP first, then WhatsApp's
24-hour window (with or without an approved template); email and reviews are never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from owner_tui.send.phone_rules import check

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_other_channels_are_not_ruled():
    assert check("email", now=NOW, opted_out_at="2026-11-01T00:00:00+00:00").allowed


def test_stop_refuses_every_phone_channel_and_says_when():
    for channel in ("sms", "whatsapp", "call"):
        v = check(channel, now=NOW, opted_out_at="2026-11-20T10:00:00+00:00", last_inbound_at=NOW,
                  template_sid="HX1")
        assert not v.allowed and not v.template
        assert "texted STOP on 20 Nov 2026 10:00 UTC" in v.words and "START" in v.words


def test_sms_has_no_window():
    assert check("sms", now=NOW, last_inbound_at=NOW - timedelta(days=30)).allowed


def test_whatsapp_window_edges():
    inside = check("whatsapp", now=NOW, last_inbound_at=(NOW - timedelta(hours=23, minutes=59)).isoformat())
    assert inside.allowed and inside.words == ""
    at_24 = check("whatsapp", now=NOW, last_inbound_at=NOW - timedelta(hours=24))
    assert not at_24.allowed and "24 hours ago" in at_24.words
    never = check("whatsapp", now=NOW, last_inbound_at=None)
    assert not never.allowed and "whatsapp_template_sid" in never.words
    old = check("whatsapp", now=NOW, last_inbound_at=NOW - timedelta(days=9))
    assert "9 days ago" in old.words


def test_whatsapp_outside_the_window_offers_the_configured_template():
    v = check("whatsapp", now=NOW, last_inbound_at=NOW - timedelta(hours=30), template_sid="HX9",
              template_name="follow_up")
    assert not v.allowed and v.template and "«follow_up»" in v.words and "{{1}}" in v.words
    unnamed = check("whatsapp", now=NOW, last_inbound_at=NOW - timedelta(hours=30), template_sid="HX9")
    assert "HX9" in unnamed.words
