"""The stdlib MIME parser without a regex compile per multipart message (issue 18).

``email.feedparser`` compiles ``(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>...)?$``
for every multipart it meets. Boundaries are unique per message, so ``re``'s cache never hits
and the compile (pure-Python ``re._parser``) was about a tenth of parsing a generated mailbox.
``install()`` gives the feedparser module a ``re`` whose ``compile`` answers exactly that
pattern with a matcher doing the same test - the line starts with the literal separator, then
the one precompiled tail pattern matches from there - and hands every other call to ``re``.
Only the ``end`` and ``linesep`` groups are read by the parser; a newer Python with another
pattern simply gets ``re.compile`` again.
"""

from __future__ import annotations

import re
from types import ModuleType

_PREFIX = "(?P<sep>"
_SUFFIX = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_TAIL = re.compile(_SUFFIX[1:])
_UNESCAPE = re.compile(r"\\(.)", re.S)


class _Separator:
    """``re.compile('(?P<sep>' + re.escape(sep) + TAIL)`` for ``match`` without compiling."""

    __slots__ = ("sep", "size")

    def __init__(self, sep: str) -> None:
        self.sep = sep
        self.size = len(sep)

    def match(self, line: str):
        return _TAIL.match(line, self.size) if line.startswith(self.sep) else None


class _Re(ModuleType):
    def __getattr__(self, name: str):
        return getattr(re, name)

    @staticmethod
    def compile(pattern, flags=0):
        if (not flags and isinstance(pattern, str) and pattern.startswith(_PREFIX)
                and pattern.endswith(_SUFFIX)):
            escaped = pattern[len(_PREFIX):-len(_SUFFIX)]
            sep = _UNESCAPE.sub(r"\1", escaped)
            if re.escape(sep) == escaped:  # exactly what feedparser built: a literal
                return _Separator(sep)
        return re.compile(pattern, flags)


def install() -> None:
    """Once per process (the parse modules call it on import); idempotent."""
    import email.feedparser as feedparser

    if not isinstance(feedparser.re, _Re):
        feedparser.re = _Re("re")
