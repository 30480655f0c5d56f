"""The HTTP edge: security headers on every answer, the refresh token in an HttpOnly cookie,
405 with Allow, and the API documentation served from this server (or switched off)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from fastapi import Response
from fastapi.testclient import TestClient
from httpx import Response as HttpxResponse
from pydantic import ValidationError
from sqlalchemy import Engine

from fengqiao.api import API_DOCS, WEB_DIST, create_app
from fengqiao.core.config import Settings
from tests.world import PASSWORD, World

COOKIE = "fengqiao_refresh"
CONSOLE = {"X-Token-Transport": "cookie"}
CREDENTIALS = {"username": "town_a", "password": PASSWORD}


@pytest.fixture(autouse=True)
def _console_built() -> None:
    if not (WEB_DIST / "index.html").exists() or not (WEB_DIST / API_DOCS).is_dir():
        pytest.fail("the web console is not built: run scripts/setup", pytrace=False)


def assert_security_headers(resp: HttpxResponse) -> None:
    csp = resp.headers.get("content-security-policy", "")
    directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";"))
    assert directives["default-src"] == "'self'", resp.url
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["style-src"] == "'self'"  # <style> and sheets: this server's only
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["worker-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    permissions = resp.headers["permissions-policy"]
    assert "camera=(self)" in permissions and "geolocation=(self)" in permissions
    assert "microphone=()" in permissions and "payment=()" in permissions
    assert resp.headers["x-frame-options"] == "DENY"


def refresh_cookie(resp: HttpxResponse) -> SimpleCookie:
    [header] = [h for h in resp.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie


# ---------------------------------------------------------------- security headers


def test_every_answer_carries_the_security_headers(client: TestClient, world: World) -> None:
    asset = next(p.name for p in (WEB_DIST / "assets").iterdir() if p.suffix == ".js")
    answers = {
        "json": client.get("/api/health"),
        "401": client.get("/api/me"),
        "404 api": client.get("/api/no-such-thing"),
        "422": client.post("/api/auth/login", json={"username": ""}),
        "console index": client.get("/"),
        "console page": client.get("/inbox"),
        "asset": client.get(f"/assets/{asset}"),
        "missing asset": client.get("/assets/no-such-file.js"),
        "service worker": client.get("/sw.js"),
        "docs": client.get("/api/docs"),
        "413": client.post(
            "/api/matters", content=b"x" * 300 * 1024, headers={"Content-Type": "text/plain"}
        ),
    }
    expected = {"401": 401, "404 api": 404, "missing asset": 404, "422": 422, "413": 413}
    for name, resp in answers.items():
        assert resp.status_code == expected.get(name, 200), (name, resp.text[:200])
        assert_security_headers(resp)
    assert answers["404 api"].json()["error"]["code"] == "http_404"
    assert "text/html" in answers["console page"].headers["content-type"]


def test_an_unexpected_error_carries_them_too(app_client: TestClient, world: World) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    app_client.app.add_api_route("/api/test-broken", broken)  # type: ignore[attr-defined]
    resp = app_client.get("/api/test-broken")
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "internal"
    assert "boom" not in resp.text
    assert_security_headers(resp)


def test_a_header_a_route_set_itself_is_kept(app_client: TestClient, world: World) -> None:
    own = "default-src 'none'; sandbox"

    def download() -> Response:
        return Response(
            b"%PDF-1.4",
            media_type="application/pdf",
            headers={"Content-Security-Policy": own, "Referrer-Policy": "no-referrer"},
        )

    app_client.app.add_api_route("/api/test-download", download)  # type: ignore[attr-defined]
    resp = app_client.get("/api/test-download")
    assert resp.headers.get_list("content-security-policy") == [own]
    assert resp.headers.get_list("referrer-policy") == ["no-referrer"]
    assert resp.headers["x-content-type-options"] == "nosniff"  # the others are still added
    assert resp.headers["x-frame-options"] == "DENY"


def test_a_map_tile_server_may_be_allowed_for_images(
    engine: Engine, settings: Settings, world: World
) -> None:
    tiles = settings.model_copy(update={"map_tile_origins": "https://tiles.example:8443"})
    app = create_app(tiles)
    with TestClient(app) as client:
        csp = client.get("/api/health").headers["content-security-policy"]
    app.state.engine.dispose()
    assert "img-src 'self' data: blob: https://tiles.example:8443;" in csp
    assert "script-src 'self';" in csp
    for bad in ("https://tiles.example; script-src *", "javascript:alert(1)", "'unsafe-inline'"):
        with pytest.raises(ValidationError):
            Settings(map_tile_origins=bad)


# ---------------------------------------------------------------- the refresh cookie


def test_login_sets_an_httponly_strict_cookie_for_the_auth_paths_only(
    client: TestClient, world: World
) -> None:
    resp = client.post("/api/auth/login", json=CREDENTIALS, headers=CONSOLE)
    assert resp.status_code == 200
    assert "refresh_token" not in resp.json()  # the console's scripts never see it
    assert resp.json()["access_token"] and resp.json()["token_type"] == "bearer"
    morsel = refresh_cookie(resp)[COOKIE]
    assert len(morsel.value) > 20
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/api/auth"
    assert morsel["max-age"] == str(7 * 24 * 3600)
    assert not morsel["secure"]  # plain http: a browser would drop a Secure cookie

    over_https = client.post("https://testserver/api/auth/login", json=CREDENTIALS)
    assert refresh_cookie(over_https)[COOKIE]["secure"] is True


def test_api_clients_get_the_refresh_token_in_the_body(client: TestClient, world: World) -> None:
    resp = client.post("/api/auth/login", json=CREDENTIALS)
    token = resp.json()["refresh_token"]
    assert token == refresh_cookie(resp)[COOKIE].value
    client.cookies.clear()
    again = client.post("/api/auth/refresh", json={"refresh_token": token})
    assert again.status_code == 200 and again.json()["refresh_token"] != token
    # Asked for the cookie, a body-token refresh answers without it.
    moved = client.post(
        "/api/auth/refresh", json={"refresh_token": again.json()["refresh_token"]}, headers=CONSOLE
    )
    assert moved.status_code == 200 and "refresh_token" not in moved.json()
    assert refresh_cookie(moved)[COOKIE].value


def test_refresh_through_the_cookie_rotates_it(client: TestClient, world: World) -> None:
    login = client.post("/api/auth/login", json=CREDENTIALS, headers=CONSOLE)
    first = refresh_cookie(login)[COOKIE].value
    old_access = {"Authorization": f"Bearer {login.json()['access_token']}"}

    for body in (None, {}):  # the console sends no token at all
        resp = (
            client.post("/api/auth/refresh", headers=CONSOLE)
            if body is None
            else client.post("/api/auth/refresh", json=body, headers=CONSOLE)
        )
        assert resp.status_code == 200, resp.text
        assert "refresh_token" not in resp.json()
        rotated = refresh_cookie(resp)[COOKIE].value
        assert rotated != first and client.cookies.get(COOKIE) == rotated
        new_access = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        assert client.get("/api/me", headers=new_access).json()["username"] == "town_a"
        assert client.get("/api/me", headers=old_access).status_code == 401
        old_access = new_access

    # Without any header, a cookie refresh still keeps the token out of the body.
    plain = client.post("/api/auth/refresh")
    assert plain.status_code == 200 and "refresh_token" not in plain.json()


def test_a_reused_rotated_refresh_cookie_is_refused(client: TestClient, world: World) -> None:
    login = client.post("/api/auth/login", json=CREDENTIALS, headers=CONSOLE)
    first = refresh_cookie(login)[COOKIE].value
    assert client.post("/api/auth/refresh", headers=CONSOLE).status_code == 200
    client.cookies.clear()
    reused = client.post("/api/auth/refresh", headers={**CONSOLE, "Cookie": f"{COOKIE}={first}"})
    assert reused.status_code == 401
    assert reused.json()["error"]["message"] == "登录已失效，请重新登录"
    assert COOKIE not in reused.headers.get("set-cookie", "")


def test_refresh_with_no_token_anywhere_is_refused(client: TestClient, world: World) -> None:
    for resp in (
        client.post("/api/auth/refresh"),
        client.post("/api/auth/refresh", json={}),
        client.post("/api/auth/refresh", json={}, headers={"Accept-Language": "en"}),
    ):
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["error"]["message"] == "Session expired; please log in again"
    short = client.post("/api/auth/refresh", json={"refresh_token": "short"})
    assert short.status_code == 422


def test_logout_clears_the_cookie_and_ends_the_session(client: TestClient, world: World) -> None:
    login = client.post("/api/auth/login", json=CREDENTIALS, headers=CONSOLE)
    token = refresh_cookie(login)[COOKIE].value
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    out = client.post("/api/auth/logout", headers=headers)
    assert out.status_code == 204
    morsel = refresh_cookie(out)[COOKIE]
    assert morsel.value == "" and morsel["max-age"] == "0"
    assert morsel["path"] == "/api/auth" and morsel["httponly"] is True
    assert client.cookies.get(COOKIE) is None
    assert client.post("/api/auth/refresh", headers=CONSOLE).status_code == 401
    client.cookies.clear()
    kept = client.post("/api/auth/refresh", headers={"Cookie": f"{COOKIE}={token}"})
    assert kept.status_code == 401  # a copy of the cookie is no use either


# ---------------------------------------------------------------- 405


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/health", "GET"),
        ("GET", "/api/auth/login", "POST"),
        ("PUT", "/api/users/1", "GET, PATCH"),  # two routes on one path: both named
        ("DELETE", "/api/matters", "GET, POST"),
        ("POST", "/assets/whatever.js", "GET, HEAD"),
        ("POST", "/api/docs/files/init.js", "GET, HEAD"),
        ("POST", "/inbox", "GET"),
    ],
)
def test_a_wrong_method_gets_405_with_allow(
    client: TestClient, world: World, method: str, path: str, allow: str
) -> None:
    resp = client.request(method, path, headers={"Accept-Language": "en"})
    assert resp.status_code == 405
    assert resp.headers["allow"] == allow
    assert resp.json() == {"error": {"code": "http_405", "message": "Method not allowed"}}
    assert_security_headers(resp)
    zh = client.request(method, path)
    assert zh.json()["error"]["message"] == "不支持的请求方法"


# ---------------------------------------------------------------- API documentation


def test_the_docs_page_loads_only_files_of_this_server(client: TestClient, world: World) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/api/docs/files/") for u in urls), urls
    assert "<script>" not in page.text.replace(" ", "")  # no inline script under the CSP
    for url in urls:
        assert client.get(url).status_code == 200, url
    init = client.get("/api/docs/files/init.js")
    assert "javascript" in init.headers["content-type"]
    assert "'/api/openapi.json'" in init.text and "validatorUrl: null" in init.text
    assert re.findall(r"https?://", init.text) == []
    bundle = client.get("/api/docs/files/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    login = spec["paths"]["/api/auth/login"]["post"]
    assert "X-Token-Transport: cookie" in login["description"]


@pytest.fixture
def docs_off(engine: Engine, settings: Settings, world: World) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"api_docs": False}))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_the_docs_switch_off(docs_off: TestClient) -> None:
    for path in ("/api/docs", "/api/openapi.json", "/api/docs/files/init.js"):
        resp = docs_off.get(path)
        assert resp.status_code == 404, path
        assert resp.json()["error"]["code"] == "http_404"  # the API's 404, not the console
    assert docs_off.get("/api/health").status_code == 200
    assert docs_off.get("/inbox").status_code == 200  # the console is still served


def test_the_setting_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGQIAO_API_DOCS", "false")
    assert Settings().api_docs is False
    monkeypatch.setenv("FENGQIAO_API_DOCS", "off")
    assert Settings().api_docs is False
    monkeypatch.delenv("FENGQIAO_API_DOCS")
    assert Settings().api_docs is True
