"""Read queries: the aging list a page at a time, counts per bucket, search, history.

The inbox never aggregates messages: conversations carry their derived state and the index
``(status, waiting_since, id)`` serves "awaiting, oldest first" directly; a page is read from
whichever end of the index is nearer (``page(..., total=)``), so no page walks more than half
of its view.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterator

from owner_tui import aging

VIEWS = ("awaiting", "followup", "snoozed", "done", "noise", "all")
#: A search with this many full-text hits or more is "dense" (``QueriesMixin._dense_search_page``),
#: and the time its page may spend walking the view before the usual way takes over.
DENSE_HITS = 5000
DENSE_BUDGET_S = 0.04

_COLUMNS = """c.id, c.account_id, c.contact_id, c.channel, c.subject, c.excerpt, c.rating, c.status,
    c.status_at, c.waiting_since, c.last_inbound_at, c.last_outbound_at, c.last_message_at,
    c.snoozed_until, c.replied_elsewhere, c.url, c.message_count, c.external_key, c.last_activity_at,
    COALESCE(ct.name, '') AS contact_name,
    CASE WHEN (SELECT count(*) FROM identities i WHERE i.contact_id = c.contact_id AND i.channel = c.channel) > 1
         -- a merged contact with two addresses on this channel: the one this conversation came from
         THEN COALESCE((SELECT m.sender_handle FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
                        AND m.sender_handle IS NOT NULL ORDER BY m.sent_at DESC LIMIT 1),
                       (SELECT handle FROM identities i WHERE i.contact_id = c.contact_id
                        ORDER BY i.channel = 'email' DESC, i.id LIMIT 1))
         ELSE (SELECT handle FROM identities i WHERE i.contact_id = c.contact_id
               ORDER BY i.channel = 'email' DESC, i.id LIMIT 1) END AS contact_handle"""


#: The same columns for a read of the whole list (export): the contact's address comes from
#: a small table built once per read (each contact's first address, email first, and whether
#: two of its addresses share a channel) instead of three correlated subqueries a row: 0.80 ->
#: 0.59 s for 100k rows, same rows (issue 18); one GROUP BY on the contact index instead of a
#: window function and a second table: 70 -> 35 ms. A page of 200 keeps ``_COLUMNS``: building
#: the table would cost more than its rows.
_FULL_READ_WITH = """WITH prim AS MATERIALIZED (
        SELECT contact_id, handle, min(CASE WHEN channel = 'email' THEN id ELSE id + 4611686018427387904 END),
            count(*) > count(DISTINCT channel) AS dup
        FROM identities GROUP BY contact_id) """
#: The contact's address in a full read (``contact_handle``); needs ``_FULL_READ_WITH`` and the
#: join. (``handle`` is min()'s row: SQLite takes a bare column from the row min() picked.)
_FULL_READ_HANDLE = """CASE WHEN prim.dup AND (SELECT count(*) FROM identities i WHERE i.contact_id = c.contact_id
                                    AND i.channel = c.channel) > 1
         THEN COALESCE((SELECT m.sender_handle FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
                        AND m.sender_handle IS NOT NULL ORDER BY m.sent_at DESC LIMIT 1), prim.handle)
         ELSE prim.handle END"""
_FULL_READ_COLUMNS = _COLUMNS[:_COLUMNS.index("CASE WHEN")] + _FULL_READ_HANDLE + " AS contact_handle"
_FULL_READ_JOINS = "LEFT JOIN prim ON prim.contact_id = c.contact_id"


def mirror_order(order: str) -> str:
    """``order`` read backwards: each term's direction flipped.

    Exact because every view's order ends with the unique ``c.id`` (a total order) and SQLite
    sorts NULL below every value in both directions (first ascending, last descending), so
    flipping the direction also mirrors where the NULLs go. Terms must be plain columns with
    an optional ASC/DESC: a COLLATE or NULLS FIRST/LAST would need its own mirror."""
    return ", ".join(f"{col} {'ASC' if desc else 'DESC'}" for col, desc in order_terms(order))


def order_terms(order: str) -> list[tuple[str, bool]]:
    """A view's ``order`` as ``(column, descending)`` terms. Each term must be a plain column
    with an optional ASC/DESC, and the last the unique ``c.id`` (a total order)."""
    terms = []
    for term in order.split(","):
        words = term.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise ValueError(f"cannot read the order term {term.strip()!r}")
        terms.append((words[0], len(words) == 2 and words[1].upper() == "DESC"))
    if terms[-1][0] != "c.id":
        raise ValueError(f"the order {order!r} must end with the unique c.id")
    return terms


def read_only_uri(path) -> str:
    """The SQLite URI that opens the store at ``path`` read-only."""
    from urllib.parse import quote

    return f"file:{quote(str(path))}?mode=ro"


def escape_like(text: str) -> str:
    """``text`` for a ``LIKE ... ESCAPE '\\'`` pattern: its own "%" and "_" match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ListFilter:
    """What the list shows. Every field is optional; the view decides the order."""

    view: str = "awaiting"
    channel: str | None = None
    bucket: str | None = None
    min_rating: int | None = None
    max_rating: int | None = None
    search: str | None = None
    older_than_hours: float | None = None
    contact_id: int | None = None

    def with_(self, **changes) -> "ListFilter":
        return replace(self, **changes)


