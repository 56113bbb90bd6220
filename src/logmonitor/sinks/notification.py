"""What a notification sink delivers, and how it reads as text and HTML.

A :class:`Notification` is one message: a group of alerts that fired (or
resolved) together, or a digest whose title and body the caller wrote. Its
``key`` is the idempotency key: the same notification retried, or re-sent after
a restart, carries the same key, so a receiver can drop the duplicate.

Fields the alert lifecycle adds to :class:`~logmonitor.records.Alert`
(``fingerprint``, ``severity``, ``status``, ``first_seen``, ``last_seen``,
``occurrences``, ``explanation``) are read with defaults, so the renderers work
on the alerts of today and of tomorrow alike.

>>> from logmonitor.records import Alert
>>> note = Notification.firing([Alert("/var/log/app.log", 0.91, 100.0)], created=100.0)
>>> note.kind, len(note.alerts), len(note.key)
('firing', 1, 32)
>>> render_title(note)
'[FIRING] anomaly in app.log (score 0.910)'
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import DeliveryError
from ..records import Alert, Sample

__all__ = [
    "KINDS",
    "DeliveryError",
    "Kind",
    "Notification",
    "NotificationSink",
    "alert_from_dict",
    "alert_to_dict",
    "explanation_lines",
    "fingerprint_of",
    "headline",
    "make_key",
    "redact",
    "render_html",
    "render_text",
    "render_title",
    "sample_lines",
    "severity_of",
    "status_of",
]

Kind = Literal["firing", "resolved", "digest"]
KINDS: tuple[Kind, ...] = ("firing", "resolved", "digest")
# Fields the alert lifecycle adds to Alert; carried through JSON when present.
_LIFECYCLE_FIELDS = (
    "fingerprint",
    "severity",
    "status",
    "first_seen",
    "last_seen",
    "occurrences",
    "explanation",
)
_MAX_TEMPLATE = 200
_MAX_SAMPLE = 300


class NotificationSink(Protocol):
    """Delivers one notification per call, synchronously; raises :class:`DeliveryError`.

    The :class:`~logmonitor.sinks.delivery.Deliverer` calls ``deliver`` from one
    worker thread per sink, so a sink may block (a slow SMTP server) without
    holding up anything else. ``name`` is unique among the configured sinks: the
    outbox keys undelivered notifications by it.
    """

    name: str

    def deliver(self, notification: Notification) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to deliver: alerts that fired or resolved together, or a digest."""

    kind: Kind
    key: str
    created: float
    alerts: tuple[Alert, ...] = ()
    title: str = ""
    text: str = ""
    html: str = ""

    @classmethod
    def firing(
        cls, alerts: Iterable[Alert], created: float, key: str | None = None
    ) -> Notification:
        """Alerts that fire together (one group); the key derives from them and ``created``."""
        group = tuple(alerts)
        return cls("firing", key or make_key("firing", group, created), created, group)

    @classmethod
    def resolved(
        cls, alerts: Iterable[Alert], created: float, key: str | None = None
    ) -> Notification:
        """Alerts whose condition ended."""
        group = tuple(alerts)
        return cls("resolved", key or make_key("resolved", group, created), created, group)

    @classmethod
    def digest(
        cls,
        title: str,
        text: str,
        created: float,
        html: str = "",
        alerts: Iterable[Alert] = (),
        key: str | None = None,
    ) -> Notification:
        """A summary written by the caller; ``html`` defaults to the escaped ``text``."""
        group = tuple(alerts)
        return cls(
            "digest",
            key or make_key("digest", group, created, title),
            created,
            group,
            title,
            text,
            html or f"<pre>{_esc(text)}</pre>",
        )

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.key:
            raise ValueError("key must not be empty: it is how a receiver drops a duplicate")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: the generic webhook's payload and the outbox's row."""
        return {
            "kind": self.kind,
            "key": self.key,
            "created": self.created,
            "title": self.title,
            "text": self.text,
            "html": self.html,
            "alerts": [alert_to_dict(alert) for alert in self.alerts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        """Rebuild what :meth:`to_dict` wrote (the outbox reads its rows back with it)."""
        return cls(
            kind=data["kind"],
            key=str(data["key"]),
            created=float(data["created"]),
            alerts=tuple(alert_from_dict(a) for a in data.get("alerts", ())),
            title=str(data.get("title", "")),
            text=str(data.get("text", "")),
            html=str(data.get("html", "")),
        )


def make_key(kind: str, alerts: Sequence[Alert], created: float, title: str = "") -> str:
    """A stable idempotency key: the same inputs give the same key, in any process."""
    parts: list[object] = [kind, repr(created), title]
    for alert in alerts:
        parts += [alert.id, fingerprint_of(alert), alert.window_start, alert.window_end]
    blob = json.dumps(parts, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


# ----------------------------------------------------------------- alert fields


def fingerprint_of(alert: Alert) -> str:
    """The lifecycle's fingerprint, or one derived from the source and its templates."""
    fingerprint = getattr(alert, "fingerprint", None)
    if isinstance(fingerprint, str) and fingerprint:
        return fingerprint
    blob = json.dumps([alert.filename, sorted(alert.template_ids)])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def severity_of(alert: Alert) -> str:
    """``info``, ``warning`` or ``critical``: the lifecycle's, else ``warning``."""
    severity = getattr(alert, "severity", None)
    return severity if isinstance(severity, str) and severity else "warning"


