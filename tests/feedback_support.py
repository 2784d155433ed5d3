"""Helpers for the on-site feedback tests: a real uvicorn server on 127.0.0.1 (any free port),
and a client that fills the form the way a phone's browser does (GET, then POST with the
page's token and cookie)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import replace

import httpx

from owner_tui.config import Config, FeedbackConfig, OwnerConfig
from owner_tui.sources.feedback.server import BackgroundServer

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def feedback_config(**fb) -> Config:
    return Config(owner=OwnerConfig(name="Sam", business="Corner Café"),
                  feedback=replace(FeedbackConfig(), **{"port": 0, **fb}))


def serve(tmp_path, config: Config | None = None, **site) -> BackgroundServer:
    return BackgroundServer(tmp_path / "store.db", config or feedback_config(), port=0,
                            business="Corner Café", **site).start()


def fill(client: httpx.Client, **fields) -> httpx.Response:
    """GET the form, then POST it with ``fields`` (rating, comment, table, name, contact)."""
    page = client.get("/")
    assert page.status_code == 200, page.text
    token = TOKEN.search(page.text).group(1)
    data = {"token": token, "lang": "en", "website": "", **{k: str(v) for k, v in fields.items()}}
    return client.post("/", data=data)


@contextlib.asynccontextmanager
async def tui_with_page(tmp_path, cfg: Config, *, toasts: bool = False, **site):
    """The open TUI (Pilot, 80x24, a frozen clock, the small fixture store) and the real
    feedback server writing to the same store; yields ``(pilot, server, bells)``. ``toasts``
    draws notifications on screen (off by default in Textual's tests)."""
    from tests.tui_support import FrozenClock, build_store, settle
    from owner_tui.tui.app import OwnerApp

    clock = FrozenClock()
    path = tmp_path / "t.db"
    build_store(path, clock)
    app = OwnerApp(path, cfg, clock=clock, exports_dir=tmp_path / "exports", live_mail=False)
    bells: list[float] = []
    app.bell = lambda: bells.append(time.monotonic())  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24), notifications=toasts) as pilot:
        await settle(pilot)
        srv = BackgroundServer(path, cfg, port=0, clock=clock, **site)
        await asyncio.to_thread(srv.start)
        try:
            yield pilot, srv, bells
        finally:
            await asyncio.to_thread(srv.stop)


async def wait_for(pilot, cond, timeout: float) -> float:
    """Let the app run until ``cond()`` or ``timeout`` seconds; returns the time taken."""
    start = time.monotonic()
    while not cond() and time.monotonic() - start < timeout:
        await pilot.pause(0.02)
    return time.monotonic() - start
