"""The terminal is safe: a stranger's text never acts on the owner's terminal or spreadsheet.

Escape sequences (window title, OSC 52 clipboard write, OSC 8 hyperlinks, screen clearing),
raw C0/C1 controls, bidi overrides and Rich/Textual markup are planted in every untrusted
field (contact name, address, subject, body, review text, review URL, attachment file name)
on every channel. The tests then assert on the bytes each display path writes: every export
format, the printed list (``demo --print``'s printer), the CLI's own messages, and the
Textual screens (captured by a driver that records exactly what the app writes).

Each payload carries the marker ``PWN`` inside its escape sequences: shown inert, the marker
may appear as visible text; it must never arrive *inside* an escape sequence, and no raw
control character or bidi override may arrive at all.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from owner_tui.aging import to_iso
from owner_tui.config import Config, OwnerConfig
from owner_tui.records import Attachment, MessageRecord
from owner_tui.reports.export import FORMATS, write_export
from owner_tui.store import Store
from owner_tui.store.queries import ListFilter
from tests.servers.review_apis import api  # noqa: F401

OWNER = "owner@shop.example"

#: (name, text): each is a way a stranger's text could act on the owner's terminal.
PAYLOADS = [
    ("title", "\x1b]0;PWN title\x07"),
    ("title-st", "\x1b]2;PWN title\x1b\\"),
    ("clipboard", "\x1b]52;c;UFdOIGNsaXBib2FyZA==\x07"),  # base64 of "PWN clipboard"
    ("hyperlink", "\x1b]8;;https://PWN.example/\x1b\\click me\x1b]8;;\x1b\\"),
    ("csi-clear", "\x1b[2J\x1b[HPWN"),
    ("csi-color", "\x1b[31;5mPWN\x1b[0m"),
    ("c1-csi", "\x9b2JPWN"),
    ("c1-osc", "\x9d0;PWN title\x9c"),
    ("dcs", "\x1bP1$rPWN\x1b\\"),
    ("apc", "\x1b_PWN\x1b\\"),
    ("screen", "\x1b[?1049l\x1b[?25lPWN"),  # leave the alternate screen, hide the cursor
    ("c0", "a\x00b\x07c\x08d\x0be\x0cf\rPWN"),
    ("bidi", "\u202egnp.exe PWN \u2066x\u2069"),
    ("markup", "[bold red]PWN[/] [link=https://PWN.example]x[/link]"),
    ("action", "[@click=app.quit]PWN[/]"),
    ("markup-escape", "\\[b]PWN[/b]"),
]
ALL = "".join(text for _, text in PAYLOADS)

# Sequence kinds: CSI; OSC (ended by BEL or ST); DCS/SOS/PM/APC (ended by ST); other ESC.
_SEQ = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[ -/]*[0-~]"
)
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def assert_inert(out: str, *, sgr_only: bool = False) -> str:
    """Fail if a hostile payload could act; return the plain text between escape sequences.

    ``sgr_only``: output of a printer (Rich, click), where colours are the only escape
    sequences allowed. A full-screen app may write any sequence, but none may carry the
    marker, set the window title or write the clipboard.
    """
    seqs = _SEQ.findall(out)
    text = _SEQ.sub("", out)
    for seq in seqs:
        assert "PWN" not in seq, f"hostile text inside an escape sequence: {seq!r}"
        assert not seq.startswith(("\x1b]0;", "\x1b]1;", "\x1b]2;", "\x1b]52;")), f"title/clipboard write: {seq!r}"
        if sgr_only:
            assert re.fullmatch(r"\x1b\[[0-9;]*m", seq), f"unexpected escape sequence: {seq!r}"
    if "\x1b" in text:
        i = text.index("\x1b")
        raise AssertionError(f"a stray ESC reached the terminal: {text[max(0, i - 20):i + 40]!r}")
    bad = sorted({c for c in text if (ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) < 0xA0})
    assert not bad, f"raw control characters reached the terminal: {bad!r}"
    assert not _BIDI & set(text), "a bidi override reached the terminal"
    return text


def _hostile_records(now) -> list[tuple[str, list[MessageRecord]]]:
    """One conversation per payload per channel, every untrusted field carrying it."""
    out: list[tuple[str, list[MessageRecord]]] = []
    for i, (name, p) in enumerate(PAYLOADS):
        t = to_iso(now - timedelta(hours=i + 1))
        out.append(("email", [MessageRecord(
            external_id=f"m{i}@x.example", sender_handle=f"c{i}@x.example", sender_name=f"N{p}",
            recipients=(OWNER,), subject=f"S{p}", text=f"B{p}\nline 2 {p}", sent_at=t,
            attachments=(Attachment(filename=f"F{p}.pdf", content_type="application/pdf", size=10),),
            problems=(f"problem {p}",))]))
        for channel in ("google", "trustpilot", "yelp", "facebook"):
            out.append((channel, [MessageRecord(
                external_id=f"{channel}{i}", channel=channel, direction="in", thread_key=f"{channel}{i}",
                sender_handle=f"{channel}:{i}", sender_name=f"R{p}", rating=1 + i % 5, text=f"T{p}",
                url=f"https://{channel}.example/r/{i}{p}", sent_at=t)]))
    return out


@pytest.fixture
def hostile_store(tmp_path, clock):
    config = Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,)))
    store = Store.open(tmp_path / "hostile.db", config=config, clock=clock)
    accounts = {"email": store.ensure_account("imap", "shop", {"address": OWNER})}
    for channel in ("google", "trustpilot", "yelp", "facebook"):
        accounts[channel] = store.ensure_account(channel, channel, {})
    for channel, recs in _hostile_records(clock()):
        store.ingest(accounts[channel], recs)
    yield store
    store.close()


def _export(store, fmt: str) -> str:
    buf = io.StringIO()
    n = write_export(store, ListFilter(view="all"), fmt, buf)
    assert n == len(PAYLOADS) * 5
    return buf.getvalue()


# -- exports -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_format_is_inert(hostile_store, fmt):
    out = _export(hostile_store, fmt)
    text = assert_inert(out, sgr_only=True)
    assert "\x1b" not in out
    # The text is still there for the owner to read, only defused (markdown backslash-escapes
    # its punctuation: a renderer shows it as written).
    if fmt == "markdown":
        text = re.sub(r"\\(.)", r"\1", text)
    assert "PWN" in text and "[bold red]PWN[/]" in text


def test_csv_cells_never_start_a_formula(hostile_store):
    store = hostile_store
    acc = store.ensure_account("imap", "shop", {"address": OWNER})
    formulas = ["=HYPERLINK(\"https://PWN.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
                "\t=1+1", "\r=1+1", " =1+1", "\n=1+1", "\u200b=1+1", "\ufeff=1+1", "|cmd"]
    now = store.now()
    store.ingest(acc, [MessageRecord(external_id=f"f{i}@x", sender_handle=f"f{i}@x.example", sender_name=f,
                                     subject=f, text=f, sent_at=to_iso(now - timedelta(minutes=i + 1)))
                       for i, f in enumerate(formulas)])
    rows = list(csv.reader(io.StringIO(_export_all(store, "csv"))))
    assert len(rows) > len(formulas)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "|")), row
    contacts = {r[0] for r in rows[1:]}
    assert "'=HYPERLINK(\"https://PWN.example\",\"x\")" in contacts


def _export_all(store, fmt):
    buf = io.StringIO()
    write_export(store, ListFilter(view="all"), fmt, buf)
    return buf.getvalue()


def test_markdown_table_keeps_its_shape_and_opens_no_html(hostile_store):
    store = hostile_store
    acc = store.ensure_account("imap", "shop", {"address": OWNER})
    store.ingest(acc, [MessageRecord(
        external_id="md@x", sender_handle="md@x.example", sender_name="a | b | c",
        subject="<img src=x onerror=alert('PWN')> <script>PWN</script>",
        text="x", sent_at=to_iso(store.now() - timedelta(minutes=3)))])
    out = _export_all(store, "markdown")
    lines = out.splitlines()
    widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
    assert len(widths) == 1, "an untrusted value changed the table's column count"
    assert "<img" not in out and "<script" not in out, "raw HTML from a stranger in the markdown export"


def test_ics_values_cannot_add_properties(hostile_store):
    store = hostile_store
    acc = store.ensure_account("imap", "shop", {"address": OWNER})
    store.ingest(acc, [MessageRecord(
        external_id="ics@x", sender_handle="ics@x.example", sender_name="Eve\r\nATTENDEE:mailto:PWN@x",
        subject="x\nBEGIN:VALARM\nACTION:AUDIO\nEND:VALARM", text="x",
        sent_at=to_iso(store.now() - timedelta(minutes=3)))])
    out = _export_all(store, "ics")
    unfolded = out.replace("\r\n ", "")
    names = {line.split(":", 1)[0].split(";", 1)[0] for line in unfolded.split("\r\n") if line}
    assert names <= {"BEGIN", "END", "VERSION", "PRODID", "UID", "DTSTAMP", "SUMMARY", "DESCRIPTION", "STATUS",
                     "DTSTART", "DUE", "URL"}, names
    assert "BEGIN:VALARM" not in unfolded.split("\r\n")


def test_json_round_trips_the_defused_text(hostile_store):
    rows = json.loads(_export(hostile_store, "json"))
    for row in rows:
        for value in row.values():
            if isinstance(value, str):
                assert_inert(value, sgr_only=True)


# -- the CLI's printed output ------------------------------------------------------------------------

def test_printed_list_is_inert_with_colour(hostile_store, monkeypatch, capsys):
    """``demo --print``'s printer with colour forced on: only SGR sequences may appear."""
    from owner_tui.cli import root as cli

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    cli._print_list(hostile_store)
    out = capsys.readouterr().out
    assert "\x1b[" in out, "colour was not forced on: this test would prove nothing"
    text = assert_inert(out, sgr_only=True)
    assert "[bold red]PWN" in text  # markup shown as text, not applied


