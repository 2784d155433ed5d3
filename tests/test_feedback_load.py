"""Load on 127.0.0.1 only: 200 submissions from 20 clients within 10 s, against the real
server writing to the store the open TUI reads. None is lost or doubled, and the TUI's event
loop keeps ticking (the owner's keys still move the cursor) while they land.

The per-client rate limit is raised here: the 20 clients all come from 127.0.0.1, and the
limit has its own test in test_feedback_server.py."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import httpx

from owner_tui.config import FeedbackConfig
from owner_tui.store import Store
from tests.feedback_support import TOKEN, tui_with_page
from tests.tui_support import config, settle

CLIENTS, EACH, BUDGET = 20, 10, 10.0


async def one_client(port: int, n: int, results: list) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        for j in range(EACH):
            page = await c.get("/")
            token = TOKEN.search(page.text).group(1)
            r = await c.post("/", data={"token": token, "lang": "en", "rating": str(1 + (n + j) % 5),
                                        "comment": f"client {n} visit {j}", "table": str(n)})
            results.append(r.status_code)
            if j % 3 == 0:  # a double tap: the same form again
                again = c.build_request("POST", "/", data={"token": token, "lang": "en", "rating": "3",
                                                           "comment": f"client {n} visit {j}", "table": str(n)})
                again.headers["cookie"] = f"owner_tui_form={token}"  # the cookie the phone still has
                r2 = await c.send(again)
                results.append(r2.status_code)


def run_load(port: int, out: dict) -> None:
    async def main():
        results: list[int] = []
        start = time.monotonic()
        await asyncio.gather(*(one_client(port, n, results) for n in range(CLIENTS)))
        out["elapsed"], out["codes"] = time.monotonic() - start, results
    asyncio.run(main())


async def test_200_submissions_from_20_clients_none_lost_or_doubled_tui_responsive(tmp_path):
    cfg = replace(config(), feedback=replace(FeedbackConfig(), port=0, rate_per_minute=10_000))
    gaps: list[float] = []
    async with tui_with_page(tmp_path, cfg) as (pilot, srv, _bells):
        last = [time.monotonic()]

        def tick() -> None:
            now = time.monotonic()
            gaps.append(now - last[0])
            last[0] = now

        pilot.app.set_interval(0.05, tick)
        out: dict = {}
        loader = threading.Thread(target=run_load, args=(srv.port, out))
        loader.start()
        keys = 0
        while loader.is_alive():
            await pilot.press("down" if keys % 2 else "up")  # the owner scrolls meanwhile
            keys += 1
            await pilot.pause(0.1)
        loader.join()
        await pilot.pause(1.0)  # the watch's next tick
        await settle(pilot)
    path = tmp_path / "t.db"
    codes = out["codes"]
    assert out["elapsed"] < BUDGET, f"{out['elapsed']:.1f} s for {CLIENTS * EACH}"
    assert codes.count(200) == len(codes) and len(codes) == CLIENTS * EACH + CLIENTS * 4
    with Store.open(path) as s:
        comments = [r[0] for r in s.db.execute(
            "SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.channel = 'on-site'")]
        convs = s.db.execute("SELECT count(*) FROM conversations WHERE channel = 'on-site' "
                             "AND waiting_since IS NOT NULL").fetchone()[0]
    assert len(comments) == CLIENTS * EACH and len(set(comments)) == CLIENTS * EACH  # none lost, none doubled
    assert convs == CLIENTS * EACH
    worst = max(gaps[2:])
    assert worst < 0.5, f"the TUI froze for {worst:.2f} s"
    print(f"\n{CLIENTS * EACH} submissions (+{CLIENTS * 4} double taps) in {out['elapsed']:.2f} s; "
          f"TUI tick gap max {worst * 1000:.0f} ms, {keys} key presses")
