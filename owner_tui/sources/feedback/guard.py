"""The form's defences that need state: signed one-time CSRF tokens and per-client rate limits.

A token is ``nonce.issued.signature`` (HMAC-SHA256 with a key made at start-up). The page puts
it in a hidden field and in a ``SameSite=Strict`` cookie; a POST must carry both, equal, signed
by this server and younger than ``TOKEN_TTL`` (double-submit: another site can neither read
the cookie nor set the field). The nonce is the message's id, so a resent form lands once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

TOKEN_TTL = 2 * 3600  # a table may sit over a long dinner before sending


class Tokens:
    def __init__(self, key: bytes | None = None, clock=time.time) -> None:
        self.key = key or secrets.token_bytes(32)
        self.clock = clock

    def _sign(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        body = f"{secrets.token_hex(12)}.{int(self.clock())}"
        return f"{body}.{self._sign(body)}"

    def check(self, form_token: str, cookie_token: str) -> str | None:
        """The nonce when the token is good; None otherwise."""
        if not form_token or len(form_token) > 100 or not hmac.compare_digest(form_token, cookie_token or ""):
            return None
        nonce, _, rest = form_token.partition(".")
        issued, _, sig = rest.partition(".")
        if not (nonce and issued.isdigit() and sig) or not hmac.compare_digest(sig, self._sign(f"{nonce}.{issued}")):
            return None
        age = self.clock() - int(issued)
        if not -60 <= age <= TOKEN_TTL:
            return None
        return nonce


class RateLimiter:
    """A token bucket per client address: ``per_minute`` sustained, bursts of ``burst``.
    Bounded memory: the least recently seen clients are forgotten past ``max_clients``."""

    def __init__(self, per_minute: int, burst: int | None = None, clock=time.monotonic,
                 max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        # Bursts of up to 5 (a table of friends on one phone), or a tenth of a minute's allowance.
        self.burst = float(burst if burst is not None else max(min(per_minute, 5), per_minute // 10))
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str) -> float:
        """0 when allowed (and counted); else the seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1 - tokens) / self.rate
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait
