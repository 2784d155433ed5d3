"""Peak memory for one message, by shape (issue 14): the parser must stay within 3x the
message's size plus 150 MB whatever the body looks like.

Each shape is parsed by ``parse_message`` in its own process, started through the bench's
launcher (``run_process``), so the figure is that process's own peak RSS. Shapes: blank
lines, short lines, one long line, quoted-printable soft line breaks, one-line base64, many
small MIME parts (the generator is ``bench.hostile``, which tests/test_memory.py uses too).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from . import Row, run_process
from .hostile import MB, SHAPES, hostile

_PARSE = ("import sys; from owner_tui.mail.parse import parse_message; "
          "rec = parse_message(open(sys.argv[1], 'rb').read()); print(len(rec.text))")


def measure(shape: str, mb: int) -> tuple[float, int]:
    """(peak RSS in MB, message size in bytes) for one message of this shape."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.eml"
        path.write_bytes(hostile(shape, mb))
        size = path.stat().st_size
        res = run_process([sys.executable, "-c", _PARSE, str(path)])
        if res.returncode != 0:
            raise RuntimeError(f"{shape}: {res.stderr.strip()[-300:]}")
        return res.max_rss_mb, size


def run(*, smoke: bool = False, mb: int | None = None, log=print) -> list[Row]:
    mb = mb or (8 if smoke else 75)
    rows, ratios = [], []
    for shape in SHAPES:
        peak, size = measure(shape, mb)
        bound = 3 * size / MB + 150
        ratios.append(peak / bound)
        log(f"   {shape}: {peak:.0f} MB for {size / MB:.0f} MB (bound {bound:.0f})")
        rows.append(Row(key=f"parse_rss_{shape}", what=f"memory: parse one {size / MB:.0f} MB message ({shape})",
                        unit="MB", samples=[peak], target=f"<= 3x size + 150 MB ({bound:.0f} MB)",
                        limit=bound, data=f"{size / MB:.0f} MB, {shape}", smoke=smoke, section="details"))
    worst = max(range(len(SHAPES)), key=lambda i: ratios[i])
    w = rows[worst]
    rows.insert(0, Row(key="parse_rss", what="memory: peak RSS for one message, worst of six shapes",
                       unit="MB", samples=w.samples, target=w.target, limit=w.limit,
                       data=f"{w.data} (blank lines, short lines, one long line, soft breaks, one-line "
                            "base64, many parts)", smoke=smoke))
    return rows
