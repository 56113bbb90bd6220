"""Alerts rendered for a terminal with rich: score, source, templates, sample lines."""

from __future__ import annotations

import os
import time

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from ..records import Alert
from .notification import Notification, explanation_lines, render_title

__all__ = ["ConsoleSink", "render_alert"]


def _clock(stamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp))


def render_alert(alert: Alert) -> RenderableType:
    """A panel that says where, how anomalous, and shows the evidence."""
    body: list[RenderableType] = [
        Text.from_markup(
            f"score [bold]{alert.score:.3f}[/] >= {alert.threshold:.2f}  "
            f"window {_clock(alert.window_start)}-{_clock(alert.window_end)}  "
            f"{alert.lines} lines, {alert.errors} errors  [dim]({alert.detector})[/]"
        )
    ]
    if alert.explanation:  # why: the detectors that fired and what deviated
        for line in explanation_lines(alert):
            body.append(Text.from_markup(f"  [yellow]{escape(line[:200])}[/]"))
    else:
        pairs = list(zip(alert.template_ids, alert.templates, strict=False))[:5]
        for template_id, template in pairs:
            body.append(Text.from_markup(f"  [cyan]#{template_id}[/] {escape(template[:160])}"))
    for sample in alert.sample_lines:
        where = f"{os.path.basename(sample.path)}:{sample.line_number}"
        body.append(Text.from_markup(f"  [dim]{escape(where)}[/] {escape(sample.text[:200])}"))
    title = (
        f"[bold red]anomaly[/] #{alert.id or '-'} {escape(alert.filename)} "
        f"[dim]{escape(alert.severity)}[/]"
    )
    return Panel(Group(*body), title=title, title_align="left", border_style="red")


class ConsoleSink:
    """Prints each alert to a rich console (the CLI's).

    It is both a ``Sink`` (``send(alert)``) and a ``NotificationSink``
    (``deliver(notification)``, what the Deliverer calls).
    """

    def __init__(self, console: Console, name: str = "console") -> None:
        self.console = console
        self.name = name

    def send(self, alert: Alert) -> None:
        self.console.print(render_alert(alert))

    def deliver(self, notification: Notification) -> None:
        if notification.kind == "digest":
            self.console.print(
                Panel(
                    Text(notification.text),
                    title=escape(render_title(notification)),
                    title_align="left",
                    border_style="blue",
                )
            )
        elif notification.kind == "resolved":
            for alert in notification.alerts:
                self.console.print(
                    Text.from_markup(f"[bold green]resolved[/] {escape(alert.filename)}")
                )
        else:
            for alert in notification.alerts:
                self.send(alert)

    def close(self) -> None:
        """The console belongs to the caller."""
