"""Header parsing of the layouts beyond Loghub: access logs, logfmt, nginx errors,
log4j/logback, journald, Python's asctime format, Monolog, Windows CBS columns."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor import FakeClock
from logmonitor.parse.formats import LineParser
from logmonitor.records import LogLine, Record

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def line(text: str, source: str = "app.log") -> LogLine:
    return LogLine(source, source, text, 0, len(text) + 1, 1, 5.0)


def parse(text: str, now: float = NOW) -> Record:
    return LineParser(FakeClock(now)).parse(line(text), now)


def local(year: int, month: int, day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> float:
    """A naive wall-clock time read in the host's zone, as the parser reads it."""
    return datetime(year, month, day, hh, mm, ss).timestamp()


# ---------------------------------------------------------------- access logs


def test_combined_log_format() -> None:
    record = parse(
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
        ' "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
    )
    assert record.format == "access"
    assert record.message == "GET /apache_pb.gif HTTP/1.0 200"
    assert record.level == "info"
    assert record.component is None
    assert record.timestamp == 971_211_336.0  # 20:55:36 UTC


@pytest.mark.parametrize(
    ("status", "level"),
    [("200", "info"), ("304", "info"), ("404", "warning"), ("499", "warning"),
     ("500", "error"), ("503", "error")],
)  # fmt: skip
def test_access_level_follows_the_status_class(status: str, level: str) -> None:
    record = parse(
        f'203.0.113.9 - - [01/Jan/2024:00:00:00 +0100] "POST /api/v1/login HTTP/1.1" {status} -'
    )
    assert record.format == "access"
    assert record.level == level
    assert record.message == f"POST /api/v1/login HTTP/1.1 {status}"
    assert record.timestamp == 1_704_063_600.0  # 23:00 UTC the day before
    assert not record.error_type


def test_common_log_format_with_ipv6_and_escaped_quote() -> None:
    record = parse(r'::1 - - [01/Jan/2024:00:00:00 +0000] "GET /a\"b HTTP/1.1" 404 153')
    assert record.format == "access"
    assert record.message == r"GET /a\"b HTTP/1.1 404"
    assert record.timestamp == 1_704_067_200.0


def test_access_lines_keep_their_layout_per_source() -> None:
    parser = LineParser(FakeClock(NOW))
    texts = [
        f'10.0.0.{i} - - [01/Jan/2024:00:00:0{i} +0000] "GET /x HTTP/1.1" 200 5' for i in range(5)
    ]
    records = parser.parse_batch([line(t) for t in texts])
    assert {r.format for r in records} == {"access"}
    assert [r.timestamp for r in records] == [1_704_067_200.0 + i for i in range(5)]


# ---------------------------------------------------------------- logfmt


def test_logfmt_line() -> None:
    record = parse('ts=2024-01-01T00:00:00Z level=info msg="hello world" user=bob')
    assert record.format == "logfmt"
    assert record.level == "info"
    assert record.message == "hello world"
    assert record.timestamp == 1_704_067_200.0


def test_logfmt_quoted_escapes_and_other_keys() -> None:
    record = parse(
        r'time="2024-01-01T01:00:00+01:00" lvl=eror logger=db msg="query \"users\" failed\n'
        r'retrying" err="dial tcp: i/o timeout" took=1.5s'
    )
    assert record.format == "logfmt"
    assert record.message == 'query "users" failed\nretrying'
    assert record.component == "db"
    assert record.timestamp == 1_704_067_200.0
    assert record.level == "error"  # log15's four-letter "eror"


@pytest.mark.parametrize(
    ("key", "value", "level"),
    [("level", "warn", "warning"), ("lvl", "dbug", "debug"), ("severity", "ERROR", "error"),
     ("level", "debug", "debug")],
)  # fmt: skip
def test_logfmt_level_keys(key: str, value: str, level: str) -> None:
    record = parse(f"{key}={value} message=ok")
    assert record.format == "logfmt"
    assert (record.level, record.message) == (level, "ok")


def test_logfmt_epoch_timestamp_and_no_message_key() -> None:
    text = "ts=1704067200.5 level=error component=api status=500"
    record = parse(text)
    assert record.format == "logfmt"
    assert record.timestamp == 1_704_067_200.5
    assert record.message == text  # nothing to cut: the line is the message
    assert record.component == "api"
    assert record.level == "error"


