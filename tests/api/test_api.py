"""The JSON API through a real uvicorn server on loopback, one promise per test."""

from __future__ import annotations

import re

import httpx
import pytest

from logmonitor.api.routes import MAX_ALERTS, MAX_ITEMS, MAX_POINTS

from .conftest import WRITE, MemoryBackend, assert_error, make_alert

LIMITED = [
    ("/api/resource", MAX_ITEMS),
    ("/api/sources", MAX_ITEMS),
    ("/api/alerts", MAX_ALERTS),
    ("/api/summary", MAX_ITEMS),
    ("/api/patterns", MAX_ITEMS),
    ("/api/stats", MAX_POINTS),
]


# ------------------------------------------------------------------ /api/resource


def test_resource_lists_the_sources_exactly_as_the_original_spec(client: httpx.Client) -> None:
    response = client.get("/api/resource")
    assert response.status_code == 200
    assert response.json() == {
        "resources": [{"id": 1, "name": "/var/log/app.log"}, {"id": 2, "name": "/var/log/db.log"}]
    }


def test_resource_limit_caps_the_list(client: httpx.Client) -> None:
    assert client.get("/api/resource", params={"limit": 1}).json() == {
        "resources": [{"id": 1, "name": "/var/log/app.log"}]
    }


@pytest.mark.parametrize(("path", "cap"), LIMITED)
@pytest.mark.parametrize("bad", ["-1", "0", "abc", "1.5", "", "99999999999999999999999"])
def test_every_limit_rejects_bad_values_with_the_error_shape(
    client: httpx.Client, path: str, cap: int, bad: str
) -> None:
    error = assert_error(client.get(path, params={"limit": bad}), 422, "invalid_request")
    assert error["details"][0]["loc"] == ["query", "limit"]  # type: ignore[index]


@pytest.mark.parametrize(("path", "cap"), LIMITED)
def test_every_list_endpoint_has_a_maximum_limit(client: httpx.Client, path: str, cap: int) -> None:
    assert client.get(path, params={"limit": cap}).status_code == 200
    assert_error(client.get(path, params={"limit": cap + 1}), 422, "invalid_request")


# ------------------------------------------------------------------- sources


def test_sources_show_offsets_lag_rotations_and_errors(client: httpx.Client) -> None:
    first = client.get("/api/sources").json()["sources"][0]
    assert first == {
        "id": 1, "source": "/var/log/app.log", "path": "/var/log/app.log", "offset": 900,
        "size": 1000, "lag_bytes": 100, "lines": 42, "truncated_lines": 1, "rotations": 2,
        "truncations": 0, "errors": 0, "last_error": None,
    }  # fmt: skip


# -------------------------------------------------------------------- alerts


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["alerts"]]


def test_alerts_are_listed_newest_first_with_severity_status_and_explanation(
    client: httpx.Client,
) -> None:
    body = client.get("/api/alerts").json()
    assert [a["id"] for a in body["alerts"]] == [3, 2, 1]
    assert body["total"] == 3
    assert body["next_offset"] is None
    newest = body["alerts"][0]
    assert newest["severity"] == "critical"  # 0.8 is past the midpoint of (0.5, 1]
    assert newest["status"] == "open"
    assert newest["sample_lines"][0]["text"] == "ERROR disk failed 3"
    assert any("0.800" in sentence for sentence in newest["explanation"])


def test_alerts_filter_by_since_source_status_and_severity(client: httpx.Client) -> None:
    assert ids(client.get("/api/alerts", params={"since": 2000})) == [3, 2]
    assert ids(client.get("/api/alerts", params={"source": "/var/log/db.log"})) == [2]
    assert ids(client.get("/api/alerts", params={"severity": "warning"})) == [1]
    client.post("/api/alerts/3/ack", headers=WRITE)
    assert ids(client.get("/api/alerts", params={"status": "acked"})) == [3]
    assert ids(client.get("/api/alerts", params={"status": "open"})) == [2, 1]


def test_alerts_paginate_with_offset_and_next_offset(client: httpx.Client) -> None:
    first = client.get("/api/alerts", params={"limit": 2}).json()
    assert [a["id"] for a in first["alerts"]] == [3, 2]
    assert first["next_offset"] == 2
    second = client.get("/api/alerts", params={"limit": 2, "offset": 2}).json()
    assert [a["id"] for a in second["alerts"]] == [1]
    assert second["next_offset"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "closed"}, "status"), ({"severity": "fatal"}, "severity"),
     ({"since": "yesterday"}, "since"), ({"offset": "-1"}, "offset")],
)  # fmt: skip
def test_alert_filters_are_validated(
    client: httpx.Client, params: dict[str, str], field: str
) -> None:
    error = assert_error(client.get("/api/alerts", params=params), 422, "invalid_request")
    assert error["details"][0]["loc"] == ["query", field]  # type: ignore[index]


def test_one_alert_by_id(client: httpx.Client) -> None:
    alert = client.get("/api/alerts/2").json()
    assert alert["id"] == 2
    assert alert["filename"] == "/var/log/db.log"
    assert alert["templates"] == ["ERROR disk failed <*>"]


@pytest.mark.parametrize(
    ("alert_id", "status"),
    [("99", 404), ("0", 422), ("-3", 422), ("abc", 422), ("99999999999999999999999", 422)],
)
def test_unknown_or_invalid_alert_ids_get_the_error_shape(
    client: httpx.Client, alert_id: str, status: int
) -> None:
    assert_error(client.get(f"/api/alerts/{alert_id}"), status)
    assert_error(client.post(f"/api/alerts/{alert_id}/ack", headers=WRITE), status)