def status_of(alert: Alert, default: str = "firing") -> str:
    status = getattr(alert, "status", None)
    return status if isinstance(status, str) and status else default


def _number(alert: Alert, name: str, default: float) -> float:
    value = getattr(alert, name, None)
    return float(value) if isinstance(value, (int, float)) else default


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """``Alert.to_dict()`` plus the lifecycle fields the alert has."""
    data = alert.to_dict()
    for name in _LIFECYCLE_FIELDS:
        if name not in data and hasattr(alert, name):
            data[name] = getattr(alert, name)
    return data


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    """Rebuild an alert; keys that are not fields of this version's Alert are ignored."""
    known = {field.name for field in dataclasses.fields(Alert)}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    if "template_ids" in values:
        values["template_ids"] = tuple(int(t) for t in values["template_ids"])
    if "templates" in values:
        values["templates"] = tuple(str(t) for t in values["templates"])
    if isinstance(values.get("counts"), list):
        values["counts"] = tuple((int(t), int(c)) for t, c in values["counts"])
    if "sample_lines" in values:
        values["sample_lines"] = tuple(
            Sample(str(s["path"]), int(s["line_number"]), str(s["text"]), int(s["template_id"]))
            for s in values["sample_lines"]
        )
    return Alert(**values)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (for error messages and logs)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# -------------------------------------------------------------------- rendering


