"""The on-site feedback page against the real server (uvicorn on 127.0.0.1, httpx): what a
customer sees, what lands in the store, and every defence of an internet-facing form."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from owner_tui.sources.feedback.server import BackgroundServer, ServeError
from owner_tui.store import Store
from tests.feedback_support import TOKEN, feedback_config, fill, serve


@pytest.fixture
def site(tmp_path):
    srv = serve(tmp_path, feedback_config(rate_per_minute=1000))  # the limit has its own test
    yield srv
    srv.stop()


@pytest.fixture
def client(site):
    with httpx.Client(base_url=f"http://127.0.0.1:{site.port}", timeout=10) as c:
        yield c


def rows(tmp_path, sql: str = "SELECT channel, status, waiting_since, subject, rating, excerpt FROM conversations"):
    with Store.open(tmp_path / "store.db") as s:
        return [dict(r) for r in s.db.query(sql)]


def messages(tmp_path):
    return rows(tmp_path, "SELECT external_id, text, rating, sender_handle, sender_name, extra FROM messages")


def test_the_form_is_small_accessible_and_needs_no_script(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert len(r.content) < 50_000  # the whole page: no other resources are loaded
    print(f"\nthe form page: {len(r.content)} bytes, no other resource")
    body = r.text
    assert "<script" not in body.lower() and "javascript:" not in body.lower()
    for field in ("comment", "table", "name", "contact"):
        assert f'<label for="{field}">' in body and f'id="{field}"' in body
    assert body.count('type="radio" name="rating"') == 5 and "<legend" in body
    assert 'lang="en"' in body and "Corner Café" in body and 'name="viewport"' in body


def test_security_headers_on_every_answer(client):
    for r in (client.get("/"), client.get("/admin"), client.put("/")):
        h = r.headers
        assert "default-src 'none'" in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer" and h["cache-control"] == "no-store"
        assert "server" not in h


def test_no_other_routes(client):
    for path in ("/admin", "/list", "/static/x.css", "/favicon.ico", "/?x=1/../admin", "/docs", "/openapi.json"):
        r = client.get(path)
        assert r.status_code in (200, 404), path
        if r.status_code == 200:
            assert path.startswith("/?")  # query strings reach the form, nothing else
    assert client.put("/").status_code == 405 and client.delete("/").status_code == 405


def test_a_submission_lands_within_a_second_and_awaits_a_reply(client, tmp_path):
    started = time.monotonic()
    r = fill(client, rating=2, comment="Soup was cold.\nWaited 20 min.", table="4", name="Ann",
             contact="Ann@Example.com")
    took = time.monotonic() - started
    print(f"\nform fetched, posted and stored in {took * 1000:.0f} ms")
    assert r.status_code == 200 and "Thank you" in r.text and took < 1.0
    [conv] = rows(tmp_path)
    assert conv["channel"] == "on-site" and conv["status"] == "open" and conv["waiting_since"]
    assert conv["rating"] == 2 and "table 4" in conv["subject"]
    [msg] = messages(tmp_path)
    assert msg["sender_handle"] == "ann@example.com" and msg["sender_name"] == "Ann"
    assert msg["text"] == "Soup was cold.\nWaited 20 min." and '"table": "4"' in msg["extra"]


def test_a_resent_form_lands_once(client, tmp_path):
    page = client.get("/")
    data = {"token": TOKEN.search(page.text).group(1), "lang": "en", "rating": "4", "comment": "Nice"}
    assert client.post("/", data=data).status_code == 200
    client.cookies.set("owner_tui_form", data["token"])  # the browser's back button + resend
    assert client.post("/", data=data).status_code == 200
    assert len(messages(tmp_path)) == 1


def test_csrf_token_and_cookie_are_both_needed(client, tmp_path):
    page = client.get("/")
    token = TOKEN.search(page.text).group(1)
    client.cookies.clear()
    r = client.post("/", data={"token": token, "rating": "1", "comment": "x"})
    assert r.status_code == 403 and "too long" in r.text
    forged = token[:-4] + "0000"
    client.cookies.set("owner_tui_form", forged)
    assert client.post("/", data={"token": forged, "rating": "1"}).status_code == 403
    other = httpx.post(str(client.base_url) + "/", data={"rating": "1", "comment": "cross-site"})
    assert other.status_code == 403
    assert messages(tmp_path) == []


def test_the_honeypot_thanks_the_bot_and_stores_nothing(client, tmp_path):
    r = fill(client, rating=5, comment="buy pills", website="http://spam.example")
    assert r.status_code == 200 and "Thank you" in r.text
    assert messages(tmp_path) == []


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\x1b]52;c;ZXZpbA==\x07'


def test_bad_input_gets_a_clear_page_with_nothing_rendered_and_nothing_stored(client, tmp_path):
    r = fill(client, rating=9, comment=HOSTILE, name=HOSTILE[:90], contact="not an address@")
    assert r.status_code == 400
    assert "Choose a rating from 1 to 5 stars." in r.text and "does not look right" in r.text
    assert "<script>alert" not in r.text and "<img src=x" not in r.text and "\x1b" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#x27;" not in r.text  # quotes escaped as &quot;
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img" in r.text  # refilled, as text
    assert messages(tmp_path) == []


def test_hostile_text_is_stored_as_text(client, tmp_path):
    assert fill(client, rating=1, comment=HOSTILE).status_code == 200
    [msg] = messages(tmp_path)
    assert "<script>" in msg["text"] and "\x1b" not in msg["text"] and "\x07" not in msg["text"]


@pytest.mark.parametrize("field,size", [("comment", 2001), ("name", 101), ("contact", 201), ("table", 41)])
def test_every_field_has_a_limit(client, tmp_path, field, size):
    r = fill(client, rating=3, **{field: "a" * size})
    assert r.status_code in (400, 413) and messages(tmp_path) == []
    if field == "comment":
        assert "Your message is too long (at most 2000 characters)." in r.text


def test_body_size_content_type_and_unknown_fields(client, tmp_path):
    page = client.get("/")
    token = TOKEN.search(page.text).group(1)
    big = client.post("/", content=b"comment=" + b"a" * 20_000,
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413
    chunked = client.post("/", content=iter([b"comment=", b"a" * 9000]),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert chunked.status_code == 413
    assert client.post("/", json={"rating": 5}).status_code == 415
    assert client.post("/", data={"token": token, "rating": "5", "admin": "1"}).status_code == 400
    assert client.post("/", content=b"rating=5&rating=1&token=" + token.encode(),
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert client.post("/", content=b"\xff\xfe=1", headers={"content-type": "application/x-www-form-urlencoded"}
                       ).status_code == 400
    assert messages(tmp_path) == []


def test_per_client_rate_limit(tmp_path):
    with serve(tmp_path, feedback_config(rate_per_minute=3)) as srv, \
            httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as c:
        codes = [fill(c, rating=5, comment=f"visit {i}").status_code for i in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        blocked = fill(c, rating=5)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "wait a minute" in blocked.text
    assert len(messages(tmp_path)) == 3


def test_review_links_are_offered_to_every_rating_alike(tmp_path):
    cfg = feedback_config(review_links={"Google": "https://g.page/r/corner/review"})
    with serve(tmp_path, cfg) as srv, httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as c:
        low, high = fill(c, rating=1, comment="bad"), fill(c, rating=5, comment="great")
    for r in (low, high):
        assert 'href="https://g.page/r/corner/review"' in r.text
    strip = lambda t: re.sub(r"<[^>]+>", "", t)  # noqa: E731
    assert strip(low.text) == strip(high.text)


def test_languages_the_owner_configured(tmp_path):
    cfg = feedback_config(languages=["en", "fr"])
    with serve(tmp_path, cfg) as srv, httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as c:
        fr = c.get("/", headers={"accept-language": "fr-CH, fr;q=0.9, en;q=0.8"})
        assert 'lang="fr"' in fr.text and "Comment s&#x27;est passée votre visite ?" in fr.text
        assert 'href="/?lang=en"' in fr.text
        de = c.get("/", headers={"accept-language": "de"})  # not offered: the owner's first language
        assert 'lang="en"' in de.text
        assert 'lang="fr"' in c.get("/?lang=fr").text


def test_refuses_to_listen_beyond_localhost_unless_told(tmp_path):
    with pytest.raises(ServeError, match="public = true"):
        BackgroundServer(tmp_path / "s.db", feedback_config(host="0.0.0.0"), port=0)
    srv = BackgroundServer(tmp_path / "s.db", feedback_config(host="0.0.0.0"), port=0, public=True)
    srv.sock.close()


def test_tls_with_the_owners_certificate(tmp_path):
    from tests.servers.smtp import shared_cert

    cert = shared_cert()
    cfg = feedback_config(tls_cert=str(cert.cert), tls_key=str(cert.key))
    with serve(tmp_path, cfg) as srv:
        with httpx.Client(base_url=f"https://localhost:{srv.port}", verify=cert.client_context()) as c:
            r = c.get("/")
            assert r.status_code == 200 and "max-age" in r.headers["strict-transport-security"]
            assert 'secure' in r.headers["set-cookie"].lower()
            assert fill(c, rating=4, comment="ok").status_code == 200