class QueriesMixin:
    def _where(self, f: ListFilter, now: datetime, *, search_by_row: bool = False) -> tuple[str, list, str]:
        """The list's WHERE, its arguments and its ORDER BY. ``search_by_row``: a search is
        tested per conversation (``EXISTS``) instead of as one set of ids; see ``page``."""
        if f.view not in VIEWS:
            raise ValueError(f"unknown view {f.view!r}; one of {', '.join(VIEWS)}")
        where: list[str] = []
        args: list = []
        if f.view == "awaiting":
            where.append("c.status = 'open' AND c.waiting_since IS NOT NULL")
            order = "c.waiting_since, c.id"
        elif f.view == "followup":
            cutoff = aging.to_iso(now - timedelta(days=self.aging.followup_days))
            # Email only: nobody is expected to answer the owner's reply to a review.
            where.append("c.status = 'open' AND c.waiting_since IS NULL AND c.channel = 'email' "
                         "AND c.last_outbound_at <= ?")
            args.append(cutoff)
            order = "c.last_outbound_at, c.id"
        elif f.view == "snoozed":
            where.append("c.status = 'snoozed'")
            order = "c.snoozed_until, c.id"
        elif f.view == "done":
            where.append("c.status = 'done'")
            order = "c.status_at DESC, c.id DESC"
        elif f.view == "noise":
            where.append("c.status = 'noise'")
            order = "c.last_activity_at DESC, c.id DESC"
        else:
            order = "c.last_activity_at DESC, c.id DESC"
        if f.channel:
            where.append("c.channel = ?")
            args.append(f.channel)
        if f.bucket:
            oldest, newest = aging.bucket_bounds(f.bucket, now)
            if oldest:
                where.append("c.waiting_since > ?")
                args.append(oldest)
            where.append("c.waiting_since <= ?")
            args.append(newest)
        if f.older_than_hours is not None:
            where.append("c.waiting_since <= ?")
            args.append(aging.to_iso(now - timedelta(hours=f.older_than_hours)))
        if f.min_rating is not None:
            where.append("c.rating >= ?")
            args.append(f.min_rating)
        if f.max_rating is not None:
            where.append("c.rating <= ?")
            args.append(f.max_rating)
        if f.contact_id is not None:
            where.append("c.contact_id = ?")
            args.append(f.contact_id)
        if f.search and f.search.strip():
            # One id list (full-text hits, then contacts by name) rather than "IN (...) OR name
            # LIKE": the OR made SQLite test every row (p95 149 -> 93 ms at 300k messages).
            if search_by_row:
                where.append("""(EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.rowid IN
                                    (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))
                                 OR c.contact_id IN (SELECT id FROM contacts WHERE name LIKE ? ESCAPE '\\'))""")
            else:
                where.append("""c.id IN (SELECT m.conversation_id FROM messages m WHERE m.rowid IN
                                    (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)
                                 UNION ALL SELECT cc.id FROM conversations cc WHERE cc.contact_id IN
                                    (SELECT id FROM contacts WHERE name LIKE ? ESCAPE '\\'))""")
            term = f.search.strip()
            args.append(self._match(term))
            args.append("%" + escape_like(term) + "%")
        return (" WHERE " + " AND ".join(where)) if where else "", args, order

    def page(self, f: ListFilter = ListFilter(), offset: int = 0, limit: int = 200,
             now: datetime | None = None, total: int | None = None) -> list[dict]:
        """One window of the list, in display order.

        ``total`` is the number of rows in the view when the caller knows it (the list widget
        counted them for its scrollbar): a page past the middle is then read from the other
        end of the index, in the mirrored order, so no page walks more than half of it. The
        rows are the same either way; without ``total`` the page is read from the top."""
        now = now or self.now()
        if f.search and f.search.strip() and limit > 0:
            rows = self._dense_search_page(f, offset, limit, now)
            if rows is not None:
                return rows
        return self._page(self._where(f, now), offset, limit, total)

    def _match(self, term: str) -> str:
        """The FTS5 query for what the owner typed."""
        fts = self.db.quote_fts(term)
        if fts.endswith('"') and len(term.split()[-1]) >= 3:
            fts += "*"  # the last word as typed so far is a prefix: live search finds "wedd…"
        return fts

    def _dense_search_page(self, f: ListFilter, offset: int, limit: int, now: datetime) -> list[dict] | None:
        """A page of a search for a common word, or None to take the usual way.

        The usual way collects every matching message's conversation first: "order" in a third
        of 300k messages took ~100 ms. For a word with ``DENSE_HITS`` or more hits, walking the
        view in its order and testing each conversation (``EXISTS``) fills a page in ~25 ms, as
        matches are everywhere; but a view with few of them (a word common only in newsletters,
        searched in Awaiting) would be walked to its end, so that walk gets
        ``DENSE_BUDGET_S`` and is abandoned for the usual way when it runs out. Both ways give
        the same rows (tests/test_pages.py)."""
        fts = self._match(f.search.strip())
        try:
            hits = self.db.execute("SELECT count(*) FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? "
                                   "LIMIT ?)", [fts, DENSE_HITS]).fetchone()[0]
        except sqlite3.OperationalError:
            return None  # the usual way reports a bad query as it always has
        if hits < DENSE_HITS:
            return None
        deadline = time.perf_counter() + DENSE_BUDGET_S
        conn = self.db.conn
        conn.set_progress_handler(lambda: time.perf_counter() > deadline, 2000)
        try:
            return self._page(self._where(f, now, search_by_row=True), offset, limit, None)
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
            return None
        finally:
            conn.set_progress_handler(None, 0)

    def _page(self, where_args_order: tuple[str, list, str], offset: int, limit: int,
              total: int | None) -> list[dict]:
        where, args, order = where_args_order
        # Pick the page's ids from the index first and build only those rows: building every
        # skipped row cost 585 ms for the last page at 1M messages (10 ms this way).
        pick_order, pick_limit, pick_offset = order, limit, offset
        if total is not None and limit > 0 and total // 2 < offset < total:
            # OFFSET makes SQLite step over every skipped index entry: the last page of "all"
            # at 1M messages (486k rows) took 15 ms from the top, 2.5 ms from the bottom.
            # Rows [offset, offset + limit) from the top are, from the bottom, the ``take``
            # rows after the first ``total - offset - take``; the outer ORDER BY puts them
            # back in display order.
            take = min(limit, total - offset)
            pick_order, pick_limit, pick_offset = mirror_order(order), take, total - offset - take
        sql = (f"SELECT {_COLUMNS} FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id "
               f"WHERE c.id IN (SELECT c.id FROM conversations c{where} ORDER BY {pick_order} LIMIT ? OFFSET ?) "
               f"ORDER BY {order}")
        return list(self.db.query(sql, [*args, pick_limit, pick_offset]))

    def ids(self, f: ListFilter = ListFilter(), now: datetime | None = None) -> list[int]:
        """Every conversation id in the view (marking all that match a filter)."""
        where, args, _ = self._where(f, now or self.now())
        return [r[0] for r in self.db.execute(f"SELECT c.id FROM conversations c{where}", args)]

    def count(self, f: ListFilter = ListFilter(), now: datetime | None = None) -> int:
        where, args, _ = self._where(f, now or self.now())
        return self.db.execute(f"SELECT count(*) FROM conversations c{where}", args).fetchone()[0]

    def halves(self, f: ListFilter, now: datetime, min_rows: int = 0, conn=None,
               share: float = 0.5) -> tuple[tuple[str, list], tuple[str, list]] | None:
        """Two conditions on ``c``'s columns that part the view's rows at about its middle:
        every row the first takes comes before every row the second takes, in the view's
        order, and each row is taken by exactly one (``split_read`` runs them in two
        processes); the first holds about ``share`` of them. None when the view has fewer
        than ``min_rows`` rows. ``conn``: the connection to read on (the store's own maps the
        file, and mapped pages count as the process's memory).

        The second part starts at the middle row's sort keys; the first is its exact
        complement (NOT of a condition that is never NULL). The keys are read with ``+`` so
        SQLite filters a full scan by them instead of hopping the order's index row by row."""
        conn = conn or self.db.conn
        where, args, order = self._where(f, now)
        total = conn.execute(f"SELECT count(*) FROM conversations c{where}", args).fetchone()[0]
        if total < min_rows:
            return None
        terms = order_terms(order)
        cols = ", ".join(col for col, _desc in terms)
        mid = conn.execute(f"SELECT {cols} FROM conversations c{where} ORDER BY {order} LIMIT 1 OFFSET ?",
                           [*args, int(total * share)]).fetchone()
        if mid is None:
            return ("1", []), ("0", [])
        # "comes before the middle row": at the first key where they differ, the row's value
        # sorts first. SQLite sorts NULL first ascending and last descending.
        before, before_args = "0", []
        for (col, desc), value in reversed(list(zip(terms, mid))):
            key = "+" + col
            if value is None:
                first, first_args = (f"{key} IS NOT NULL", []) if desc else ("0", [])
                same, same_args = f"{key} IS NULL", []
            else:
                first, first_args = (f"({key} IS NOT NULL AND {key} > ?)", [value]) if desc \
                    else (f"({key} IS NULL OR {key} < ?)", [value])
                same, same_args = f"{key} IS ?", [value]
            before, before_args = f"({first} OR {same} AND {before})", [*first_args, *same_args, *before_args]
        return (before, before_args), (f"NOT {before}", before_args)

    def iter_rows(self, f: ListFilter = ListFilter(), now: datetime | None = None,
                  batch: int = 2000) -> Iterator[dict]:
        """Every row of the list as a dict, streamed (flat memory)."""
        for cols, rows in self.iter_batches(f, now, batch):
            for row in rows:
                yield dict(zip(cols, row))

    def iter_batches(self, f: ListFilter = ListFilter(), now: datetime | None = None,
                     batch: int = 500) -> Iterator[tuple[list[str], list[tuple]]]:
        """Every row of the list as ``(column names, [row tuples])`` batches (export reads
        these: no dict per row).

        A full read sorts once (``+`` keeps SQLite off the order's index, whose row-by-row hops
        cost 25% more at 100k rows). For a store on disk the query runs in a thread on its own
        read-only connection, two batches ahead (export's peak RSS at 100k rows: 1.2x that at
        10k; four batches of 2,000 made it 1.5x): SQLite steps outside the GIL while the
        caller formats rows, so a second core helps when there is one (issue 18)."""
        where, args, order = self._where(f, now or self.now())
        order = ", ".join("+" + part for part in order.split(", "))
        sql = (f"{_FULL_READ_WITH}SELECT {_FULL_READ_COLUMNS} FROM conversations c LEFT JOIN contacts ct "
               f"ON ct.id = c.contact_id {_FULL_READ_JOINS}{where} ORDER BY {order}")
        return self.iter_query(sql, args, batch)

    def iter_query(self, sql: str, args: list, batch: int = 500, transform=None) -> Iterator:
        """Run a full read (``sql`` built from the ``_FULL_READ_*`` parts) as ``iter_batches``
        does, yielding ``(column names, [row tuples])`` batches, or what ``transform(conn,
        cols, rows)`` makes of each: it runs where the rows are read, with that connection, so
        a follow-up read (``rows_by_id``) sees the same snapshot as the rows."""
        path = getattr(self, "path", None)
        if path is None or str(path) == ":memory:":
            return _batches(self.db.execute(sql, args), batch, transform, self.db.conn)
        return _prefetched(path, sql, args, batch, transform=transform)

    def bucket_counts(self, now: datetime | None = None, channel: str | None = None) -> dict[str, int]:
        """How many conversations await a reply in each age bucket: one index range count per
        bucket (a CASE over every awaiting row took 51 ms at 1M messages)."""
        now = now or self.now()
        counts: dict[str, int] = {}
        for key in aging.BUCKET_KEYS:
            oldest, newest = aging.bucket_bounds(key, now)
            sql = "SELECT count(*) FROM conversations WHERE status = 'open' AND waiting_since <= ?"
            args: list = [newest]
            if oldest:
                sql += " AND waiting_since > ?"
                args.append(oldest)
            if channel:
                sql += " AND channel = ?"
                args.append(channel)
            counts[key] = self.db.execute(sql, args).fetchone()[0]
        return counts

    def oldest_wait(self) -> str | None:
        row = self.db.execute("SELECT min(waiting_since) FROM conversations WHERE status = 'open' "
                              "AND waiting_since IS NOT NULL").fetchone()
        return row[0]

    def view_counts(self, now: datetime | None = None) -> dict[str, int]:
        now = now or self.now()
        return {v: self.count(ListFilter(view=v), now) for v in VIEWS}

    def history(self, contact_id: int | None, conversation_id: int) -> list[dict]:
        """Every message with this contact across channels, oldest first (the conversation
        view); just the conversation when there is no contact."""
        if contact_id is None:
            return self.messages(conversation_id)
        return list(self.db.query(
            """SELECT m.*, c.channel AS channel, c.url AS conversation_url FROM messages m
               JOIN conversations c ON c.id = m.conversation_id
               WHERE c.contact_id = ? ORDER BY m.sent_at, m.direction = 'out', m.id""", [contact_id]))

    def find_contacts(self, text: str, limit: int = 20) -> list[dict]:
        # "%" and "_" typed by the owner are literal characters, not wildcards.
        like = "%" + escape_like(text.strip().lower()) + "%"
        return list(self.db.query(
            """SELECT ct.id, ct.name, min(i.handle) AS handle FROM contacts ct
               JOIN identities i ON i.contact_id = ct.id
               WHERE ct.merged_into IS NULL
                 AND (lower(ct.name) LIKE ? ESCAPE '\\' OR i.handle LIKE ? ESCAPE '\\')
               GROUP BY ct.id ORDER BY ct.name LIMIT ?""", [like, like, limit]))


