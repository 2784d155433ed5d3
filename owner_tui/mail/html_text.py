"""HTML mail bodies as readable plain text.

Many messages (shop notifications, mobile clients, marketing tools) carry only ``text/html``.
The owner reads them in a terminal, so we keep the structure that carries meaning (paragraphs,
line breaks, list items, quoted replies, where a link points) and drop the rest.

Why not ``html.parser``: on Python 3.11 it is quadratic on hostile input (200 kB of
``<!--`` or ``<a<a<a`` takes 15-20 s, measured), and mail HTML is hostile input. This module
uses a small linear tokenizer instead: every search moves forward, an unterminated comment or
raw-text element ends the document (as browsers do), and tags use a backtracking-free regex.
The work is therefore bounded by the input length, which is itself capped by ``limit``.
"""

from __future__ import annotations

import re
from html import unescape

#: Elements whose content is never shown.
_RAW_SKIP = ("script", "style", "xmp", "iframe", "noembed", "noframes")
_NESTED_SKIP = frozenset({"head", "title", "template", "svg", "math", "object"})
#: Blocks separated by a blank line, and blocks that only start a new line.
_PARA = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "ul", "ol", "dl", "hr"}
)
_LINE = frozenset(
    {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address",
     "center", "figure", "main", "nav", "aside", "form", "fieldset", "caption", "body"}
)
_MAX_NEST_PREFIX = 10

# Possessive quantifiers (Python 3.11+) keep the tag regex from backtracking; a quoted
# attribute may contain ">" as in browsers.
_TAG = re.compile(r"""<(/?)([A-Za-z][^\s/<>]*+)((?:[^<>"']++|"[^"]*+"|'[^']*+')*+)>""")
# Where markup may start; any other "<" is text and costs no Python step.
_MARKUP = re.compile(r"<(!--|[!?]|/?[A-Za-z])")
_MAX_TAG = 8192  # longer "tags" are text: caps the work of one failed match
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_WS = re.compile(r"[ \t\n\r\f]+")
# Invisible characters that marketing mail uses to pad preview text.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u034f\u00ad]")
_BLANKS = re.compile(r"\n{3,}")
_RAW_END = {name: re.compile(rf"</{name}\b[^>]*>", re.I) for name in _RAW_SKIP}


def html_to_text(html: str, *, limit: int = 2_000_000) -> str:
    """Render ``html`` as plain text; input beyond ``limit`` characters is ignored."""
    if len(html) > limit:
        html = html[:limit]
    r = _Renderer()
    r.run(html)
    return r.result()


def _attrs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        name = m.group(1).lower()
        if name not in out:
            value = m.group(2) if m.group(2) is not None else m.group(3)
            if value is None:
                value = m.group(4) or ""
            out[name] = unescape(value)
    return out


