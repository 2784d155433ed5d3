"""Quoted history in a message body: find it, fold it, and wrap it keeping its ``>``.

Long threads repeat every earlier message quoted under the new one; shown unfolded, the
new words drown. ``fold`` replaces each quoted block (lines starting with ``>``, with the
"On ... wrote:" line before it) by one line saying how many lines it hides; unfolded, each
quoted line is wrapped here, at the width given, so every wrapped piece keeps its ``>``
(a terminal's soft wrap would drop it). Pure text in, text out: no Textual, no markup.
"""

from __future__ import annotations

import re
import textwrap

_ATTRIBUTION = re.compile(r"^\s*(on\b.*wrote:|le\b.*a écrit\s*:|am\b.*schrieb.*:|-----\s*original message\s*-----)\s*$",
                          re.I)


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def blocks(body: str) -> list[tuple[bool, list[str]]]:
    """``(quoted, lines)`` runs; an attribution line right before a quote joins the quote."""
    out: list[tuple[bool, list[str]]] = []
    lines = body.split("\n")
    for i, line in enumerate(lines):
        quoted = _is_quote(line)
        if not quoted and _ATTRIBUTION.match(line) and i + 1 < len(lines) and \
                (_is_quote(lines[i + 1]) or (not lines[i + 1].strip() and i + 2 < len(lines) and _is_quote(lines[i + 2]))):
            quoted = True
        if not quoted and not line.strip() and out and out[-1][0] and i + 1 < len(lines) and _is_quote(lines[i + 1]):
            quoted = True  # a blank line inside a quote
        if out and out[-1][0] == quoted:
            out[-1][1].append(line)
        else:
            out.append((quoted, [line]))
    return out


def wrap_quote(line: str, width: int) -> list[str]:
    """One quoted line wrapped to ``width``, every piece starting with the same ``> >``."""
    stripped = line.lstrip()
    m = re.match(r"^((?:>\s?)+)", stripped)
    marker = (m.group(1) if m else "> ").rstrip() + " "
    rest = stripped[len(m.group(1)) if m else 0:]
    if width <= len(marker) + 10 or len(marker) + len(rest) <= width:
        return [marker + rest if rest else marker.rstrip()]
    return [marker + piece for piece in textwrap.wrap(rest, width - len(marker), break_on_hyphens=False)] or [marker]


def fold(body: str, *, unfolded: bool = False, width: int = 0) -> tuple[str, int]:
    """The body with quoted blocks folded (or wrapped, when ``unfolded``) and how many
    quoted lines it has."""
    parts: list[str] = []
    quoted_lines = 0
    for quoted, lines in blocks(body):
        if not quoted:
            parts += lines
            continue
        n = sum(1 for ln in lines if ln.strip())
        quoted_lines += n
        if unfolded:
            for ln in lines:
                parts += wrap_quote(ln, width) if (width and _is_quote(ln)) else [ln]
        else:
            parts.append(f"┆ {n} quoted line{'s' if n != 1 else ''} hidden")
    return "\n".join(parts), quoted_lines
