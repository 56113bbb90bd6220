"""Header parsing: the Loghub-2k systems, the common layouts, level words, exceptions."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor import FakeClock
from logmonitor.parse.formats import LineParser, error_type_of, normalize_level
from logmonitor.records import LogLine, Record

NOW = 1_700_000_000.0  # 2023-11-14, the conftest clock

# Every Loghub-2k system has a timestamp in its header.
LOGHUB_SYSTEMS = (
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac",
    "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
)  # fmt: skip
# Systems whose structured CSV has a real level column (Linux's holds the host name).
LEVELLED_SYSTEMS = (
    "Android", "Apache", "BGL", "HDFS", "Hadoop", "OpenStack", "Spark", "Windows", "Zookeeper",
)  # fmt: skip


def line(text: str, source: str = "app.log", read_at: float = 5.0) -> LogLine:
    return LogLine(source, source, text, 0, len(text) + 1, 1, read_at)


def parse(text: str, now: float = NOW) -> Record:
    return LineParser(FakeClock(now)).parse(line(text), now)


def local(*fields: int) -> float:
    """A naive wall-clock time read in the host's zone, as the parser reads it."""
    return datetime(*fields).timestamp()


def read_loghub(shared_data: Path, system: str) -> list[str]:
    path = shared_data / "loghub-2k" / system / f"{system}_2k.log"
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


# ---------------------------------------------------------------- Loghub-2k


@pytest.mark.parametrize("system", LOGHUB_SYSTEMS)
def test_loghub_lines_get_a_timestamp(shared_data: Path, system: str) -> None:
    texts = read_loghub(shared_data, system)
    parser = LineParser(FakeClock(NOW))
    records = parser.parse_batch([line(t, source=system) for t in texts])
    stamped = [r for r in records if r.timestamp is not None]
    assert len(texts) == 2000
    assert len(stamped) >= 0.95 * len(texts), [r.line.text for r in records if not r.timestamp][:5]
    # Plausible: after 2003 (the oldest Loghub logs) and not after the clock.
    assert all(1e9 < r.timestamp <= NOW + 86_400 for r in stamped if r.timestamp is not None)
    # The message never includes the header it was split from.
    assert all(r.message != r.line.text for r in stamped)


@pytest.mark.parametrize("system", LEVELLED_SYSTEMS)
def test_loghub_levels_match_the_structured_csv(shared_data: Path, system: str) -> None:
    texts = read_loghub(shared_data, system)
    csv_path = shared_data / "loghub-2k" / system / f"{system}_2k.log_structured.csv"
    with csv_path.open(encoding="utf-8", errors="replace", newline="") as handle:
        expected = [normalize_level(row["Level"]) for row in csv.DictReader(handle)]
    records = LineParser(FakeClock(NOW)).parse_batch([line(t, source=system) for t in texts])
    assert [r.level for r in records] == expected


def test_loghub_hdfs_header(shared_data: Path) -> None:
    first = read_loghub(shared_data, "HDFS")[0]
    record = parse(first)
    assert record.format == "loghub-hdfs"
    assert record.level == "info"
    assert record.component == "dfs.DataNode$PacketResponder"
    assert record.message == "PacketResponder 1 for block blk_38865049064139660 terminating"
    assert record.timestamp == local(2008, 11, 9, 20, 36, 15)


@pytest.mark.parametrize(
    ("text", "level", "timestamp"),
    [
        (
            "081109 204525 512 WARN dfs.DataNode: Unexpected error trying to delete block",
            "warning",
            (2008, 11, 9, 20, 45, 25),
        ),
        (
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
            "info",
            (2008, 11, 9, 20, 36, 15),
        ),
    ],
)
def test_hdfs_levels(text: str, level: str, timestamp: tuple[int, ...]) -> None:
    record = parse(text)
    assert (record.level, record.timestamp) == (level, local(*timestamp))


