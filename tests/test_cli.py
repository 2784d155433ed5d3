import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from owner_tui.cli.root import LAZY_COMMANDS, cli

COMMANDS = ["tui", "demo", "import", "export", "doctor", "contacts", *LAZY_COMMANDS]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name):
    res = CliRunner().invoke(cli, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output


def test_top_level_help_lists_commands():
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert name in res.output


def test_bad_config_is_one_line_exit_2(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[aging]\nsla_hour = 3\n")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "export"])
    assert res.exit_code == 2
    assert "line 2" in res.output and "sla_hour" in res.output and "Traceback" not in res.output


def test_usage_error_exit_2():
    res = CliRunner().invoke(cli, ["export", "--older-than", "soon"])
    assert res.exit_code == 2 and "30m, 4h" in res.output


def test_import_then_export_round_trip(tmp_path):
    eml = tmp_path / "a.eml"
    eml.write_bytes(b"From: Ann <ann@example.com>\r\nTo: me@shop.example\r\nSubject: Hello\r\n"
                    b"Message-ID: <a1@example.com>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nHi there\r\n")
    runner = CliRunner()
    res = runner.invoke(cli, ["import", str(eml)])
    assert res.exit_code == 0, res.output
    assert "imported 1 new, 0 duplicate" in res.output
    res = runner.invoke(cli, ["import", str(eml)])
    assert "imported 0 new, 1 duplicate" in res.output
    res = runner.invoke(cli, ["export", "--format", "jsonl"])
    assert res.exit_code == 0
    [row] = [json.loads(line) for line in res.output.splitlines()]
    assert row["address"] == "ann@example.com" and row["subject"] == "Hello"
    out = tmp_path / "out.csv"
    res = runner.invoke(cli, ["export", "-o", str(out)])
    assert res.exit_code == 0 and out.read_text().count("\n") == 2
    import os
    import stat

    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600  # customer names and addresses


def test_import_missing_path_exit_2(tmp_path):
    res = CliRunner().invoke(cli, ["import", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_demo_print_never_touches_real_store(_isolated_home):
    res = CliRunner().invoke(cli, ["demo", "--print"])
    assert res.exit_code == 0, res.output
    assert "Awaiting a reply" in res.output and "Order #4471" in res.output
    assert not (_isolated_home / "owner-tui.db").exists()


def test_doctor_reports(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[accounts.shop]\nkind = "imap"\nhost = "h"\n')
    res = CliRunner().invoke(cli, ["--config", str(cfg), "doctor"])
    assert res.exit_code == 1 and "no secret source" in res.output


@pytest.mark.parametrize("argv", [["export", "--help"], ["sync", "--help"], ["import", "--help"],
                                  ["digest", "--help"], ["accounts", "--help"]])
def test_cli_paths_do_not_import_textual(argv):
    code = ("import sys\nfrom owner_tui.cli.root import cli\n"
            f"try:\n    cli({argv!r}, standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr


def test_contacts_find_and_merge_a_reviewer_into_an_email_contact(tmp_path):
    from owner_tui.aging import to_iso, utcnow
    from owner_tui.records import MessageRecord
    from owner_tui.store import Store

    with Store.open(tmp_path / "c.db") as s:
        mail = s.ensure_account("imap", "shop", {})
        s.ingest(mail, [MessageRecord(external_id="a@x", sender_handle="ann.lee@example.com", sender_name="Ann Lee",
                                      subject="Cake", text="hi", sent_at=to_iso(utcnow()))])
        g = s.ensure_account("google", "g", {})
        s.ingest(g, [MessageRecord(external_id="r1", channel="google", direction="in", thread_key="r1", rating=2,
                                   sender_handle="google:ann", sender_name="Ann L.", text="Dry cake",
                                   sent_at=to_iso(utcnow()))])
    runner = CliRunner()
    db = ["--db", str(tmp_path / "c.db")]
    res = runner.invoke(cli, [*db, "contacts", "find", "ann"])
    assert res.exit_code == 0 and "Ann Lee" in res.output and "Ann L." in res.output
    with Store.open(tmp_path / "c.db") as s:
        ids = {r["name"]: r["id"] for r in s.find_contacts("ann")}
    keep, merge = ids["Ann Lee"], ids["Ann L."]
    res = runner.invoke(cli, [*db, "contacts", "merge", str(keep), "999"])
    assert res.exit_code == 2 and "no contact with id 999" in res.output
    res = runner.invoke(cli, [*db, "contacts", "merge", str(keep), str(merge)])
    assert res.exit_code == 0 and "merged Ann L. into Ann Lee" in res.output, res.output
    with Store.open(tmp_path / "c.db") as s:
        conv = s.db.execute("SELECT id FROM conversations WHERE channel = 'email'").fetchone()[0]
        assert {m["channel"] for m in s.history(keep, conv)} == {"email", "google"}
    assert runner.invoke(cli, [*db, "contacts", "find", "zzz"]).exit_code == 1


def test_help_lists_the_lazy_commands_with_their_own_summaries_without_importing_them():
    """`owner-tui --help` must start fast (issue 18): it lists sync, digest, accounts and status
    from the summaries in LAZY_COMMANDS, which must say what each command's own help says."""
    import importlib

    import click

    for name, (module, attr, summary) in LAZY_COMMANDS.items():
        cmd = getattr(importlib.import_module(module), attr)
        for limit in (45, 70, 400):
            assert click.utils.make_default_short_help(summary, limit) == cmd.get_short_help_str(limit), name
    code = ("import sys\nfrom owner_tui.cli.root import cli\n"
            "try:\n    cli(['--help'], prog_name='owner-tui')\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in sys.modules if m in {sorted(v[0] for v in LAZY_COMMANDS.values())!r} "
            "or m in ('sqlite_utils', 'owner_tui.config', 'owner_tui.store')), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "sync" in out.stdout and "digest" in out.stdout and "Each account's last sync" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]"
