"""A loopback TCP proxy that breaks connections on purpose (IMAP, SMTP, HTTP fault tests).

::

    with FaultProxy(server.host, server.port) as proxy:
        proxy.cut_after(50_000)        # close a connection once the client sent 50 kB
        client.connect(proxy.host, proxy.port)

Faults, all changeable while connections are open:

* ``cut_after(n, direction="up")``: forward exactly ``n`` bytes in that direction
  (``"up"`` = client to server, ``"down"`` = server to client) on each connection, then
  close both sides. ``rst=True`` resets (RST) instead of a clean close (FIN).
* ``stall()`` / ``resume()``: keep connections open but forward nothing (timeouts).
* ``latency(seconds)``: delay every forwarded chunk.
* ``refuse(True)``: accept and immediately close new connections.
* ``close_all()``: drop every open connection now.
* ``rewrite(pattern, replacement, count=None)``: change what the server says (``re.sub`` on
  each chunk going down), e.g. turn Dovecot's ``[AUTHENTICATIONFAILED]`` into the
  ``[UNAVAILABLE] Temporary authentication failure`` it sends when its user database is
  down; ``count`` limits how many chunks are changed. Chunk-wise: fine for short lines.

Counters: ``bytes_up``, ``bytes_down`` (totals), ``connections`` (accepted so far).
"""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
import time


class FaultProxy:
    """Forward 127.0.0.1:<port> to ``target_host:target_port``, with injectable faults."""

    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._cut: dict[str, int | None] = {"up": None, "down": None}
        self._rst = False
        self._stalled = threading.Event()
        self._latency = 0.0
        self._refuse = False
        self._closing = False
        self._conns: list[_Conn] = []
        self._thread: threading.Thread | None = None
        self.bytes_up = 0
        self.bytes_down = 0
        self.connections = 0
        self._rewrite: tuple[re.Pattern[bytes], bytes] | None = None
        self._rewrites_left: int | None = None
        self.rewritten = 0

    # ------------------------------------------------------------------ faults

    def cut_after(self, n_bytes: int, direction: str = "up", *, rst: bool = False) -> None:
        """Close each connection after ``n_bytes`` have passed in ``direction``."""
        if direction not in ("up", "down"):
            raise ValueError("direction is 'up' or 'down'")
        with self._lock:
            self._cut[direction] = n_bytes
            self._rst = rst

    def stall(self) -> None:
        """Stop forwarding in both directions; connections stay open."""
        self._stalled.set()

    def resume(self) -> None:
        self._stalled.clear()

    def latency(self, seconds: float) -> None:
        self._latency = seconds

    def refuse(self, on: bool = True) -> None:
        self._refuse = on

    def rewrite(self, pattern: bytes, replacement: bytes, count: int | None = None) -> None:
        """Replace ``pattern`` (a regex) in what the server sends, in ``count`` chunks at most."""
        with self._lock:
            self._rewrite = (re.compile(pattern), replacement)
            self._rewrites_left = count

    def clear(self) -> None:
        """Back to a faithful proxy (existing connections included)."""
        with self._lock:
            self._cut = {"up": None, "down": None}
            self._rst = False
            self._rewrite = None
        self._latency = 0.0
        self._refuse = False
        self._stalled.clear()

    def close_all(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close(rst=False)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> FaultProxy:
        self._listener.listen(16)
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing = True
        if self._thread is not None:
            self._thread.join(5)
        self._listener.close()
        self.close_all()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.05)  # closing a socket does not wake accept() on Linux
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self.connections += 1
            if self._refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            conn = _Conn(self, client, upstream)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=conn.run, name="fault-proxy-conn", daemon=True).start()


class _Conn:
    """One proxied connection, pumped by one thread with select()."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.sent = {"up": 0, "down": 0}
        self._closed = False

    def run(self) -> None:
        peers = {self.client: (self.upstream, "up"), self.upstream: (self.client, "down")}
        try:
            while peers and not self._closed:
                if self.proxy._stalled.is_set():
                    time.sleep(0.01)
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.05)
                for src in readable:
                    dst, direction = peers[src]
                    data = src.recv(65536)
                    if not data:
                        # Half-close: pass the EOF on, keep the other direction flowing
                        # (HTTP/1.0 clients and SMTP QUIT both rely on it).
                        dst.shutdown(socket.SHUT_WR)
                        del peers[src]
                        continue
                    if not self._forward(dst, direction, data):
                        return
        except OSError:
            pass
        self.close(rst=False)

    def _forward(self, dst: socket.socket, direction: str, data: bytes) -> bool:
        proxy = self.proxy
        with proxy._lock:
            limit, rst = proxy._cut[direction], proxy._rst
            if direction == "down" and proxy._rewrite is not None and proxy._rewrites_left != 0:
                pattern, repl = proxy._rewrite
                changed = pattern.sub(repl, data)
                if changed != data:
                    data = changed
                    proxy.rewritten += 1
                    if proxy._rewrites_left is not None:
                        proxy._rewrites_left -= 1
        cut = False
        if limit is not None and self.sent[direction] + len(data) >= limit:
            data = data[: max(0, limit - self.sent[direction])]
            cut = True
        if proxy._latency:
            time.sleep(proxy._latency)
        if data:
            dst.sendall(data)
            self.sent[direction] += len(data)
            if direction == "up":
                proxy.bytes_up += len(data)
            else:
                proxy.bytes_down += len(data)
        if cut:
            self.close(rst=rst)
            return False
        return True

    def close(self, *, rst: bool) -> None:
        if self._closed:
            return
        self._closed = True
        for sock in (self.client, self.upstream):
            try:
                if rst:  # SO_LINGER 0: close() sends RST, the peer sees ECONNRESET
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            except OSError:
                pass