def test_bgl_fatal_is_critical() -> None:
    record = parse(
        "- 1117848119 2005.06.03 R16-M1-N2-C:J17-U01 2005-06-03-18.21.59.871925 "
        "R16-M1-N2-C:J17-U01 RAS KERNEL FATAL data TLB error interrupt"
    )
    assert record.format == "loghub-bgl"
    assert record.level == "critical"
    assert record.is_error
    assert record.component == "RAS KERNEL"
    assert record.message == "data TLB error interrupt"
    assert record.timestamp == pytest.approx(local(2005, 6, 3, 18, 21, 59) + 0.871925)


@pytest.mark.parametrize(
    ("letter", "level"),
    [("V", "debug"), ("D", "debug"), ("I", "info"), ("W", "warning"), ("E", "error"),
     ("F", "critical")],
)  # fmt: skip
def test_android_single_letter_levels(letter: str, level: str) -> None:
    record = parse(f"03-17 16:13:38.811  1702  2395 {letter} WindowManager: window gone")
    assert record.format == "android"
    assert record.level == level
    assert record.component == "WindowManager"
    assert record.message == "window gone"
    # No year in the header: the clock's (2023).
    assert record.timestamp == pytest.approx(local(2023, 3, 17, 16, 13, 38) + 0.811)


def test_apache_error_level_and_year_from_the_header() -> None:
    record = parse("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6")
    assert record.format == "apache-error"
    assert record.level == "error"
    assert record.message == "mod_jk child workerEnv in error state 6"
    assert record.timestamp == local(2005, 12, 4, 4, 47, 44)
    assert parse("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok").level == "notice"


def test_zookeeper_dash_level_bracket() -> None:
    record = parse(
        "2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688]"
        " - Send worker leaving thread"
    )
    assert record.format == "iso"
    assert record.level == "warning"
    assert record.timestamp == pytest.approx(local(2015, 7, 29, 19, 4, 29) + 0.071)
    # The thread context is header, not message.
    assert record.message == "Send worker leaving thread"


def test_java_thread_and_logger_are_stripped_from_the_message() -> None:
    record = parse(
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster:"
        " Created MRAppMaster for application appattempt_1445144423722_0020_000001"
    )
    assert record.level == "info"
    assert record.message == (
        "Created MRAppMaster for application appattempt_1445144423722_0020_000001"
    )


def test_only_the_first_bracket_group_is_context() -> None:
    record = parse(
        "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:04.500 2931 INFO"
        " nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -]"
        " [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)"
    )
    assert record.message == (
        "[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)"
    )


def test_python_logging_default_format() -> None:
    record = parse("ERROR:root:connection lost: ValueError: bad frame")
    assert record.format == "python-logging"
    assert record.level == "error"
    assert record.component == "root"
    assert record.message == "connection lost: ValueError: bad frame"
    assert record.error_type == "ValueError"
    assert record.timestamp is None
    assert parse("WARNING:app.db:slow query").level == "warning"
    assert parse("CRITICAL:app:out of memory").level == "critical"


def test_iso_header_with_level_word() -> None:
    record = parse("2024-01-01 00:00:00,250 ERROR [worker-1] boom: java.io.IOException: pipe")
    assert record.format == "iso"
    assert record.level == "error"
    assert record.error_type == "java.io.IOException"
    assert record.timestamp == pytest.approx(local(2024, 1, 1) + 0.25)
    zoned = parse("2024-01-01T00:00:00.5Z INFO started")
    assert zoned.timestamp == 1_704_067_200.5
    assert zoned.level == "info"
    assert zoned.message == "started"


# ---------------------------------------------------------------- syslog


