"""Turn scored windows into alerts, and alerts into a few notifications.

An anomalous window (score at or above ``threshold``) is an *occurrence* of a
condition, known by its **fingerprint**: the source plus the templates behind it
(the explanation's deviating and new templates when there is one, else the
window's new templates, else its most frequent ones). The lifecycle, after
Alertmanager's:

* **Dedup.** An occurrence whose fingerprint has a firing alert updates it (last
  seen, occurrences, highest score) instead of raising another. A firing alert
  *resolves* once no occurrence came for ``cooldown`` seconds; the next occurrence
  after that is a new alert.
* **Grouping.** New alerts of one source wait ``group_wait`` seconds so that alerts
  firing together go out as one notification; later alerts of that source go out
  at most every ``group_interval``.
* **Repeats.** A firing alert still occurring is notified again every
  ``repeat_interval`` (not when acknowledged); its end is notified once, as
  ``resolved``.
* **Rate limit.** At most ``max_notifications_per_hour`` notifications (a token
  bucket); past it, pending alerts wait and go out together in the next one.
* **Feedback.** Mutes (a template or a source, until a time) and fingerprints
  marked false-positive suppress occurrences: counted, never alerted.

The policy is synchronous and clock-free (``now`` is passed in), and keeps at most
``max_open`` firing alerts (past it the longest quiet one resolves early).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..records import Alert, Sample, Score
from ..sinks.notification import Notification

__all__ = ["AlertPolicy", "Feedback", "LifecycleSettings", "Mute", "Outcome", "severity_for"]


@dataclass(frozen=True, slots=True)
class LifecycleSettings:
    """The timings, with Alertmanager's defaults (seconds)."""

    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    cooldown: float = 300.0
    max_notifications_per_hour: int = 60
    max_open: int = 10_000


@dataclass(frozen=True, slots=True)
class Mute:
    """Suppress a template id or a source (a path) until ``until`` (epoch seconds)."""

    kind: str  # "template" | "source"
    value: str
    until: float
    id: int | None = None
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class Feedback:
    """What operators said: mutes, false-positive fingerprints, acknowledged ids."""

    mutes: tuple[Mute, ...] = ()
    false_positives: frozenset[str] = frozenset()
    acked: frozenset[int] = frozenset()


@dataclass(slots=True)
class Outcome:
    """What :meth:`AlertPolicy.evaluate` decided for a batch of scores."""

    new: list[Alert] = field(default_factory=list)  # to insert (ids come from the store)
    updated: list[Alert] = field(default_factory=list)  # stored alerts that changed
    suppressed: int = 0


def severity_for(score: float, threshold: float) -> str:
    """``critical`` in the upper half of the range above the threshold, else
    ``warning``: an alert is never just ``info``."""
    return "critical" if score >= threshold + (1.0 - threshold) / 2 else "warning"