def test_cli_export_to_stdout_is_inert(hostile_store, tmp_path):
    from owner_tui.cli.root import cli

    db = hostile_store.path
    (tmp_path / "none.toml").write_text("")  # an explicit --config must exist (issue 13)
    for fmt in FORMATS:
        result = CliRunner().invoke(cli, ["--db", str(db), "--config", str(tmp_path / "none.toml"),
                                          "export", "--format", fmt, "--view", "all"])
        assert result.exit_code == 0, result.output
        assert_inert(result.output, sgr_only=True)


def test_demo_print_is_inert():
    """The first thing a newcomer runs: clean output, and it names no hostile leftovers."""
    from owner_tui.cli.root import cli

    result = CliRunner().invoke(cli, ["demo", "--print"], env={"FORCE_COLOR": "1", "COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert_inert(result.output, sgr_only=True)
    assert "Awaiting a reply" in result.output


# -- the Textual screens: exactly what the app writes to the terminal -------------------------------

def _recording_driver():
    """A driver that is not headless, so the app renders as it would to a real terminal,
    and keeps every string it is asked to write (``Driver.write`` is the one way out)."""
    from textual.drivers.headless_driver import HeadlessDriver

    class RecordingDriver(HeadlessDriver):
        written: list[str] = []

        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            RecordingDriver.written.append(data)

    RecordingDriver.written = []
    return RecordingDriver


def _tui_store(path, clock) -> None:
    """Each payload leads some field on some row (lists truncate); the first email and the
    first review carry every payload in their body, names and attachment file names."""
    config = Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,)))
    with Store.open(path, config=config, clock=clock) as store:
        mail = store.ensure_account("imap", "shop", {"address": OWNER})
        channels = ("google", "trustpilot", "yelp", "facebook")
        accounts = {c: store.ensure_account(c, c, {}) for c in channels}
        now = clock()
        for i, (_, p) in enumerate(PAYLOADS):
            every = "\n".join(f"{n}: {text}" for n, text in PAYLOADS) if i == 0 else f"B{p}"
            store.ingest(mail, [MessageRecord(
                external_id=f"m{i}@x.example", sender_handle=f"c{i}@x.example", sender_name=f"{p}N{i}",
                recipients=(OWNER,), subject=f"{p}S{i}", text=every, sent_at=to_iso(now - timedelta(hours=i + 1)),
                attachments=tuple(Attachment(filename=f"{t}.pdf", content_type="application/pdf", size=1)
                                  for _, t in (PAYLOADS if i == 0 else [("", p)])),
                problems=(f"problem {p}",))])
            channel = channels[i % 4]
            store.ingest(accounts[channel], [MessageRecord(
                external_id=f"{channel}{i}", channel=channel, direction="in", thread_key=f"{channel}{i}",
                sender_handle=f"{channel}:{i}", sender_name=f"{p}R{i}", rating=1 + i % 5,
                text=every if i == 0 else f"{p}T{i}", url=f"https://{channel}.example/r/{i}{p}",
                sent_at=to_iso(now - timedelta(minutes=30 + i)))])
        store.save_template(f"tpl {ALL}", f"Hi {{first_name}} {ALL}")


