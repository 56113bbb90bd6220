"""A deterministic, realistic log file for the throughput benchmarks.

Lines are drawn from the 16 systems of LogPai's loghub-2k sample
(``../shared/data/loghub-2k/*/*_2k.log``), in runs of 20-500 consecutive lines of
one system, as in a file that aggregates several services. Each line is split
into header and message with the sample's ``*_structured.csv`` (its ``Content``
column), then:

* the **message**'s numbers, hexadecimal ids and IPv4 addresses are redrawn (same
  length, fresh digits), so values vary as in a long real log instead of
  repeating the 2,000 originals;
* the **header**'s timestamps are rewritten onto one synthetic timeline, in each
  system's own format. The loghub-2k lines are sampled from months of logs, so
  their own timestamps would make almost every line a separate 60 s window;
  the timeline instead advances about 20 lines/s (a rate drawn per run), so 1M
  lines cover about 14 hours, roughly 830 windows. It starts on 1 January of the
  current year, local time, so formats without a year (syslog's ``Jun 14``) parse
  onto the same timeline as the others.

Same seed, line count, year and time zone: the same bytes (the SHA-256 is saved).
The file is cached in ``bench/.work/`` and reused. When ``../shared`` is missing, a
small built-in set of lines in three common layouts stands in for loghub.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ._common import REPO, WORK_DIR, progress

__all__ = ["LOGHUB", "Dataset", "ensure_dataset"]

DATA_VERSION = 1  # bump when the generator changes, so cached files are rebuilt
LOGHUB = REPO.parent / "shared" / "data" / "loghub-2k"
LINES_PER_SECOND = 20.0
RUN_LINES = (20, 500)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Per system: the timestamps in its header and the format to write them back in.
# Fields: Y y m d e(space-padded day) dn(unpadded day) H M S Hn Mn Sn (unpadded)
# ms msn(unpadded) us b(month) a(weekday) epoch.
_ISO_MS = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
_SYSLOG = r"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"
_EPOCH = r"(?<!\d)\d{10}(?!\d)"
_CLOCK = r"\d{2}:\d{2}:\d{2}"
_TIMESTAMPS: dict[str, list[tuple[str, str]]] = {
    "Android": [(r"^\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", "{m}-{d} {H}:{M}:{S}.{ms}")],
    "Apache": [
        (r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} " + _CLOCK + r" \d{4}", "{a} {b} {d} {H}:{M}:{S} {Y}")
    ],
    "BGL": [
        (r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d{6}", "{Y}-{m}-{d}-{H}.{M}.{S}.{us}"),
        (r"\d{4}\.\d{2}\.\d{2}", "{Y}.{m}.{d}"),
        (_EPOCH, "{epoch}"),
    ],
    "HDFS": [(r"^\d{6} \d{6}", "{y}{m}{d} {H}{M}{S}")],
    "HPC": [(_EPOCH, "{epoch}")],
    "Hadoop": [(_ISO_MS + r",\d{3}", "{Y}-{m}-{d} {H}:{M}:{S},{ms}")],
    "HealthApp": [(r"^\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3}", "{Y}{m}{d}-{Hn}:{Mn}:{Sn}:{msn}")],
    "Linux": [(_SYSLOG, "{b} {e} {H}:{M}:{S}")],
    "Mac": [(_SYSLOG, "{b} {e} {H}:{M}:{S}")],
    "OpenSSH": [(_SYSLOG, "{b} {e} {H}:{M}:{S}")],
    "OpenStack": [(r"(?<= )" + _ISO_MS + r"\.\d{3}", "{Y}-{m}-{d} {H}:{M}:{S}.{ms}")],
    "Proxifier": [(r"^\[\d{2}\.\d{2} \d{2}:\d{2}:\d{2}\]", "[{m}.{d} {H}:{M}:{S}]")],
    "Spark": [(r"^\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "{y}/{m}/{d} {H}:{M}:{S}")],
    "Thunderbird": [
        (_EPOCH, "{epoch}"),
        (r"\d{4}\.\d{2}\.\d{2}", "{Y}.{m}.{d}"),
        (r"[A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}", "{b} {dn} {H}:{M}:{S}"),
    ],
    "Windows": [(r"^" + _ISO_MS, "{Y}-{m}-{d} {H}:{M}:{S}")],
    "Zookeeper": [(_ISO_MS + r",\d{3}", "{Y}-{m}-{d} {H}:{M}:{S},{ms}")],
}

# Variable tokens of a message, redrawn on every use: 0x-numbers, IPv4, then hex ids
# (at least 6 characters with a letter and a digit), then numbers not glued to a
# letter (``ssh2`` and ``dn228`` are names, not values).
_VARIABLE = re.compile(
    r"(?P<hex0x>(?<![0-9A-Za-z])0x[0-9a-fA-F]+(?![0-9A-Za-z]))"
    r"|(?P<ip>(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.]))"
    r"|(?P<hex>(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}"
    r"(?![0-9A-Za-z]))"
    r"|(?P<num>(?<![A-Za-z0-9])\d+)"
)

# Stand-ins when ../shared is missing: per system, "header|message" lines.
_BUILTIN: dict[str, tuple[str, ...]] = {
    "OpenSSH": (
        "Dec 10 06:55:46 LabSZ sshd[24200]: |Invalid user admin from 173.234.31.186",
        "Dec 10 06:55:48 LabSZ sshd[24200]: |Failed password for root from 10.0.4.2 port 3891 ssh2",
        "Dec 10 06:55:48 LabSZ sshd[24202]: |Accepted publickey for deploy from 10.0.4.7 port 501",
        "Dec 10 06:55:49 LabSZ sshd[24202]: |pam_unix(sshd:session): session opened for user bob",
        "Dec 10 06:55:50 LabSZ sshd[24204]: |Received disconnect from 10.0.4.9: 11: Bye [preauth]",
        "Dec 10 06:55:51 LabSZ sshd[24206]: |error: maximum authentication attempts exceeded",
    ),
    "Hadoop": (
        "2015-10-18 18:01:47,978 INFO [main] o.a.h.m.v2.app.MRAppMaster: |Created MRAppMaster"
        " for application appattempt_1445144423722_0020_000001",
        "2015-10-18 18:01:48,963 INFO [main] o.a.h.m.v2.app.MRAppMaster: |Executing with tokens:",
        "2015-10-18 18:01:50,353 INFO [main] o.a.h.yarn.client.RMProxy: |Connecting to"
        " ResourceManager at msra-sa-41/10.190.173.170:8030",
        "2015-10-18 18:01:52,012 WARN [LeaseRenewer] o.a.h.hdfs.LeaseRenewer: |Failed to renew"
        " lease for [DFSClient_NONMAPREDUCE_1537864556_1] for 30 seconds.",
        "2015-10-18 18:01:53,147 ERROR [RMCommunicator] o.a.h.m.v2.app.rm.RMCommunicator: |ERROR"
        " IN CONTACTING RM. java.net.ConnectException: Connection refused",
        "2015-10-18 18:01:54,448 INFO [AsyncDispatcher] o.a.h.m.v2.app.job.impl.TaskAttemptImpl: |"
        "attempt_1445144423722_0020_m_000002_0 TaskAttempt Transitioned from NEW to UNASSIGNED",
    ),
    "HDFS": (
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: |PacketResponder 1 for block"
        " blk_38865049064139660 terminating",
        "081109 203807 222 INFO dfs.DataNode$PacketResponder: |Received block"
        " blk_-6952295868487656571 of size 67108864 from /10.251.42.84",
        "081109 204005 35 INFO dfs.FSNamesystem: |BLOCK* NameSystem.addStoredBlock: blockMap"
        " updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864",
        "081109 204015 308 INFO dfs.DataNode$DataXceiver: |Receiving block"
        " blk_8229193803249955061 src: /10.250.11.100:54106 dest: /10.250.11.100:50010",
        "081109 204106 329 WARN dfs.DataNode$DataXceiver: |10.251.194.213:50010:Got exception"
        " while serving blk_-7724713468912166542 to /10.251.203.80:",
        "081109 204132 26 INFO dfs.FSNamesystem: |BLOCK* NameSystem.delete:"
        " blk_-5815145248455404269 is added to invalidSet of 10.251.107.227:50010",
    ),
}


@dataclass(frozen=True, slots=True)
class _Shape:
    """One sample line cut into literal text and the slots filled on every use."""

    system: str
    parts: tuple[str, ...]  # len(parts) == len(slots) + 1
    slots: tuple[tuple[str, Any], ...]  # ("ts", format) ("num", (len, zero)) ("hex", ...) ("ip",)


@dataclass(frozen=True, slots=True)
class Dataset:
    """A generated log file, alone in its directory (so a monitor of the directory
    sees exactly this file)."""

    directory: Path
    path: Path
    lines: int
    bytes: int
    origin: str
    systems: tuple[str, ...]
    seed: int
    sha256: str

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["directory"], data["path"] = str(self.directory), str(self.path)
        data["systems"] = list(self.systems)
        return data


def _shape(system: str, header: str, message: str, stamps: re.Pattern[str]) -> _Shape:
    parts: list[str] = []
    slots: list[tuple[str, Any]] = []
    formats = [fmt for _, fmt in _TIMESTAMPS[system]]
    text, pos = "", 0
    for m in stamps.finditer(header):
        parts.append(text + header[pos : m.start()])
        text = ""
        group = next(i for i, g in enumerate(m.groups()) if g is not None)
        slots.append(("ts", formats[group]))
        pos = m.end()
    text += header[pos:]
    pos = 0
    for m in _VARIABLE.finditer(message):
        token = m.group()
        prefix = ""
        if m.lastgroup == "hex0x":
            prefix, token = token[:2], token[2:]
        parts.append(text + message[pos : m.start()] + prefix)
        text = ""
        if m.lastgroup == "ip":
            slots.append(("ip", None))
        elif m.lastgroup in ("hex", "hex0x"):
            slots.append(("hex", (len(token), token.upper() == token)))
        else:
            slots.append(("num", (len(token), len(token) > 1 and token[0] == "0")))
        pos = m.end()
    parts.append(text + message[pos:])
    return _Shape(system, tuple(parts), tuple(slots))


def _stamp_regex(system: str) -> re.Pattern[str]:
    return re.compile("|".join(f"({regex})" for regex, _ in _TIMESTAMPS[system]))


def _load_loghub() -> dict[str, list[_Shape]]:
    shapes: dict[str, list[_Shape]] = {}
    for system in sorted(_TIMESTAMPS):
        log = LOGHUB / system / f"{system}_2k.log"
        structured = LOGHUB / system / f"{system}_2k.log_structured.csv"
        if not log.is_file() or not structured.is_file():
            continue
        with open(log, encoding="utf-8", errors="replace", newline="") as handle:
            lines = [row.rstrip("\r") for row in handle.read().split("\n")]
        with open(structured, encoding="utf-8", errors="replace", newline="") as handle:
            contents = [row["Content"].strip() for row in csv.DictReader(handle)]
        stamps = _stamp_regex(system)
        found = []
        for line, content in zip(lines, contents, strict=False):
            if not line.strip():
                continue
            cut = line.rfind(content) if content else -1
            header, message = (line[:cut], line[cut:]) if cut >= 0 else (line, "")
            found.append(_shape(system, header, message, stamps))
        if found:
            shapes[system] = found
    return shapes


def _load_builtin() -> dict[str, list[_Shape]]:
    shapes: dict[str, list[_Shape]] = {}
    for system, lines in _BUILTIN.items():
        stamps = _stamp_regex(system)
        for line in lines:
            header, _, message = line.partition("|")
            shapes.setdefault(system, []).append(_shape(system, header, message, stamps))
    return shapes


class _Timeline:
    """Formats the synthetic clock in every layout, one ``localtime`` per second."""

    def __init__(self) -> None:
        self._second = -1
        self._fields: dict[str, str] = {}

    def fields(self, t: float) -> dict[str, str]:
        second = int(t)
        if second != self._second:
            lt = time.localtime(second)
            self._second = second
            self._fields = {
                "Y": f"{lt.tm_year:04d}", "y": f"{lt.tm_year % 100:02d}",
                "m": f"{lt.tm_mon:02d}", "d": f"{lt.tm_mday:02d}", "e": f"{lt.tm_mday:2d}",
                "dn": str(lt.tm_mday), "H": f"{lt.tm_hour:02d}", "M": f"{lt.tm_min:02d}",
                "S": f"{lt.tm_sec:02d}", "Hn": str(lt.tm_hour), "Mn": str(lt.tm_min),
                "Sn": str(lt.tm_sec), "b": _MONTHS[lt.tm_mon - 1], "a": _WEEKDAYS[lt.tm_wday],
                "epoch": str(second),
            }  # fmt: skip
        fraction = t - second
        fields = self._fields
        ms = int(fraction * 1000)
        fields["ms"], fields["msn"] = f"{ms:03d}", str(ms)
        fields["us"] = f"{int(fraction * 1_000_000):06d}"
        return fields


def _lines(shapes: dict[str, list[_Shape]], count: int, seed: int, start: float) -> Iterator[str]:
    rng = random.Random(seed)
    systems = sorted(shapes)
    ips = [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        for _ in range(1000)
    ]
    timeline = _Timeline()
    t = start
    made = 0
    while made < count:
        pool = shapes[rng.choice(systems)]
        index = rng.randrange(len(pool))
        rate = LINES_PER_SECOND * math.exp(rng.gauss(0.0, 0.5))
        for _ in range(min(rng.randint(*RUN_LINES), count - made)):
            shape = pool[index]
            index = (index + 1) % len(pool)
            t += rng.expovariate(rate)
            fields = timeline.fields(t)
            out = [shape.parts[0]]
            for (kind, arg), literal in zip(shape.slots, shape.parts[1:], strict=True):
                if kind == "ts":
                    out.append(arg.format_map(fields))
                elif kind == "num":
                    n, zero = arg
                    if n == 1:
                        out.append(str(rng.randrange(10)))
                    elif zero:
                        out.append(str(rng.randrange(10**n)).zfill(n))
                    else:
                        out.append(str(rng.randrange(10 ** (n - 1), 10**n)))
                elif kind == "hex":
                    n, upper = arg
                    token = format(rng.getrandbits(4 * n), f"0{n}x")
                    out.append(token.upper() if upper else token)
                else:
                    out.append(rng.choice(ips))
                out.append(literal)
            made += 1
            yield "".join(out)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()


def ensure_dataset(lines: int, seed: int) -> Dataset:
    """The cached file for (lines, seed), generating it first if needed."""
    origin = "loghub-2k" if LOGHUB.is_dir() else "built-in"
    year = time.localtime().tm_year
    start = time.mktime((year, 1, 1, 0, 0, 0, 0, 0, -1))
    zone = time.strftime("%z", time.localtime(start))
    key = f"{origin}-{lines}-seed{seed}-{year}{zone}-v{DATA_VERSION}"
    directory = WORK_DIR / key
    path = directory / "bench.log"
    meta_path = WORK_DIR / f"{key}.json"
    if path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("bytes") == path.stat().st_size:
            progress(f"reusing {path.relative_to(REPO)} ({meta['bytes'] / 1e6:.0f} MB)")
            return Dataset(
                directory, path, meta["lines"], meta["bytes"], meta["origin"],
                tuple(meta["systems"]), meta["seed"], meta["sha256"],
            )  # fmt: skip
    shapes = _load_loghub() if origin == "loghub-2k" else {}
    if not shapes:
        origin = "built-in"
        shapes = _load_builtin()
    progress(f"generating {lines:,} lines from {origin} ({len(shapes)} systems) into {path}")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = WORK_DIR / f"{key}.tmp"  # outside the directory a monitor would watch
    batch: list[str] = []
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for line in _lines(shapes, lines, seed, start):
            batch.append(line)
            if len(batch) >= 50_000:
                handle.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            handle.write("\n".join(batch) + "\n")
    os.replace(tmp, path)
    dataset = Dataset(
        directory, path, lines, path.stat().st_size, origin, tuple(sorted(shapes)), seed,
        _sha256(path),
    )  # fmt: skip
    meta_path.write_text(json.dumps(dataset.describe(), indent=2) + "\n", encoding="utf-8")
    progress(f"generated {dataset.bytes / 1e6:.0f} MB")
    return dataset