def test_ack_marks_the_alert_and_the_first_ack_stands(
    client: httpx.Client, backend: MemoryBackend
) -> None:
    acked = client.post("/api/alerts/1/ack", json={"by": "alice"}, headers=WRITE).json()
    assert (acked["status"], acked["acked_by"]) == ("acked", "alice")
    again = client.post("/api/alerts/1/ack", json={"by": "bob"}, headers=WRITE).json()
    assert again["acked_by"] == "alice"
    view = backend.alert(1)
    assert view is not None
    assert view.status == "acked"


def test_feedback_records_the_verdict(client: httpx.Client) -> None:
    body = {"verdict": "false_positive", "note": "deploy restart"}
    alert = client.post("/api/alerts/2/feedback", json=body, headers=WRITE).json()
    assert alert["feedback"]["verdict"] == "false_positive"
    assert alert["feedback"]["note"] == "deploy restart"
    assert client.get("/api/alerts/2").json()["feedback"]["verdict"] == "false_positive"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"verdict": "true_positive",', b"\xff\xfe"],
)
def test_malformed_json_gets_400_with_the_error_shape(client: httpx.Client, body: bytes) -> None:
    headers = {**WRITE, "Content-Type": "application/json"}
    response = client.post("/api/alerts/1/feedback", content=body, headers=headers)
    assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [{}, {"verdict": "maybe"}, {"verdict": "true_positive", "extra": 1},
     {"verdict": "true_positive", "note": "x" * 2001}, []],
)  # fmt: skip
def test_invalid_feedback_gets_422(client: httpx.Client, body: object) -> None:
    response = client.post("/api/alerts/1/feedback", json=body, headers=WRITE)
    assert_error(response, 422, "invalid_request")


def test_unknown_paths_and_methods_get_the_error_shape(client: httpx.Client) -> None:
    assert_error(client.get("/api/nothing"), 404, "not_found")
    assert_error(client.get("/static/../../etc/passwd"), 404)
    assert_error(client.delete("/api/alerts/1", headers=WRITE), 405, "method_not_allowed")


def test_writes_without_the_write_header_are_refused_even_without_a_token(
    client: httpx.Client, backend: MemoryBackend
) -> None:
    """A hostile web page can post a form to 127.0.0.1, but cannot add a header."""
    assert_error(client.post("/api/alerts/1/ack"), 403, "write_header_missing")
    view = backend.alert(1)
    assert view is not None
    assert view.status == "open"


# ------------------------------------------------------------------- summaries


def test_summary_has_counts_files_examples_and_trends(client: httpx.Client) -> None:
    body = client.get("/api/summary", params={"limit": 1}).json()
    assert body == {
        "error_types": [{
            "error_type": "OSError", "count": 12, "first_seen": 900.0, "last_seen": 1000.0,
            "files": ["/var/log/app.log"], "example": "ERROR disk failed: OSError",
            "trend": [0, 1, 11],
        }]
    }  # fmt: skip


def test_patterns_have_counts_times_and_examples(client: httpx.Client) -> None:
    patterns = client.get("/api/patterns", params={"limit": 3}).json()["patterns"]
    assert len(patterns) == 3
    assert patterns[0] == {
        "template": "request <*> served in 0 ms", "template_id": 0, "kind": "template",
        "count": 100, "first_seen": 1.0, "last_seen": 2.0, "examples": ["x"],
    }  # fmt: skip


def test_stats_have_the_status_threshold_and_points(client: httpx.Client) -> None:
    body = client.get("/api/stats", params={"limit": 2}).json()
    assert body["status"]["threshold"] == 0.5
    assert body["status"]["model_ready"] is True
    assert [p["windows_scored"] for p in body["points"]] == [3, 4]


# ---------------------------------------------------------- errors and health


class BrokenBackend(MemoryBackend):
    """A backend with a bug: every status call raises."""

    def status(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("the backend is broken")


def test_an_unexpected_error_is_a_500_with_the_error_shape(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(BrokenBackend())
    response = httpx.get(f"{server.url}/api/sources")
    error = assert_error(response, 500, "internal_error")
    assert "broken" not in str(error["message"])  # no internals leak to clients


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


# --------------------------------------------------------- docs and dashboard


def test_openapi_describes_every_endpoint(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = ["/api/resource", "/api/sources", "/api/alerts", "/api/alerts/{alert_id}",
                "/api/alerts/{alert_id}/ack", "/api/alerts/{alert_id}/feedback",
                "/api/summary", "/api/patterns", "/api/events", "/metrics", "/healthz"]  # fmt: skip
    for path in expected:
        assert path in paths, path


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")


@pytest.mark.parametrize("page", ["/", "/docs"])
def test_pages_load_no_external_assets_and_theirs_are_served(
    client: httpx.Client, page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not EXTERNAL.search(html), "a page must work without internet access"
    assets = ASSET.findall(html)
    assert assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert "//cdn" not in served.text


def test_pages_forbid_foreign_scripts(client: httpx.Client) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy


def test_a_new_alert_is_found_right_away(client: httpx.Client, backend: MemoryBackend) -> None:
    backend.add(make_alert(4, score=0.55, time=4000.0))
    assert ids(client.get("/api/alerts", params={"limit": 1})) == [4]
