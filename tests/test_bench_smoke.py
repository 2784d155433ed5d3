"""The benchmark suite must not rot: a smoke run writes a report with every row of issue 7,
and the data generator makes mail that parses back to what it meant."""

from __future__ import annotations

import email
import email.policy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from bench import Row
from bench import generate as gen
from bench.__main__ import EXPECTED

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_run_reports_every_row(tmp_path):
    out, js = tmp_path / "bench.md", tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(out), "--json", str(js)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "## Machine and command" in text and "cores (nproc)" in text and "python -m bench --smoke" in text
    rows = {r["key"]: r for r in json.loads(js.read_text())["rows"]}
    table = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.count(" | ") >= 7]
    for key, _what, _target, _src in EXPECTED:
        assert key in rows, f"row missing: {key}"
        assert any(ln.startswith(f"| {rows[key]['what']} |") for ln in table), f"{key} not in the table"
    # The benchmarks this suite owns measure something even at smoke size.
    mine = ["page_first", "fts_p95", "export_time", "export_rss"]
    if importlib.util.find_spec("owner_tui.sources.files.scan") is not None:
        mine.append("import_rate")
    for key in mine:
        assert rows[key]["samples"] and rows[key]["value"] > 0, rows[key]


def test_generated_mail_parses_back():
    mails = [m for m in gen.generate(messages=400, seed=3) if m.channel == "email"]
    kinds = {m.kind for m in mails}
    assert {"customer", "newsletter", "owner-first"} <= kinds
    assert any(m.attachments for m in mails) and any(m.html for m in mails)
    assert any(not m.from_name.isascii() for m in mails)
    for m in mails:
        msg = email.message_from_bytes(gen.to_bytes(m), policy=email.policy.default)
        assert msg["message-id"].strip("<>") == m.msgid
        assert str(msg["subject"]) == m.subject
        assert msg["from"].addresses[0].display_name == m.from_name
        if m.in_reply_to:
            assert msg["in-reply-to"].strip("<>") == m.in_reply_to
        body = msg.get_body(("plain", "html"))
        assert body is not None
        if body.get_content_type() == "text/plain":
            assert m.text.split()[1] in body.get_content()
        assert len(list(msg.iter_attachments())) == len(m.attachments)


def test_generator_is_deterministic_and_sized():
    a = [(m.msgid, m.text) for m in gen.generate(messages=300, seed=5)]
    b = [(m.msgid, m.text) for m in gen.generate(messages=300, seed=5)]
    assert a == b and len(a) == 300
    threads = {m.msgid.split(".")[0] if m.channel == "email" else m.thread_key
               for m in gen.generate(conversations=50, seed=5)}
    assert len(threads) == 50
    assert all(m.date <= gen.ANCHOR for m in gen.generate(messages=2000, seed=5))


def test_row_judges_the_named_statistic_and_the_ratio():
    p95 = Row(key="k", what="w", unit="ms", samples=[1.0] * 19 + [500.0], stat="p95", limit=100)
    assert p95.status == "met"  # 19 of 20 samples are fast: the p95 is 1 ms
    p99 = Row(key="k", what="w", unit="ms", samples=[1.0] * 98 + [500.0] * 2, stat="p99", limit=100)
    assert p99.status == "missed"
    vs_peer = Row(key="k", what="w", unit="s", samples=[9.0, 10.0, 11.0], max_ratio=1.0, baseline_samples=[8.0])
    assert vs_peer.ratio == 10.0 / 8.0 and vs_peer.status == "missed"
    rate = Row(key="k", what="w", unit="msg/s", samples=[2500.0], limit=2000, better="higher")
    assert rate.status == "met"
    assert Row(key="k", what="w", unit="s", reason="no binary").status == "not measured"
    twice = Row(key="k", what="w", unit="msg/s", samples=[1900.0], min_ratio=2.0, better="higher",
                baseline_samples=[1000.0])
    assert twice.status == "missed" and twice.judged == "ratio"  # 1.9x a peer that must be doubled
    assert Row(key="k", what="w", unit="s", samples=[0.9], limit=1.0).judged == "absolute"


def test_peers_run_interleaved_with_owner_tui():
    from bench import interleaved

    order: list[str] = []
    a, b = interleaved(3, lambda: order.append("A") or 1.0, lambda: order.append("B") or 2.0)
    assert order == ["A", "B"] * 3 and a == [1.0] * 3 and b == [2.0] * 3


def test_a_missed_row_carries_a_measured_profile():
    from bench import explain_if_missed

    met = Row(key="k", what="w", unit="s", samples=[0.5], limit=1.0)
    explain_if_missed(met, ["--version"])
    assert met.note == ""
    missed = Row(key="k", what="w", unit="s", samples=[2.0], limit=1.0, note="why:")
    explain_if_missed(missed, ["--version"])
    assert missed.note.startswith("why:") and "cProfile of one run" in missed.note and "tottime" in missed.note