def test_syslog_rfc3164_without_pri_infers_the_level() -> None:
    record = parse("Nov 10 03:04:05 host sshd[24200]: Failed password for root from 10.0.0.1")
    assert record.format == "syslog"
    assert record.component == "sshd"
    assert record.message == "Failed password for root from 10.0.0.1"
    assert record.level == "error"  # inferred from "Failed"
    assert record.timestamp == local(2023, 11, 10, 3, 4, 5)


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("connection failed", "error"),
        ("disk error on sda", "error"),
        ("segfault at 0 ip 0 sp 0", "error"),
        ("permission denied", "error"),
        ("warning: disk almost full", "warning"),
        ("WARN low memory", "warning"),
        ("ERROR cannot bind", "error"),
        ("session opened for user root", None),
        # A word that merely contains "error" is not a level word.
        ("terrorists are fictional here", None),
    ],
)
def test_syslog_level_inferred_from_words(message: str, level: str | None) -> None:
    record = parse(f"Nov 10 03:04:05 host app[1]: {message}")
    assert record.format == "syslog"
    assert record.level == level


def test_syslog_leading_level_word_gives_the_level_and_stays_in_the_message() -> None:
    record = parse("Nov 10 03:04:05 host app[1]: ERROR cannot bind to port 80")
    assert record.level == "error"
    assert record.message == "ERROR cannot bind to port 80"


@pytest.mark.parametrize(
    ("pri", "level"),
    [(0, "critical"), (11, "error"), (12, "warning"), (13, "notice"), (14, "info"),
     (15, "debug"), (34, "critical"), (165, "notice"), (191, "debug")],
)  # fmt: skip
def test_syslog_rfc3164_pri_gives_the_level(pri: int, level: str) -> None:
    record = parse(f"<{pri}>Nov 10 03:04:05 host app[12]: all fine")
    assert record.format == "syslog"
    assert record.level == level
    assert record.component == "app"
    assert record.message == "all fine"
    assert record.timestamp == local(2023, 11, 10, 3, 4, 5)


def test_syslog_rfc5424_with_pri() -> None:
    record = parse(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
        "'su root' failed for lonvick on /dev/pts/8"
    )
    assert record.format == "syslog-rfc5424"
    assert record.level == "critical"  # 34 = auth (4) * 8 + crit (2)
    assert record.component == "su"
    assert record.message == "'su root' failed for lonvick on /dev/pts/8"
    assert record.timestamp == pytest.approx(1_065_910_455.003)


def test_syslog_rfc5424_structured_data_and_offset() -> None:
    record = parse(
        '<165>1 2003-10-11T22:14:15.003-07:00 host evntslog - ID47 [exampleSDID@32473 iut="3"'
        ' eventSource="Application"] An application event log entry'
    )
    assert record.level == "notice"  # 165 = local4 (20) * 8 + notice (5)
    assert record.message == "An application event log entry"
    assert record.timestamp == pytest.approx(1_065_910_455.003 + 7 * 3600)


@pytest.mark.parametrize(
    ("text", "component", "message"),
    [
        # macOS: program names with spaces and a parenthesised detail after the pid.
        ("Jul  4 23:22:09 mac Microsoft Word[14463]: Cocoa scripting error", "Microsoft Word",
         "Cocoa scripting error"),
        ("Jul  1 09:29:02 mac sandboxd[129] ([31211]): deny network-outbound", "sandboxd",
         "deny network-outbound"),
        ("Jun 19 04:09:11 combo syslogd 1.4.1: restart.", "syslogd 1.4.1", "restart."),
        ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure", "sshd(pam_unix)",
         "authentication failure"),
    ],
)  # fmt: skip
def test_syslog_program_names(text: str, component: str, message: str) -> None:
    record = parse(text)
    assert record.format == "syslog"
    assert (record.component, record.message) == (component, message)
    assert record.timestamp is not None


def test_syslog_december_line_read_in_january_is_last_year() -> None:
    new_year = local(2024, 1, 1, 0, 30)
    record = parse("Dec 31 23:59:00 host cron[1]: job done", now=new_year)
    assert record.timestamp == local(2023, 12, 31, 23, 59)


# ---------------------------------------------------------------- JSON lines