async def _walk_every_screen(app, pilot) -> list[str]:
    """Inbox in every view, an email and a review conversation, the reply editor with a
    template, snooze and noise dialogs, a notification, triage, search, help, dashboard."""
    from tests.tui_support import settle

    visited = []

    async def press(*keys: str, label: str) -> None:
        await pilot.press(*keys)
        await settle(pilot)
        visited.append(label)

    await settle(pilot)
    visited.append("inbox")
    for view in "23456":
        await press(view, label=f"view {view}")
    await press("1", label="view 1")
    await press("home", "enter", label="email conversation")
    await press("r", label="reply editor")
    await press("ctrl+t", label="template picker")
    await press("1", label="template inserted")
    await press("escape", label="editor closed")
    await press("s", label="snooze dialog")
    await press("escape", "n", label="noise dialog")
    await press("escape", "escape", label="back to inbox")
    await press("end", "enter", label="review conversation")
    await press("r", label="review reply")
    await press("escape", "escape", label="back")
    await press("home", "d", label="done notification")
    await press("u", label="undo notification")
    await press("t", label="triage")
    await press("escape", "escape", label="triage summary")
    await press("slash", *"PWN", "enter", label="search")
    await press("escape", label="search cleared")
    await press("question_mark", label="help")
    await press("escape", label="help closed")
    from owner_tui.screens.dashboard import DashboardScreen

    await app.push_screen(DashboardScreen(lambda: Store.open(app.store_path, config=app.config, clock=app.clock)))
    await settle(pilot)
    visited.append("dashboard")
    return visited


