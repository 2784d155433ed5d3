"""Full-text search at 300k messages: the app's search path, ``store.page(ListFilter(search=q))``.

The queries mix what an owner types: very common words (in a third of all messages), product
names, customer surnames with accents, rare words, two-word phrases, non-Latin names and a
word that is nowhere. The p95 is over every (query, repetition) sample. The baseline is the
bare FTS5 lookup (``MATCH ... LIMIT 200``) on the same store: the gap is what the query around
it (joins, the awaiting filter, ordering by wait) costs.
"""

from __future__ import annotations

from typing import Callable

from . import Row, percentile, timed
from . import datasets
from . import generate as gen

TARGET_MS = 100.0


def queries() -> list[str]:
    rare = [w for w in gen.WORDS[len(gen._COMMON) + len(gen._PRODUCTS):]]
    return ["order", "delivery", "thanks", "cake", "refund", "sourdough", "croissant", "éclair", "wedding cake",
            "gluten free", "Müller", "Siobhán", "Dvořák", "Nguyễn", "O'Neill", "王芳", "Алексей",
            rare[10], rare[300], rare[3000], "invoice 4471", "xylophone", "order delivery saturday"]


def run(*, messages: int, smoke: bool, repeat: int, rebuild: bool = False,
        log: Callable[[str], None] = print) -> list[Row]:
    from owner_tui.store import Store
    from owner_tui.store.queries import ListFilter

    path = datasets.cached_store(messages=messages, rebuild=rebuild, log=log)
    stats = datasets.store_stats(path)
    log(f"search: {len(queries())} queries on {gen.human(messages)} messages")
    samples: list[float] = []
    raw: list[float] = []
    counts: list[float] = []
    per_query: list[tuple[float, str, int]] = []
    with Store.open(path) as store:
        db = store.db
        for q in queries():
            f = ListFilter(search=q)
            s = timed(lambda: store.page(f, 0, 200), repeat)
            samples += s
            fts = db.quote_fts(q)
            raw += timed(lambda: db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT 200",
                                            [fts]).fetchall(), repeat)
            counts += timed(lambda: store.count(f), max(1, repeat // 2), warmup=0)
            hits = db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", [fts]).fetchone()[0]
            per_query.append((percentile(s, 95), q, hits))
    per_query.sort(reverse=True)
    worst = ", ".join(f"“{q}” {p:.0f} ms ({hits:,} hits)" for p, q, hits in per_query[:3])
    data = (f"{gen.human(stats['messages'])} messages ({stats['conversations']:,} conversations), "
            f"{len(queries())} queries × {repeat}")
    return [
        Row(key="fts_p95", what="full-text search (first page of matching conversations)", unit="ms",
            samples=samples, stat="p95", target="p95 <= 100 ms", limit=TARGET_MS,
            baseline="bare FTS5 MATCH … LIMIT 200, same queries", baseline_samples=raw, data=data,
            note=f"slowest queries (p95): {worst}", smoke=smoke or messages != 300_000),
        Row(key="fts_count_p95", what="full-text search: count of matching conversations", unit="ms",
            samples=counts, stat="p95", data=data, section="details"),
    ]