class _Renderer:
    """Turns a token stream into lines; all state is counters, so nesting costs no memory."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cur: list[str] = []
        self.line_prefix = ""
        self.need = 0  # newlines wanted before the next text: 1 = new line, 2 = blank line
        self.space = False
        self.quote = 0
        self.lists = 0
        self.pre = 0
        self.skip: dict[str, int] = {}
        self.link: tuple[str, list[str]] | None = None

    # -- tokenizer ---------------------------------------------------------------------------
    def run(self, s: str) -> None:
        n, pos = len(s), 0
        buf: list[str] = []  # text between tags, joined once: "<a<a<a..." stays fast
        while pos < n:
            m = _MARKUP.search(s, pos)
            if m is None:
                buf.append(s[pos:])
                break
            lt = m.start()
            if lt > pos:
                buf.append(s[pos:lt])
            kind = m.group(1)
            if kind == "!--":
                end = s.find("-->", lt + 4)
                pos = n if end < 0 else end + 3  # unterminated comment: to the end, as browsers
                continue
            if kind in ("!", "?"):
                end = s.find(">", lt + 2)
                pos = n if end < 0 else end + 1
                continue
            tag = _TAG.match(s, lt, lt + _MAX_TAG)
            if tag is None:
                buf.append("<")  # a lone "<" is text
                pos = lt + 1
                continue
            if buf:
                self.data("".join(buf))
                buf.clear()
            pos = tag.end()
            closing, name, attrs = tag.groups()
            name = name.lower()
            if closing:
                self.end(name)
                continue
            self.start(name, attrs)
            if name in _RAW_END and not attrs.rstrip().endswith("/"):
                end_m = _RAW_END[name].search(s, pos)
                pos = n if end_m is None else end_m.end()
        if buf:
            self.data("".join(buf))

    # -- structure ---------------------------------------------------------------------------
    def start(self, name: str, attr_text: str) -> None:
        if name in _NESTED_SKIP:
            self.skip[name] = self.skip.get(name, 0) + 1
            return
        if name == "body":
            self.skip.pop("head", None)  # a <head> never closed ends at <body>
        if name == "br":
            self.flush_breaks()
            self.newline()
        elif name in _PARA or name in _LINE:
            nested_list = name in ("ul", "ol") and self.lists
            self.block(1 if nested_list or name not in _PARA else 2)
            if name == "blockquote":
                self.flush_breaks()  # the blank line before a quote is not part of it
                self.quote += 1
            elif name in ("ul", "ol"):
                self.lists += 1
            elif name == "pre":
                self.pre += 1
            elif name == "hr":
                self.text("----")
                self.block(2)
            elif name == "li":
                self.text("-")
                self.space = True
        elif name in ("td", "th"):
            self.space = bool(self.cur)
        elif name == "a":
            self.close_link()
            href = _attrs(attr_text).get("href", "").strip()
            self.link = (href, [])
        elif name == "img" and self.link is not None and not "".join(self.link[1]).strip():
            alt = _attrs(attr_text).get("alt", "").strip()
            if alt:
                self.text(alt)

    def end(self, name: str) -> None:
        if name in _NESTED_SKIP:
            if self.skip.get(name):
                self.skip[name] -= 1
                if not self.skip[name]:
                    del self.skip[name]
            return
        if name == "a":
            self.close_link()
        elif name in _PARA or name in _LINE:
            if name == "blockquote" and self.quote:
                self.block(2)
                self.quote -= 1
            elif name in ("ul", "ol") and self.lists:
                self.lists -= 1
                if self.lists:
                    self.block(1)
                    return
            elif name == "pre" and self.pre:
                self.pre -= 1
            self.block(2 if name in _PARA else 1)

    def close_link(self) -> None:
        if self.link is None:
            return
        href, parts = self.link
        self.link = None
        if self.skip:
            return
        label = " ".join("".join(parts).split())
        low = href.lower()
        if not href or low.startswith(("javascript:", "data:", "cid:", "#", "vbscript:")):
            return
        target = href[7:].split("?", 1)[0] if low.startswith("mailto:") else href
        if len(target) > 2000:
            target = target[:2000] + "..."
        if not label:
            self.text(target)
        elif _same_link(label, target):
            return
        else:
            self.space = True
            self.text(f"({target})")

    # -- text --------------------------------------------------------------------------------
    def data(self, raw: str) -> None:
        if self.skip:
            return
        text = unescape(raw) if "&" in raw else raw
        if self.pre:
            first = True
            for piece in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
                if not first:
                    self.flush_breaks()
                    self.newline()
                first = False
                if piece:
                    self.text(piece, collapse=False)
            return
        self.text(text)

    def text(self, s: str, *, collapse: bool = True) -> None:
        if collapse:
            s = _WS.sub(" ", s)
            if not s.strip(" "):
                if s and self.cur:
                    self.space = True
                return
            lead, trail = s.startswith(" "), s.endswith(" ")
            s = s.strip(" ")
        else:
            lead = trail = False
        self.flush_breaks()
        if not self.cur:
            self.line_prefix = "> " * min(self.quote, _MAX_NEST_PREFIX) + "  " * min(
                max(self.lists - 1, 0), _MAX_NEST_PREFIX
            )
        elif lead or self.space:
            self.cur.append(" ")
        self.cur.append(s)
        if self.link is not None:
            self.link[1].append((" " if lead else "") + s + (" " if trail else ""))
        self.space = trail

    def block(self, n: int) -> None:
        self.need = max(self.need, n)

    def flush_breaks(self) -> None:
        if not self.need:
            return
        need, self.need = self.need, 0
        if not self.lines and not self.cur:
            return
        if self.cur:
            self.newline()
        blanks = 0
        for line in reversed(self.lines):
            if line.strip(" >"):
                break
            blanks += 1
        while blanks < need - 1:
            self.newline()
            blanks += 1

    def newline(self) -> None:
        prefix = self.line_prefix if self.cur else "> " * min(self.quote, _MAX_NEST_PREFIX)
        self.lines.append((prefix + "".join(self.cur)).rstrip())
        self.cur = []
        self.space = False

    def result(self) -> str:
        self.close_link()
        if self.cur:
            self.newline()
        text = "\n".join(self.lines)
        text = _INVISIBLE.sub("", text).replace("\xa0", " ")
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        return _BLANKS.sub("\n\n", text).strip("\n")


def _same_link(label: str, target: str) -> bool:
    """True when the visible text already says where the link goes."""

    def norm(v: str) -> str:
        v = v.strip().lower()
        for scheme in ("https://", "http://", "mailto:"):
            if v.startswith(scheme):
                v = v[len(scheme):]
        return v.removeprefix("www.").rstrip("/")

    return norm(label) == norm(target)
