"""A generic JSON webhook, and the Alertmanager webhook payload for its receivers.

``format="json"`` POSTs :meth:`Notification.to_dict` (kind, key, alerts with
their explanation and sample lines). ``format="alertmanager"`` POSTs the body
Prometheus Alertmanager sends to a ``webhook_config`` receiver (version "4"),
so anything that already consumes Alertmanager (a ticketing bridge, a pager
relay) takes LogMonitor's alerts unchanged. Both send the idempotency key as the
``Idempotency-Key`` header.

A response of 2xx is delivered; 408, 429 and 5xx, a timeout or a refused
connection are retried by the Deliverer; any other status is permanent. The URL
and header values may hold tokens: they never appear in the repr or in errors.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import httpx

from ..errors import ConfigError
from ..records import Alert
from .notification import (
    DeliveryError,
    Notification,
    explanation_lines,
    fingerprint_of,
    headline,
    redact,
    render_text,
    sample_lines,
    severity_of,
    status_of,
)

__all__ = [
    "ALERTNAME",
    "FORMATS",
    "WebhookFormat",
    "WebhookSink",
    "alertmanager_payload",
    "post_json",
    "safe_url",
]

WebhookFormat = Literal["json", "alertmanager"]
FORMATS: tuple[WebhookFormat, ...] = ("json", "alertmanager")
ALERTNAME = "LogAnomaly"
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert still firing
_RETRYABLE = frozenset({408, 425, 429})
_USER_AGENT = "logmonitor"


def _rfc3339(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def post_json(
    client: httpx.Client,
    url: str,
    body: Any,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> httpx.Response:
    """POST ``body`` as JSON; raise :class:`DeliveryError` (no secrets) unless 2xx.

    ``what`` names the receiver in messages ("webhook 'ops'"); ``secrets`` are
    removed from any text that comes back from httpx or the receiver.
    """
    hidden = [url, *secrets]
    try:
        response = client.post(url, json=body, headers=dict(headers or {}))
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{what} timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        detail = redact(str(exc), hidden)
        raise DeliveryError(f"{what} is unreachable: {type(exc).__name__}: {detail}") from None
    if response.is_success:
        return response
    status = response.status_code
    snippet = redact(response.text[:200].strip(), hidden)
    retryable = status in _RETRYABLE or status >= 500
    advice = "retrying" if retryable else "not retried; fix the sink's configuration"
    raise DeliveryError(
        f"{what} answered HTTP {status} {response.reason_phrase}: {snippet!r} ({advice})",
        retryable=retryable,
        retry_after=_retry_after(response) if retryable else None,
    )


def _labels(alert: Alert) -> dict[str, str]:
    labels = {
        "alertname": ALERTNAME,
        "source": alert.filename,
        "severity": severity_of(alert),
        "detector": alert.detector,
    }
    if len(alert.template_ids) == 1:
        labels["template_id"] = str(alert.template_ids[0])
    return labels


def _annotations(alert: Alert) -> dict[str, str]:
    annotations = {
        "summary": headline(alert),
        "description": "\n".join(explanation_lines(alert)),
        "score": f"{alert.score:.6f}",
        "threshold": f"{alert.threshold:g}",
    }
    samples = sample_lines(alert)
    if samples:
        annotations["sample_lines"] = "\n".join(samples)
    return annotations


def _am_alert(alert: Alert, kind: str, created: float, generator_url: str) -> dict[str, Any]:
    status = status_of(alert, "resolved" if kind == "resolved" else "firing")
    starts = getattr(alert, "first_seen", None) or alert.window_start or alert.time
    if status == "resolved":
        ends = _rfc3339(getattr(alert, "last_seen", None) or alert.window_end or created)
    else:
        ends = _ZERO_TIME
    return {
        "status": status,
        "labels": _labels(alert),
        "annotations": _annotations(alert),
        "startsAt": _rfc3339(float(starts)),
        "endsAt": ends,
        "generatorURL": generator_url,
        # Alertmanager's fingerprint is 16 hex digits of the label set's hash.
        "fingerprint": hashlib.sha256(fingerprint_of(alert).encode()).hexdigest()[:16],
    }


def _common(dicts: list[dict[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def alertmanager_payload(
    notification: Notification,
    *,
    receiver: str = "logmonitor",
    external_url: str = "",
    max_alerts: int = 0,
) -> dict[str, Any]:
    """The body of an Alertmanager ``webhook_config`` POST (version "4").

    A digest becomes one ``LogMonitorDigest`` alert with the title as its summary
    and the text as its description. ``max_alerts`` > 0 caps the alerts listed
    (the rest are counted in ``truncatedAlerts``), as Alertmanager does.
    """
    alerts: list[dict[str, Any]]
    if notification.kind == "digest":
        alerts = [
            {
                "status": "firing",
                "labels": {"alertname": "LogMonitorDigest", "severity": "info"},
                "annotations": {
                    "summary": notification.title,
                    "description": notification.text,
                },
                "startsAt": _rfc3339(notification.created),
                "endsAt": _rfc3339(notification.created),
                "generatorURL": external_url,
                "fingerprint": notification.key[:16],
            }
        ]
    else:
        alerts = [
            _am_alert(alert, notification.kind, notification.created, external_url)
            for alert in notification.alerts
        ]
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    statuses = {a["status"] for a in alerts}
    common_labels = _common([a["labels"] for a in alerts])
    group_labels = {"alertname": common_labels.get("alertname", ALERTNAME)}
    if "source" in common_labels:
        group_labels["source"] = common_labels["source"]
    fingerprints = ",".join(sorted(a["fingerprint"] for a in alerts))
    return {
        "version": "4",
        "groupKey": f"{{}}:{{alertname={group_labels['alertname']!r}}}/{fingerprints}",
        "truncatedAlerts": truncated,
        "status": "firing" if "firing" in statuses else "resolved",
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": common_labels,
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": external_url,
        "alerts": alerts,
    }


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` without credentials, query or fragment."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid url>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


class WebhookSink:
    """POSTs each notification as JSON (``json``) or as Alertmanager does (``alertmanager``).

    ``transport`` is for tests and proxies (an ``httpx`` transport); the client is
    created here and closed by :meth:`close`.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "webhook",
        format: WebhookFormat = "json",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        receiver: str = "logmonitor",
        external_url: str = "",
        max_alerts: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"webhook {name!r}: url must start with http:// or https://; fix 'url'"
            )
        if format not in FORMATS:
            raise ConfigError(
                f"webhook {name!r}: format must be one of {', '.join(FORMATS)}, "
                f"not {format!r}; fix 'format'"
            )
        if not timeout > 0:
            raise ConfigError(f"webhook {name!r}: timeout must be > 0, not {timeout!r}")
        self.name = name
        self.format: WebhookFormat = format
        self.receiver = receiver
        self.external_url = external_url
        self.max_alerts = max_alerts
        self._url = url
        self._headers = {"User-Agent": _USER_AGENT, **dict(headers or {})}
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return (
            f"WebhookSink(name={self.name!r}, url={safe_url(self._url)!r}, "
            f"format={self.format!r}, headers={sorted(self._headers)!r})"
        )

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON body for ``notification`` in this sink's format."""
        if self.format == "alertmanager":
            return alertmanager_payload(
                notification,
                receiver=self.receiver,
                external_url=self.external_url,
                max_alerts=self.max_alerts,
            )
        return {**notification.to_dict(), "summary": render_text(notification)}

    def deliver(self, notification: Notification) -> None:
        headers = {**self._headers, "Idempotency-Key": notification.key}
        post_json(
            self._client,
            self._url,
            self.payload(notification),
            what=f"webhook {self.name!r} ({safe_url(self._url)})",
            headers=headers,
            secrets=[v for k, v in self._headers.items() if k != "User-Agent"],
        )

    def close(self) -> None:
        self._client.close()
