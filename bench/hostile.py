"""Messages of hostile shapes for the memory bound (bench_memory, tests/test_memory.py)."""

from __future__ import annotations

import base64

MB = 1024 * 1024
HEAD = (b"From: Ann <ann@example.net>\r\nTo: sam@shop.example\r\nSubject: big %s\r\n"
        b"Message-ID: <big-%s@x>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n")
SHAPES = ["blank-lines", "short-lines", "one-long-line", "soft-breaks", "one-line-base64", "many-parts"]


def hostile(shape: str, mb: int) -> bytes:
    """One message of about ``mb`` MB with a body of the given shape."""
    n = mb * MB
    head = HEAD % (shape.encode(), shape.encode())
    if shape == "blank-lines":
        return head + b"Content-Type: text/plain\r\n\r\nPlease call me back.\r\n" + b"\n" * n
    if shape == "short-lines":
        return head + b"Content-Type: text/plain\r\n\r\n" + b"a\n" * (n // 2)
    if shape == "one-long-line":
        return head + b"Content-Type: text/plain\r\n\r\n" + b"x" * n + b"\r\n"
    if shape == "soft-breaks":
        return (head + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + b"=\n" * (n // 2))
    if shape == "one-line-base64":
        return (head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
                b"See the attached photos.\r\n--b\r\nContent-Type: application/octet-stream; name=photos.zip\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"\x00" * (n * 3 // 4))
                + b"\r\n--b--\r\n")
    if shape == "many-parts":
        part = b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
        return (head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + part * (n // len(part))
                + b"--b--\r\n")
    raise ValueError(shape)
