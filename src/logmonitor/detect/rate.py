"""Rate spikes and dips, per template and per source, against a robust baseline.

For every source (a session window counts for its source, the part of ``source``
before ``#``) the detector keeps one series for its line count per window and
one per template. Each series has an exponentially weighted mean ``m`` and an
exponentially weighted mean absolute deviation ``d`` (the streaming stand-in for
the median absolute deviation: one outlier moves it by ``alpha`` of its size, not
by its square as a variance would). A window's count ``x`` deviates by
``z = (x - m) / s`` with ``s = max(1.25 d, sqrt(max(m, 1)))``; the floor is the
Poisson noise of a count, so a template that always logs exactly 10 lines does
not alarm at 11. Spikes count from any series with ``min_windows`` windows of
history; dips only from series whose mean is at least ``min_mean`` lines (a
template that logs now and then is not missed when it does not). The window's
score is ``z / (z + z_half)`` of its largest ``|z|``: 0.5 at ``z_half`` robust
deviations.

A slow drift (a count rising or falling a little more each window) shows in no
single window; for it each series also keeps Page's CUSUM of the same z,
``c = max(0, c + z - drift_k)``, one statistic for a rise and one for a fall
(the fall only where dips count), capped at ``2 * drift_half``. It adds up the
windows' small excesses beyond ``drift_k`` deviations (each window's z clipped
to +-3: one spike is not a drift) and forgets the rest, so
steady noise keeps it near 0 while a sustained shift grows it every window; the
series scores ``c / (c + drift_half)`` when that beats its z score. On the
incident benchmark (bench/bench_incidents.py) a ramp to ten times a template's
rate over 30 windows is caught at 11-12 windows instead of 16-17 by z alone (or
not at all), with fewer than one false alert per hour. ``drift_half=None`` turns it off.

A source that goes silent produces no window at all; :meth:`RateDetector.silent`
returns an empty window for each source quiet for ``silence_windows`` window
lengths whose baseline expects lines, once per silence, to be scored like any
other (its line-count dip makes it anomalous). Windows missing between two
windows of a source (minutes without a line) are learned as zero counts, at most
``max_gap`` of them.

Bounds: at most ``max_series`` series; past that the source updated least
recently is forgotten with all its series, or, when the source being updated is
the only one, its template series with the smallest mean (each restarts from
nothing if it returns).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, overload

from ..errors import ConfigError, MonitorStateError, StateError
from ..records import Window
from .explain import Deviation, Kind
from .novelty import _check_state

__all__ = ["RateDetector"]

_STATE_VERSION = 1
_TOTAL = -1  # the template id standing for "all lines of the source"
_STEP = 3.0  # the most one window's z adds to a drift statistic (Huber-style clip)


class _Row(NamedTuple):
    """How one series deviates in a window (see :meth:`RateDetector._rows`)."""

    spike: float
    slow: float
    z: float
    template: int
    observed: float
    expected: float
    drift: float


@dataclass(slots=True)
class _Series:
    mean: float = 0.0
    deviation: float = 0.0
    windows: int = 0
    rising: float = 0.0  # one-sided CUSUM of z - k: evidence of a sustained rise
    falling: float = 0.0  # ... and of a sustained fall

    def update(self, x: float, alpha: float) -> None:
        if self.windows == 0:
            self.mean = x
        else:
            # A running mean until 1/alpha windows are in, then the EWMA: a young
            # series' baseline is its history's mean, not its first count decaying
            # slowly (which biases z, and a CUSUM adds that bias up).
            rate = max(alpha, 1.0 / (self.windows + 1))
            error = x - self.mean
            self.mean += rate * error
            self.deviation += rate * (abs(error) - self.deviation)
        self.windows += 1

    def z(self, x: float) -> float:
        """The less extreme of the count's deviation from the robust spread and
        from Poisson noise (Anscombe's transform, whose noise is about N(0, 1) at
        any mean: a template that averages one line in ten windows is not a
        four-sigma spike when three lines come)."""
        poisson = 2.0 * (math.sqrt(x + 0.375) - math.sqrt(max(self.mean, 0.0) + 0.375))
        if self.deviation <= 0.0:
            return poisson
        empirical = (x - self.mean) / (1.25 * self.deviation)
        return poisson if abs(poisson) < abs(empirical) else empirical


@dataclass(slots=True)
class _Source:
    last_end: float
    length: float  # the typical window length, for silence and gaps
    silent_reported: bool = False
    reported_at: float = 0.0  # when the silence was last reported (not saved)


def _stream(window: Window) -> str:
    source, _, key = window.source.rpartition("#")
    return source if source else key


class RateDetector:
    """EWMA + mean-absolute-deviation baselines of counts per window; see the module."""

    name = "rate"

    def __init__(
        self,
        alpha: float = 0.05,
        z_half: float = 4.0,
        warmup_windows: int = 10,
        min_windows: int = 10,
        min_mean: float = 3.0,
        silence_windows: float = 3.0,
        max_gap: int = 60,
        max_series: int = 50_000,
        drift_k: float = 1.0,
        drift_half: float | None = 8.0,
    ) -> None:
        if not 0.0 < alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
        if not z_half > 0:
            raise ConfigError(f"z_half must be positive, got {z_half}")
        for name, count in (
            ("warmup_windows", warmup_windows), ("min_windows", min_windows),
            ("max_series", max_series),
        ):  # fmt: skip
            if count < 1:
                raise ConfigError(f"{name} must be at least 1, got {count}")
        if min_mean < 0 or silence_windows <= 0 or max_gap < 0:
            raise ConfigError("min_mean and max_gap must be >= 0 and silence_windows > 0")
        if drift_k < 0 or (drift_half is not None and not drift_half > 0):
            raise ConfigError(
                f"drift_k must be >= 0 and drift_half positive or None, got {drift_k}, {drift_half}"
            )
        self.alpha = alpha
        self.z_half = z_half
        self.warmup_windows = warmup_windows
        self.min_windows = min_windows
        self.min_mean = min_mean
        self.silence_windows = silence_windows
        self.max_gap = max_gap
        self.max_series = max_series
        self.drift_k = drift_k
        self.drift_half = drift_half
        # stream -> template -> series; least recently updated stream first.
        self.series_: OrderedDict[str, dict[int, _Series]] = OrderedDict()
        self._size = 0  # series in all streams
        self.sources_: dict[str, _Source] = {}
        self.learned_ = 0

    @property
    def ready(self) -> bool:
        return self.learned_ >= self.warmup_windows

    # -- learning --------------------------------------------------------------------

    def learn(self, windows: Sequence[Window]) -> None:
        for window in windows:
            stream = _stream(window)
            source = self.sources_.get(stream)
            length = max(window.end - window.start, 1e-9)
            if source is None:
                source = self.sources_[stream] = _Source(window.end, length)
            else:
                gap = int((window.start - source.last_end) // source.length)
                for _ in range(min(max(gap, 0), self.max_gap)):
                    self._update(stream, {}, drift=False)
                source.last_end = max(source.last_end, window.end)
                source.length = length
                source.silent_reported = False
            self._update(stream, window.count_map(), window.lines)
            self.learned_ += 1

    def _update(
        self, stream: str, counts: dict[int, int], lines: int = 0, drift: bool = True
    ) -> None:
        """Learn one window of ``stream``; ``drift=False`` for the empty windows of a
        gap, which were never scored: they reset the drift statistics instead. A
        pause is :meth:`silent`'s to report, and it breaks the run of windows a
        drift adds up (else a pause builds a "falling" that fires on the normal
        windows after it, and a source that logs in bursts between pauses adds
        up a "rise" that nothing takes down)."""
        table = self.series_.get(stream)
        if table is None:
            table = self.series_[stream] = {}
        self.series_.move_to_end(stream)
        alpha = self.alpha
        for template, s in table.items():
            x = lines if template == _TOTAL else counts.get(template, 0)
            if not drift:
                s.rising = s.falling = 0.0
            elif self.drift_half is not None and s.windows >= self.min_windows:
                if self._inert(s, x):
                    s.falling = 0.0  # what _cusum gives, without its cost
                else:
                    s.rising, s.falling = self._cusum(s, s.z(float(x)))
            s.update(x, alpha)
        # A new series starts from its first count; the running mean of a young
        # series (see _Series.update) brings a one-window burst down as 1/n, and
        # min_windows of its own history come before it is scored.
        for template, count in counts.items():
            if template not in table:
                table[template] = _Series()
                table[template].update(count, alpha)
                self._size += 1
        if _TOTAL not in table:
            table[_TOTAL] = _Series()
            table[_TOTAL].update(lines, alpha)
            self._size += 1
        self._bound(stream)

    def _bound(self, current: str) -> None:
        series = self.series_
        while self._size > self.max_series:
            stream = next(iter(series))
            if stream != current:
                self._size -= len(series.pop(stream))
                self.sources_.pop(stream, None)
                continue
            table = series[current]
            smallest = min(
                (t for t in table if t != _TOTAL), key=lambda t: table[t].mean, default=None
            )
            if smallest is None:
                return
            del table[smallest]
            self._size -= 1

    def _inert(self, s: _Series, x: float) -> bool:
        """Whether a count of ``x`` leaves ``s`` nothing to report: no line, a
        mean too low for a dip, and no rise to carry (its drift statistics stay 0)."""
        return x == 0 and s.rising == 0.0 and s.mean < self.min_mean

    def _cusum(self, s: _Series, z: float) -> tuple[float, float]:
        """The series' rise and fall statistics after a window whose count deviates
        by ``z``
        (Page's CUSUM on the same z as a spike: ``max(0, c + z - k)``, the fall
        only for series whose mean reaches ``min_mean``, as dips). Each is capped
        at twice ``drift_half``, so evidence of an old drift fades within a few
        windows once the count is back to normal."""
        # One window adds at most _STEP: a single spike is the z score's to report,
        # and must not leave a CUSUM that makes the next quiet window a "rise".
        z = min(_STEP, max(-_STEP, z))
        cap = 2.0 * (self.drift_half or 0.0)
        rising = min(cap, max(0.0, s.rising + z - self.drift_k))
        falling = 0.0
        if s.mean >= self.min_mean:
            falling = min(cap, max(0.0, s.falling - z - self.drift_k))
        return rising, falling

    # -- scoring ---------------------------------------------------------------------

    def _rows(self, window: Window) -> list[_Row]:
        """One row for every series with enough history and something to report:
        its spike/dip strength ``|z| / (|z| + z_half)`` (0 for a dip of a series
        too rare for dips) and its drift strength ``|c| / (|c| + drift_half)``,
        where ``c`` is the rise (positive) or fall (negative) statistic the window
        brings the series to."""
        stream = _stream(window)
        counts = window.count_map()
        out = []
        min_mean, z_half, drift_half = self.min_mean, self.z_half, self.drift_half
        for template, s in self.series_.get(stream, {}).items():
            if s.windows < self.min_windows:
                continue
            x = float(window.lines if template == _TOTAL else counts.get(template, 0))
            if self._inert(s, x):
                continue
            z = s.z(x)
            drift = 0.0
            if drift_half is not None:
                rising, falling = self._cusum(s, z)
                drift = rising if rising >= falling else -falling
            dip_ignored = z < 0 and s.mean < min_mean
            if dip_ignored and drift == 0.0:
                continue
            spike = 0.0 if dip_ignored else abs(z) / (abs(z) + z_half)
            slow = abs(drift) / (abs(drift) + drift_half) if drift_half else 0.0
            out.append(_Row(spike, slow, z, template, x, s.mean, drift))
        return out

    def score(self, windows: Sequence[Window]) -> list[float]:
        if not self.ready:
            raise MonitorStateError("score() before the warm-up ended; check .ready first")
        return [
            max((max(row.spike, row.slow) for row in self._rows(w)), default=0.0) for w in windows
        ]

    def deviations(self, window: Window, limit: int = 5) -> list[Deviation]:
        """The series that deviate most, as explanation records: a spike, dip or
        silence by this window's count, or a rise or fall by the drift statistic,
        whichever is stronger."""
        rows = sorted(self._rows(window), key=lambda r: -max(r.spike, r.slow))[:limit]
        out = []
        for spike, slow, z, template, observed, expected, drift in rows:
            kind: Kind
            if slow > spike:
                if abs(drift) < self.drift_k:
                    continue
                kind = "rising" if drift > 0 else "falling"
            else:
                if abs(z) < 1.0:
                    continue
                silent = template == _TOTAL and observed == 0
                kind = "silent" if silent else ("spike" if z > 0 else "dip")
            out.append(
                Deviation(
                    None if template == _TOTAL else template, kind, observed, expected,
                    self.name, max(spike, slow),
                )
            )  # fmt: skip
        return out

    @overload
    def silent(self, now: float, *, sources: set[str] | None = None) -> list[Window]: ...

    @overload
    def silent(
        self, now: float, mark: Literal[False], sources: set[str] | None = None
    ) -> set[str]: ...

    def silent(
        self, now: float, mark: bool = True, sources: set[str] | None = None
    ) -> list[Window] | set[str]:
        """An empty window for each source quiet for ``silence_windows`` window
        lengths whose line count is expected to be at least ``min_mean``; each
        silence is reported once, until the source logs again. With ``mark=False``
        only the names of such sources, and nothing is marked reported (a look).
        ``sources`` limits the look to those."""
        out = []
        names: set[str] = set()
        for stream, source in self.sources_.items():
            if sources is not None and stream not in sources:
                continue
            period = self.silence_windows * source.length
            if now - source.last_end < period:
                continue
            if source.silent_reported and now - source.reported_at < period:
                continue  # reported; again once per period while it lasts (the alert lives)
            total = self.series_.get(stream, {}).get(_TOTAL)
            if total is None or total.windows < self.min_windows or total.mean < self.min_mean:
                continue
            names.add(stream)
            if mark:
                source.silent_reported = True
                source.reported_at = now
                out.append(Window(stream, source.last_end, now, (), 0, 0))
        return out if mark else names

    # -- state -----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "version": _STATE_VERSION,
            "params": {
                "alpha": self.alpha,
                "z_half": self.z_half,
                "warmup_windows": self.warmup_windows,
                "min_windows": self.min_windows,
                "min_mean": self.min_mean,
                "silence_windows": self.silence_windows,
                "max_gap": self.max_gap,
                "max_series": self.max_series,
                "drift_k": self.drift_k,
                "drift_half": self.drift_half,
            },
            "learned": self.learned_,
            "sources": [
                [name, s.last_end, s.length, s.silent_reported] for name, s in self.sources_.items()
            ],
            # Least recently updated first, so the eviction order survives a restart.
            "series": [
                [stream, template, s.mean, s.deviation, s.windows, s.rising, s.falling]
                for stream, table in self.series_.items()
                for template, s in table.items()
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RateDetector:
        _check_state(state, cls.name, _STATE_VERSION)
        try:
            detector = cls(**state["params"])
            detector.learned_ = int(state["learned"])
            for name, last_end, length, reported in state["sources"]:
                detector.sources_[str(name)] = _Source(
                    float(last_end), float(length), bool(reported)
                )
            for stream, template, mean, deviation, windows, *drift in state["series"]:
                table = detector.series_.setdefault(str(stream), {})
                if len(drift) not in (0, 2):  # 0: saved before drift statistics
                    raise ValueError(f"a series row has {5 + len(drift)} fields, not 7")
                rising, falling = (float(drift[0]), float(drift[1])) if drift else (0.0, 0.0)
                table[int(template)] = _Series(
                    float(mean), float(deviation), int(windows), rising, falling
                )
                detector._size += 1
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"saved {cls.name} state is malformed ({exc!r})") from None
        return detector