def test_json_line_with_level_msg_time() -> None:
    record = parse(
        json.dumps({"time": "2024-01-01T00:00:00Z", "level": "warn", "msg": "slow", "logger": "db"})
    )
    assert record.format == "json"
    assert record.level == "warning"
    assert record.message == "slow"
    assert record.component == "db"
    assert record.timestamp == 1_704_067_200.0


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [(1_704_067_200, 1_704_067_200.0), (1_704_067_200_123, 1_704_067_200.123),
     (1_704_067_200.5, 1_704_067_200.5), ("2024-01-01T01:00:00+01:00", 1_704_067_200.0),
     (True, None), ("yesterday", None)],
)  # fmt: skip
def test_json_timestamps(stamp: object, expected: float | None) -> None:
    record = parse(json.dumps({"timestamp": stamp, "severity": "ERROR", "message": "x"}))
    assert record.level == "error"
    assert record.timestamp == (pytest.approx(expected) if expected is not None else None)


def test_json_error_type_and_inferred_level() -> None:
    record = parse(json.dumps({"message": "failed: ValueError: bad input"}))
    assert record.format == "json"
    assert record.error_type == "ValueError"
    assert record.level == "error"  # no level key: inferred from "failed"


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", '"a string"', "{}x"])
def test_non_object_json_falls_back_to_text(text: str) -> None:
    record = parse(text)
    assert record.format == "raw"
    assert record.message == text


def test_json_without_message_key_keeps_the_line() -> None:
    text = json.dumps({"level": "info", "event_id": 7})
    record = parse(text)
    assert (record.message, record.level) == (text, "info")


# ---------------------------------------------------------------- raw and levels


def test_raw_line_level_word_near_start() -> None:
    record = parse("[ERROR] cannot open socket")
    assert record.format == "raw"
    assert record.level == "error"
    assert record.timestamp is None


def test_plain_words_have_no_level() -> None:
    record = parse("user alice logged in")
    assert (record.format, record.level, record.error_type) == ("raw", None, None)
    assert not record.is_error


@pytest.mark.parametrize(
    ("word", "level"),
    [("warn", "warning"), ("WARNING", "warning"), ("Err", "error"), ("SEVERE", "error"),
     ("fatal", "critical"), ("EMERG", "critical"), ("trace", "debug"), ("information", "info"),
     ("Notice", "notice"), ("loud", None), ("", None)],
)  # fmt: skip
def test_normalize_level(word: str, level: str | None) -> None:
    assert normalize_level(word) == level


@pytest.mark.parametrize(
    ("message", "error_type"),
    [
        ("failed: java.io.IOException: Broken pipe", "java.io.IOException"),
        ("Caused by: org.apache.ipc.RemoteException(x)", "org.apache.ipc.RemoteException"),
        ("Traceback ... ValueError: invalid literal", "ValueError"),
        ("raised KeyError in handler", "KeyError"),
        ("Outer$InnerException thrown", "Outer$InnerException"),
        ("unhandled PageFault at 0x0", "PageFault"),
        # Plain words are not exception classes.
        ("Error: disk full", None),
        ("ERROR: disk full", None),
        ("an error and an exception occurred", None),
        ("Exception while invoking", None),
        ("all good", None),
    ],
)  # fmt: skip
def test_error_type_of(message: str, error_type: str | None) -> None:
    assert error_type_of(message) == error_type


def test_layout_is_remembered_per_source() -> None:
    parser = LineParser(FakeClock(NOW))
    hdfs = "081109 203615 148 INFO dfs.DataNode: x"
    spark = "17/06/09 20:10:40 INFO spark.SecurityManager: y"
    records = parser.parse_batch(
        [line(hdfs, "a"), line(spark, "b"), line(hdfs, "a"), line(spark, "b")]
    )
    assert [r.format for r in records] == ["loghub-hdfs", "loghub-spark"] * 2


def test_source_memory_is_bounded() -> None:
    parser = LineParser(FakeClock(NOW), max_sources=3)
    texts = ["081109 203615 148 INFO dfs.DataNode: x", "17/06/09 20:10:40 INFO a.B: y"]
    for i in range(20):
        record = parser.parse(line(texts[i % 2], f"s{i}"), NOW)
        assert record.timestamp is not None
    assert len(parser._last) <= 3


