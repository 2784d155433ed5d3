"""The shared HTTP helper: size cap, secrets kept out of errors, redirects, connection failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from owner_tui.sources.reviews.http import (
    Http,
    SourceError,
    StaticToken,
    clean_text,
    parse_retry_after,
    platform_error,
)
from tests.servers.review_apis import YELP_KEY, api, ft, now_iso  # noqa: F401


def yelp_http(ft, **kw) -> Http:
    return Http("Yelp", auth=StaticToken(YELP_KEY, "Yelp"), qpm=0, sleep=ft.sleep, clock=ft.clock, **kw)


def test_response_larger_than_the_cap_is_refused(api, ft):
    api.yelp_reviews["biz-1"] = [{"id": f"y{i}", "text": "x" * 400, "rating": 5, "time_created": "2026-11-01 10:00:00",
                                  "user": {"id": "u", "name": "U"}, "url": "https://yelp.example/r"} for i in range(3)]
    with yelp_http(ft, max_bytes=500) as http:
        with pytest.raises(SourceError, match="more than the 500-byte limit") as err:
            http.get_json(f"{api.url}/v3/businesses/biz-1/reviews")
    assert not err.value.retryable
    with yelp_http(ft) as http:
        assert len(http.get_json(f"{api.url}/v3/businesses/biz-1/reviews")["reviews"]) == 3


def test_secrets_never_reach_the_error_text(api, ft):
    echo = f"token {YELP_KEY} rejected; Authorization: Bearer abc.def-123 url ?access_token=zzz999&x=1"
    api.fault("GET", "/v3/", 400, {"error": {"code": "VALIDATION_ERROR", "description": echo}})
    with yelp_http(ft) as http:
        with pytest.raises(SourceError) as err:
            http.get_json(f"{api.url}/v3/businesses/biz-1/reviews", {"apikey": "query-secret-1"})
    text = str(err.value)
    assert "HTTP 400" in text and "rejected" in text and err.value.code == "VALIDATION_ERROR"
    for secret in (YELP_KEY, "abc.def-123", "zzz999", "query-secret-1"):
        assert secret not in text


def test_redirects_are_not_followed(api, ft):
    api.fault("GET", "/v3/", 302, headers={"Location": "http://127.0.0.1:9/steal"})
    with yelp_http(ft) as http:
        with pytest.raises(SourceError, match="redirect"):
            http.get_json(f"{api.url}/v3/businesses/biz-1/reviews")
    assert len(api.requests("GET", "/v3/")) == 1


def test_connection_refused_is_retried_then_reported_plainly(ft):
    with yelp_http(ft, max_attempts=3) as http:
        with pytest.raises(SourceError) as err:
            http.get_json("http://127.0.0.1:9/v3/businesses/x/reviews")
    assert err.value.retryable and "could not connect to 127.0.0.1:9" in str(err.value)
    assert ft.sleeps == [1.0, 2.0]


def test_backoff_is_capped(api, ft):
    api.fault("GET", "/v3/", 500, count=6)
    with yelp_http(ft, max_attempts=6, backoff=10, max_backoff=25) as http:
        with pytest.raises(SourceError, match="gave up after 6 tries"):
            http.get_json(f"{api.url}/v3/businesses/biz-1/reviews")
    assert ft.sleeps == [10, 20, 25, 25, 25]


def test_parse_retry_after_forms():
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Sun, 22 Nov 2026 09:01:30 GMT", now) == 90.0
    assert parse_retry_after("Sun, 22 Nov 2026 08:00:00 GMT", now) == 0.0  # in the past: go now
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_platform_error_reads_every_documented_shape():
    assert platform_error({"error": {"code": 400, "message": "Bad", "status": "INVALID_ARGUMENT"}}) == \
        ("Bad", "INVALID_ARGUMENT")
    assert platform_error({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}) == \
        ("invalid_grant: Token has been expired or revoked.", "invalid_grant")
    assert platform_error({"error": {"code": "ACCESS_LIMIT_REACHED", "description": "Daily"}}) == \
        ("Daily", "ACCESS_LIMIT_REACHED")
    assert platform_error({"error": {"message": "(#12) gone", "type": "OAuthException", "code": 12}}) == \
        ("(#12) gone", 12)
    assert platform_error({"message": "Invalid username"}) == ("Invalid username", None)
    assert platform_error({"errors": [{"message": "first"}]}) == ("first", None)
    assert platform_error(["not", "a", "dict"]) == (None, None)


def test_clean_text_hides_credentials_but_keeps_plain_words():
    assert clean_text("Basic authentication required") == "Basic authentication required"
    assert clean_text("got Basic dXNlcjpwYXNzMTIz here") == "got Basic [hidden] here"


def test_clean_text_strips_control_characters_and_shortens():
    text = clean_text("evil\x1b[31m s3cret-value\x07 " + "y" * 500, secrets=["s3cret-value"])
    assert "\x1b" not in text and "\x07" not in text and "s3cret" not in text and "[hidden]" in text
    assert len(text) == 300 and text.endswith("…")


def test_now_iso_helper_is_utc():  # the server's reply times must sort with the client's
    assert now_iso().endswith("Z")