async def test_every_screen_writes_only_inert_text(tmp_path, clock):
    """Drive the real app through every screen, with a driver that records every byte the
    app writes, and check that stream: no hostile sequence, control or override, and the
    markup shown as typed."""
    from owner_tui.tui.app import OwnerApp

    _tui_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,))), clock=clock,
                   exports_dir=tmp_path / "exports")
    driver = _recording_driver()
    app.driver_class = driver
    async with app.run_test(headless=False, size=(120, 50)) as pilot:
        visited = await _walk_every_screen(app, pilot)
    out = "".join(driver.written)
    assert len(out) > 10_000 and len(visited) > 20, "the app drew (almost) nothing: this test would prove nothing"
    text = assert_inert(out)
    assert "PWN" in text, "the hostile text was never drawn"
    assert "[bold red]PWN[/]" in text or "[bold red]PWN" in text, "markup was interpreted, not shown"
    assert "\x1b]8;;https://PWN" not in out


# -- servers' words on the command line: a hostile server is untrusted text too ---------------------

HOSTILE_REPLY = "\x1b]0;PWN title\x07\x1b]52;c;UFdO\x07\x9b2JPWN \u202ePWN [bold]PWN[/]"


def _cli_in_home(args: list[str], config_text: str, env: dict[str, str]):
    import os
    from pathlib import Path

    from owner_tui.cli.root import cli

    home = Path(os.environ["OWNER_TUI_HOME"])
    (home / "config.toml").write_text(config_text)
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_review_api_error_text_is_inert_on_the_command_line(api):  # noqa: F811
    opts = api.google_options(qpm=60000)
    api.fault("GET", "/v1/accounts", 403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                                     "message": HOSTILE_REPLY}}, count=5)
    config = "[accounts.gbp]\nkind = \"google\"\n" + "".join(
        f'{k} = "{v}"\n' if isinstance(v, str) else f"{k} = {v}\n" for k, v in opts.items()) \
        + 'client_secret_env = "OT_CS"\nrefresh_token_env = "OT_RT"\n'
    from tests.servers.review_apis import GOOGLE_CLIENT

    result = _cli_in_home(["sync", "--no-send"], config, {"OT_CS": GOOGLE_CLIENT[1], "OT_RT": "rt-good"})
    assert result.exit_code == 1
    assert "403" in result.stderr
    assert_inert(result.stdout + result.stderr, sgr_only=True)


