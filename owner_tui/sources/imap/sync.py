"""Incremental IMAP sync: INBOX, the Sent folder and extra folders into the store.

Blocking (IMAPClient); run it in a worker thread. The cursor per (account, folder) is
UIDVALIDITY + last UID + HIGHESTMODSEQ (external-apis.md 6.1-6.2):

* A no-op sync costs one ``STATUS`` per folder: with CONDSTORE an unchanged HIGHESTMODSEQ
  means nothing changed at all; without it, ``UIDNEXT <= last_uid + 1`` means nothing new.
* New mail: ``UID SEARCH UID last+1:*`` (filtered client-side: ``n:*`` always returns the
  highest UID even when it is below ``n``), then ``UID FETCH`` of ``BODY.PEEK[]`` (PEEK: the
  owner's unread mail stays unread) + ``INTERNALDATE`` in batches bounded by count and bytes.
  Each batch is one ``store.ingest`` transaction together with its cursor, so a sync cut off
  mid-way resumes after the last stored batch. The next batch downloads while one is parsed.
* UIDVALIDITY changed: the old UIDs mean nothing. Only the Message-ID headers are fetched;
  messages already stored are re-mapped to their new UIDs, and only the rest is downloaded.
  Ingest is idempotent on the Message-ID (or a content hash), so nothing doubles or is lost.
* A message deleted on the server is never deleted here.

Messages from the Sent folder are outbound (``direction="out"``): a reply sent from a phone
closes the wait it answers.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections import deque
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import SENT

from owner_tui.config import AccountConfig
from owner_tui.records import NO_SENT_WARNING, SENT_SILENT_WARNING, Cursor, normalize_msgid
from owner_tui.sources.imap.connection import ImapSettings, SecretGetter, close, connect
from owner_tui.sources.imap.errors import (
    FolderMissing,
    MailError,
    as_mail_error,
    describe_error,
)
from owner_tui.sources.imap.parse import _INLINE, ParsePool, parse_items
from owner_tui.sources.imap.results import AccountResult, FolderResult, Progress
from owner_tui.sources.imap.sent import is_pending, sent_by_name

__all__ = ["AccountResult", "FolderResult", "ParsePool", "Progress", "describe_error", "sync_account", "sync_folder",
           "resolve_folders", "MailError", "FolderMissing"]

#: A batch stops growing at this many bytes of message data, whatever the count.
MAX_BATCH_BYTES = 24 * 1024 * 1024
#: Batches downloaded ahead, and being parsed ahead, of the one being stored (``sync_folder``).
AHEAD = 3
#: Messages above this size have their exact size asked before batching; the others count as this.
LARGE = 96 * 1024
#: Messages above this size are fetched in pieces of ``PIECE`` bytes (``BODY.PEEK[]<off.len>``):
#: imaplib and IMAPClient hold about 5.7 copies of a literal while reading it (346 MB traced
#: for one 60 MB message), pieces keep that to a few MB plus the message itself.
PIECEWISE_ABOVE = 8 * 1024 * 1024
PIECE = 4 * 1024 * 1024
#: UIDs per RFC822.SIZE / header probe command (keeps the command line well under 64 kB).
PROBE_CHUNK = 2000


# -- folders -----------------------------------------------------------------------------------

def resolve_folders(client: IMAPClient, settings: ImapSettings) -> tuple[list[tuple[str, str]], list[str]]:
    """``[(folder, role)]`` to sync, and notes. Sent: the config's ``sent_folder`` (must
    exist), else SPECIAL-USE ``\\Sent`` (RFC 6154), else the usual names (IMAPClient's
    ``find_special_folder`` does both), else a Sent named in the client's language
    (``sent_by_name``, for a server without SPECIAL-USE). Extra folders must exist."""
    names = [f[2] for f in client.list_folders()]
    known = {n for n in names}
    known_ci = {n.lower(): n for n in names}
    notes: list[str] = []
    out = [("INBOX", "inbox")]
    if settings.sent_folder:
        real = settings.sent_folder if settings.sent_folder in known else known_ci.get(settings.sent_folder.lower())
        if real is None:
            raise FolderMissing(settings.sent_folder, names)
        out.append((real, "sent"))
    else:
        sent = client.find_special_folder(SENT) or sent_by_name(names)
        if sent:
            out.append((sent, "sent"))
        else:
            notes.append("no Sent folder found (set sent_folder in the config to count replies sent elsewhere)")
    for extra in settings.folders:
        if extra not in known and extra.upper() != "INBOX":
            raise FolderMissing(extra, names)
        if all(extra != f for f, _ in out):
            out.append((extra, "extra"))
    return out, notes


# -- the folder sync ---------------------------------------------------------------------------

def _chunks(seq: Sequence[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(seq), n):
        yield list(seq[i:i + n])


def plan_batches(sizes: Sequence[tuple[int, int]], batch_size: int, max_bytes: int = MAX_BATCH_BYTES) -> list[list[int]]:
    """Group ``(uid, size)`` in UID order into batches of at most ``batch_size`` messages and
    (unless a single message is bigger) ``max_bytes`` bytes."""
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_bytes = 0
    for uid, size in sizes:
        if cur and (len(cur) >= batch_size or cur_bytes + size > max_bytes):
            batches.append(cur)
            cur, cur_bytes = [], 0
        cur.append(uid)
        cur_bytes += size
    if cur:
        batches.append(cur)
    return batches


def new_uids(client: IMAPClient, last_uid: int) -> list[int]:
    """UIDs above ``last_uid``, ascending. ``UID SEARCH UID n:*`` returns the highest UID even
    when it is below ``n`` (``*`` is "the largest", and a range is unordered): filter it."""
    return sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)


def _sizes(client: IMAPClient, uids: Sequence[int]) -> list[tuple[int, int]]:
    """``(uid, size)`` to plan batches by bytes. Asking every message's RFC822.SIZE costs a
    noticeable share of a big sync, so only the big ones are asked: one ``SEARCH LARGER``
    finds them, and the rest count as ``LARGE`` bytes at most (a cautious estimate)."""
    if not uids:
        return []
    lo = uids[0]
    big = {u for u in client.search(["UID", f"{lo}:*", "LARGER", str(LARGE)]) if u >= lo}
    exact: dict[int, int] = {}
    wanted = [u for u in uids if u in big]
    for chunk in _chunks(wanted, PROBE_CHUNK):
        data = client.fetch(chunk, ["RFC822.SIZE"])
        exact.update((u, int(data[u].get(b"RFC822.SIZE", 0))) for u in chunk if u in data)
    return [(u, exact.get(u, LARGE)) for u in uids]


def _message_ids(client: IMAPClient, uids: Sequence[int]) -> dict[int, str]:
    """UID -> normalised Message-ID (or "" when the message has none), headers only."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    out: dict[int, str] = {}
    for chunk in _chunks(uids, PROBE_CHUNK):
        data = client.fetch(chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        for uid in chunk:
            item = data.get(uid)
            if item is None:
                continue  # expunged meanwhile
            blob = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), b"") or b""
            out[uid] = normalize_msgid(str(parser.parsebytes(blob).get("Message-ID", "") or ""))
    return out


