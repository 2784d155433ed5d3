"""Real bounces, delay warnings, abuse reports and automatic replies from 77 mail systems
(Sisimai's set-of-emails, see tests/corpus/bounces-sisimai/README.md): each is noise and never
waits; the two real messages that only look like bounces wait."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from owner_tui.config import Config, OwnerConfig
from owner_tui.mail.parse import parse_message
from owner_tui.store import Store

HERE = Path(__file__).parent / "corpus" / "bounces-sisimai"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PEOPLE = {"is-not-bounce-01.eml", "is-not-bounce-02.eml"}

#: What owner-tui cannot tell from a person's mail, and why (each must still fail: strict).
KNOWN = {
    "lhost-apachejames-01.eml": "an SMS gateway's error as a plain reply ('Re:Test message') from post_master@, no "
                                "report part, no daemon sender: a role address alone never makes mail noise",
    "lhost-verizon-02.eml": "an SMS gateway's error as a plain reply ('Re:Nyaan') from post_master@, as above",
}


def _cases():
    for path in sorted(HERE.glob("*.eml")):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[path.name])] if path.name in KNOWN else []
        yield pytest.param(path, id=path.name, marks=marks)


@pytest.fixture
def store():
    # A store per file: the set's samples were anonymised with shared Message-IDs and senders,
    # which one store (even one account per file) rightly reads as the same message.
    s = Store.open(":memory:", config=Config(owner=OwnerConfig(addresses=("hello@bakery.example",))),
                   clock=lambda: NOW)
    yield s
    s.close()


def test_the_corpus_is_there():
    assert len(list(HERE.glob("*.eml"))) >= 140 and (HERE / "LICENSE").exists()


@pytest.mark.parametrize("path", _cases())
def test_a_real_report_never_waits_and_a_real_person_does(store, path):
    acc = store.ensure_account("imap", path.name, {"address": "hello@bakery.example"})
    rec = parse_message(path.read_bytes(), folder="INBOX", now=NOW)
    store.ingest(acc, [rec], now=NOW)
    rows = store.db.execute("SELECT m.noise, c.waiting_since FROM messages m JOIN conversations c "
                            "ON c.id = m.conversation_id WHERE c.account_id = ?", [acc]).fetchall()
    assert len(rows) == 1, f"{path.name}: {len(rows)} messages stored"
    noise, waiting_since = rows[0]
    if path.name in PEOPLE:
        assert noise is None and waiting_since, f"{path.name}: a person's mail read as {noise!r}"
    else:
        assert noise and waiting_since is None, \
            f"{path.name}: {rec.subject!r} from {rec.sender_handle!r} would wait"