def test_smtp_reply_text_is_inert_on_the_command_line(smtp_server, imap_account):
    from owner_tui.store import Store

    smtp_server.users = {imap_account.user: imap_account.password}
    smtp_server.fail_data(f"554 5.7.1 {HOSTILE_REPLY}".encode("utf-8").decode("latin-1"), times=-1)
    config = f"""[owner]
addresses = ["{OWNER}"]
[accounts.shop]
kind = "imap"
host = "{imap_account.host}"
port = {imap_account.port}
security = "none"
user = "{imap_account.user}"
address = "{OWNER}"
password_env = "OT_PW"
smtp_host = "{smtp_server.host}"
smtp_port = {smtp_server.port}
smtp_security = "none"
"""
    import os
    from pathlib import Path

    db = Path(os.environ["OWNER_TUI_HOME"]) / "owner-tui.db"
    with Store.open(db) as store:
        acc = store.ensure_account("imap", "shop", {"address": OWNER})
        store.ingest(acc, [MessageRecord(external_id="q@x.example", sender_handle="c@x.example", subject="Q",
                                         text="?", sent_at="2026-11-20T10:00:00+00:00")])
        store.queue_reply(store.db.execute("SELECT id FROM conversations").fetchone()[0], "Answer")
    result = _cli_in_home(["sync"], config, {"OT_PW": imap_account.password})
    assert result.exit_code == 1, result.output
    assert "554" in result.stdout + result.stderr
    assert_inert(result.stdout + result.stderr, sgr_only=True)


class _HostileImap:
    """A loopback server that speaks just enough IMAP to say hostile things: the greeting
    and every tagged reply carry escape sequences, C1 controls and a bidi override."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.text = HOSTILE_REPLY.encode("utf-8")
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] " + self.text + b"\r\n")
                buf = b""
                while True:
                    try:
                        data = conn.recv(4096)
                    except OSError:
                        break
                    if not data:
                        break
                    buf += data
                    while b"\r\n" in buf:
                        line, buf = buf.split(b"\r\n", 1)
                        tag, _, rest = line.partition(b" ")
                        if rest.upper().startswith(b"CAPABILITY"):
                            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK " + self.text + b"\r\n")
                        elif rest.upper().startswith(b"LOGOUT"):
                            conn.sendall(b"* BYE " + self.text + b"\r\n" + tag + b" OK bye\r\n")
                        else:
                            conn.sendall(tag + b" NO [AUTHENTICATIONFAILED] " + self.text + b"\r\n")

    def close(self) -> None:
        self.sock.close()


def test_imap_server_words_are_inert_on_the_command_line():
    server = _HostileImap()
    try:
        config = f"""[accounts.shop]