def _known_ids(store, account_id: int, ids: Iterable[str]) -> set[str]:
    ids = [i for i in set(ids) if i]
    known: set[str] = set()
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        marks = ",".join("?" * len(part))
        known.update(r[0] for r in store.db.execute(
            f"SELECT external_id FROM messages WHERE account_id = ? AND external_id IN ({marks})",
            [account_id, *part]))
    return known


def sync_folder(client: IMAPClient, store, account_id: int, folder: str, role: str, *,
                batch_size: int = 250, account: str = "", progress: Callable[[Progress], None] | None = None,
                should_stop: Callable[[], bool] | None = None, parse_pool: ParsePool | None = None,
                probe: bool = True) -> FolderResult:
    """Bring one folder up to date. Raises on connection failures (the cursor of every stored
    batch is already saved); returns the counts otherwise.

    ``probe=False`` skips the STATUS check (IDLE just said something arrived, and STATUS on
    the selected mailbox is discouraged by RFC 3501 6.3.10)."""
    result = FolderResult(folder, role)
    state = store.sync_state(account_id, folder) or {}
    old_uv, last_uid, old_modseq = state.get("uidvalidity"), state.get("last_uid"), state.get("highestmodseq")
    waiting = _pending_uids(state.get("page_token"))  # replies that were being sent last time
    condstore = client.has_capability("CONDSTORE")

    # 1. The cheap probe: STATUS needs no SELECT.
    status = client.folder_status(folder, ["UIDVALIDITY", "UIDNEXT"] + (["HIGHESTMODSEQ"] if condstore else [])) \
        if probe else {}
    uv, uidnext = status.get(b"UIDVALIDITY"), status.get(b"UIDNEXT")
    modseq = status.get(b"HIGHESTMODSEQ")
    if probe and old_uv is not None and uv == old_uv and last_uid is not None:
        if condstore and old_modseq is not None and modseq == old_modseq:
            result.skipped = True
            return result
        if uidnext is not None and uidnext <= last_uid + 1 and not waiting:
            # Only flags changed, or messages went: nothing to fetch. A message another client
            # answered closes its wait; the new modseq is remembered so the next no-op sync
            # stops at the first check.
            if condstore and modseq != old_modseq:
                answered = _answered_since(client, folder, role, old_modseq)
                store.mark_answered(account_id, answered, Cursor(folder, uv, last_uid, modseq))
            result.skipped = True
            return result

    # 2. SELECT read-only (EXAMINE): nothing we do can change a flag.
    info = client.select_folder(folder, readonly=True)
    uv = info[b"UIDVALIDITY"]
    modseq = info.get(b"HIGHESTMODSEQ") if condstore else None
    uidnext = info.get(b"UIDNEXT")
    if old_uv is not None and old_uv != uv:
        result.reset = True
        waiting = []  # old UIDs: the re-map finds those messages again
        uids, top = _remap(client, store, account_id, folder, uv, result)
        floor = 0
    else:
        uids = new_uids(client, int(last_uid or 0))
        top, floor = (uids[-1] if uids else 0), int(last_uid or 0)
        if condstore and old_modseq is not None and modseq != old_modseq and last_uid:
            answered = _answered_since(client, folder, role, old_modseq, selected=True)
            if answered:
                store.mark_answered(account_id, answered)
    # Every UID below UIDNEXT (as of the SELECT) that SEARCH did not return was expunged.
    final_last = max(floor, top, (uidnext - 1) if uidnext else 0)
    marked: list[int] = []  # copies still marked as being sent by an outbox (ours or another's)
    if waiting:
        marked = _recheck(client, store, account_id, folder, role, uv, waiting, result,
                           Cursor(folder, uv, floor, None if uids else modseq))
    if not uids:
        store.ingest(account_id, [], Cursor(folder, uv, final_last, modseq, _page_token(marked)))
        return result

    sizes = _sizes(client, uids)
    size_of = dict(sizes)
    batches = plan_batches(sizes, batch_size)
    total = sum(len(b) for b in batches)
    parse: Any = parse_pool.executor() if parse_pool is not None and total >= parse_pool.min_messages else _INLINE
    split = parse_pool.workers if parse is not _INLINE else 1

    def fetch(batch: list[int]) -> dict:
        small = [u for u in batch if size_of.get(u, 0) <= PIECEWISE_ABOVE]
        data = dict(client.fetch(small, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])) if small else {}
        for uid in batch:
            if uid not in small:
                item = _fetch_in_pieces(client, uid)
                if item is not None:
                    data[uid] = item
        return data

    done = 0

    def store_batch(batch: list[int], final: bool, items: list, futures: list[Future]) -> None:
        nonlocal done
        if not all(f.done() for f in futures):
            tx.commit()  # about to wait for the parsers: commit meanwhile
        try:
            records = [rec for f in futures for rec in f.result()]
        except BrokenExecutor:  # a parse worker died (out of memory?): parse here instead
            records = parse_items(items, folder, role, uv)
        # Until the folder is complete the modseq stays unknown, so an interrupted sync is
        # never mistaken for an unchanged folder.
        upto = final_last if final else batch[-1]
        cursor = Cursor(folder, uv, upto, modseq if final else None,
                        _page_token([u for u in marked if u <= upto]))
        result.add(tx.ingest(account_id, records, cursor))
        result.fetched += len(records)
        done += len(batch)
        if progress:
            progress(Progress(account, folder, done, total))

    # A pipeline: later batches download (network, one connection: one at a time) and parse
    # (worker processes, when there are many) while this thread stores the oldest (the store's
    # connection is ours). Up to ``AHEAD`` batches wait at each stage, within
    # ``2 * MAX_BATCH_BYTES`` of mail: with one, the parsers sat idle whenever a store took
    # longer than a parse, and this thread waited whenever it did not. Batches share a
    # transaction until ``Batches.every`` messages, or until this thread would wait for the
    # network or the parsers (then the commit costs nothing and no lock is held idle).
    fetches: deque[tuple[list[int], Future]] = deque()
    parsing: deque[tuple[list[int], bool, list, list[Future]]] = deque()
    queued = 0  # batches handed to the fetcher
    stopping = False

    def in_flight() -> int:
        return sum(size_of.get(u, 0) for b, *_ in (*fetches, *parsing) for u in b)

    def fetch_more() -> None:
        nonlocal queued
        while (not stopping and queued < len(batches) and len(fetches) < AHEAD
               and (not fetches and not parsing or in_flight() < 2 * MAX_BATCH_BYTES)):
            fetches.append((batches[queued], fetcher.submit(fetch, batches[queued])))
            queued += 1

    def parse_next() -> None:
        """Hand the oldest downloaded batch to the parsers (waiting for it if need be)."""
        nonlocal stopping
        batch, fut = fetches.popleft()
        if not fut.done():
            tx.commit()
        try:
            data = fut.result()
        except BaseException:
            for queued_fetch in fetches:  # not started yet: never will be
                queued_fetch[1].cancel()
            while parsing:  # keep what was fetched before the connection broke
                store_batch(*parsing.popleft())
            raise
        last = batch is batches[-1]
        if not last and should_stop is not None and should_stop():
            stopping = True  # what is downloading is kept; what has not started is not
            while fetches and fetches[-1][1].cancel():
                fetches.pop()
        items = []
        for uid in batch:
            item = data.get(uid)
            if item is None or item.get(b"BODY[]") is None:
                continue  # expunged between SEARCH and FETCH
            if is_pending(item.get(b"FLAGS")):
                marked.append(uid)  # being sent right now: looked at again next time
                continue
            idate = item.get(b"INTERNALDATE")
            if isinstance(idate, datetime) and idate.tzinfo is not None:
                idate = idate.astimezone(timezone.utc)  # IMAPClient's FixedOffset does not pickle
            items.append((uid, item[b"BODY[]"], idate, tuple(item.get(b"FLAGS") or ())))
        del data
        step = max(1, -(-len(items) // split))
        futures = [parse.submit(parse_items, items[j:j + step], folder, role, uv)
                   for j in range(0, len(items), step)]
        parsing.append((batch, last, items, futures))
        fetch_more()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-fetch") as fetcher, store.batches() as tx:
        fetch_more()
        while fetches or parsing:
            # Feed the parsers everything downloaded; store the oldest batch once it is parsed,
            # or when no more can be fed.
            while fetches and fetches[0][1].done() and len(parsing) < AHEAD:
                parse_next()
            if parsing and (all(f.done() for f in parsing[0][3]) or len(parsing) >= AHEAD or not fetches):
                store_batch(*parsing.popleft())
            elif fetches:
                parse_next()  # nothing is ready: wait for the network
            fetch_more()
    return result


def _answered_since(client: IMAPClient, folder: str, role: str, modseq: int, *, selected: bool = False) -> list[str]:
    """Message-IDs of messages flagged ``\\Answered`` since ``modseq`` (CONDSTORE, RFC 7162):
    another mail client replied to them. Only the inbox and extra folders: in Sent the flag
    says nothing about a customer."""
    if role == "sent":
        return []
    if not selected:
        client.select_folder(folder, readonly=True)
    try:
        uids = client.search(["ANSWERED", "MODSEQ", str(int(modseq) + 1)])
    except IMAPClientError:
        return []  # a server that advertises CONDSTORE but refuses SEARCH MODSEQ: flags are a bonus
    if not uids:
        return []
    heads = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    ids = []
    for item in heads.values():
        raw = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), b"") or b""
        value = raw.decode("ascii", "replace").partition(":")[2].strip()
        if normalize_msgid(value):
            ids.append(normalize_msgid(value))
    return ids