def fingerprint_for(source: str, template_ids: Iterable[int]) -> str:
    """A stable fingerprint: the same source and templates, in any process."""
    blob = json.dumps([source, sorted(set(template_ids))], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(slots=True)
class _Group:
    """New alerts of one source waiting to be notified together."""

    since: float  # when its oldest waiting alert arrived
    ids: list[int] = field(default_factory=list)


class AlertPolicy:
    """Scores -> alerts (deduplicated) -> notifications (grouped, rate limited).

    ``template_text`` looks a template id up (the miner's), for readable alerts.
    """

    def __init__(
        self,
        threshold: float,
        template_text: Callable[[int], str | None],
        settings: LifecycleSettings | None = None,
        max_templates: int = 10,
        fingerprint_templates: int = 3,
        sessions: bool = False,
    ) -> None:
        self.threshold = threshold
        self.template_text = template_text
        self.settings = settings or LifecycleSettings()
        self.max_templates = max_templates
        self.fingerprint_templates = fingerprint_templates
        # Session windows are named "<file>#<session id>": grouping, mutes and the
        # files due are by the file part.
        self.sessions = sessions
        self.feedback = Feedback()
        self.suppressed = 0
        self.notifications_deferred = 0
        self._open: dict[str, Alert] = {}  # fingerprint -> firing alert
        self._notified: dict[int, float] = {}  # alert id -> last notified
        self._groups: dict[str, _Group] = {}  # source -> waiting new alerts
        self._group_sent: dict[str, float] = {}  # source -> last group notification
        self._resolved: list[Alert] = []  # resolved, waiting for a token
        per_hour = self.settings.max_notifications_per_hour
        self._tokens = float(per_hour)
        self._refilled: float | None = None

    # ------------------------------------------------------------------ state

    def load(
        self,
        firing: Iterable[Alert],
        notified: Mapping[int, float | None],
        untold_ends: Iterable[Alert] = (),
    ) -> None:
        """Take back the firing alerts of an earlier run; those never notified (a
        crash inside their group wait, or before their notification was queued)
        wait again, and so do end notices not yet told: none is lost."""
        self._resolved.extend(untold_ends)
        for alert in firing:
            if alert.id is None:
                continue
            self._open[alert.fingerprint] = alert
            when = notified.get(alert.id)
            if when is None:
                self._groups.setdefault(
                    self.file_of(alert.filename), _Group(alert.last_seen)
                ).ids.append(alert.id)
            else:
                self._notified[alert.id] = when

    def set_feedback(self, feedback: Feedback) -> None:
        self.feedback = feedback

    @property
    def firing(self) -> list[Alert]:
        return list(self._open.values())

    # ------------------------------------------------------------------ scoring

    def evaluate(
        self,
        scores: Sequence[Score],
        now: float,
        explanations: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> Outcome:
        """Decide each anomalous score: a new alert, an update, or suppressed."""
        out = Outcome()
        for n, scored in enumerate(scores):
            if scored.score < self.threshold:
                continue
            explanation = explanations[n] if explanations is not None else None
            alert = self._alert(scored, now, explanation)
            if self._is_suppressed(alert, now):
                out.suppressed += 1
                self.suppressed += 1
                continue
            current = self._open.get(alert.fingerprint)
            if current is not None and current.id is None and current not in out.new:
                current = None  # evaluated once but never stored (a failed commit)
            if current is None:
                self._open[alert.fingerprint] = alert
                out.new.append(alert)
                continue
            merged = replace(
                current,
                score=max(current.score, alert.score),
                severity=severity_for(max(current.score, alert.score), self.threshold),
                last_seen=now,
                occurrences=current.occurrences + 1,
                window_end=alert.window_end,
                lines=current.lines + alert.lines,
                errors=current.errors + alert.errors,
            )
            self._open[alert.fingerprint] = merged
            if current.id is None:  # new in this very batch
                out.new[out.new.index(current)] = merged
            else:
                out.updated = [a for a in out.updated if a.id != current.id]
                out.updated.append(merged)
        return out

    def saved(self, alerts: Sequence[Alert]) -> None:
        """New alerts now stored (with ids): they join their source's group."""
        for alert in alerts:
            if alert.id is None:
                raise ValueError("saved() takes alerts with the ids the store gave them")
            self._open[alert.fingerprint] = alert
            self._groups.setdefault(
                self.file_of(alert.filename), _Group(alert.first_seen)
            ).ids.append(alert.id)

    def _alert(self, scored: Score, now: float, explanation: Mapping[str, Any] | None) -> Alert:
        window = scored.window
        behind = _behind(explanation)
        ranked = list(
            dict.fromkeys([*behind, *window.new_templates, *(t for t, _ in window.counts)])
        )
        behind = behind or list(window.new_templates) or ranked
        # A silent source has no template to blame: its fingerprint is the source.
        ids = tuple(ranked[: self.max_templates])
        return Alert(
            filename=window.source,
            score=scored.score,
            time=now,
            threshold=self.threshold,
            window_start=window.start,
            window_end=window.end,
            template_ids=ids,
            templates=tuple(self.template_text(t) or f"<template {t}>" for t in ids),
            sample_lines=_samples(explanation) or window.samples,
            detector=scored.detector,
            lines=window.lines,
            errors=window.errors,
            fingerprint=fingerprint_for(window.source, behind[: self.fingerprint_templates]),
            severity=severity_for(scored.score, self.threshold),
            status="firing",
            first_seen=now,
            last_seen=now,
            occurrences=1,
            explanation=dict(explanation) if explanation is not None else None,
            counts=window.counts,
        )

    def _is_suppressed(self, alert: Alert, now: float) -> bool:
        feedback = self.feedback
        if alert.fingerprint in feedback.false_positives:
            return True
        ids = {str(t) for t in alert.template_ids}
        for mute in feedback.mutes:
            if mute.until <= now:
                continue
            if mute.kind == "source" and _same_source(mute.value, self.file_of(alert.filename)):
                return True
            if mute.kind == "template" and mute.value in ids:
                return True
        return False

    # ------------------------------------------------------------ notifications

    def due_sources(self, now: float) -> set[str]:
        """Sources with something for :meth:`flush` to do by ``now`` (a group ready,
        an alert to resolve or repeat, an end notice waiting for a token)."""
        s = self.settings
        out = {src for src, g in self._groups.items() if self._group_ready(src, g, now)}
        out.update(a.filename for a in self._open.values() if now - a.last_seen >= s.cooldown)
        out.update(a.filename for a in self._resolved)
        out.update(a.filename for a in self._repeats(now))
        return {self.file_of(source) for source in out}

    def file_of(self, source: str) -> str:
        """The file a window's source names (a session's is "<file>#<id>")."""
        if self.sessions and "#" in source:
            return source.rpartition("#")[0]
        return source

    def flush(self, now: float) -> tuple[list[Notification], list[Alert]]:
        """Notifications due by ``now``, and alerts whose status changed (resolved)
        for the store. Each notification takes a token of the hourly bucket; without
        one it waits, and what waits goes out together in the next."""
        changed = self._resolve_quiet(now)
        notes: list[Notification] = []
        interval = self.settings.group_interval
        # A group sent longer ago than group_interval constrains nothing: forget it.
        self._group_sent = {k: t for k, t in self._group_sent.items() if now - t < interval}
        if self._resolved:
            if self._take(now):
                ended, self._resolved = self._resolved, []
                notes.append(Notification.resolved(ended, now, key=_key("resolved", ended)))
            else:
                self.notifications_deferred += 1
        ready = [
            src for src in sorted(self._groups) if self._group_ready(src, self._groups[src], now)
        ]
        if ready:
            self._refill(now)
            if self._tokens < 1.0:
                self.notifications_deferred += 1
            else:
                # One notification per source while tokens last; short of tokens,
                # every ready group goes out together in one.
                batches = [[src] for src in ready] if self._tokens >= len(ready) else [ready]
                for sources in batches:
                    self._tokens -= 1.0
                    alerts = []
                    for src in sources:
                        alerts += self._by_id(self._groups.pop(src).ids)
                        self._group_sent[src] = now
                    if alerts:
                        notes.append(Notification.firing(alerts, now, key=_key("firing", alerts)))
                        self._mark(alerts, now)
        repeats = self._repeats(now)
        if repeats:
            if self._take(now):
                notes.append(Notification.firing(repeats, now, key=_key("firing", repeats)))
                self._mark(repeats, now)
            else:
                self.notifications_deferred += 1
        return notes, changed

    def _mark(self, alerts: Sequence[Alert], now: float) -> None:
        for alert in alerts:
            if alert.id is not None:
                self._notified[alert.id] = now

    def notified(self) -> dict[int, float]:
        """Alert id -> when it was last notified (for the store)."""
        return dict(self._notified)

    def _group_ready(self, source: str, group: _Group, now: float) -> bool:
        s = self.settings
        sent = self._group_sent.get(source)
        if sent is not None and now - sent < s.group_interval:
            return False
        return now - group.since >= s.group_wait

    def _repeats(self, now: float) -> list[Alert]:
        interval = self.settings.repeat_interval
        acked = self.feedback.acked
        out = []
        for alert in self._open.values():
            if alert.id is None or alert.id in acked:
                continue
            last = self._notified.get(alert.id)
            if last is not None and now - last >= interval and alert.last_seen > last:
                out.append(alert)
        return out

    def _resolve_quiet(self, now: float) -> list[Alert]:
        s = self.settings
        quiet = [fp for fp, a in self._open.items() if now - a.last_seen >= s.cooldown and a.id]
        if len(self._open) - len(quiet) > s.max_open:
            extra = sorted(
                (a.last_seen, fp) for fp, a in self._open.items() if fp not in set(quiet)
            )
            quiet += [fp for _, fp in extra[: len(self._open) - len(quiet) - s.max_open]]
        changed = []
        for fp in quiet:
            alert = replace(self._open.pop(fp), status="resolved")
            changed.append(alert)
            if alert.id is not None and alert.id in self._notified:
                self._resolved.append(alert)  # only a notified alert needs an end notice
                del self._notified[alert.id]
            for group in self._groups.values():
                if alert.id in group.ids:
                    # Resolved before its group went out: it is still told, once.
                    group.ids.remove(alert.id)
                    self._resolved.append(alert)
        self._groups = {k: g for k, g in self._groups.items() if g.ids}
        return changed

    def _by_id(self, ids: Sequence[int]) -> list[Alert]:
        index = {a.id: a for a in self._open.values()}
        return [index[i] for i in ids if i in index]

    def _refill(self, now: float) -> None:
        per_hour = self.settings.max_notifications_per_hour
        if self._refilled is not None:
            self._tokens = min(
                float(per_hour), self._tokens + (now - self._refilled) * per_hour / 3600.0
            )
        self._refilled = now

    def _take(self, now: float) -> bool:
        """One token of the hourly bucket, if there is one."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def _behind(explanation: Mapping[str, Any] | None) -> list[int]:
    """The template ids an explanation blames: its deviating templates (strongest
    first), then its new ones."""
    if not explanation:
        return []
    ids: list[int] = []
    for item in explanation.get("deviations") or ():
        if isinstance(item, Mapping) and isinstance(item.get("template_id"), int):
            ids.append(item["template_id"])
    ids.extend(t for t in explanation.get("new_templates") or () if isinstance(t, int))
    return list(dict.fromkeys(ids))


def _samples(explanation: Mapping[str, Any] | None) -> tuple[Sample, ...]:
    """The explanation's sample lines (lines of the blamed templates first)."""
    out = []
    for item in (explanation or {}).get("samples") or ():
        try:
            out.append(
                Sample(str(item["path"]), int(item["line_number"]), str(item["text"]),
                       int(item["template_id"]))
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(out)


def _same_source(muted: str, source: str) -> bool:
    """A muted path covers the source itself and, for a directory, what is in it."""
    muted = muted.rstrip("/")
    return source == muted or source.startswith(muted + "/")


def _key(kind: str, alerts: Sequence[Alert]) -> str:
    """An idempotency key from what is told (kind, ids, occurrences): the same
    notification rebuilt after a crash gets the same key."""
    blob = json.dumps([kind, [(a.id, a.occurrences, a.status) for a in alerts]])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
