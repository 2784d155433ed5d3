import pytest
from hypothesis import given
from hypothesis import strategies as st

from owner_tui.sanitize import clean, one_line, safe_text, spreadsheet_safe

HOSTILE = [
    "\x1b]0;owned title\x07", "\x1b]52;c;ZXZpbA==\x07", "\x1b[2J\x1b[H", "\x1b]8;;https://evil\x1b\\click\x1b]8;;\x1b\\",
    "\x9b31m", "\x9d0;t\x9c", "a\x00b", "\u202egnp.exe", "\x1bP1$r\x1b\\", "\r\rover", "\x07bell",
]


@pytest.mark.parametrize("s", HOSTILE)
def test_no_control_reaches_the_terminal(s):
    for out in (clean(s), one_line(s)):
        assert not any(ord(c) < 32 and c not in "\n" for c in out)
        assert not any(0x80 <= ord(c) < 0xA0 for c in out)
        assert "\u202e" not in out


@given(st.text())
def test_clean_never_leaves_escape_or_c1(s):
    out = clean(s)
    assert "\x1b" not in out and not any(0x80 <= ord(c) < 0xA0 for c in out)
    assert "\n" not in one_line(s)


def test_markup_is_inert_text():
    t = safe_text("[bold red]hi[/] [link=http://x]y[/link]")
    assert t.plain == "[bold red]hi[/] [link=http://x]y[/link]" and not t.spans


def test_visible_placeholders_and_plain_text_kept():
    assert clean("a\x00b") == "a\u2400b"
    assert clean("Zoë 👍 «ok»\nline2") == "Zoë 👍 «ok»\nline2"
    assert one_line("a\n\tb") == "a b"
    assert clean("x" * 50, limit=10) == "x" * 9 + "…"


@pytest.mark.parametrize("v,out", [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
                                   ("fine", "fine"), (3, 3)])
def test_spreadsheet_cells(v, out):
    assert spreadsheet_safe(v) == out


def test_fast_path_is_exact():
    """``clean`` returns printable text untouched without looking at it: that is only right
    if the full path never changes a printable character. Checked for every code point."""
    changed = [hex(c) for c in range(0x110000)
               if chr(c).isprintable() and clean("a" + chr(c) + "b") != "a" + chr(c) + "b"]
    assert changed == []