def _fetch_in_pieces(client: IMAPClient, uid: int) -> dict | None:
    """One big message as ``client.fetch`` would return it, read ``PIECE`` bytes at a time."""
    meta = client.fetch([uid], ["INTERNALDATE", "FLAGS"]).get(uid)
    if meta is None:
        return None  # expunged meanwhile
    pieces: list[bytes] = []
    offset = 0
    while True:
        got = client.fetch([uid], [f"BODY.PEEK[]<{offset}.{PIECE}>"]).get(uid) or {}
        piece = next((v for k, v in got.items() if k.startswith(b"BODY[]")), None)
        if piece is None:
            if not pieces:
                return None
            break
        pieces.append(piece)
        offset += len(piece)
        if len(piece) < PIECE:
            break
    return {**meta, b"BODY[]": b"".join(pieces)}


def _pending_uids(page_token: str | None) -> list[int]:
    """The UIDs kept in the cursor's ``page_token`` (``{"pending": [...]}``) for IMAP folders."""
    try:
        data = json.loads(page_token or "{}")
        return sorted(int(u) for u in data.get("pending", []))
    except (ValueError, TypeError, AttributeError):
        return []


def _page_token(pending: Sequence[int]) -> str | None:
    return json.dumps({"pending": sorted(pending)}) if pending else None


