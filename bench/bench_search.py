"""Full-text search at 300k messages: the app's search path, ``store.page(ListFilter(search=q))``.

The queries mix what an owner types: very common words (in a third of all messages), product
names, customer surnames with accents, rare words, two-word phrases, non-Latin names and a
word that is nowhere. The p95 is over every (query, repetition) sample. The baseline is the
bare FTS5 lookup (``MATCH ... LIMIT 200``) on the same store: the gap is what the query around
it (joins, the awaiting filter, ordering by wait) costs.
"""

from __future__ import annotations

from collections.abc import Callable

from . import Row, datasets, percentile, timed
from . import generate as gen

TARGET_MS = 100.0
MMAP = 256 * 1024 * 1024

#: A candidate for the search branch of ``QueriesMixin._where``: the message matches and the
#: contact-name matches folded into one set of conversation ids, so the scan of the awaiting
#: index tests membership from the index alone instead of reading each conversation's contact.
_UNION = """SELECT {cols} FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id
WHERE c.status = 'open' AND c.waiting_since IS NOT NULL AND c.id IN (
    SELECT m.conversation_id FROM messages m WHERE m.rowid IN
        (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)
    UNION ALL
    SELECT id FROM conversations WHERE contact_id IN (SELECT id FROM contacts WHERE name LIKE ? ESCAPE '\\'))
ORDER BY c.waiting_since, c.id LIMIT 200"""


def _like(term: str) -> str:
    term = term.strip()
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _proposals(path, repeat: int) -> dict[str, list[float]]:
    """The same queries through ``store.page`` as shipped, through ``store.page`` on a
    connection with ``PRAGMA mmap_size`` (SQLite's default page cache is 2 MiB, so most page
    reads are syscalls), and with the ``_UNION`` query on that connection; interleaved query by
    query so that load from elsewhere hits all three alike. Rows are checked equal."""
    from owner_tui.store import Store
    from owner_tui.store.queries import _COLUMNS, ListFilter

    out: dict[str, list[float]] = {"as shipped": [], "mmap": [], "union": [], "union+mmap": []}
    sql = _UNION.format(cols=_COLUMNS)
    with Store.open(path) as plain, Store.open(path) as mapped:
        mapped.db.execute(f"PRAGMA mmap_size = {MMAP}")
        for q in queries():
            f = ListFilter(search=q)
            args = [mapped.db.quote_fts(q), _like(q)]
            want = [tuple(r.values()) for r in plain.page(f, 0, 200)]
            if [tuple(r) for r in mapped.db.execute(sql, args)] != want:
                raise AssertionError(f"the union query differs from store.page for {q!r}")
            for _ in range(repeat):
                out["as shipped"] += timed(lambda f=f: plain.page(f, 0, 200), 1, warmup=0)
                out["mmap"] += timed(lambda f=f: mapped.page(f, 0, 200), 1, warmup=0)
                out["union"] += timed(lambda args=args: plain.db.execute(sql, args).fetchall(), 1, warmup=0)
                out["union+mmap"] += timed(lambda args=args: mapped.db.execute(sql, args).fetchall(), 1, warmup=0)
    return out


def queries() -> list[str]:
    rare = gen.WORDS[len(gen._COMMON) + len(gen._PRODUCTS):]
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
            s = timed(lambda f=f: store.page(f, 0, 200), repeat)
            samples += s
            fts = db.quote_fts(q)
            raw += timed(lambda fts=fts: db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT 200",
                                                    [fts]).fetchall(), repeat)
            counts += timed(lambda f=f: store.count(f), max(1, repeat // 2), warmup=0)
            hits = db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", [fts]).fetchone()[0]
            per_query.append((percentile(s, 95), q, hits))
    per_query.sort(reverse=True)
    try:
        proposals = _proposals(path, repeat) if smoke or percentile(samples, 95) > TARGET_MS else {}
    except AssertionError as exc:  # the shipped query changed: the proposal is advice, not a test
        log(f"search: proposal skipped: {exc}")
        proposals = {}
    worst = ", ".join(f"“{q}” {p:.0f} ms ({hits:,} hits)" for p, q, hits in per_query[:3])
    data = (f"{gen.human(stats['messages'])} messages ({stats['conversations']:,} conversations), "
            f"{len(queries())} queries × {repeat}")
    note = f"slowest queries (p95): {worst}."
    if proposals:
        p95 = {k: percentile(v, 95) for k, v in proposals.items()}
        note += (" The `OR ct.name LIKE '%…%'` makes the scan of the awaiting index read every awaiting "
                 "conversation and its contact until 200 match (all of them for a rare word), and SQLite's "
                 "default 2 MiB page cache turns most page reads into syscalls. Measured again interleaved "
                 f"(p95 {p95['as shipped']:.0f} ms as shipped), the same `store.page` on a connection with `PRAGMA mmap_size = {MMAP >> 20} MiB` (one line in "
                 f"`Store.open`) had p95 {p95['mmap']:.0f} ms; folding the name matches into the same id set "
                 "(`c.id IN (SELECT … FTS … UNION ALL SELECT id FROM conversations WHERE contact_id IN "
                 "(SELECT id FROM contacts WHERE name LIKE ?))`, in `QueriesMixin._where`) gave "
                 f"p95 {p95['union']:.0f} ms alone and {p95['union+mmap']:.0f} ms with the mmap, same rows. "
                 "Mapped pages count in RSS, hence a cap. `store.count` with a search has the same shape "
                 "(see Details) and the same fix.")
    extra = [Row(key=f"fts_proposed_{k.replace('+', '_')}", what=f"full-text search, proposed: {k}", unit="ms",
                 samples=v, stat="p95", target="p95 <= 100 ms", limit=TARGET_MS, data=data, section="details",
                 smoke=smoke or messages != 300_000) for k, v in proposals.items() if k != "as shipped"]
    return [
        Row(key="fts_p95", what="full-text search (first page of matching conversations)", unit="ms",
            samples=samples, stat="p95", target="p95 <= 100 ms", limit=TARGET_MS,
            baseline="bare FTS5 MATCH … LIMIT 200, same queries", baseline_samples=raw, data=data,
            note=note, smoke=smoke or messages != 300_000),
        Row(key="fts_count_p95", what="full-text search: count of matching conversations", unit="ms",
            samples=counts, stat="p95", data=data, section="details"),
        *extra,
    ]
