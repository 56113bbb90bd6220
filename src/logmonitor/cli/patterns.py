"""``logmonitor patterns``: what is in these logs, template by template."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..config import load_settings
from ..errors import LogMonitorError, SourceError
from ..patterns.inventory import Inventory
from ..patterns.miner import TemplateMiner
from .base import cli, config_option, fail

__all__ = ["patterns"]


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How to print the templates.",
)
@click.option(
    "--per-line",
    is_flag=True,
    help="Instead, one CSV row per input line: line_number,template_id,template "
    "(with a leading file column when several files are given).",
)
@click.option(
    "--max-templates",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Templates kept; past it the least recently seen is evicted.",
)
@config_option("A logmonitor.toml whose [[formats]] (header layouts of your own) to use.")
def patterns(
    files: Sequence[str], fmt: str, per_line: bool, max_templates: int, config_file: str | None
) -> None:
    """List the templates of FILES with counts and an example: what is in these logs."""
    formats: tuple[Any, ...] = ()
    if config_file is not None:
        try:
            formats = tuple(load_settings(config_file).formats)
        except LogMonitorError as exc:
            fail(exc)
    inventory = Inventory(TemplateMiner(max_templates=max_templates), formats=formats)
    err = Console(stderr=True)
    total = 0
    for path in files:
        try:
            total += os.path.getsize(path)
        except OSError as exc:
            fail(SourceError(f"cannot read {path}: {exc.strerror}; pass readable log files"))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=not err.is_terminal or total < (8 << 20),
    ) as progress:  # fmt: skip
        task = progress.add_task("mining", total=total)
        for path in files:
            try:
                inventory.add_file(path, lambda n: progress.advance(task, n))
            except OSError as exc:
                fail(SourceError(f"cannot read {path}: {exc.strerror}; pass readable log files"))
    out = sys.stdout
    if per_line:
        writer = csv.writer(out, lineterminator="\n")
        several = len(inventory.files) > 1
        writer.writerow(["file", "line_number", "template_id", "template"][0 if several else 1 :])
        for path in inventory.files:
            for number, tid, template in inventory.per_line(path):
                writer.writerow([path, number, tid, template][0 if several else 1 :])
        return
    rows = inventory.rows()
    if fmt == "json":
        click.echo(json.dumps([row.to_dict() for row in rows], ensure_ascii=False, indent=1))
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["template_id", "count", "template", "example", "path", "line_number"])
        for row in rows:
            writer.writerow(
                [row.template_id, row.count, row.template, row.example, row.path, row.line_number]
            )
    else:
        table = Table(title=f"{len(rows)} templates in {sum(r.count for r in rows):,} records")
        table.add_column("id", justify="right")
        table.add_column("count", justify="right")
        table.add_column("template")
        table.add_column("example", overflow="fold")
        for row in rows:
            table.add_row(str(row.template_id), f"{row.count:,}", escape(row.template),
                          escape(row.example[:200]))  # fmt: skip
        Console().print(table)