def _recheck(client: IMAPClient, store, account_id: int, folder: str, role: str, uv: int,
             uids: list[int], result: FolderResult, cursor: Cursor) -> list[int]:
    """Copies that were marked ``$OwnerTuiSending`` last time: once confirmed (the keyword
    gone) they are ingested like any Sent message; a reply sent by owner-tui on another
    computer counts here too. Returns the UIDs still marked; deleted ones are forgotten."""
    data = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])
    still, items = [], []
    for uid in uids:
        item = data.get(uid)
        if item is None or item.get(b"BODY[]") is None:
            continue
        if is_pending(item.get(b"FLAGS")):
            still.append(uid)
            continue
        idate = item.get(b"INTERNALDATE")
        items.append((uid, item[b"BODY[]"], idate.astimezone(timezone.utc) if isinstance(idate, datetime) else None,
                      tuple(item.get(b"FLAGS") or ())))
    records = parse_items(items, folder, role, uv)
    result.add(store.ingest(account_id, records, replace(cursor, page_token=_page_token(still))))
    result.fetched += len(records)
    return still


def _remap(client: IMAPClient, store, account_id: int, folder: str, uv: int,
           result: FolderResult) -> tuple[list[int], int]:
    """After a UIDVALIDITY change: give known messages their new UID. Returns the UIDs that
    must be downloaded (unknown Message-ID, or none at all: identified by content) and the
    highest UID in the folder."""
    all_uids = sorted(client.search(["ALL"]))
    ids = _message_ids(client, all_uids)
    known = _known_ids(store, account_id, ids.values())
    todo = [u for u in all_uids if u in ids and not (ids[u] and ids[u] in known)]
    remap = [(u, ids[u]) for u in all_uids if ids.get(u) and ids[u] in known]
    # Everything below the first unknown UID is settled once the re-map is stored.
    settled = (todo[0] - 1) if todo else (all_uids[-1] if all_uids else 0)
    with store.write():
        for uid, mid in remap:
            store.db.execute(
                "UPDATE messages SET extra = json_set(extra, '$.uid', ?, '$.uidvalidity', ?) "
                "WHERE account_id = ? AND external_id = ? AND folder = ?", [uid, uv, account_id, mid, folder])
        store.ingest(account_id, [], Cursor(folder, uv, settled, None))
    result.remapped = len(remap)
    return todo, (all_uids[-1] if all_uids else 0)


