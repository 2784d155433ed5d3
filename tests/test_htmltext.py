"""html_to_text: readable structure from mail HTML, and bounded work on hostile HTML."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from owner_tui.mail.html_text import html_to_text


def test_paragraphs_breaks_and_entities():
    html = "<p>Hello&nbsp;<b>world</b> &amp; you</p><p>one<br>two<br/>three</p>"
    assert html_to_text(html) == "Hello world & you\n\none\ntwo\nthree"


def test_whitespace_collapses_outside_pre_only():
    html = "<div>  lots \n\n of\t space </div><pre>  keep\n    this</pre>"
    assert html_to_text(html) == "lots of space\n\n  keep\n    this"


def test_lists_nested_lists_and_quotes():
    html = ("<ul><li>one</li><li>two<ul><li>inner</li></ul></li><li>three</li></ul>"
            "<blockquote>quoted<br>reply</blockquote>after")
    assert html_to_text(html) == "- one\n- two\n  - inner\n- three\n\n> quoted\n> reply\n\nafter"


def test_links_show_their_target_once():
    html = ('<a href="https://shop.example/o/1?a=1&amp;b=2">your order</a> '
            '<a href="https://example.com/">example.com</a> '
            '<a href="mailto:help@shop.example">help@shop.example</a> '
            '<a href="javascript:alert(1)">click</a> <a href="https://x.example"></a>')
    assert html_to_text(html) == (
        "your order (https://shop.example/o/1?a=1&b=2) example.com help@shop.example click "
        "https://x.example")


def test_image_link_uses_alt_text():
    assert html_to_text('<a href="https://s.example"><img alt="Shop logo"></a>') == (
        "Shop logo (https://s.example)")


def test_script_style_head_and_comments_dropped():
    html = ("<html><head><title>T</title><style>p{color:red}</style></head><body>"
            "<script>if (a < b) { alert('</p>') }</script><!-- hidden -->shown"
            "<template>no</template></body></html>")
    assert html_to_text(html) == "shown"


def test_unclosed_head_ends_at_body():
    assert html_to_text("<head><meta charset=utf-8><body>visible") == "visible"


def test_preheader_padding_characters_removed():
    assert html_to_text("Sale&zwnj;&nbsp;&zwnj;&nbsp;&#8203;now") == "Sale  now"


def test_tables_become_lines():
    html = "<table><tr><td>Item</td><td>Price</td></tr><tr><td>Cake</td><td>4 €</td></tr></table>"
    assert html_to_text(html) == "Item Price\nCake 4 €"


def test_lone_angle_brackets_are_text():
    assert html_to_text("a < b and 3 <4 <br>x") == "a < b and 3 <4\nx"


def test_input_limit():
    assert html_to_text("<p>" + "a" * 100, limit=50) == "a" * 47


@pytest.mark.parametrize("hostile", [
    "<!--" * 200_000,  # unterminated comments: quadratic in html.parser (measured ~15 s)
    "<a" * 400_000,  # unterminated tags: also quadratic there
    '<a "' * 200_000,  # unterminated quoted attributes
    "</" * 400_000,
    "<div><blockquote><ul><li>" * 50_000,  # deep nesting
    "<script>" + "x" * 800_000,  # raw text never closed
], ids=["comments", "open-tags", "open-quotes", "end-tags", "deep-nesting", "open-script"])
def test_hostile_html_is_linear(hostile):
    start = time.perf_counter()
    out = html_to_text(hostile)
    # Generous bound (a loaded 2-core CI box); the quadratic versions take tens of seconds.
    assert time.perf_counter() - start < 5
    assert isinstance(out, str)


def test_deep_nesting_prefix_is_bounded():
    out = html_to_text("<blockquote>" * 1000 + "deep")
    assert out == "> " * 10 + "deep"


_PIECES = list("<>/!-?\"'= abp&;#x\n\r") + ["<a href=", "<br>", "<li>", "</ul>", "<pre>",
                                             "</pre>", "<!--", "-->", "&amp;", "<blockquote>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=80))
def test_never_raises(pieces):
    out = html_to_text("".join(pieces))
    assert "\r" not in out and out == out.strip("\n")