kind = "imap"
host = "127.0.0.1"
port = {server.port}
security = "none"
user = "owner@example.com"
password_env = "OT_PW"
timeout = 5
"""
        result = _cli_in_home(["sync", "--no-send"], config, {"OT_PW": "pw"})
    finally:
        server.close()
    assert result.exit_code == 1, result.output
    assert "shop" in result.stderr
    assert_inert(result.stdout + result.stderr, sgr_only=True)


# -- the morning digest, in every format ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_digest_is_inert_in_every_format(hostile_store, fmt):
    """The digest lists contacts, subjects and review excerpts: all a stranger's text. Printed
    on a terminal it must be inert; as HTML (mailed) or markdown it must open no tag."""
    from owner_tui.cli.root import cli

    result = CliRunner().invoke(cli, ["--db", str(hostile_store.path), "digest", "--since", "30d", "--format", fmt],
                                env={"FORCE_COLOR": "1", "COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    text = assert_inert(result.output, sgr_only=True)
    assert "PWN" in text, "the digest showed none of the hostile conversations: this test would prove nothing"
    if fmt == "json":
        json.loads(result.output)
    if fmt in ("html", "markdown"):
        assert "<script" not in text.lower() and "<img" not in text.lower(), "raw HTML from a stranger"


def test_digest_mail_is_inert(hostile_store, smtp_server):
    """The digest mailed to the owner: headers honest (no stranger's text in them), the HTML
    part opens no tag a stranger wrote, the text part carries no escape sequence."""
    import os
    from email import message_from_bytes
    from email import policy as email_policy
    from pathlib import Path

    from owner_tui.cli.root import cli

    acc = hostile_store.ensure_account("imap", "shop", {"address": OWNER})
    hostile_store.ingest(acc, [MessageRecord(
        external_id="html@x", sender_handle="html@x.example", sender_name="<script>alert('PWN')</script>",
        subject="<img src=x onerror=alert('PWN')>", text="x", sent_at=to_iso(hostile_store.now() - timedelta(hours=1)))])
    smtp_server.users = {OWNER: "pw"}
    cfg = Path(os.environ["OWNER_TUI_HOME"]) / "digest.toml"
    cfg.write_text(f"""[accounts.shop]
kind = "imap"
host = "127.0.0.1"
user = "{OWNER}"
password_env = "OT_PW"
smtp_host = "{smtp_server.host}"
smtp_port = {smtp_server.port}
smtp_security = "none"
""")
    result = CliRunner().invoke(cli, ["--db", str(hostile_store.path), "--config", str(cfg), "digest", "--since", "30d",
                                      "--mail-to", OWNER], env={"OT_PW": "pw"})
    assert result.exit_code == 0, result.output
    [got] = smtp_server.messages
    assert got.rcpt_tos == (OWNER,)
    msg = message_from_bytes(got.content, policy=email_policy.default)
    for key, value in msg.items():
        assert "PWN" not in str(value), (key, value)
    parts = {p.get_content_type(): p.get_content() for p in msg.walk() if not p.is_multipart()}
    assert "PWN" in parts["text/plain"]
    assert_inert(parts["text/plain"], sgr_only=True)
    html = parts["text/html"].lower()
    for tag in ("<script", "<img"):
        assert tag not in html, f"a stranger's HTML in the digest mail: {html[html.index(tag) - 80:][:200]!r}"
    assert "&lt;img src=x" in html, "the stranger's text is missing instead of escaped"


@pytest.mark.parametrize("payload", [
    "![](http://PWN.example/pixel.png)",
    "[click me](javascript:alert('PWN'))",
    "[x][1]\n\n[1]: javascript:PWN",
    "<javascript:PWN> <http://PWN.example/>",
    "&#x5B;x&#x5D;(javascript:PWN)",
])
def test_markdown_export_and_digest_make_no_link_or_image_from_a_stranger(hostile_store, payload):
    """Issue 14, item 8: customer text is markdown text, never a link or an image (a
    tracking pixel the viewer loads, a javascript: link the owner clicks)."""
    store = hostile_store
    acc = store.ensure_account("imap", "shop", {"address": OWNER})
    store.ingest(acc, [MessageRecord(
        external_id="mdlink@x", sender_handle="mdlink@x.example", sender_name=payload,
        subject=payload, text="x", sent_at=to_iso(store.now() - timedelta(minutes=3)))])
    from owner_tui.reports.digest import build_digest
    from owner_tui.reports.digest_render import render_markdown

    outputs = [_export_all(store, "markdown"),
               render_markdown(build_digest(store, since=store.now() - timedelta(days=30)))]
    for out in outputs:
        assert "PWN" in out
        # Unescaped "[", "!" or "<", "&" would start a link, an image, an autolink or an entity.
        for active in ("](", "![", "<javascript", "<http", "&#x5B;", "]:"):
            for m in re.finditer(re.escape(active), out):
                assert out[m.start() - 1] == "\\", \
                    f"markdown syntax from a stranger: {out[max(0, m.start() - 40):m.end() + 40]!r}"
