"""The token rules, the write guard and the host check, through a real server."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from logmonitor.api import Server, create_app, is_loopback, serve
from logmonitor.errors import ConfigError

from .conftest import TOKEN, WRITE, MemoryBackend, assert_error

BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def locked(backend: MemoryBackend, start_server: Callable[..., Server]) -> Server:
    return start_server(backend, token=TOKEN)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com", ""])
def test_refuses_a_non_loopback_address_without_a_token(backend: MemoryBackend, host: str) -> None:
    with pytest.raises(ConfigError, match="LOGMONITOR_TOKEN"):
        serve(backend, host=host, port=0)  # type: ignore[arg-type]


def test_loopback_names() -> None:
    assert all(is_loopback(h) for h in ["127.0.0.1", "127.0.0.5", "::1", "localhost"])
    assert not any(is_loopback(h) for h in ["0.0.0.0", "::", "10.0.0.1", "localhost.evil", ""])


def test_a_short_token_is_refused(backend: MemoryBackend) -> None:
    with pytest.raises(ConfigError, match="at least 8"):
        create_app(backend, token="short")  # type: ignore[arg-type]


def test_a_busy_port_is_a_config_error(backend: MemoryBackend, locked: Server) -> None:
    with pytest.raises(ConfigError, match="--port"):
        serve(backend, port=locked.port, token=TOKEN)  # type: ignore[arg-type]


GUARDED = ["/api/resource", "/api/alerts/1", "/metrics", "/healthz", "/openapi.json", "/docs",
           "/api/events", "/api/nothing"]  # fmt: skip


@pytest.mark.parametrize("path", GUARDED)
def test_with_a_token_every_request_must_present_it(locked: Server, path: str) -> None:
    response = httpx.get(locked.url + path)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.get(locked.url + path, headers={"Authorization": "Bearer not-the-token"})
    assert_error(wrong, 403, "forbidden")


def test_the_bearer_token_opens_reads_and_writes(locked: Server) -> None:
    assert httpx.get(f"{locked.url}/api/resource", headers=BEARER).status_code == 200
    acked = httpx.post(f"{locked.url}/api/alerts/1/ack", headers=BEARER)
    assert acked.json()["status"] == "acked"


def test_writes_need_the_token_even_on_loopback(locked: Server, backend: MemoryBackend) -> None:
    assert_error(httpx.post(f"{locked.url}/api/alerts/1/ack", headers=WRITE), 401)
    view = backend.alert(1)
    assert view is not None
    assert view.status == "open"


def test_the_dashboard_shows_a_login_form_until_the_token_is_given(locked: Server) -> None:
    with httpx.Client(base_url=locked.url) as browser:
        page = browser.get("/")
        assert page.status_code == 200
        assert 'id="login"' in page.text
        assert "/static/dashboard.js" not in page.text
        assert browser.get("/static/login.js").status_code == 200  # the form's own script
        wrong = browser.post("/api/session", json={"token": "not-the-token"}, headers=WRITE)
        assert_error(wrong, 403, "forbidden")
        good = browser.post("/api/session", json={"token": TOKEN}, headers=WRITE)
        assert good.status_code == 200
        cookie = good.headers["set-cookie"]
        assert TOKEN not in cookie  # an HMAC of it, never the token itself
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "/static/dashboard.js" in browser.get("/").text
        assert browser.get("/api/alerts").status_code == 200
        # A cookie is sent by the browser on its own: writes also need the header.
        assert_error(browser.post("/api/alerts/1/ack"), 403, "write_header_missing")
        assert browser.post("/api/alerts/1/ack", headers=WRITE).json()["status"] == "acked"
        browser.delete("/api/session", headers=WRITE)
        assert_error(browser.get("/api/alerts"), 401)


def test_a_token_less_server_answers_only_to_loopback_host_names(client: httpx.Client) -> None:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host."""
    assert client.get("/api/resource", headers={"Host": "localhost:8000"}).status_code == 200
    assert_error(client.get("/api/resource", headers={"Host": "evil.example"}), 400, "bad_host")


def test_no_endpoint_takes_a_path_from_the_client(client: httpx.Client) -> None:
    """Query values name sources by equality only; nothing is opened from them."""
    response = client.get("/api/alerts", params={"source": "/etc/passwd"})
    assert response.json()["alerts"] == []
    paths = client.get("/openapi.json").json()["paths"]
    names = {p["name"] for item in paths.values() for op in item.values()
             for p in op.get("parameters", [])}  # fmt: skip
    assert not names & {"path", "file", "filename", "dir"}
