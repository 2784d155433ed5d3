"""The QR code in the terminal and the printable table card (SVG, PNG or PDF, A6 portrait:
the business name, "How was your visit?", the code and the address under it).

The QR matrix comes from ``segno``; each format draws the same modules itself, so the card
needs no browser or office suite: SVG by hand, PDF by hand (one page, Helvetica, filled
rectangles), PNG with Pillow.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

CARD_FORMATS = ("svg", "png", "pdf")
HEADLINE = "How was your visit?"
SUBLINE = "Scan to tell us. We read every message right away."
A6 = (297.64, 419.53)  # points


def _matrix(url: str) -> list[list[bool]]:
    import segno

    qr = segno.make(url, error="m", micro=False)
    return [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=4)]


def terminal_qr(url: str) -> str:
    """The code in half-block characters (two rows per line), dark on light, with its quiet zone."""
    m = _matrix(url)
    if len(m) % 2:
        m.append([False] * len(m[0]))
    chars = {(False, False): "█", (True, True): " ", (True, False): "▄", (False, True): "▀"}
    return "\n".join("".join(chars[(m[y][x], m[y + 1][x])] for x in range(len(m[0])))
                     for y in range(0, len(m), 2))


def _ascii(text: str) -> str:
    # PDF's standard Helvetica speaks Latin-1; anything else becomes "?" rather than garbage.
    return text.encode("latin-1", "replace").decode("latin-1")


def write_card(path: Path, url: str, business: str) -> Path:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in CARD_FORMATS:
        raise ValueError(f"--card {path.name}: the card can be .svg, .png or .pdf")
    m = _matrix(url)
    writer = {"svg": _svg, "png": _png, "pdf": _pdf}[fmt]
    data = writer(m, url, business)
    path.write_bytes(data)
    return path


def _layout(n: int, width: float):
    module = (width * 0.72) / n
    return module, (width - module * n) / 2


def _svg(m, url: str, business: str) -> bytes:
    w, h = A6
    module, left = _layout(len(m), w)
    top = 120.0
    rects = "".join(f'<rect x="{left + x * module:.2f}" y="{top + y * module:.2f}" width="{module:.2f}" '
                    f'height="{module:.2f}"/>' for y, row in enumerate(m) for x, v in enumerate(row) if v)
    bottom = top + module * len(m)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}">'
            f'<title>{escape(business)}: {escape(HEADLINE)}</title><rect width="100%" height="100%" fill="#fff"/>'
            f'<g font-family="Helvetica, Arial, sans-serif" text-anchor="middle" fill="#111">'
            f'<text x="{w / 2}" y="52" font-size="22" font-weight="bold">{escape(business)}</text>'
            f'<text x="{w / 2}" y="84" font-size="17">{escape(HEADLINE)}</text>'
            f'<text x="{w / 2}" y="104" font-size="10">{escape(SUBLINE)}</text>'
            f'<text x="{w / 2}" y="{bottom + 16:.1f}" font-size="10">{escape(url)}</text></g>'
            f'<g fill="#000">{rects}</g></svg>').encode()


def _png(m, url: str, business: str) -> bytes:
    import io

    from PIL import Image, ImageDraw, ImageFont

    scale = 4  # 297.64 pt * 4 ≈ 1190 px wide: ~290 dpi on A6
    w, h = int(A6[0] * scale), int(A6[1] * scale)
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    module, left = _layout(len(m), w)
    top = 120 * scale
    for y, row in enumerate(m):
        for x, v in enumerate(row):
            if v:
                d.rectangle([left + x * module, top + y * module, left + (x + 1) * module - 1,
                             top + (y + 1) * module - 1], fill=0)

    def centred(text: str, y: float, size: int) -> None:
        font = _font(ImageFont, size)
        box = d.textbbox((0, 0), text, font=font)
        d.text(((w - (box[2] - box[0])) / 2, y), text, fill=0, font=font)

    centred(business, 32 * scale, 22 * scale)
    centred(HEADLINE, 68 * scale, 17 * scale)
    centred(SUBLINE, 93 * scale, 10 * scale)
    centred(url, top + module * len(m) + 6 * scale, 10 * scale)
    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(288, 288))
    return out.getvalue()


def _font(ImageFont, size: int):
    """A system sans font with accents (DejaVu, Liberation), else Pillow's own (ASCII only)."""
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf"):
        for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation", ""):
            try:
                return ImageFont.truetype(f"{folder}/{name}" if folder else name, size)
            except OSError:
                continue
    return ImageFont.load_default(size=size)


def _pdf_text(s: str) -> str:
    return _ascii(s).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf(m, url: str, business: str) -> bytes:
    w, h = A6
    module, left = _layout(len(m), w)
    top = 120.0

    def centred(text: str, y: float, size: float, bold: bool = False) -> str:
        # Helvetica averages ~0.5 em per character: close enough to centre a short line.
        width = len(_ascii(text)) * size * 0.5
        return f"BT /{'F2' if bold else 'F1'} {size} Tf {(w - width) / 2:.2f} {h - y:.2f} Td ({_pdf_text(text)}) Tj ET\n"

    ops = ["0 g\n"]
    for y, row in enumerate(m):
        for x, v in enumerate(row):
            if v:
                ops.append(f"{left + x * module:.2f} {h - top - (y + 1) * module:.2f} {module:.2f} {module:.2f} re f\n")
    ops += [centred(business, 52, 20, True), centred(HEADLINE, 84, 16), centred(SUBLINE, 104, 9),
            centred(url, top + module * len(m) + 16, 9)]
    content = "".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Contents 4 0 R "
        f"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>".encode(),
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
