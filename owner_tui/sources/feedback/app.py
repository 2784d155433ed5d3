"""The feedback page as a Starlette application: ``GET /`` (the form) and ``POST /`` (a
submission), nothing else.

Built as an internet-facing form: a signed double-submit CSRF token, a honeypot, per-client
rate limits, a cap on the body and on every field, strict form parsing, security headers on
every answer (including 404/405), and writes on one dedicated thread so a burst of phones
never has two SQLite writers in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from owner_tui.config import Config
from owner_tui.sources.feedback import page, strings
from owner_tui.sources.feedback.guard import RateLimiter, Tokens
from owner_tui.sources.feedback.submission import (
    FIELDS,
    Invalid,
    Submission,
    parse_form,
    refill,
    store_submission,
)

log = logging.getLogger("owner_tui.feedback")

MAX_BODY = 8 * 1024  # bytes: the largest honest form (2000 characters of comment, UTF-8) fits
COOKIE = "owner_tui_form"
GET_PER_MINUTE = 60


def security_headers(tls: bool) -> list[tuple[bytes, bytes]]:
    csp = (f"default-src 'none'; style-src '{page.CSS_HASH}'; form-action 'self'; base-uri 'none'; "
           "frame-ancestors 'none'")
    out = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
           (b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-resource-policy", b"same-origin"),
           (b"cache-control", b"no-store")]
    if tls:
        out.append((b"strict-transport-security", b"max-age=31536000"))
    return out


class SecurityHeaders:
    """Adds the headers to every response, whatever route or error produced it."""

    def __init__(self, app, tls: bool) -> None:
        self.app, self.headers = app, security_headers(tls)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in self.headers if k not in names)]
            await send(message)

        await self.app(scope, receive, send_with)


@dataclass
class FeedbackSite:
    """What the application needs; ``on_stored`` and ``alert`` are called after a new
    submission is committed (on the writer thread and the alert thread)."""

    store_path: Path
    config: Config
    business: str = ""
    clock: Callable | None = None
    on_stored: Callable[[Submission], None] | None = None
    alert: Callable[[Submission], None] | None = None
    tls: bool = False
    tokens: Tokens = field(default_factory=Tokens)


class _Writer:
    """One thread, one ``Store``: every submission is written by it, in arrival order."""

    def __init__(self, site: FeedbackSite) -> None:
        self.site = site
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-writer")
        self.alerts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-alert")

    def _store(self):
        if getattr(self.local, "store", None) is None:
            from owner_tui.aging import utcnow
            from owner_tui.store import Store

            self.local.store = Store.open(self.site.store_path, config=self.site.config,
                                          clock=self.site.clock or utcnow)
        return self.local.store

    def _write(self, sub: Submission) -> bool:
        new = store_submission(self._store(), sub)
        if new and self.site.on_stored:
            try:
                self.site.on_stored(sub)
            except Exception:  # a listener's bug must not turn a stored message into an error page
                log.exception("on_stored failed")
        if new and self.site.alert and sub.rating <= self.site.config.feedback.alert_rating:
            self.alerts.submit(self._alert, sub)
        return new

    def _alert(self, sub: Submission) -> None:
        try:
            self.site.alert(sub)  # type: ignore[misc]
        except Exception as exc:
            log.warning("could not tell the owner about a low rating: %s", exc)

    async def write(self, sub: Submission) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._write, sub)

    def close(self) -> None:
        def shut():
            s = getattr(self.local, "store", None)
            if s is not None:
                s.close()
        self.pool.submit(shut).result()
        self.pool.shutdown()
        self.alerts.shutdown(wait=True)


def create_app(site: FeedbackSite):
    fb = site.config.feedback
    offered = fb.languages
    posts = RateLimiter(fb.rate_per_minute)
    gets = RateLimiter(max(GET_PER_MINUTE, fb.rate_per_minute), burst=max(20, fb.rate_per_minute))
    writer = _Writer(site)
    links = dict(fb.review_links)

    def lang_of(request: Request) -> str:
        return strings.choose(request.headers.get("accept-language", ""), request.query_params.get("lang", ""), offered)

    def html(body: str, status: int = 200, headers: dict | None = None) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=headers)

    def refused(lang: str, status: int, key: str, **headers: str) -> HTMLResponse:
        return html(page.message_page(lang=lang, title_key="error_title", message=strings.text(lang, key)), status,
                    headers or None)

    def with_form(lang: str, status: int = 200, values=None, errors=None, table_hint: str = "") -> HTMLResponse:
        token = site.tokens.issue()
        resp = html(page.form_page(business=site.business, lang=lang, offered=offered, token=token, tables=fb.tables,
                                   values=values, errors=errors, table_hint=table_hint), status)
        resp.set_cookie(COOKIE, token, max_age=7200, httponly=True, samesite="strict", secure=site.tls, path="/")
        return resp

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    async def form(request: Request) -> Response:
        lang = lang_of(request)
        wait = gets.allow(client(request))
        if wait:
            return refused(lang, 429, "err_busy", **{"Retry-After": str(int(wait) + 1)})
        table = request.query_params.get("table", "")[:40]  # a per-table QR code may preset it
        return with_form(lang, table_hint=table if (not fb.tables or table in fb.tables) else "")

    async def submit(request: Request) -> Response:
        lang = offered[0]
        wait = posts.allow(client(request))
        if wait:
            return refused(lang, 429, "err_busy", **{"Retry-After": str(int(wait) + 1)})
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return refused(lang, 415, "err_format")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return refused(lang, 413, "err_size")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return refused(lang, 413, "err_size")
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                              max_num_fields=len(FIELDS) + 2)
        except (UnicodeDecodeError, ValueError):
            return refused(lang, 400, "err_format")
        form_data: dict[str, str] = {}
        for key, value in pairs:
            if key not in FIELDS or key in form_data:  # unknown or repeated fields: not our form
                return refused(lang, 400, "err_format")
            form_data[key] = value
        if form_data.get("lang") in offered:
            lang = form_data["lang"]
        nonce = site.tokens.check(form_data.get("token", ""), request.cookies.get(COOKIE, ""))
        if nonce is None:
            return with_form(lang, 403, values=refill(form_data), errors=[strings.text(lang, "err_expired")])
        if form_data.get("website"):
            # A bot filled the honeypot: it gets the same thank-you as anyone, and nothing is stored.
            log.info("honeypot filled; submission dropped")
            return html(page.thanks_page(business=site.business, lang=lang, review_links=links, will_reply=False))
        try:
            sub = parse_form(form_data, token=nonce, lang=lang)
        except Invalid as exc:
            errors = [strings.text(lang, key, **{**kw, **({"field": strings.text(lang, "f_" + kw["field"])}
                                                            if "field" in kw else {})})
                      for key, kw in exc.problems]
            return with_form(lang, 400, values=refill(form_data), errors=errors)
        try:
            await writer.write(sub)
        except Exception:
            log.exception("could not store a submission")
            return with_form(lang, 503, values=refill(form_data), errors=[strings.text(lang, "err_store")])
        resp = html(page.thanks_page(business=site.business, lang=lang, review_links=links,
                                     will_reply=bool(sub.email or sub.phone)), 200)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    async def not_here(request: Request, exc: HTTPException) -> Response:
        lang = offered[0]
        if exc.status_code == 405:
            return html(page.message_page(lang=lang, title_key="error_title", message="Method not allowed."), 405,
                        {"Allow": "GET, HEAD, POST"})
        return html(page.message_page(lang=lang, title_key="error_title", message=strings.text(lang, "not_found")),
                    exc.status_code if exc.status_code >= 400 else 404)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        try:
            yield
        finally:
            writer.close()

    app = Starlette(routes=[Route("/", form, methods=["GET", "HEAD"]), Route("/", submit, methods=["POST"])],
                    exception_handlers={HTTPException: not_here}, lifespan=lifespan)
    app.state.writer = writer
    return SecurityHeaders(app, site.tls)