@pytest.mark.parametrize(
    "text",
    [
        "user=bob logged in",  # prose after a pair
        "a=1 b=2",  # pairs, but none of the usual keys
        'msg="unterminated',
        "x=1 = 2",
    ],
)
def test_not_logfmt(text: str) -> None:
    record = parse(text)
    assert record.format == "raw"
    assert record.message == text


# ---------------------------------------------------------------- nginx error log


def test_nginx_error_log_with_connection_number() -> None:
    record = parse(
        '2024/01/01 12:00:00 [error] 1234#5678: *1 open() "/usr/share/nginx/html/x" failed'
        ' (2: No such file or directory), client: 10.0.0.1, server: _, request: "GET /x HTTP/1.1"'
    )
    assert record.format == "nginx-error"
    assert record.level == "error"
    assert record.timestamp == local(2024, 1, 1, 12)
    assert record.message.startswith('open() "/usr/share/nginx/html/x" failed (2: No such file')


@pytest.mark.parametrize(
    ("word", "level"),
    [("emerg", "critical"), ("alert", "critical"), ("crit", "critical"), ("warn", "warning"),
     ("notice", "notice"), ("info", "info"), ("debug", "debug")],
)  # fmt: skip
def test_nginx_error_levels_without_connection(word: str, level: str) -> None:
    record = parse(f"2024/01/01 12:00:00 [{word}] 77#77: using the epoll event method")
    assert record.format == "nginx-error"
    assert (record.level, record.message) == (level, "using the epoll event method")


# ---------------------------------------------------------------- Java


def test_log4j_pattern_with_thread_first() -> None:
    record = parse(
        "2024-01-01 12:00:00,123 [main] ERROR com.foo.Bar - connection refused:"
        " java.net.ConnectException: timeout"
    )
    assert record.format == "log4j"
    assert record.level == "error"
    assert record.component == "com.foo.Bar"
    assert record.message == "connection refused: java.net.ConnectException: timeout"
    assert record.error_type == "java.net.ConnectException"
    assert record.timestamp == pytest.approx(local(2024, 1, 1, 12) + 0.123)


def test_logback_default_pattern_takes_the_clock_date() -> None:
    now = local(2024, 3, 5, 15, 30)
    record = parse("12:00:00.123 [http-nio-8080-exec-1] INFO  c.f.web.Controller - ready", now)
    assert record.format == "logback-time"
    assert record.level == "info"
    assert record.component == "c.f.web.Controller"
    assert record.message == "ready"
    assert record.timestamp == pytest.approx(local(2024, 3, 5, 12) + 0.123)


def test_logback_time_after_now_is_yesterday() -> None:
    now = local(2024, 3, 5, 0, 5)
    record = parse("23:59:58.000 [main] WARN  a.B - late", now)
    assert record.timestamp == local(2024, 3, 4, 23, 59, 58)
    assert record.level == "warning"


def test_bracketed_iso_then_level() -> None:
    record = parse("[2024-01-01 12:00:00] ERROR disk quota exceeded")
    assert record.format == "iso"
    assert (record.level, record.message) == ("error", "disk quota exceeded")
    assert record.timestamp == local(2024, 1, 1, 12)


def test_monolog_channel_and_level() -> None:
    record = parse("[2024-01-01 12:00:00] production.ERROR: Undefined variable $x")
    assert record.format == "monolog"
    assert (record.level, record.component) == ("error", "production")
    assert record.message == "Undefined variable $x"


# ---------------------------------------------------------------- journald, Python


def test_journald_short_iso() -> None:
    record = parse("2024-01-01T12:00:00+0100 web1 nginx[123]: worker process exited")
    assert record.format == "journald"
    assert record.component == "nginx"
    assert record.message == "worker process exited"
    assert record.timestamp == 1_704_106_800.0  # 11:00 UTC
    assert record.level is None


def test_journald_level_word_and_inferred_level() -> None:
    failed = parse("2024-01-01T12:00:00+01:00 web1 systemd[1]: Failed to start nginx.service.")
    assert (failed.format, failed.level) == ("journald", "error")
    assert failed.component == "systemd"
    # A level word where the host would be is the "iso" layout, not journald.
    iso = parse("2024-01-01T00:00:00Z INFO main: started")
    assert (iso.format, iso.level, iso.message) == ("iso", "info", "main: started")


