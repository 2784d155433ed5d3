"""The digest: contents from the hand-computed sample store, every format, the last-digest
mark, the CLI, and mail through a real aiosmtpd server."""

from __future__ import annotations

import csv
import email
import io
import json
from email import policy

import pytest
from click.testing import CliRunner
from rich.console import Console

from owner_tui.cli.common import Context
from owner_tui.cli.digest import digest_command
from owner_tui.cli.root import export
from owner_tui.records import MessageRecord
from owner_tui.reports import digest as dg
from owner_tui.reports import digest_render as dr
from owner_tui.store import Store
from tests.metrics_sample import NOW, Clock, build_sample, utc

CONFIG = """
[aging]
timezone = "Europe/London"
business_hours = "09:00-17:00"
sla_hours = 4
"""


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sample(tmp_path, clock):
    store = build_sample(tmp_path / "s.db", clock)
    yield store
    store.close()


class FrozenContext(Context):
    """The CLI's context with the store opened on the test's frozen clock."""

    def __init__(self, config_path, db_path, clock):
        super().__init__(config_path, db_path)
        self.clock = clock

    def store(self):
        return Store.open(self.db_path, config=self.config, clock=self.clock)


@pytest.fixture
def ctx(tmp_path, sample, clock):
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    return FrozenContext(cfg, sample.path, clock)


def run(ctx, *args, command=None):
    return CliRunner().invoke(command or digest_command, list(args), obj=ctx, catch_exceptions=False)


# -- contents ---------------------------------------------------------------------------------

def test_awaiting_now_by_bucket_and_channel(sample):
    d = dg.build_digest(sample, since=utc(26, 0))
    # G5 waits since Mon 09:00Z (27 h: 1-3 days, past its 4 business-hour target);
    # G6 since 11:00Z (exactly 1 h: the 1-4 h bucket). G4 was closed, everything else answered.
    assert d.awaiting_total == 2 and d.overdue_total == 1
    assert d.buckets == {"lt1h": 0, "1-4h": 1, "4-24h": 0, "1-3d": 1, "gt3d": 0}
    assert d.by_channel == {"google": {"lt1h": 0, "1-4h": 1, "4-24h": 0, "1-3d": 1, "gt3d": 0}}
    assert [(i.contact, i.bucket, i.overdue) for i in d.oldest] == [("Ivy", "1-3d", True), ("Jo", "1-4h", False)]


def test_new_since_and_low_ratings_since(sample):
    d = dg.build_digest(sample, since=utc(26, 0))
    # inbound non-noise after Mon 00:00Z: G5 09:00, G4 10:00, G6 Tue 11:00 (replies are not "new")
    assert d.arrived_total == 3 and d.arrived_by_channel == {"google": 3}
    assert [(i.contact, i.state) for i in d.arrived] == [("Jo", "waiting"), ("Hal", "done"), ("Ivy", "waiting")]
    assert [(i.contact, i.rating) for i in d.low_ratings] == [("Hal", 1)]
    d = dg.build_digest(sample, since=utc(23, 0))
    # G4 one star (closed), G1 two stars (answered elsewhere); G5 has three, not low.
    assert [(i.contact, i.rating, i.state) for i in d.low_ratings] == [("Hal", 1, "done"), ("Eve", 2, "answered")]


def test_follow_ups_with_no_answer_yet(sample):
    d = dg.build_digest(sample)
    # the owner wrote last more than 3 days ago (before Sat 24 12:00Z): E1, E2, E4, oldest first
    assert d.followups_total == 3
    assert [i.contact for i in d.followups] == ["Ann", "Bob", "Dan"]
    assert "No answer yet" in dr.render_text(d) and "Dan" in dr.render_text(d)


def test_this_week_against_last_week(sample):
    d = dg.build_digest(sample)
    text = dr.render_text(d)
    tw, lw = d.weeks.this_week.overall, d.weeks.last_week.overall
    assert (tw.answered, lw.answered) == (7, 1)
    # this week's replies: .25 1 8 18 25 68.5 69 -> median 18 h; last week's: E3, 169 h = 7 days
    assert tw.reply.median_hours == pytest.approx(18)
    line = next(ln for ln in text.splitlines() if "median reply time" in ln)
    assert "18.0h" in line and "7.0d" in line and "▼ 6.3d faster" in line  # 151 h


def test_mark_moves_per_destination(sample, clock):
    assert dg.build_digest(sample).since_source == "last 24 h"
    dg.set_state(sample, dg.state_key(None), "2026-10-27T06:00:00+00:00")
    d = dg.build_digest(sample)
    assert (d.since, d.since_source) == (utc(27, 6), "last digest")
    other = dg.build_digest(sample, key=dg.state_key("Boss@Example.com"))
    assert other.since_source == "last 24 h"  # a manual look does not empty the morning mail


