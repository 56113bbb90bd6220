"""Multi-line records: tracebacks, stack traces and panics joined into one record."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor import FakeClock
from logmonitor.parse.formats import LineParser
from logmonitor.parse.multiline import MultilineJoiner
from logmonitor.records import LogLine, Record

HEADER = "2024-01-01 12:00:00,000"

PYTHON_CHAINED = [
    f"{HEADER} ERROR worker crashed",
    "Traceback (most recent call last):",
    '  File "/app/worker.py", line 10, in run',
    "    value = int(text)",
    "ValueError: invalid literal for int() with base 10: 'x'",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "/app/worker.py", line 12, in run',
    "    raise RuntimeError('bad input') from None",
    "    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    "app.errors.BadInput: bad input",
]

JAVA = [
    f"{HEADER} ERROR [main] com.acme.Server: request failed",
    "java.lang.IllegalStateException: cannot serve",
    "\tat com.acme.Server.handle(Server.java:42)",
    "\tat java.base/java.lang.Thread.run(Thread.java:833)",
    "Caused by: java.io.IOException: Broken pipe",
    "\tat com.acme.Net.write(Net.java:7)",
    "\t... 12 more",
]

GO_PANIC = [
    "panic: runtime error: index out of range [5] with length 3",
    "",
    "goroutine 1 [running]:",
    "main.lookup(...)",
    "\t/home/me/app/main.go:12",
    "main.main()",
    "\t/home/me/app/main.go:8 +0x1d",
    "exit status 2",
]


def lines_of(texts: Sequence[str], source: str = "app.log", start: int = 0) -> list[LogLine]:
    """LogLines as the tail source makes them: offsets of a file holding ``texts``."""
    out: list[LogLine] = []
    offset = start
    for number, text in enumerate(texts, 1):
        end = offset + len(text.encode()) + 1
        out.append(LogLine(source, source, text, offset, end, number, 0.0))
        offset = end
    return out


def parse(lines: Sequence[LogLine]) -> list[Record]:
    return LineParser(FakeClock()).parse_batch(lines)


def join_all(texts: Sequence[str], joiner: MultilineJoiner | None = None) -> list[Record]:
    joiner = joiner or MultilineJoiner()
    return joiner.feed(parse(lines_of(texts)), now=0.0) + joiner.flush_all()


def test_python_traceback_with_chained_exception() -> None:
    records = join_all([*PYTHON_CHAINED, f"{HEADER} INFO recovered"])
    assert len(records) == 2
    crash = records[0]
    assert crash.line.text == "\n".join(PYTHON_CHAINED)
    assert crash.error_type == "app.errors.BadInput"  # the exception that escaped
    assert crash.level == "error"
    assert crash.message.startswith("worker crashed\nTraceback")
    assert records[1].message == "recovered"


def test_bare_python_traceback_gets_level_and_type() -> None:
    texts = [
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "KeyError: 'missing'",
        "plain output",
    ]
    first, second = join_all(texts)
    assert first.line.text == "\n".join(texts[:3])
    assert (first.error_type, first.level) == ("KeyError", "error")
    assert second.line.text == "plain output"


def test_java_stack_trace_keeps_the_outermost_exception() -> None:
    records = join_all([*JAVA, f"{HEADER} INFO [main] com.acme.Server: next"])
    assert len(records) == 2
    assert records[0].line.text == "\n".join(JAVA)
    assert records[0].error_type == "java.lang.IllegalStateException"


def test_java_uncaught_exception_on_stderr() -> None:
    texts = [
        'Exception in thread "main" com.acme.Boom: oops',
        "\tat com.acme.Main.main(Main.java:3)",
        "Caused by: java.io.IOException: disk",
        "\t... 1 more",
    ]
    (record,) = join_all(texts)
    assert record.error_type == "com.acme.Boom"
    assert record.line.text.count("\n") == 3


def test_caused_by_names_the_type_when_nothing_else_does() -> None:
    texts = [f"{HEADER} WARN retrying", "\tat a.B.c(B.java:1)", "Caused by: a.Timeout: slow"]
    (record,) = join_all(texts)
    assert record.error_type == "a.Timeout"
    assert record.level == "warning"  # a header's own level is kept


def test_go_panic() -> None:
    records = join_all(GO_PANIC)
    assert [r.line.text for r in records] == ["\n".join(GO_PANIC[:-1]), "exit status 2"]
    assert records[0].error_type == "runtime.Error"
    assert records[0].level == "error"


def test_go_panic_without_a_runtime_error() -> None:
    (record,) = join_all(["panic: something went wrong", "", "goroutine 7 [running]:"])
    assert record.error_type == "panic"


def test_indented_continuation_joins_and_blank_line_does_not() -> None:
    texts = [f"{HEADER} INFO config:", "  port: 80", "  host: x", "", f"{HEADER} INFO up"]
    records = join_all(texts)
    assert [r.line.text for r in records] == [
        "\n".join(texts[:3]),
        "",
        texts[4],
    ]
    assert records[0].error_type is None
    assert records[0].level == "info"


def test_headered_line_never_joins() -> None:
    texts = [f"{HEADER} ERROR a", f"{HEADER} ERROR b", "ERROR:root:c", '{"msg": "d"}']
    records = join_all(texts)
    assert [r.line.text for r in records] == texts


def test_unrelated_raw_lines_stay_apart() -> None:
    texts = ["starting", "Traceback (most recent call last):", "done", "ValueError: x"]
    assert [r.line.text for r in join_all(texts)] == texts


def test_joined_record_offsets_and_line_numbers() -> None:
    lines = lines_of(["noise", *JAVA], start=100)
    joiner = MultilineJoiner()
    records = joiner.feed(parse(lines), now=0.0) + joiner.flush_all()
    joined = records[1]
    assert joined.line.offset == lines[1].offset
    assert joined.line.line_number == 2
    assert joined.line.end_offset == lines[-1].end_offset
    assert joined.line.path == "app.log"
    assert not joined.line.truncated
    assert records[0].line == lines[0]


def test_single_line_records_pass_through_unchanged() -> None:
    parsed = parse(lines_of([f"{HEADER} INFO a", f"{HEADER} INFO b"]))
    joiner = MultilineJoiner()
    assert joiner.feed(parsed, now=0.0) == [parsed[0]]
    assert joiner.flush_all()[0] is parsed[1]


def test_interleaved_sources() -> None:
    a = parse(lines_of(PYTHON_CHAINED[:5], source="a.log"))
    b = parse(lines_of(JAVA, source="b.log"))
    mixed = [x for pair in zip(a, b, strict=False) for x in pair] + b[len(a) :]
    joiner = MultilineJoiner()
    out = joiner.feed(mixed, now=0.0)
    assert out == []  # both entries still wait for their next line
    assert joiner.pending_sources == 2
    records = {r.line.source: r for r in joiner.flush_all()}
    assert records["a.log"].line.text == "\n".join(PYTHON_CHAINED[:5])
    assert records["a.log"].error_type == "ValueError"
    assert records["b.log"].line.text == "\n".join(JAVA)


def test_timeout_flush_uses_the_given_now() -> None:
    joiner = MultilineJoiner(timeout=1.0)
    records = parse(lines_of(PYTHON_CHAINED[:3]))
    assert joiner.feed(records[:2], now=10.0) == []
    assert joiner.feed(records[2:], now=10.5) == []
    assert joiner.flush_due(11.0) == []  # 0.5 s since the last line
    (flushed,) = joiner.flush_due(11.5)
    assert flushed.line.text == "\n".join(PYTHON_CHAINED[:3])
    assert joiner.pending_sources == 0
    assert joiner.flush_due(100.0) == []


def test_timeout_flushes_only_idle_sources() -> None:
    joiner = MultilineJoiner(timeout=1.0)
    joiner.feed(parse(lines_of(["a1"], source="a")), now=0.0)
    joiner.feed(parse(lines_of(["b1"], source="b")), now=0.8)
    assert [r.line.source for r in joiner.flush_due(1.0)] == ["a"]
    assert [r.line.source for r in joiner.flush_due(1.8)] == ["b"]


def test_a_huge_stack_is_capped_and_drops_counted() -> None:
    texts = [f"{HEADER} ERROR deep", "Traceback (most recent call last):"]
    texts += [f'  File "f.py", line {i}, in f' for i in range(10_000)]
    texts += ["RecursionError: maximum recursion depth exceeded"]
    lines = lines_of(texts)
    joiner = MultilineJoiner(max_lines=500)
    (record,) = joiner.feed(parse(lines), now=0.0) + joiner.flush_all()
    kept = record.line.text.split("\n")
    assert len(kept) == 501
    assert kept == texts[:501]
    assert joiner.dropped_lines == len(texts) - 501
    assert record.line.truncated
    assert record.line.end_offset == lines[-1].end_offset  # checkpoint past the drops
    assert record.error_type == "RecursionError"  # still read from a dropped line


def test_byte_bound() -> None:
    texts = ["panic: x", *(["\t" + "y" * 99] * 20)]
    joiner = MultilineJoiner(max_bytes=1000)
    (record,) = join_all(texts, joiner)
    assert len(record.line.text.encode()) <= 1000
    assert joiner.dropped_lines == 20 - (record.line.text.count("\n"))


def test_max_sources_completes_the_least_recently_fed() -> None:
    joiner = MultilineJoiner(max_sources=2)
    out = joiner.feed(
        parse(lines_of(["a"], "a") + lines_of(["b"], "b") + lines_of(["  a2"], "a")), now=0.0
    )
    assert out == []
    out = joiner.feed(parse(lines_of(["c"], "c")), now=0.0)
    assert [r.line.source for r in out] == ["b"]
    assert joiner.pending_sources == 2


def test_rotation_starts_a_new_entry() -> None:
    first = LogLine("app.log", "app.log.1", "panic: x", 0, 9, 1, 0.0)
    second = LogLine("app.log", "app.log", "\tmain.go:1", 0, 11, 1, 0.0)
    joiner = MultilineJoiner()
    records = joiner.feed(parse([first, second]), now=0.0) + joiner.flush_all()
    assert [(r.line.path, r.line.text) for r in records] == [
        ("app.log.1", "panic: x"),
        ("app.log", "\tmain.go:1"),
    ]


def test_stray_word_after_frames_does_not_join() -> None:
    texts = ["Traceback (most recent call last):", '  File "x.py", line 1, in f', "Done"]
    texts_go = ["panic: x", "goroutine 1 [running]:", "\tmain.go:3", "signal: killed"]
    assert [r.line.text for r in join_all(texts)] == ["\n".join(texts[:2]), "Done"]
    records = join_all(texts_go)
    assert [r.line.text for r in records] == ["\n".join(texts_go[:3]), "signal: killed"]
    assert records[0].error_type == "panic"


def test_bare_exception_names_after_python_frames() -> None:
    texts = ["Traceback (most recent call last):", '  File "x.py", line 1, in f']
    (record,) = join_all([*texts, "KeyboardInterrupt"])
    assert record.error_type == "KeyboardInterrupt"


SAMPLES = [
    *PYTHON_CHAINED,
    *JAVA,
    *GO_PANIC,
    'Exception in thread "main" a.B: c',
    "created by main.main in goroutine 1",
    "",
    "   ",
    "plain",
]
TEXTS = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=30),
)
LINES = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), TEXTS), max_size=60)


def run(pairs: list[tuple[str, str]], joiner: MultilineJoiner, batch: int) -> list[Record]:
    counters: dict[str, int] = {}
    lines = []
    for source, text in pairs:
        number = counters[source] = counters.get(source, 0) + 1
        lines.append(LogLine(source, source, text, number * 10, number * 10 + 10, number, 0.0))
    parsed = parse(lines)
    out: list[Record] = []
    for i in range(0, len(parsed), batch):
        out += joiner.feed(parsed[i : i + batch], now=float(i))
        out += joiner.flush_due(float(i))
    return out + joiner.flush_all()


def by_source(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source, text in pairs:
        out.setdefault(source, []).append(text)
    return out


@settings(max_examples=200, deadline=None)
@given(LINES, st.integers(1, 7))
def test_no_line_is_lost_and_order_is_kept(pairs: list[tuple[str, str]], batch: int) -> None:
    records = run(pairs, MultilineJoiner(timeout=3.0), batch)
    for source, texts in by_source(pairs).items():
        mine = [r for r in records if r.line.source == source]
        assert "\n".join(r.line.text for r in mine) == "\n".join(texts)
        numbers = [r.line.line_number for r in mine]
        assert numbers == sorted(numbers)
        ends = [r.line.end_offset for r in mine]
        assert ends == sorted(ends)
        assert ends[-1] == len(texts) * 10 + 10  # the last checkpoint covers every line
        assert sum(r.line.text.count("\n") + 1 for r in mine) == len(texts)


def is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


@settings(max_examples=200, deadline=None)
@given(LINES, st.integers(1, 7), st.integers(0, 3), st.integers(1, 80))
def test_bounded_joins_only_drop_counted_lines(
    pairs: list[tuple[str, str]], batch: int, max_lines: int, max_bytes: int
) -> None:
    joiner = MultilineJoiner(max_lines=max_lines, max_bytes=max_bytes, max_sources=2)
    records = run(pairs, joiner, batch)
    kept = 0
    for source, texts in by_source(pairs).items():
        mine = [r.line.text for r in records if r.line.source == source]
        out = "\n".join(mine).split("\n")
        assert is_subsequence(out, texts)
        kept += len(out)
    assert kept + joiner.dropped_lines == len(pairs)
    assert all(r.line.text.count("\n") <= max_lines for r in records)
