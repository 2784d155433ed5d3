"""The SMS segment counter (3GPP TS 23.038): GSM-7 160/153 with the two-septet extension
table, UCS-2 70/67 in UTF-16 code units, pairs never split across segments."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from owner_tui.send.sms_segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    count,
    editor_line,
    whatsapp_length,
)

EXT = "^{}\\[~]|€"


def test_the_alphabet_is_the_standard_one():
    assert len(GSM7_BASIC) == 127  # 128 code points less ESC
    assert "\x1b" not in GSM7_BASIC
    assert set(EXT) <= GSM7_EXTENSION and "\f" in GSM7_EXTENSION
    assert not (GSM7_BASIC & GSM7_EXTENSION)
    for ch in "`ç’“€":  # near misses: not in the basic set
        assert ch not in GSM7_BASIC


@pytest.mark.parametrize("n, segments, left", [
    (0, 0, 160), (1, 1, 159), (159, 1, 1), (160, 1, 0), (161, 2, 145), (306, 2, 0), (307, 3, 152),
    (459, 3, 0), (460, 4, 152),
])
def test_gsm7_boundaries(n, segments, left):
    s = count("a" * n)
    assert (s.encoding, s.used, s.segments, s.left) == ("GSM-7", n, segments, left)


@pytest.mark.parametrize("n, segments, left", [
    (1, 1, 69), (70, 1, 0), (71, 2, 63), (134, 2, 0), (135, 3, 66),
])
def test_ucs2_boundaries(n, segments, left):
    s = count("ж" * n)
    assert (s.encoding, s.used, s.segments, s.left) == ("UCS-2", n, segments, left)


def test_extension_characters_cost_two_septets():
    assert count("€").used == 2
    assert count("a" * 158 + "€") == count("a" * 158 + "{")
    s = count("a" * 158 + "€")
    assert (s.used, s.segments, s.left) == (160, 1, 0)
    s = count("a" * 159 + "€")  # 161 septets: split
    assert (s.used, s.segments) == (161, 2)


def test_an_escape_pair_is_never_split():
    # 152 septets then "€": the pair does not fit in the first segment's last septet.
    s = count("a" * 152 + "€" + "a" * 10)
    assert s.segments == 2
    assert s.left == 153 - 12  # the second segment holds the pair and ten letters
    s = count("a" * 151 + "€" + "a" * 10)  # fits exactly: 153 in the first
    assert (s.segments, s.left) == (2, 153 - 10)


def test_emoji_is_two_units_and_never_split():
    s = count("😀")
    assert (s.encoding, s.used, s.left) == ("UCS-2", 2, 68)
    s = count("ж" * 66 + "😀" + "ж" * 3)  # 71 units: split; 66 + 2 > 67 moves the emoji on
    assert (s.used, s.segments, s.left) == (71, 2, 67 - 5)
    s = count("ж" * 65 + "😀" + "ж" * 4)  # 65 + 2 = 67 exactly
    assert (s.segments, s.left) == (2, 63)


def test_one_non_gsm_character_switches_the_whole_text_and_is_named():
    text = "Thanks, see you at 5pm" + "’"
    s = count(text)
    assert s.encoding == "UCS-2" and s.non_gsm == ("’",)
    line, warning = editor_line(text)
    assert line == "UCS-2 · 1 segment · 47 left"
    assert warning and "“’”" in warning and "right single quotation mark" in warning
    assert editor_line("plain text")[1] is None
    _line, warning = editor_line("’é😀ж")
    assert "and 2 other characters" in warning


def test_a_control_character_is_named_by_its_code_not_printed():
    _line, warning = editor_line("hi\x07")
    assert "\x07" not in warning and "U+0007" in warning


def test_whatsapp_counts_characters_against_4096():
    assert whatsapp_length("héllo 😀") == (7, 4096)


# -- an independent model, for every text --------------------------------------------------------

def _model(text: str) -> tuple[str, int, int, int]:
    """Encode to a list of units with the pairs marked, then pack; written apart from count()."""
    gsm = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
    units: list[int] = []  # each entry: how many units one character takes
    for ch in text:
        if gsm:
            units.append(2 if ch in GSM7_EXTENSION else 1)
        else:
            units.append(len(ch.encode("utf-16-le")) // 2)
    total = sum(units)
    single, part = (160, 153) if gsm else (70, 67)
    if total == 0:
        return ("GSM-7" if gsm else "UCS-2"), 0, 0, single
    if total <= single:
        return ("GSM-7" if gsm else "UCS-2"), total, 1, single - total
    packed: list[list[int]] = [[]]
    for u in units:
        if sum(packed[-1]) + u > part:
            packed.append([])
        packed[-1].append(u)
    assert all(sum(p) <= part for p in packed)
    return ("GSM-7" if gsm else "UCS-2"), total, len(packed), part - sum(packed[-1])


GSM_TEXT = st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), max_size=700)
ANY_TEXT = st.text(max_size=400)
MIXED = st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC)[:20] + list(EXT) + ["ж", "😀", "’", "🇫"]), max_size=400)


@settings(max_examples=400, deadline=None)
@given(st.one_of(GSM_TEXT, ANY_TEXT, MIXED))
def test_count_agrees_with_the_model(text):
    s = count(text)
    assert (s.encoding, s.used, s.segments, s.left) == _model(text)
    if s.encoding == "GSM-7":
        assert not s.non_gsm
    else:
        assert s.non_gsm and all(ch not in GSM7_BASIC and ch not in GSM7_EXTENSION for ch in s.non_gsm)


@settings(max_examples=200, deadline=None)
@given(GSM_TEXT)
def test_segments_grow_by_one_character_at_most_one(text):
    before = count(text)
    after = count(text + "a")
    assert after.segments - before.segments in (0, 1)
    assert after.used == before.used + 1
