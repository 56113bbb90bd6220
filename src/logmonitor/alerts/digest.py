"""Hourly or daily digests, like logwatch's, but from what LogMonitor learned: the
top error types, the patterns first seen in the period, and the period's alerts
with the feedback they got.

:class:`DigestSchedule` says when a period ends (aligned to the hour, or to local
midnight); :func:`build_digest` writes the message as a
:class:`~logmonitor.sinks.notification.Notification` of kind ``digest`` with a
stable key per period (a digest re-sent after a crash is recognisably the same).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..patterns.stats import TemplateStat
from ..records import Alert
from ..sinks.notification import Notification
from .summary import ErrorTypeSummary

__all__ = ["PERIODS", "DigestSchedule", "build_digest"]

PERIODS = {"hourly": 3600.0, "daily": 86400.0}
_MAX_ROWS = 10


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """Periods of ``hourly`` or ``daily`` length, aligned in local time
    (``utc_offset`` seconds east of UTC, as ``time.localtime().tm_gmtoff``)."""

    every: str = "daily"
    utc_offset: float = 0.0

    def __post_init__(self) -> None:
        if self.every not in PERIODS:
            raise ConfigError(
                f"digest must be one of {', '.join(PERIODS)} or off, not {self.every!r}"
            )

    @property
    def seconds(self) -> float:
        return PERIODS[self.every]

    def period_start(self, now: float) -> float:
        """The start of the period ``now`` is in.

        >>> DigestSchedule("hourly").period_start(7300.0)
        7200.0
        """
        local = now + self.utc_offset
        return math.floor(local / self.seconds) * self.seconds - self.utc_offset


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def build_digest(
    start: float,
    end: float,
    errors: Sequence[ErrorTypeSummary],
    new_patterns: Sequence[TemplateStat],
    alerts: Sequence[Alert],
    lines: int,
    total_alerts: int | None = None,
) -> Notification:
    """The digest of ``[start, end)``: what an operator reads over coffee.
    ``alerts`` are the newest of them (``total_alerts`` in all)."""
    total = len(alerts) if total_alerts is None else total_alerts
    title = f"LogMonitor digest {_when(start)} to {_when(end)}"
    reviewed = {
        verdict: sum(1 for a in alerts if a.feedback == verdict)
        for verdict in ("true-positive", "false-positive")
    }
    critical = sum(1 for a in alerts if a.severity == "critical")
    text = [
        title,
        "",
        f"{lines:,} lines read so far; {total} alerts in this period"
        + (f" (the newest {len(alerts)} below)" if total > len(alerts) else "")
        + f"; {critical} critical; feedback: {reviewed['true-positive']} true positive, "
        f"{reviewed['false-positive']} false positive, "
        f"{len(alerts) - sum(reviewed.values())} not reviewed.",
    ]
    sections: list[tuple[str, list[str]]] = []
    if alerts:
        rows = []
        for a in alerts[:_MAX_ROWS]:
            why = (a.explanation or {}).get("reason") or "; ".join(a.templates[:1])
            marks = f" [{a.feedback}]" if a.feedback else ""
            rows.append(
                f"#{a.id} {a.severity} {a.status} {a.filename} score {a.score:.2f} "
                f"x{a.occurrences}{marks}: {why}"
            )
        sections.append(("Alerts", rows))
    if errors:
        sections.append(
            (
                "Top error types (all time, with the last seen)",
                [f"{e.count:>8,}  {e.error_type}  (last {_when(e.last_seen)})"
                 for e in errors[:_MAX_ROWS]],
            )
        )  # fmt: skip
    if new_patterns:
        sections.append(
            (
                f"New patterns ({len(new_patterns)} first seen in this period)",
                [f"{p.count:>8,}  #{p.template_id} {p.template}" for p in new_patterns[:_MAX_ROWS]],
            )
        )
    page = [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(text[2])}</p>"]
    for heading, rows in sections:
        text += ["", heading + ":", *(f"  {r}" for r in rows)]
        page.append(f"<h3>{html.escape(heading)}</h3><ul>")
        page += [f"<li><code>{html.escape(r)}</code></li>" for r in rows]
        page.append("</ul>")
    if not sections:
        text += ["", "Nothing to report: no alerts, errors or new patterns."]
    return Notification.digest(
        title, "\n".join(text), end, html="\n".join(page), alerts=alerts[:_MAX_ROWS],
        key=f"digest-{int(start)}-{int(end)}",
    )  # fmt: skip