def _stamp(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def headline(alert: Alert) -> str:
    """One line: where, how anomalous, how often."""
    base = os.path.basename(alert.filename) or alert.filename
    text = f"anomaly in {base} (score {alert.score:.3f})"
    occurrences = getattr(alert, "occurrences", None)
    if isinstance(occurrences, int) and occurrences > 1:
        text += f", seen {occurrences} times"
    return text


def explanation_lines(alert: Alert) -> list[str]:
    """Why the alert fired, as plain lines: the reason, the detectors that fired,
    the deviating templates (observed against expected) and the new ones.

    Reads the ``explanation`` dict of :meth:`logmonitor.detect.explain.Explanation.
    to_dict` and tolerates missing keys; without one it falls back to the
    templates the alert carries.
    """
    explanation = getattr(alert, "explanation", None)
    lines: list[str] = []
    if isinstance(explanation, Mapping):
        reason = explanation.get("reason")
        if reason:
            lines.append(_clip(str(reason), _MAX_TEMPLATE * 2))
        fired = explanation.get("fired") or ()
        if fired:
            lines.append("detectors: " + ", ".join(str(d) for d in fired))
        for item in explanation.get("deviations") or ():
            if not isinstance(item, Mapping):
                continue
            observed, expected = item.get("observed"), item.get("expected")
            counts = f"observed {_fmt(observed)}"
            if expected is not None:
                counts += f", expected {_fmt(expected)}"
            what = (
                "all lines"
                if item.get("template_id") is None
                else f"template #{item.get('template_id')} "
                f"{_clip(str(item.get('template') or ''), _MAX_TEMPLATE)!r}"
            )
            lines.append(f"{item.get('kind', 'deviation')} {what}: {counts}")
        new = [str(t) for t in explanation.get("new_templates") or ()]
        if new:
            lines.append("new templates: #" + ", #".join(new))
    if not lines:
        lines.append(f"detector: {alert.detector}")
        for template_id, template in list(zip(alert.template_ids, alert.templates, strict=False))[
            :5
        ]:
            lines.append(f"template #{template_id} {_clip(template, _MAX_TEMPLATE)!r}")
    return lines


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def sample_lines(alert: Alert, limit: int = 5) -> list[str]:
    """The evidence, as ``file:line  text``."""
    return [
        f"{os.path.basename(s.path)}:{s.line_number}  {_clip(s.text, _MAX_SAMPLE)}"
        for s in alert.sample_lines[:limit]
    ]


def _alert_facts(alert: Alert, kind: str) -> list[str]:
    status = status_of(alert, "resolved" if kind == "resolved" else "firing")
    facts = [
        f"source: {alert.filename}",
        f"severity: {severity_of(alert)}, status: {status}",
        f"score: {alert.score:.3f} (threshold {alert.threshold:.2f})",
        f"window: {_stamp(alert.window_start)} - {_stamp(alert.window_end)}, "
        f"{alert.lines} lines, {alert.errors} errors",
    ]
    first_seen = _number(alert, "first_seen", 0.0)
    if first_seen:
        facts.append(
            f"first seen: {_stamp(first_seen)}, "
            f"last seen: {_stamp(_number(alert, 'last_seen', first_seen))}"
        )
    return facts


def render_title(notification: Notification) -> str:
    """The subject line: ``[FIRING:3] anomaly in app.log (score 0.912) and 2 more``."""
    if notification.kind == "digest":
        return notification.title or f"LogMonitor digest {_stamp(notification.created)}"
    alerts = notification.alerts
    tag = notification.kind.upper() + (f":{len(alerts)}" if len(alerts) > 1 else "")
    if not alerts:
        return f"[{tag}] LogMonitor"
    top = max(alerts, key=lambda a: a.score)
    more = f" and {len(alerts) - 1} more" if len(alerts) > 1 else ""
    return f"[{tag}] {headline(top)}{more}"


def render_text(notification: Notification) -> str:
    """The plain-text body (email's text part, Slack's fallback, logs)."""
    out = [render_title(notification), ""]
    if notification.kind == "digest" and notification.text:
        out += [notification.text, ""]
    for alert in notification.alerts:
        out.append(headline(alert))
        out += [f"  {fact}" for fact in _alert_facts(alert, notification.kind)]
        out.append("  why:")
        out += [f"    {line}" for line in explanation_lines(alert)]
        samples = sample_lines(alert)
        if samples:
            out.append("  sample lines:")
            out += [f"    {line}" for line in samples]
        out.append("")
    out.append(f"notification {notification.key}, {_stamp(notification.created)}")
    return "\n".join(out)


def render_html(notification: Notification) -> str:
    """The HTML body (email's HTML part); everything from the logs is escaped."""
    parts = [f"<h2>{_esc(render_title(notification))}</h2>"]
    if notification.kind == "digest" and notification.html:
        parts.append(notification.html)
    for alert in notification.alerts:
        parts.append(f"<h3>{_esc(headline(alert))}</h3>")
        facts = "".join(f"<li>{_esc(f)}</li>" for f in _alert_facts(alert, notification.kind))
        parts.append(f"<ul>{facts}</ul>")
        why = "".join(f"<li>{_esc(line)}</li>" for line in explanation_lines(alert))
        parts.append(f"<p><b>Why</b></p><ul>{why}</ul>")
        samples = sample_lines(alert)
        if samples:
            parts.append("<p><b>Sample lines</b></p><pre>" + _esc("\n".join(samples)) + "</pre>")
    parts.append(
        f'<p style="color:#888">notification {_esc(notification.key)}, '
        f"{_esc(_stamp(notification.created))}</p>"
    )
    return "<html><body>" + "\n".join(parts) + "</body></html>"
