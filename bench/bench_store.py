"""The store: a page of the aging list at 1M messages (first, middle and last pages), the
counts the inbox header needs, and raw ``store.ingest`` throughput.

The page is ``store.page(ListFilter(), offset, 200)``, exactly what the list widget asks for.
The baseline is the same page from a 1k-message store in the same run: if the index
``(status, waiting_since, id)`` serves the list, the ratio stays near 1 at any size.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

from . import Row, timed
from . import datasets
from . import generate as gen

PAGE = 200
TARGET_MS = 15.0


def _page_times(path: Path, repeat: int) -> tuple[dict[str, list[float]], dict]:
    from owner_tui.store import Store
    from owner_tui.store.queries import ListFilter

    f = ListFilter()
    with Store.open(path) as store:
        total = store.count(f)
        offsets = {"first page": 0, "offset 10,000": 10_000, "middle page": total // 2,
                   "last page": max(0, total - PAGE)}
        times: dict[str, list[float]] = {}
        for name, off in offsets.items():
            if off and off >= total:
                continue
            times[name] = timed(lambda off=off: store.page(f, off, PAGE), repeat)
        times["count(awaiting)"] = timed(lambda: store.count(f), repeat)
        times["bucket_counts()"] = timed(store.bucket_counts, repeat)
    return times, {"awaiting": total, "offsets": offsets}


def _ingest_rate(n: int, repeat: int) -> list[float]:
    """records/s of ``store.ingest`` alone (no parsing), batches of 500 as import uses."""
    from owner_tui.store import Store

    mails = [gen.to_record(m) for m in datasets.email_messages(n)]
    rates = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            with Store.open(Path(tmp) / "s.db", clock=lambda: gen.ANCHOR) as store:
                acc = store.ensure_account("imap", "shop", {"user": gen.OWNER})
                t0 = time.perf_counter()
                for i in range(0, len(mails), 500):
                    store.ingest(acc, mails[i:i + 500])
                rates.append(len(mails) / (time.perf_counter() - t0))
    return rates


def _describe(stats: dict) -> str:
    return (f"{gen.human(stats['messages'])} messages ({stats['conversations']:,} conversations, "
            f"{stats['awaiting']:,} awaiting)")


def run(*, sizes: list[int], smoke: bool, repeat: int, rebuild: bool = False,
        log: Callable[[str], None] = print) -> list[Row]:
    nominal = 1_000_000
    big = nominal if nominal in sizes else max(sizes)
    small = min(sizes)
    rows: list[Row] = []
    base_path = datasets.cached_store(messages=small, rebuild=rebuild, log=log)
    base_times, _ = _page_times(base_path, repeat)
    per_size: dict[int, tuple[dict, dict]] = {small: (base_times, datasets.store_stats(base_path))}
    for n in sorted(set(sizes) - {small}):
        path = datasets.cached_store(messages=n, rebuild=rebuild, log=log)
        log(f"store: pages at {gen.human(n)}")
        per_size[n] = (_page_times(path, repeat)[0], datasets.store_stats(path))
    times, stats = per_size[big]
    data = _describe(stats)
    off_smoke = smoke or big != nominal
    for name, samples in times.items():
        is_page = "page" in name or "offset" in name
        first = name == "first page"
        rows.append(Row(
            key=f"page_{name.split()[0].replace(',', '').replace('(', '_').rstrip(')')}",
            what=("one page (200 rows) of the aging list" if first else
                  f"aging list: {name}" + (" (200 rows)" if is_page else "")),
            unit="ms", samples=samples, target="<= 15 ms" if is_page else "", limit=TARGET_MS if is_page else None,
            baseline=f"same call on the {gen.human(small)}-message store", baseline_samples=base_times.get(name, []),
            data=data, smoke=off_smoke, section="targets" if first else "details"))
    for n, (t, st) in sorted(per_size.items()):
        if n == big:
            continue
        rows.append(Row(key=f"page_first_{gen.human(n)}", what="aging list: first page (200 rows)", unit="ms",
                        samples=t["first page"], data=_describe(st), section="details"))
        if "last page" in t:
            rows.append(Row(key=f"page_last_{gen.human(n)}", what="aging list: last page (200 rows)", unit="ms",
                            samples=t["last page"], data=_describe(st), section="details"))
    n_ingest = 1_000 if smoke else 10_000
    log(f"store: ingest rate, {gen.human(n_ingest)} records")
    rows.append(Row(key="ingest_rate", what="store.ingest alone (records already parsed), batches of 500",
                    unit="msg/s", samples=_ingest_rate(n_ingest, 1 if smoke else 3), better="higher",
                    data=f"{gen.human(n_ingest)} emails, fresh store", section="details"))
    return rows