def test_the_mark_table_is_part_of_the_schema(sample):
    """``digest_state`` comes with the migrations (m005), not with the first digest: a
    read-only look (``digest`` printed) writes nothing but the mark."""
    assert sample.db["digest_state"].exists()
    assert dg.get_state(sample, "x") is None
    applied = {r[0] for r in sample.db.execute("SELECT name FROM _sqlite_migrations")}
    assert "m005_digest_state" in applied


def test_parse_since_and_span(sample):
    assert dg.parse_span("7d").days == 7 and dg.parse_span("12h").total_seconds() == 43200
    assert dg.parse_since("24h", NOW, sample) == utc(26, 12)
    # a local date in the configured zone: 25 Oct 00:00 is still BST (UTC+1)
    assert dg.parse_since("2026-10-25", NOW, sample) == utc(24, 23)
    assert dg.parse_since("2026-10-26T08:00+00:00", NOW, sample) == utc(26, 8)
    for bad in ("yesterday", "0d", "2027-01-01"):
        with pytest.raises(ValueError):
            dg.parse_since(bad, NOW, sample)


# -- formats ----------------------------------------------------------------------------------

HOSTILE_NAME = "Mallory\x1b]52;c;cHduZWQ=\x07 <b>&"
HOSTILE_SUBJECT = "[bold red]Refund[/] | *now* <script>alert(1)</script>\x1b[2J"


@pytest.fixture
def hostile(sample):
    acc = sample.ensure_account("imap", "shop", None)
    sample.ingest(acc, [MessageRecord(external_id="h1", direction="in", sent_at="2026-10-27T10:00:00+00:00",
                                      sender_handle="m@evil.example", sender_name=HOSTILE_NAME,
                                      subject=HOSTILE_SUBJECT, text="x", thread_key="H1")])
    return dg.build_digest(sample, since=utc(26, 0))


def test_plain_text_has_no_escape_sequences(hostile):
    text = dr.render_text(hostile)
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold red]Refund[/]" in text  # shown as written, never styled


def test_rich_output_never_reads_customer_text_as_markup(hostile):
    console = Console(record=True, width=200, force_terminal=True, color_system="truecolor")
    console.print(dr.render_rich(hostile))
    plain, styled = console.export_text(clear=False), console.export_text(styles=True)
    assert "[bold red]Refund[/]" in plain and "Awaiting a reply now" in plain
    assert "]52;" not in styled and "\x07" not in styled


def test_markdown_escapes_table_breakers(hostile):
    md = dr.render_markdown(hostile)
    assert "## Awaiting a reply now" in md
    line = next(ln for ln in md.splitlines() if "Refund" in ln)
    assert "\\[bold red\\]Refund\\[/\\] \\| \\*now\\* &lt;script\\>" in line
    assert line.count(" | ") == 5  # six columns: the subject's "|" did not add one


def test_html_escapes_everything(hostile):
    page = dr.render_html(hostile)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Mallory &lt;b&gt;&amp;" in page and "\x1b" not in page


def test_json_is_plain_data(hostile):
    data = json.loads(dr.render_json(hostile))
    assert data["awaiting"]["total"] == 3 and data["awaiting"]["overdue"] == 1
    # the default period is the last 7 days: E3 (Mon 19) falls out, the new message is not due yet
    assert data["period"]["overall"]["sla_met"] == 6 and data["period"]["overall"]["sla_judged"] == 8
    assert data["followups"]["total"] == 3
    assert data["awaiting"]["oldest"][0]["contact"] == "Ivy"
    assert data["since"] == "2026-10-26T00:00:00+00:00"


# -- the command ------------------------------------------------------------------------------

def test_command_prints_plain_text_when_piped_and_moves_the_mark(ctx, sample, clock):
    res = run(ctx)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("owner-tui digest, Tue 27 Oct 12:00 (Europe/London)")
    assert "\x1b" not in res.output and "New since Mon 26 Oct 12:00 (last 24 h)" in res.output
    assert dg.get_state(sample, dg.state_key(None)) == "2026-10-27T12:00:00+00:00"
    clock.now = utc(27, 15)
    assert "New since Tue 27 Oct 12:00 (last digest)" in run(ctx).output


