"""The alert lifecycle: dedup, grouping, repeats, resolution, the rate limit and
feedback, on an explicit clock (``now`` is passed in)."""

from __future__ import annotations

from dataclasses import replace

from logmonitor.alerts.policy import AlertPolicy, Feedback, LifecycleSettings, Mute, Outcome
from logmonitor.records import Alert, Score, Window

TEMPLATES = {1: "user <*> logged in", 2: "disk <*> failed", 9: "kernel panic <*>"}


def score(value: float = 0.9, source: str = "/var/log/app.log", new: tuple[int, ...] = (2,),
          start: float = 0.0) -> Score:  # fmt: skip
    counts = ((1, 50), *((t, 5) for t in new))
    return Score(Window(source, start, start + 60, counts, 50 + 5 * len(new), 5, new), value, "x")


class Harness:
    """A policy plus a stand-in store that hands out ids."""

    def __init__(self, **settings: float) -> None:
        self.policy = AlertPolicy(0.5, TEMPLATES.get, LifecycleSettings(**settings))  # type: ignore[arg-type]
        self.next_id = 1
        self.sent: list[tuple[str, tuple[int | None, ...]]] = []

    def occur(self, now: float, *scores: Score) -> Outcome:
        outcome = self.policy.evaluate(list(scores), now)
        saved = []
        for alert in outcome.new:
            saved.append(replace(alert, id=self.next_id))
            self.next_id += 1
        self.policy.saved(saved)
        return outcome

    def tick(self, now: float) -> list[Alert]:
        notes, changed = self.policy.flush(now)
        self.sent += [(n.kind, tuple(a.id for a in n.alerts)) for n in notes]
        return changed


def test_the_same_condition_updates_one_alert_instead_of_raising_more() -> None:
    h = Harness()
    first = h.occur(0.0, score(0.7))
    assert len(first.new) == 1
    again = h.occur(60.0, score(0.95, start=60.0))
    assert again.new == []
    (updated,) = again.updated
    assert (updated.id, updated.occurrences, updated.score) == (1, 2, 0.95)
    assert updated.severity == "critical"
    assert updated.last_seen == 60.0
    other = h.occur(60.0, score(new=(9,)))  # other templates: another condition
    assert len(other.new) == 1
    assert other.new[0].fingerprint != updated.fingerprint


def test_alerts_of_a_source_are_grouped_then_sent_at_most_every_group_interval() -> None:
    h = Harness(group_wait=30, group_interval=300)
    h.occur(0.0, score(new=(2,)))
    h.occur(10.0, score(new=(9,)))
    h.tick(29.0)
    assert h.sent == []  # still inside group_wait
    h.tick(30.0)
    assert h.sent == [("firing", (1, 2))]  # one notification for both
    h.occur(40.0, score(new=(1,)))
    h.tick(100.0)
    assert len(h.sent) == 1  # a later alert waits for group_interval
    h.tick(330.0)
    assert h.sent[-1] == ("firing", (3,))


def test_a_condition_that_ends_resolves_after_the_cooldown_and_is_told_once() -> None:
    h = Harness(group_wait=0, cooldown=300)
    h.occur(0.0, score())
    h.tick(0.0)
    assert h.tick(299.0) == []
    (resolved,) = h.tick(300.0)
    assert resolved.status == "resolved"
    assert h.sent[-1] == ("resolved", (1,))
    h.tick(900.0)
    assert len(h.sent) == 2
    assert len(h.occur(1000.0, score()).new) == 1  # after the end, a new alert


def test_a_persisting_condition_repeats_every_repeat_interval_unless_acked() -> None:
    h = Harness(group_wait=0, repeat_interval=3600, cooldown=600)
    h.occur(0.0, score())
    h.tick(0.0)
    for t in range(60, 3600 * 3, 60):  # it keeps occurring every minute for 3 hours
        h.occur(float(t), score(start=float(t)))
        h.tick(float(t))
    firing = [ids for kind, ids in h.sent if kind == "firing"]
    assert firing == [(1,), (1,), (1,)]  # the first, then one per hour
    h.policy.set_feedback(Feedback(acked=frozenset({1})))
    for t in range(3600 * 3, 3600 * 5, 60):
        h.occur(float(t), score(start=float(t)))
        h.tick(float(t))
    assert len([k for k, _ in h.sent if k == "firing"]) == 3