# ---------------------------------------------------------------- properties

# Layouts whose message is built rather than cut out of the line: JSON and logfmt
# unescape it, access logs join the request and the status.
BUILT_MESSAGES = ("json", "logfmt", "access")

HEADERS = (
    "", "{", "<13>", "<34>1 ", "Nov 10 03:04:05 host app[1]: ", "2024-01-01 00:00:00,000 ",
    "ERROR:root:", "[Sun Dec 04 04:47:44 2005] [error] ", "081109 203615 148 INFO dfs.X: ",
    "17/06/09 20:10:40 INFO a.B: ", "03-17 16:13:38.811  1702  2395 E Tag: ",
    "20171223-22:15:29:606|Step|1|", "[10.30 16:49:06] chrome.exe - ",
    "134681 node-246 unix.hw state_change 1077804742 1 ",
    "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond[1]: ",
    "- 1117838570 2005.06.03 R02 2005-06-03-15.42.50.675872 R02 RAS KERNEL INFO ",
    "nova-api.log.1 2017-05-16 00:00:00.008 25746 INFO nova.api ",
    "Feb 29 00:00:00 h a: ", "2024-13-45T99:99:99Z ",
    '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 ', "level=info msg=",
    '2024/01/01 12:00:00 [error] 1#2: *3 ', "12:00:00.123 [main] INFO  a.B - ",
    "2024-01-01T12:00:00+0100 host unit[1]: ", "2024-01-01 12:00:00,123 - n - ERROR - ",
    "[2024-01-01 12:00:00] app.ERROR: ", "2016-09-28 04:30:30, Info                  CBS    ",
    "2024-01-01T12:00:00.123Z  INFO 1 --- [main] a.B : ",
)  # fmt: skip


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(st.text())
def test_parse_never_raises_and_keeps_the_message_in_the_line(text: str) -> None:
    record = LineParser(FakeClock(NOW)).parse(line(text), NOW)
    assert record.line.text == text
    if record.format not in BUILT_MESSAGES:
        assert record.message in text


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["replace", "surrogateescape"]))
def test_parse_never_raises_on_arbitrary_bytes(data: bytes, errors: str) -> None:
    """Any bytes, decoded as the tailer does ("replace") or keeping undecodable bytes
    as lone surrogates, one line at a time and in batches, with and without the
    shape cache."""
    texts = data.decode("utf-8", errors).split("\n")
    lines = [line(t) for t in texts]
    for parser in (LineParser(FakeClock(NOW)), LineParser(FakeClock(NOW), cache_size=0)):
        records = parser.parse_batch(lines + lines)
        assert [r.line.text for r in records] == texts + texts
        assert [parser.parse(x, NOW).line.text for x in lines] == texts


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(st.sampled_from(HEADERS), st.text())
def test_parse_never_raises_on_header_like_lines(header: str, rest: str) -> None:
    text = header + rest
    record = LineParser(FakeClock(NOW)).parse(line(text), NOW)
    if record.format not in BUILT_MESSAGES:
        assert record.message in text
    if record.timestamp is not None:
        assert isinstance(record.timestamp, float)
    if record.level is not None:
        assert record.level in ("debug", "info", "notice", "warning", "error", "critical")


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(
    st.dictionaries(
        st.sampled_from(["level", "msg", "message", "time", "ts", "severity", "logger", "x"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
    )
)
def test_json_objects_never_raise(data: dict[str, object]) -> None:
    text = json.dumps(data)
    record = LineParser(FakeClock(NOW)).parse(line(text), NOW)
    assert record.format == "json"


def test_utc_reference_is_what_the_parser_uses_for_z() -> None:
    # Guards the property tests' reference: Z means UTC regardless of the host zone.
    expected = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
    assert parse("2024-01-01T00:00:00Z hello").timestamp == expected