# -- the account sync --------------------------------------------------------------------------

def _remember_listing(client: IMAPClient, result: AccountResult, plan: list[tuple[str, str]]) -> None:
    """What ``quick_sync`` checks before it trusts a plan: the LIST answer as imaplib returns
    it (IMAPClient's own connection), and the capabilities. One more LIST; never fails a sync."""
    from owner_tui.quick_sync import list_digest

    try:
        typ, lines = client._imap.list()
        if typ == "OK":
            result.list_sha256 = list_digest(lines)
            result.capabilities = sorted({(c.decode() if isinstance(c, bytes) else str(c)).upper()
                                          for c in client.capabilities()})
            result.plan = list(plan)
    except Exception:  # noqa: BLE001 - only a shortcut for the next run is lost
        result.list_sha256 = None


def sync_account(store, account: AccountConfig, *, secrets: SecretGetter | None = None,
                 progress: Callable[[Progress], None] | None = None, should_stop: Callable[[], bool] | None = None,
                 client: IMAPClient | None = None, folders: Sequence[str] | None = None,
                 parse_pool: ParsePool | None = None) -> AccountResult:
    """Sync one IMAP account (all its folders, or only ``folders``). Never raises for mail
    problems: the result says what failed, in plain words, and ``sync_state.last_error`` keeps it."""
    settings = ImapSettings.from_account(account)
    result = AccountResult(account.name)
    account_id = store.ensure_account("imap", account.name, settings.public_settings())
    result.account_id = account_id
    own = client is None
    try:
        if own:
            client = connect(settings, secrets=secrets)
        plan, notes = resolve_folders(client, settings) if folders is None else \
            ([(f, "sent" if f == settings.sent_folder else "inbox" if f.upper() == "INBOX" else "extra")
              for f in folders], [])
        result.notes.extend(notes)
        if folders is None:
            _remember_listing(client, result, plan)
            if not any(role == "sent" for _, role in plan):
                result.warnings.append(NO_SENT_WARNING)
    except Exception as exc:
        err = as_mail_error(exc, host=settings.host, port=settings.port, user=settings.user)
        result.error = str(err)
        result.error_kind, result.temporary = err.kind, err.retryable
        store.set_sync_error(account_id, "", str(err))
        if own and client is not None:
            close(client)
        return result
    try:
        for folder, role in plan:
            if should_stop and should_stop():
                result.cancelled = True
                break
            try:
                fr = sync_folder(client, store, account_id, folder, role, batch_size=settings.batch_size,
                                 account=account.name, progress=progress, should_stop=should_stop,
                                 parse_pool=parse_pool)
            except Exception as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                err = as_mail_error(exc, host=settings.host, port=settings.port, user=settings.user)
                fr = FolderResult(folder, role, error=str(err))
                if result.error_kind is None:
                    result.error_kind, result.temporary = err.kind, err.retryable
                store.set_sync_error(account_id, folder, str(err))
                result.folders.append(fr)
                if err.retryable:
                    break  # the connection is gone: the other folders would fail the same way
                continue
            result.folders.append(fr)
        if not result.cancelled and not any(f.error for f in result.folders):
            store.clear_sync_errors(account_id)  # e.g. yesterday's wrong password is fixed
            if folders is None and NO_SENT_WARNING not in result.warnings and store.replies_unseen(account_id):
                result.warnings.append(SENT_SILENT_WARNING)
    finally:
        if own:
            close(client)
    return result
