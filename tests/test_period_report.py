"""Reports by period with a frozen clock and figures worked out by hand: October 2026 in
Europe/London (it crosses the end of summer time on Sun 25 Oct, so it is 745 hours long) and
the Q3/Q4 boundary (a message at 23:30 UTC on 30 Sep is 00:30 on 1 Oct on the shop's wall)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from owner_tui.config import AgingConfig, Config, OwnerConfig
from owner_tui.records import MessageRecord
from owner_tui.reports import period_render
from owner_tui.reports.period import bounds, build_report, local_midnight
from owner_tui.store import Store
from tests.conftest import FrozenClock

UTC = timezone.utc
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OWNER = "owner@shop.example"
CFG = Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,)),
             aging=AgingConfig(timezone="Europe/London", sla_hours=24))


def at(y, mo, d, h, mi=0) -> str:
    return datetime(y, mo, d, h, mi, tzinfo=UTC).isoformat()


def email_in(ext, who, text, sent_at):
    return MessageRecord(external_id=ext, sender_handle=who, sender_name=who.split("@")[0].title(),
                         recipients=(OWNER,), subject=text[:30], text=text, sent_at=sent_at, folder="INBOX")


def email_out(ext, to, parent, sent_at):
    return MessageRecord(external_id=ext, sender_handle=OWNER, recipients=(to,), subject="Re: x", text="Thanks",
                         sent_at=sent_at, in_reply_to=parent, references=(parent,), folder="Sent")


def review(channel, rid, stars, text, sent_at, reply_at=None):
    out = [MessageRecord(external_id=rid, channel=channel, direction="in", sender_handle=f"{channel}:{rid}",
                         sender_name=rid, subject=text[:30], text=text, rating=stars, thread_key=rid, sent_at=sent_at)]
    if reply_at:
        out.append(MessageRecord(external_id=f"{rid}:reply", channel=channel, direction="out", sender_handle=OWNER,
                                 text="Thank you", thread_key=rid, sent_at=reply_at))
    return out


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "r.db", config=CFG, clock=FrozenClock(NOW))
    mail = s.ensure_account("imap", "mail", {"address": OWNER})
    google = s.ensure_account("google", "g", {})
    onsite = s.ensure_account("onsite", "on-site", {})
    s.ingest(mail, [
        # September (Q3)
        email_in("g@x", "gina@example.com", "Can I order a birthday cake?", at(2026, 9, 10, 9)),
        email_out("g-r@shop", "gina@example.com", "g@x", at(2026, 9, 10, 13)),  # 4 h
        email_in("e@x", "eve@example.com", "Question about opening hours", at(2026, 9, 30, 22, 30)),  # 23:30 BST 30 Sep
        # October (Q4): 00:30 BST on 1 Oct
        email_in("a@x", "ann@example.com", "Do you have gluten-free bread?", at(2026, 9, 30, 23, 30)),
        email_out("a-r@shop", "ann@example.com", "a@x", at(2026, 10, 1, 1, 30)),  # 2 h
        # 01:30 BST on 25 Oct, answered at 02:30 GMT: two hours on the clock, two real hours
        email_in("c@x", "cal@example.com", "My order never arrived.", at(2026, 10, 25, 0, 30)),
        email_out("c-r@shop", "cal@example.com", "c@x", at(2026, 10, 25, 2, 30)),  # 2 h
    ])
    s.ingest(google, [*review("google", "h", 4, "Lovely cake", at(2026, 9, 12, 10), at(2026, 9, 12, 12)),  # 2 h
                      *review("google", "f", 4, "", at(2026, 10, 5, 10), at(2026, 10, 5, 11)),  # 1 h
                      *review("google", "b", 2, "Cold soup and a rude waiter.", at(2026, 10, 10, 12),
                              at(2026, 10, 11, 18))])  # 30 h: outside the target
    # 23:30 GMT on 31 Oct: still October; answered 09:00 on 1 Nov, after the month ended
    s.ingest(onsite, [*review("on-site", "onsite:d", 1, "Cold soup again, please fix it.", at(2026, 10, 31, 23, 30),
                              at(2026, 11, 1, 9))])
    yield s
    s.close()


def test_calendar_periods_in_local_time():
    assert bounds("month", date(2026, 10, 17)) == (date(2026, 10, 1), date(2026, 11, 1))
    assert bounds("quarter", date(2026, 10, 17)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert bounds("quarter", date(2026, 9, 30)) == (date(2026, 7, 1), date(2026, 10, 1))
    assert bounds("week", date(2026, 10, 25)) == (date(2026, 10, 19), date(2026, 10, 26))
    assert bounds("year", date(2026, 12, 31)) == (date(2026, 1, 1), date(2027, 1, 1))
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    oct1, nov1 = local_midnight(date(2026, 10, 1), london), local_midnight(date(2026, 11, 1), london)
    assert oct1 == datetime(2026, 9, 30, 23, tzinfo=UTC) and nov1 == datetime(2026, 11, 1, tzinfo=UTC)
    assert nov1 - oct1 == timedelta(hours=745)


def test_october_across_the_dst_change_against_september(store):
    r = build_report(store, "month", at=date(2026, 10, 17))
    c, p = r.current, r.previous
    assert (c.label, p.label, c.complete) == ("October 2026", "September 2026", True)
    assert c.until - c.since == timedelta(hours=745)
    o = c.metrics.overall
    assert o.inbound == 5  # A, B, C, D, F; not E (23:30 BST on 30 Sep)
    assert c.answered == {"all": 4, "email": 2, "google": 2}  # D was answered after the month ended
    assert o.reply.median_hours == pytest.approx(2.0)  # replies 1, 2, 2, 30 h
    assert o.reply.p90_hours == pytest.approx(21.6)  # 2 + 0.7 * (30 - 2)
    assert o.first_response.median_hours == pytest.approx(2.0)
    assert (o.sla_met, o.sla_judged) == (3, 4)  # B took 30 h; D is not yet due at the end
    assert c.unanswered_at_end == {"all": 2, "email": 1, "on-site": 1}  # E (from September) and D
    assert c.channel("google").reply.median_hours == pytest.approx(15.5)
    assert c.ratings["google"].average == pytest.approx(3.0) and c.ratings["on-site"].average == 1.0
    assert c.complaints == 3  # B and D (low ratings), C ("never arrived")
    assert [(ph.text, ph.count, ph.previous) for ph in r.top] == [("cold soup", 2, 0)]
    po = p.metrics.overall
    assert po.inbound == 3 and p.answered["all"] == 2
    assert po.reply.median_hours == pytest.approx(3.0) and po.reply.p90_hours == pytest.approx(3.8)
    assert (po.sla_met, po.sla_judged) == (2, 2) and p.unanswered_at_end == {"all": 1, "email": 1}
    assert p.ratings["google"].average == 4.0 and p.complaints == 0


def test_q4_so_far_against_q3(store):
    r = build_report(store, "quarter", at=date(2026, 10, 1))
    c, p = r.current, r.previous
    assert (c.label, p.label, c.complete) == ("Q4 2026", "Q3 2026", False) and c.as_of == NOW
    o = c.metrics.overall
    assert o.inbound == 5 and c.answered["all"] == 5  # D's reply of 1 Nov counts now
    assert o.reply.median_hours == pytest.approx(2.0)  # 1, 2, 2, 9.5, 30
    assert o.reply.p90_hours == pytest.approx(21.8)  # 9.5 + 0.6 * (30 - 9.5)
    assert (o.sla_met, o.sla_judged) == (4, 5) and c.unanswered_at_end == {"all": 1, "email": 1}
    assert p.metrics.overall.inbound == 3 and p.unanswered_at_end["all"] == 1


def test_default_is_the_last_complete_period(store):
    assert build_report(store, "month").current.label == "October 2026"
    assert build_report(store, "quarter").current.label == "Q3 2026"
    with pytest.raises(ValueError, match="future"):
        build_report(store, "month", at=date(2026, 12, 5))


def test_every_format_and_the_html_charts(store):
    r = build_report(store, "month", at=date(2026, 10, 1))
    text = period_render.render_text(r)
    assert "October 2026 against September 2026" in text and "cold soup" in text and "21.6h" in text
    md = period_render.render_markdown(r)
    assert "| platform | average | |" in md
    html = period_render.render_html(r)
    assert "<script" not in html and "<img" not in html and "data:" not in html
    assert 'bgcolor="' in html and "<style" not in html  # bars are table cells, styles inline
    data = json.loads(period_render.render_json(r))
    assert data["current"]["overall"]["inbound"] == 5 and data["said"][0]["text"] == "cold soup"


def test_report_and_schedule_commands(store, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[owner]\naddresses = ["owner@shop.example"]\n[aging]\ntimezone = "Europe/London"\n')
    store.close()
    runner = CliRunner()
    out = runner.invoke(__import__("owner_tui.cli.root", fromlist=["cli"]).cli,
                        ["--config", str(cfg), "--db", str(tmp_path / "r.db"), "report", "--period", "month",
                         "--at", "2026-10-03", "--format", "markdown"])
    assert out.exit_code == 0, out.output
    assert "# owner-tui monthly report: October 2026" in out.output
    bad = runner.invoke(__import__("owner_tui.cli.root", fromlist=["cli"]).cli,
                        ["--db", str(tmp_path / "r.db"), "report", "--at", "soon"])
    assert bad.exit_code == 2 and "2026-11-15" in bad.output
    sched = runner.invoke(__import__("owner_tui.cli.root", fromlist=["cli"]).cli,
                          ["--config", str(cfg), "--db", str(tmp_path / "r.db"), "schedule"])
    assert sched.exit_code == 0, sched.output
    lines = [ln for ln in sched.output.splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "CRON_TZ=Europe/London"
    assert any(ln.startswith("30 7 1 * * ") and ln.endswith("report --period month --mail-to owner@shop.example")
               for ln in lines)
    assert any(ln.startswith("30 7 1 1,4,7,10 * ") and "--period quarter" in ln for ln in lines)
    assert any(ln.startswith("30 7 * * 1 ") and "--period week" in ln for ln in lines)
    assert any(ln.startswith("30 7 * * * ") and "digest --mail-to" in ln for ln in lines)


async def test_the_dashboard_shows_reports_by_period(store, tmp_path):
    from textual.app import App

    from owner_tui.screens.dashboard import DashboardScreen
    from owner_tui.screens.report import ReportScreen

    store.close()
    opener = lambda: Store.open(tmp_path / "r.db", config=CFG, clock=FrozenClock(NOW))  # noqa: E731

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(DashboardScreen(opener))

    def shown(app) -> str:
        from rich.console import Console

        console = Console(width=160, record=True, file=open("/dev/null", "w"))
        console.print(app.screen.query_one("#report-text").content)
        return console.export_text()

    async with Host().run_test(size=(120, 50)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("p")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(pilot.app.screen, ReportScreen)
        text = shown(pilot.app)
        assert "monthly report: October 2026" in text and "21.6h" in text and "cold soup" in text
        await pilot.press("q")  # the quarter holding October
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "quarterly report: Q4 2026, so far" in shown(pilot.app)
        await pilot.press("left_square_bracket")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "quarterly report: Q3 2026" in shown(pilot.app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DashboardScreen)


def test_report_mail_to(store, tmp_path, smtp_server):
    import email
    from email import policy

    from owner_tui.cli.root import cli

    store.close()
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'''[owner]
addresses = ["{OWNER}"]
[aging]
timezone = "Europe/London"
[accounts.shop]
kind = "imap"
host = "127.0.0.1"
user = "owner@example.com"
address = "owner@example.com"
password_cmd = "printf %s secret"
smtp_host = "{smtp_server.host}"
smtp_port = {smtp_server.port}
smtp_security = "none"
''')
    res = CliRunner().invoke(cli, ["--config", str(cfg), "--db", str(tmp_path / "r.db"), "report", "--period",
                                   "month", "--at", "2026-10-01", "--mail-to", "sam@example.org"])
    assert res.exit_code == 0, res.output
    assert "monthly report sent to sam@example.org" in res.output
    [got] = smtp_server.messages
    msg = email.message_from_bytes(got.content, policy=policy.default)
    assert msg["Subject"] == "owner-tui monthly report, October 2026: 5 messages in, 4 answered, 2 unanswered"
    assert msg["Auto-Submitted"] == "auto-generated"
    html = msg.get_body(("html",)).get_content()
    assert "bgcolor=" in html and "<script" not in html and "cold soup" in msg.get_body(("plain",)).get_content()