def test_ten_thousand_anomalous_windows_make_a_handful_of_notifications() -> None:
    h = Harness()  # Alertmanager's defaults: 30 s, 5 min, 4 h
    sources = [f"/var/log/s{i}.log" for i in range(5)]
    for n in range(10_000):  # two hours of five sources, each anomalous every window
        t = float(n // 5) * 3.6
        h.occur(t, score(source=sources[n % 5], new=(2 + n % 3,), start=t))
        h.tick(t)
    # 5 sources x 3 conditions = 15 alerts, each told once (no repeat within 4 h).
    assert h.next_id - 1 == 15
    assert len(h.sent) <= 15
    told = [i for _, ids in h.sent for i in ids]
    assert sorted(told) == list(range(1, 16))


def test_the_rate_limit_defers_and_merges_instead_of_dropping() -> None:
    h = Harness(group_wait=0, max_notifications_per_hour=2, cooldown=7200)
    for i in range(6):
        h.occur(float(i), score(source=f"/s{i}.log"))
        h.tick(float(i))
    assert len(h.sent) == 2
    h.tick(1800.0)  # one token again: what waited goes out together, nothing is lost
    assert h.sent[-1] == ("firing", (3, 4, 5, 6))
    assert h.policy.notifications_deferred > 0


def test_mutes_and_false_positives_suppress() -> None:
    h = Harness()
    first = h.occur(0.0, score())
    (alert,) = first.new
    h.policy.set_feedback(Feedback(false_positives=frozenset({alert.fingerprint})))
    # The policy forgets nothing it has open; a new occurrence of the condition is
    # suppressed once it is marked false-positive.
    h.policy._open.clear()
    assert h.occur(10.0, score()).suppressed == 1
    h.policy.set_feedback(
        Feedback(mutes=(Mute("source", "/var/log", until=100.0), Mute("template", "9", 50.0)))
    )
    assert h.occur(20.0, score(new=(1,))).suppressed == 1  # muted source (a directory)
    assert h.occur(20.0, score(source="/srv/x.log", new=(9,))).suppressed == 1  # template
    assert len(h.occur(200.0, score(source="/srv/x.log", new=(9,))).new) == 1  # mutes end


def test_firing_alerts_of_an_earlier_run_are_taken_back() -> None:
    h = Harness(group_wait=30)
    (alert,) = h.occur(0.0, score()).new
    stored = replace(alert, id=7)
    fresh = Harness(group_wait=30)
    fresh.policy.load([stored], {7: None})  # never notified: a crash in group_wait
    assert fresh.occur(10.0, score()).updated[0].id == 7
    fresh.tick(40.0)
    assert fresh.sent == [("firing", (7,))]


def test_sessions_group_and_mute_by_their_file_and_old_groups_are_forgotten() -> None:
    h = Harness(group_wait=0, group_interval=300)
    h.policy.sessions = True
    for n in range(50):  # fifty sessions of one file alert together
        h.occur(0.0, score(source=f"/var/log/hdfs.log#blk_{n}", new=(2 + n % 3,)))
    h.tick(0.0)
    assert len(h.sent) == 1  # one notification for the file, not fifty
    assert h.policy.due_sources(400.0) == {"/var/log/hdfs.log"}  # the file, to be resolved
    h.policy.set_feedback(Feedback(mutes=(Mute("source", "/var/log/hdfs.log", until=1e9),)))
    assert h.occur(10.0, score(source="/var/log/hdfs.log#blk_99", new=(9,))).suppressed == 1
    h.tick(1000.0)
    assert h.policy._group_sent == {}  # older than group_interval: nothing to remember


def test_an_alert_that_was_never_stored_does_not_break_its_condition() -> None:
    h = Harness()
    h.policy.evaluate([score()], 0.0)  # evaluated, but its commit failed: no id, no saved()
    again = h.policy.evaluate([score()], 10.0)
    assert len(again.new) == 1  # a new alert, not a ValueError