def test_command_formats_and_explicit_since_leaves_the_mark(ctx, sample):
    res = run(ctx, "--format", "json", "--since", "2026-10-26", "--period", "2w")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["since_source"] == "--since" and data["period"]["since"] == "2026-10-13T12:00:00+00:00"
    assert dg.get_state(sample, dg.state_key(None)) is None
    assert run(ctx, "--format", "markdown").output.startswith("# owner-tui digest")
    assert run(ctx, "--format", "html").output.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("args, words", [(["--since", "soon"], "--since 'soon'"),
                                         (["--period", "forever"], "--period"),
                                         (["--format", "pdf"], "Invalid value")])
def test_command_bad_usage_exits_2(ctx, args, words):
    res = run(ctx, *args)
    assert res.exit_code == 2 and words in res.output


def test_command_is_registered_without_importing_textual(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from owner_tui.cli.root import cli; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli, ['digest', '--help']); assert r.exit_code == 0, r.output; "
            "assert '--mail-to' in r.output; import owner_tui.reports.digest, owner_tui.reports.digest_render; "
            "assert not [m for m in sys.modules if m.startswith('textual')], 'textual imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_export_followup_view(ctx):
    res = run(ctx, "--format", "csv", "--view", "followup", command=export)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [r["contact"] for r in rows] == ["Ann", "Bob", "Dan"]
    # "no answer yet" rows are due for a chase followup_days after the owner's last message
    assert rows[0]["sla_due"] == "2026-10-24T09:00:00+00:00"


# -- mail -------------------------------------------------------------------------------------

def mail_config(tmp_path, server, monkeypatch, extra=""):
    monkeypatch.setenv("OT_TEST_SMTP_PW", "secret")
    cfg = tmp_path / "mail.toml"
    cfg.write_text(CONFIG + f"""
[accounts.shop]
kind = "imap"
host = "127.0.0.1"
user = "owner@example.com"
address = "owner@example.com"
password_env = "OT_TEST_SMTP_PW"
smtp_host = "127.0.0.1"
smtp_port = {server.port}
{extra}
""")
    return cfg


def test_mail_to_sends_text_and_html_through_smtp(tmp_path, sample, clock, smtp_server, monkeypatch):
    cfg = mail_config(tmp_path, smtp_server, monkeypatch, 'smtp_security = "none"')
    res = run(FrozenContext(cfg, sample.path, clock), "--mail-to", "boss@example.com")
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and "digest sent to boss@example.com" in res.stderr
    (got,) = smtp_server.messages
    assert got.rcpt_tos == ("boss@example.com",) and got.login == "owner@example.com"
    msg = email.message_from_bytes(got.content, policy=policy.default)
    assert msg["Subject"] == "owner-tui digest Tue 27 Oct: 2 awaiting, 1 overdue, 1 new"  # new: G6
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "Awaiting a reply now" in msg.get_body(("plain",)).get_content()
    assert msg.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")
    assert dg.get_state(sample, dg.state_key("boss@example.com")) == "2026-10-27T12:00:00+00:00"
    assert dg.get_state(sample, dg.state_key(None)) is None


def test_mail_over_starttls_with_the_account_ca(tmp_path, sample, clock, smtp_starttls_server, monkeypatch):
    cfg = mail_config(tmp_path, smtp_starttls_server, monkeypatch,
                      f'smtp_security = "starttls"\ntls_ca_file = "{smtp_starttls_server.cert.cert}"')
    res = run(FrozenContext(cfg, sample.path, clock), "--mail-to", "boss@example.com", "--account", "shop",
              "--format", "text")
    assert res.exit_code == 0, res.output
    assert smtp_starttls_server.messages[0].tls
    assert res.stdout.startswith("owner-tui digest")  # --format prints as well as mailing


def test_refused_mail_fails_and_keeps_the_mark(tmp_path, sample, clock, smtp_server, monkeypatch):
    cfg = mail_config(tmp_path, smtp_server, monkeypatch, 'smtp_security = "none"')
    smtp_server.fail_data("554 5.7.1 no thanks")
    res = run(FrozenContext(cfg, sample.path, clock), "--mail-to", "boss@example.com")
    assert res.exit_code == 1
    assert "digest not sent" in res.stderr and "554" in res.stderr and "secret" not in res.stderr
    assert dg.get_state(sample, dg.state_key("boss@example.com")) is None


def test_mail_needs_an_smtp_account(ctx):
    res = run(ctx, "--mail-to", "boss@example.com")
    assert res.exit_code == 2 and "--account NAME" in res.stderr


def test_bad_recipient_is_refused_before_connecting(tmp_path, sample, clock, smtp_server, monkeypatch):
    cfg = mail_config(tmp_path, smtp_server, monkeypatch, 'smtp_security = "none"')
    res = run(FrozenContext(cfg, sample.path, clock), "--mail-to", "boss@example.com\r\nBcc: x@evil.example")
    assert res.exit_code == 2 and smtp_server.messages == []