def test_python_asctime_default() -> None:
    record = parse("2024-01-01 12:00:00,123 - app.db - ERROR - msg")
    assert record.format == "python-asctime"
    assert (record.level, record.component, record.message) == ("error", "app.db", "msg")
    assert record.timestamp == pytest.approx(local(2024, 1, 1, 12) + 0.123)


# ---------------------------------------------------------------- Windows CBS


def test_windows_cbs_column_aligned_component() -> None:
    record = parse(
        "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601"
    )
    assert record.format == "iso"
    assert (record.level, record.component) == ("info", "CBS")
    assert record.message == "Loaded Servicing Stack v6.1.7601"
    assert record.timestamp == local(2016, 9, 28, 4, 30, 30)


def test_two_spaces_after_a_level_are_not_a_column() -> None:
    record = parse("2024-01-01 12:00:00,123 INFO  Starting  server")
    assert (record.level, record.component) == ("info", None)
    assert record.message == "Starting  server"


# ---------------------------------------------------------------- properties

LOGFMT_KEYS = st.sampled_from(["ts", "time", "level", "lvl", "msg", "message", "user", "x.y"])
LOGFMT_VALUES = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters=' "\n', blacklist_categories=["Cs"])),
    st.text().map(lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["2024-01-01T00:00:00Z", "1704067200", "error", "\\", '"']),
)


@settings(derandomize=True, deadline=None)
@given(st.lists(st.tuples(LOGFMT_KEYS, LOGFMT_VALUES), max_size=6), st.sampled_from(["", " ", "x"]))
def test_parse_never_raises_on_logfmt_like_text(pairs: list[tuple[str, str]], tail: str) -> None:
    text = " ".join(f"{k}={v}" for k, v in pairs) + tail
    record = parse(text)
    assert record.line.text == text
    if record.format not in ("logfmt", "json"):
        assert record.message in text
    if record.timestamp is not None:
        assert isinstance(record.timestamp, float)


@settings(derandomize=True, deadline=None)
@given(
    st.text(max_size=20),
    st.sampled_from(["10/Oct/2000:13:55:36 -0700", "31/Feb/2024:00:00:00 +0000",
                     "01/Jan/2024:99:00:00 +0000", "1/Jan/2024:00:00:00 +0000"]),
    st.text(max_size=40),
    st.text(alphabet="0123456789-", max_size=4),
    st.text(max_size=40),
)  # fmt: skip
def test_parse_never_raises_on_access_log_like_text(
    host: str, stamp: str, request: str, status: str, rest: str
) -> None:
    text = f'{host} - - [{stamp}] "{request}" {status} {rest}'
    record = parse(text)
    assert record.line.text == text
    if record.format == "access":
        assert record.level in ("info", "warning", "error")
    elif record.format != "json":
        assert record.message in text


@pytest.mark.parametrize(
    ("text", "level", "component", "message"),
    [
        ("2024-01-01T12:00:00.123Z  INFO 1234 --- [           main] c.e.demo.DemoApplication"
         "                 : Started DemoApplication in 1.2 seconds", "info",
         "c.e.demo.DemoApplication", "Started DemoApplication in 1.2 seconds"),
        ("2024-01-01T12:00:00.123Z ERROR 1234 --- [myapp] [nio-8080-exec-1] "
         "o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() failed", "error",
         "o.a.c.c.C.[.[.[/].[dispatcherServlet]", "Servlet.service() failed"),
    ],
)  # fmt: skip
def test_spring_boot_default(text: str, level: str, component: str, message: str) -> None:
    record = parse(text)
    assert record.format == "spring-boot"
    assert (record.level, record.component, record.message) == (level, component, message)
    assert record.timestamp == pytest.approx(1_704_110_400.123)


def test_logback_with_iso_date_is_the_log4j_layout() -> None:
    record = parse("2024-01-01 12:00:00.123 [main] DEBUG o.s.web.Servlet - Completed 200 OK")
    assert record.format == "log4j"
    assert (record.level, record.component, record.message) == (
        "debug",
        "o.s.web.Servlet",
        "Completed 200 OK",
    )
