"""The feedback commands and settings: the card in each format, the refusal to listen beyond
localhost, the QR code, and [feedback] validation that names the key and line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from owner_tui.cli.root import cli
from owner_tui.config import ConfigError, parse_config
from owner_tui.sources.feedback.card import terminal_qr


def run(tmp_path, *args, config: str = '[owner]\nbusiness = "Bäckerei <Süd> & Co"\n'):
    cfg = tmp_path / "config.toml"
    cfg.write_text(config, encoding="utf-8")
    return CliRunner().invoke(cli, ["--config", str(cfg), "--db", str(tmp_path / "s.db"), *args])


def test_the_card_in_each_format(tmp_path):
    for ext, magic in (("pdf", b"%PDF-1.4"), ("png", b"\x89PNG"), ("svg", b"<svg")):
        res = run(tmp_path, "feedback", "card", str(tmp_path / f"card.{ext}"), "--url", "http://10.0.0.5:8765/")
        assert res.exit_code == 0, res.output
        data = (tmp_path / f"card.{ext}").read_bytes()
        assert data.startswith(magic)
    svg = (tmp_path / "card.svg").read_text()
    assert "Bäckerei &lt;Süd&gt; &amp; Co" in svg and "http://10.0.0.5:8765/" in svg
    assert b"(B\xe4ckerei <S\xfcd> & Co) Tj" in (tmp_path / "card.pdf").read_bytes()
    bad = run(tmp_path, "feedback", "card", str(tmp_path / "card.docx"))
    assert bad.exit_code == 2 and ".svg, .png or .pdf" in bad.output


def test_serve_refuses_the_network_unless_told(tmp_path):
    res = run(tmp_path, "feedback", "serve", "--host", "0.0.0.0", "--no-qr")
    assert res.exit_code == 2 and "public = true" in res.output


def test_the_qr_code_prints_in_the_terminal():
    qr = terminal_qr("http://192.168.1.20:8765/").splitlines()
    assert len(qr) >= 15 and len({len(line) for line in qr}) == 1 and set("".join(qr)) <= set("█▀▄ ")


@pytest.mark.parametrize("text,key", [
    ('[feedback]\nlanguages = ["en", "xx"]\n', "feedback.languages"),
    ('[feedback]\nalert_rating = 6\n', "feedback.alert_rating"),
    ('[feedback]\nreview_links = { Google = "http://x" }\n', "feedback.review_links"),
    ('[feedback]\ntls_cert = "c.pem"\n', "feedback.tls_key"),
    ('[feedback]\nport = 70000\n', "feedback.port"),
    ('[feedback]\nrate_per_minit = 3\n', "feedback.rate_per_minit"),
])
def test_feedback_settings_are_checked(text, key):
    with pytest.raises(ConfigError) as err:
        parse_config("\n" + text)
    assert err.value.key == key and err.value.line is not None


def test_feedback_defaults_and_values():
    cfg = parse_config('[feedback]\nlanguages = ["fr", "en"]\ntables = ["Bar"]\nalert_rating = 2\n')
    fb = cfg.feedback
    assert fb.host == "127.0.0.1" and not fb.public and fb.languages == ("fr", "en") and fb.tables == ("Bar",)
    assert parse_config("").feedback.alert_rating == 3
