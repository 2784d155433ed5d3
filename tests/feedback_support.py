"""Helpers for the on-site feedback tests: a real uvicorn server on 127.0.0.1 (any free port),
and a client that fills the form the way a phone's browser does (GET, then POST with the
page's token and cookie)."""

from __future__ import annotations

import re
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
