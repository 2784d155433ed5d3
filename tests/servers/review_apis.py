"""Local HTTP servers that speak the review platforms' contracts (external-apis.md 1-4).

One ``ReviewAPIServer`` on 127.0.0.1 (stdlib ``http.server`` in a thread) answers for Google
(token + consent endpoints, accounts, locations, reviews, reply), Trustpilot (password grant
with Basic auth and a string ``expires_in``, refresh, private reviews with ``links``, reply),
Yelp (three excerpts) and Facebook (ratings with cursor paging, deprecation and permission
errors). The paths do not collide, so every client's base URL points at the same server.

Faults are scripted per path prefix: a status with a body and headers (429 + Retry-After,
500), garbage or truncated bodies. Every object carries fields the clients do not know, as
the real APIs add fields without notice. Everything received is in ``log``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.servers.local_http import LocalHTTPServer

GOOGLE_CLIENT = ("client-123.apps.example", "client-secret-xyz")
TP_KEY, TP_SECRET, TP_USER, TP_PASSWORD = "tp-key-1", "tp-secret-1", "owner@example.com", "tp-pass-1"
YELP_KEY = "yelp-key-1"
YELP_PARTNER_TOKEN = "yelp-partner-token-1"
FB_TOKEN = "fb-page-token-1"
UNKNOWN = {"newField2026": {"nested": [1, 2, 3]}, "reviewMediaItems": []}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def google_review(rid: str, *, stars: str = "FIVE", comment: str | None = "Great!", create: str,
                  update: str | None = None, name: str = "Ann", anonymous: bool = False,
                  reply: tuple[str, str] | None = None, parent: str = "accounts/1/locations/10") -> dict:
    r: dict[str, Any] = {"name": f"{parent}/reviews/{rid}", "reviewId": rid, "starRating": stars,
                         "createTime": create, "updateTime": update or create,
                         "reviewer": {"isAnonymous": True} if anonymous else
                         {"displayName": name, "profilePhotoUrl": "https://example.invalid/p.png", "isAnonymous": False},
                         **UNKNOWN}
    if comment is not None:
        r["comment"] = comment
    if reply:
        r["reviewReply"] = {"comment": reply[0], "updateTime": reply[1], "someNewState": "PUBLISHED"}
    return r


def tp_review(rid: str, *, stars: int = 5, text: str = "Good shop", created: str, updated: str | None = None,
              name: str = "Bo", reply: tuple[str, str] | None = None) -> dict:
    r: dict[str, Any] = {"id": rid, "stars": stars, "title": f"Title {rid}", "text": text, "language": "en",
                         "createdAt": created, "updatedAt": updated, "isVerified": True,
                         "consumer": {"id": f"c-{rid}", "displayName": name, "numberOfReviews": 3},
                         "referenceEmail": f"{name.lower()}@example.org", "referenceId": f"order-{rid}", **UNKNOWN}
    r["companyReply"] = {"text": reply[0], "createdAt": reply[1]} if reply else None
    return r


@dataclass
class Fault:
    method: str
    prefix: str
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 1
    truncate: bool = False  # announce more bytes than sent, then close


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def _gerror(status: int, code: str, message: str) -> tuple[int, dict, Any]:
    return status, {}, {"error": {"code": status, "message": message, "status": code}}


class ReviewAPIServer(LocalHTTPServer):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[Seen] = []
        self.faults: list[Fault] = []
        self.tokens: dict[str, str] = {}  # access token -> platform; removed when "expired"
        # Google
        self.google_refresh_tokens = {"rt-good"}
        self.auth_codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.consent_error: str | None = None
        self.accounts = [{"name": "accounts/1", "accountName": "Bakery", "type": "PERSONAL"}]
        self.locations = {"accounts/1": [{"name": "locations/10", "title": "Main St", "storeCode": "A"}]}
        self.reviews: dict[str, list[dict]] = {"accounts/1/locations/10": []}
        self.reject_word = "forbidden"
        self.reply_time: str | None = None  # fixed updateTime for replies, else now
        # Issue 15: how Google behaves over days of real use
        self.quota_zero = False  # a Cloud project not yet approved: every call 429, quota_limit_value 0
        self.disabled_api: str | None = None  # a service name: its calls answer 403 SERVICE_DISABLED
        self.unverified: set[str] = set()  # location parents whose reviews answer FAILED_PRECONDITION
        self.broken_accounts: set[str] = set()  # accounts whose location listing is refused
        self.moderation: str | None = None  # a state new replies get ("PENDING"), else none
        # Trustpilot
        self.tp_refresh_tokens: set[str] = set()
        self.tp_refresh_works = True
        self.tp_grants: list[str] = []
        self.tp_reviews: dict[str, list[dict]] = {"bu-1": []}
        self.tp_links = True
        self.tp_deleted_replies: list[str] = []
        # Yelp, Facebook
        self.yelp_reviews: dict[str, list[dict]] = {"biz-1": []}
        self.yelp_total: int | None = None  # Yelp's "total" (all reviews on Yelp), else len(reviews)
        self.yelp_trial = False  # a trial (Starter) key: 404 on the reviews endpoint
        # Yelp's partner Respond to Reviews API (docs.developer.yelp.com, "Respond to Reviews API")
        self.yelp_responses: dict[str, list[dict]] = {}  # review id -> responses posted
        self.yelp_r2r_error: str | None = None  # an R2R error id every response gets, e.g. R2R_PROBLEM_WITH_USER_PHOTO
        self.fb_ratings: dict[str, list[dict]] = {"page-1": []}
        self.fb_refuse: str | None = None  # "permission" | "token"
        super().__init__(_Handler)

    # -- test controls -----------------------------------------------------------------------

    def fault(self, method: str, prefix: str, status: int = 500, body: Any = b"", *, headers: dict | None = None,
              count: int = 1, truncate: bool = False) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self.lock:
            self.faults.append(Fault(method, prefix, status, raw, headers or {}, count, truncate))

    def moderate(self, parent: str, rid: str, state: str, reason: str | None = None) -> None:
        """Google's moderation decides on a reply (PENDING -> PUBLISHED or REJECTED)."""
        with self.lock:
            review = next(r for r in self.reviews[parent] if r["reviewId"] == rid)
            review["reviewReply"]["state"] = state
            if reason:
                review["reviewReply"]["policyViolation"] = {"type": "POLICY_VIOLATION", "description": reason}

    def delete_review(self, parent: str, rid: str) -> None:
        with self.lock:
            self.reviews[parent] = [r for r in self.reviews[parent] if r["reviewId"] != rid]

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def requests(self, method: str | None = None, prefix: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.log if (method is None or s.method == method) and s.path.startswith(prefix)]

    def google_options(self, **over: Any) -> dict[str, Any]:
        return {"client_id": GOOGLE_CLIENT[0], "base_url": self.url, "accounts_url": self.url,
                "locations_url": self.url, "token_url": f"{self.url}/token", "lookback_days": 0, **over}

    def tp_options(self, **over: Any) -> dict[str, Any]:
        return {"base_url": self.url, "business_unit_id": "bu-1", "username": TP_USER,
                "author_business_user_id": "bizuser-1", "lookback_days": 0, **over}

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, dict, Any, Fault | None]:
        with self.lock:
            self.log.append(Seen(method, path, query, headers, body))
            for f in self.faults:
                if f.method == method and path.startswith(f.prefix) and f.count > 0:
                    f.count -= 1
                    return f.status, f.headers, f.body, f
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if body and \
            headers.get("content-type", "").startswith("application/x-www-form-urlencoded") else {}
        if path == "/o/oauth2/v2/auth":
            return (*self._consent(query), None)
        if path == "/token":
            return (*self._google_token(form), None)
        if path.startswith("/v1/oauth/oauth-business-users-for-applications/"):
            return (*self._tp_token(path.rsplit("/", 1)[-1], form, headers), None)
        if path.startswith(("/v1/accounts", "/v4/")):
            return (*self._google_api(method, path, query, headers, body), None)
        if path.startswith("/v1/private/"):
            return (*self._tp_api(method, path, query, headers, body), None)
        if path.startswith("/v3/businesses/"):
            return (*self._yelp(path, headers), None)
        if path.startswith("/reviews/v1/"):
            return (*self._yelp_r2r(method, path, headers, body), None)
        if path.split("/")[1].startswith("v") and path.endswith("/ratings"):
            return (*self._facebook(path, query, headers), None)
        return 404, {}, {"error": {"code": 404, "message": f"no route {path}", "status": "NOT_FOUND"}}, None

    def _issue(self, platform: str) -> str:
        token = f"{platform}-at-{secrets.token_hex(8)}"
        self.tokens[token] = platform
        return token

    def _authed(self, headers: dict[str, str], platform: str, query: dict | None = None) -> bool:
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else (query or {}).get("access_token", "")
        if platform in ("yelp", "facebook"):
            return token == {"yelp": YELP_KEY, "facebook": FB_TOKEN}[platform]
        with self.lock:
            return self.tokens.get(token) == platform

    # -- Google ------------------------------------------------------------------------------

    def _consent(self, q: dict[str, str]) -> tuple[int, dict, Any]:
        ok = (q.get("response_type") == "code" and q.get("client_id") == GOOGLE_CLIENT[0]
              and q.get("access_type") == "offline" and q.get("prompt") == "consent"
              and q.get("code_challenge_method") == "S256" and q.get("redirect_uri", "").startswith("http://127.0.0.1:"))
        if not ok:
            return 400, {}, {"error": "invalid_request", "error_description": "bad consent parameters"}
        back = {"state": q.get("state", "")}
        if self.consent_error:
            back["error"] = self.consent_error
        else:
            code = "code-" + secrets.token_hex(6)
            with self.lock:
                self.auth_codes[code] = (q["code_challenge"], q["redirect_uri"])
            back["code"] = code
        return 302, {"Location": f"{q['redirect_uri']}?{urlencode(back)}"}, b""

    def _google_token(self, form: dict[str, str]) -> tuple[int, dict, Any]:
        if (form.get("client_id"), form.get("client_secret")) != GOOGLE_CLIENT:
            return 401, {}, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        with self.lock:
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in self.google_refresh_tokens:
                    return 400, {}, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                return 200, {}, {"access_token": self._issue("google"), "expires_in": 3599, "token_type": "Bearer",
                                 "scope": "https://www.googleapis.com/auth/business.manage"}
            if form.get("grant_type") == "authorization_code":
                challenge, redirect = self.auth_codes.pop(form.get("code", ""), ("", ""))
                verifier = form.get("code_verifier", "").encode()
                expected = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
                if not challenge or redirect != form.get("redirect_uri") or expected != challenge:
                    return 400, {}, {"error": "invalid_grant", "error_description": "Bad code or verifier."}
                refresh = "rt-" + secrets.token_hex(6)
                self.google_refresh_tokens.add(refresh)
                return 200, {}, {"access_token": self._issue("google"), "expires_in": 3599, "token_type": "Bearer",
                                 "refresh_token": refresh, "scope": "business.manage"}
        return 400, {}, {"error": "unsupported_grant_type"}

    def _google_api(self, method: str, path: str, q: dict[str, str], headers: dict[str, str],
                    body: bytes) -> tuple[int, dict, Any]:
        if not self._authed(headers, "google"):
            return _gerror(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        service = "mybusinessaccountmanagement.googleapis.com" if path.startswith("/v1/accounts") and \
            not path.endswith("/locations") else "mybusinessbusinessinformation.googleapis.com" \
            if path.startswith("/v1/") else "mybusiness.googleapis.com"
        if self.quota_zero:
            return 429, {}, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": (
                f"Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
                f"'{service}' for consumer 'project_number:1234'."), "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "googleapis.com", "metadata": {"quota_limit_value": "0", "service": service,
                                                              "consumer": "projects/1234"}}]}}
        if self.disabled_api == service:
            url = f"https://console.developers.google.com/apis/api/{service}/overview?project=1234"
            return 403, {}, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": (
                f"{service} has not been used in project 1234 before or it is disabled. Enable it by visiting "
                f"{url} then retry."), "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com", "metadata": {"service": service, "activationUrl": url,
                                                              "consumer": "projects/1234"}}]}}
        parts = path.strip("/").split("/")
        if path == "/v1/accounts":
            return self._page(self.accounts, q, "accounts", 20)
        if parts[:1] == ["v1"] and parts[-1] == "locations":
            if not q.get("readMask"):
                return _gerror(400, "INVALID_ARGUMENT", "Request contains an invalid argument: readMask is required.")
            if "/".join(parts[1:3]) in self.broken_accounts:
                return _gerror(403, "PERMISSION_DENIED", "The caller does not have permission")
            return self._page(self.locations.get("/".join(parts[1:3]), []), q, "locations", 100)
        parent = "/".join(parts[1:5])
        if parent in self.unverified:
            return _gerror(400, "FAILED_PRECONDITION", "Precondition check failed: the location is not verified.")
        if parts[-1] == "reviews" and method == "GET":
            if int(q.get("pageSize", 50)) > 50:
                return _gerror(400, "INVALID_ARGUMENT", "pageSize must be at most 50.")
            if q.get("orderBy", "updateTime desc") != "updateTime desc":
                return _gerror(400, "INVALID_ARGUMENT", "unsupported orderBy")
            items = sorted(self.reviews.get(parent, []), key=lambda r: r["updateTime"], reverse=True)
            status, h, data = self._page(items, q, "reviews", 50)
            data.update(averageRating=4.5, totalReviewCount=len(items))
            return status, h, data
        review = next((r for r in self.reviews.get(parent, []) if len(parts) > 6 and r["reviewId"] == parts[6]), None)
        if review is None:
            return _gerror(404, "NOT_FOUND", "Requested entity was not found.")
        if parts[-1] == "reply" and method == "PUT":
            comment = json.loads(body or b"{}").get("comment", "")
            if self.reject_word in comment:
                return _gerror(400, "INVALID_ARGUMENT", "The reply contains content that is not allowed.")
            review["reviewReply"] = {"comment": comment, "updateTime": self.reply_time or now_iso()}
            if self.moderation:
                review["reviewReply"]["state"] = self.moderation
            return 200, {}, {**review["reviewReply"], **UNKNOWN}
        if parts[-1] == "reply" and method == "DELETE":
            review.pop("reviewReply", None)
            return 200, {}, {}
        if method == "GET" and len(parts) == 7:
            return 200, {}, review
        return _gerror(405, "INVALID_ARGUMENT", "method not allowed")

    def _page(self, items: list, q: dict[str, str], key: str, maximum: int) -> tuple[int, dict, dict]:
        size = min(int(q.get("pageSize", maximum)), maximum)
        start = int(base64.b64decode(q["pageToken"]).decode()) if q.get("pageToken") else 0
        data: dict[str, Any] = {key: items[start:start + size], **UNKNOWN}
        if start + size < len(items):
            data["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
        return 200, {}, data

    # -- Trustpilot ---------------------------------------------------------------------------

    def _tp_token(self, which: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, dict, Any]:
        basic = base64.b64encode(f"{TP_KEY}:{TP_SECRET}".encode()).decode()
        if headers.get("authorization") != f"Basic {basic}":
            return 401, {}, {"fault": {"faultstring": "Invalid ApiKey"}, "message": "Invalid API key or secret"}
        with self.lock:
            self.tp_grants.append(form.get("grant_type", "?"))
            if which == "accesstoken" and form.get("grant_type") == "password":
                if (form.get("username"), form.get("password")) != (TP_USER, TP_PASSWORD):
                    return 401, {}, {"message": "Invalid username or password"}
            elif which == "refresh" and form.get("grant_type") == "refresh_token":
                if not self.tp_refresh_works:
                    return 404, {}, {"message": "Not found"}
                if form.get("refresh_token") not in self.tp_refresh_tokens:
                    return 400, {}, {"error": "invalid_grant", "error_description": "refresh token expired"}
            else:
                return 400, {}, {"error": "unsupported_grant_type"}
            refresh = "tpr-" + secrets.token_hex(6)
            self.tp_refresh_tokens.add(refresh)
            return 200, {}, {"access_token": self._issue("trustpilot"), "refresh_token": refresh,
                             "expires_in": "359999", "token_type": "BearerToken", "issued_at": "1740395920"}

    def _tp_api(self, method: str, path: str, q: dict[str, str], headers: dict[str, str],
                body: bytes) -> tuple[int, dict, Any]:
        if not self._authed(headers, "trustpilot"):
            return 401, {}, {"message": "Unauthorized", "errorCode": 401}
        parts = path.strip("/").split("/")
        if parts[2] == "business-units" and parts[-1] == "reviews":
            items = sorted(self.tp_reviews.get(parts[3], []), key=lambda r: r["createdAt"], reverse=True)
            page, per = int(q.get("page", 1)), min(int(q.get("perPage", 20)), 100)
            chunk = items[(page - 1) * per: page * per]
            links = [{"href": f"{self.url}{path}?page={page}", "method": "GET", "rel": "self"}]
            if page * per < len(items):
                links.append({"href": f"{self.url}{path}?page={page + 1}&perPage={per}", "method": "GET",
                              "rel": "next-page"})
            data: dict[str, Any] = {"reviews": chunk, **UNKNOWN}
            if self.tp_links:
                data["links"] = links
            return 200, {}, data
        review = next((r for bu in self.tp_reviews.values() for r in bu if r["id"] == parts[3]), None)
        if review is None:
            return 404, {}, {"message": "Review not found"}
        if method == "POST" and parts[-1] == "reply":
            payload = json.loads(body or b"{}")
            if not payload.get("message") or not payload.get("authorBusinessUserId"):
                return 400, {}, {"message": "message and authorBusinessUserId are required"}
            review["companyReply"] = {"text": payload["message"], "createdAt": now_iso()}
            return 201, {}, b""
        if method == "DELETE" and parts[-1] == "reply":
            review["companyReply"] = None
            self.tp_deleted_replies.append(parts[3])
            return 204, {}, b""
        if method == "GET" and len(parts) == 4:
            return 200, {}, review
        return 405, {}, {"message": "method not allowed"}

    # -- Yelp and Facebook ---------------------------------------------------------------------

    def _yelp_r2r(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, Any]:
        """``POST /reviews/v1/{review_id}`` as documented: a Bearer business-owner token, a JSON
        body ``{"response_text", "response_type": "public_comment"}``, errors as
        ``{"error": {"id", "description", "http_code"}}``."""

        def error(status: int, eid: str, text: str) -> tuple[int, dict, Any]:
            return status, {}, {"error": {"id": eid, "description": text, "http_code": status}}

        if method != "POST":
            return error(400, "INVALID_REQUEST", "Unsupported method.")
        if headers.get("authorization") != f"Bearer {YELP_PARTNER_TOKEN}":
            return error(401, "INVALID_TOKEN", "The access token provided is expired, revoked, malformed, or invalid.")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return error(400, "INVALID_REQUEST", "Body is not JSON.")
        if set(data) != {"response_text", "response_type"}:
            return error(400, "INVALID_REQUEST", "Missing a required parameter or includes an unsupported one.")
        if data["response_type"] != "public_comment":
            return error(400, "R2R_INVALID_RESPONSE_TYPE", "Invalid response type.")
        text = data["response_text"]
        if not isinstance(text, str) or not text.strip() or len(text) > 5000:
            return error(400, "R2R_INVALID_RESPONSE_TEXT", "Invalid response text.")
        rid = path.rsplit("/", 1)[-1]
        with self.lock:
            if self.yelp_r2r_error:
                return error(400, self.yelp_r2r_error, "Refused by the test server.")
            if not any(r.get("id") == rid for items in self.yelp_reviews.values() for r in items):
                return error(400, "R2R_REVIEW_DOES_NOT_EXIST", "Review does not exist.")
            self.yelp_responses.setdefault(rid, []).append({"response_text": text})
        return 200, {}, {}

    def _yelp(self, path: str, headers: dict[str, str]) -> tuple[int, dict, Any]:
        if not self._authed(headers, "yelp"):
            return 401, {}, {"error": {"code": "TOKEN_INVALID", "description": "Invalid access token"}}
        items = self.yelp_reviews.get(path.split("/")[3])
        if items is None:
            return 404, {}, {"error": {"code": "BUSINESS_NOT_FOUND", "description": "Business not found."}}
        if self.yelp_trial:
            return 404, {}, {"error": {"code": "NOT_FOUND", "description": "Resource could not be found."}}
        total = self.yelp_total if self.yelp_total is not None else len(items)
        return 200, {}, {"total": total, "possible_languages": ["en"], "reviews": items[:3], **UNKNOWN}

    def _facebook(self, path: str, q: dict[str, str], headers: dict[str, str]) -> tuple[int, dict, Any]:
        version, page_id = path.split("/")[1], path.split("/")[2]
        if not self._authed(headers, "facebook", q) or self.fb_refuse == "token":
            return 400, {}, {"error": {"message": "Error validating access token: Session has expired",
                                       "type": "OAuthException", "code": 190, "fbtrace_id": "x"}}
        if float(version[1:]) >= 22:
            return 400, {}, {"error": {"message": "(#12) Recommendations are deprecated for versions v22.0 and "
                                       "higher", "type": "OAuthException", "code": 12, "fbtrace_id": "x"}}
        if self.fb_refuse == "permission":
            return 403, {}, {"error": {"message": "(#283) Requires pages_read_user_content permission",
                                       "type": "OAuthException", "code": 283, "fbtrace_id": "x"}}
        items = self.fb_ratings.get(page_id, [])
        start = int(base64.b64decode(q["after"]).decode()) if q.get("after") else 0
        size = int(q.get("limit", 25))
        data: dict[str, Any] = {"data": items[start:start + size], **UNKNOWN}
        if start + size < len(items):
            after = base64.b64encode(str(start + size).encode()).decode()
            data["paging"] = {"cursors": {"before": "b", "after": after},
                              "next": f"{self.url}{path}?access_token={FB_TOKEN}&limit={size}&after={after}"}
        return 200, {}, data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        api: ReviewAPIServer = self.server.api  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload, fault = api.handle(self.command, url.path, query, headers, body)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        if raw or status not in (201, 204, 302):
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(raw) + (1000 if fault and fault.truncate else 0)))
        if fault and fault.truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 (http.server API)

    def log_message(self, *args: Any) -> None:
        pass


class FakeTime:
    """The only fake: a clock that moves when the code sleeps, and a record of every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        #: The wall clock moves with the fake one (token expiry is kept on the wall clock).
        self.start = datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def runtime(self):
        from owner_tui.sources.reviews.common import Runtime
        return Runtime(sleep=self.sleep, clock=self.clock, wallclock=self.wallclock)

    def wallclock(self) -> datetime:
        return self.start + timedelta(seconds=self.now - 1000.0)


# -- pytest fixtures (import them into a test module to use them) -----------------------------

import pytest  # noqa: E402


@pytest.fixture
def api():
    """A running ``ReviewAPIServer``; process-wide token caches are cleared around it."""
    from owner_tui.sources.reviews import oauth, trustpilot

    oauth.clear_token_cache()
    trustpilot.clear_token_cache()
    server = ReviewAPIServer().start()
    yield server
    server.stop()
    oauth.clear_token_cache()
    trustpilot.clear_token_cache()


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


GOOGLE_SECRETS = {"client_secret": GOOGLE_CLIENT[1], "refresh_token": "rt-good"}
TP_SECRETS = {"api_key": TP_KEY, "api_secret": TP_SECRET, "password": TP_PASSWORD}