def rows_by_id(conn, ids: list[int]) -> tuple[list[str], list[tuple]]:
    """The list's columns (``_COLUMNS``, as a page has them) of these conversations, in no
    particular order: for the few rows a full read hands back to Python."""
    cur = conn.execute(f"SELECT {_COLUMNS} FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id "
                       f"WHERE c.id IN ({', '.join('?' * len(ids))})", ids)
    return [d[0] for d in cur.description], cur.fetchall()


def _batches(cursor, size: int, transform=None, conn=None) -> Iterator:
    cols = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(size):
        yield (cols, rows) if transform is None else transform(conn, cols, rows)


def _prefetched(path, sql: str, args: list, size: int, ahead: int = 2, transform=None, conn=None) -> Iterator:
    """``_batches`` of ``sql`` run in a thread on a read-only connection of its own (or on
    ``conn``, opened with ``check_same_thread=False``, which is left open), at most ``ahead``
    batches in hand (memory stays flat); stops when the caller stops reading."""
    import queue
    import sqlite3
    import threading

    given = conn
    q: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            own = given is None
            conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=30) if own else given
            try:
                for item in _batches(conn.execute(sql, args), size, transform, conn):
                    if not put(item):
                        return
            finally:
                if own:
                    conn.close()
            put(done)
        except BaseException as exc:  # handed to the reader, raised there
            put(exc)

    worker = threading.Thread(target=produce, name="owner-tui-rows", daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
