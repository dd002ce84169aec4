"""``ladder data``: add, list, show, diff, check out and validate dataset versions.

Heavy libraries (pyarrow, pandas) load inside the commands that need them, so
``ladder --help`` and plain-file adds stay quick.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from ladder.cli.output import console, err_console, format_number, format_time, print_json

if TYPE_CHECKING:
    from ladder.data.diff import DatasetDiff
    from ladder.data.profile import ColumnProfile
    from ladder.data.validate import ValidationReport
    from ladder.data.version import DatasetVersion

app = typer.Typer(
    help="Versioned datasets: add, inspect, compare, check out, validate.", no_args_is_help=True
)

_JSON = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]


class _AmountColumn(ProgressColumn):
    """'12.3 MB / 1.1 GB' for bytes, '1,204 / 10,000 files' for counts."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        done, total = int(task.completed), task.total
        if unit == "bytes":
            text = decimal(done) + (f" / {decimal(int(total))}" if total is not None else "")
        else:
            text = f"{done:,}" + (f" / {int(total):,}" if total is not None else "") + f" {unit}"
        return Text(text, style="progress.download")


class RichProgress:
    """A ``ProgressReporter`` drawing one Rich bar per stage on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: Any = None
        self._lock = threading.Lock()

    def stage(self, name: str, total: int | None, unit: str) -> None:
        with self._lock:
            if self._task is not None:
                task = self._progress.tasks[-1]
                if task.total is None:
                    self._progress.update(self._task, total=task.completed)
            self._task = self._progress.add_task(name, total=total, unit=unit)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def _bars() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<13}"),
        BarColumn(),
        _AmountColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _column_types(values: list[str] | None) -> dict[str, str]:
    types: dict[str, str] = {}
    for item in values or []:
        column, sep, alias = item.partition("=")
        if not sep or not column or not alias:
            raise typer.BadParameter(
                f"expected COLUMN=TYPE, got {item!r}", param_hint="--column-type"
            )
        types[column] = alias
    return types


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Dataset name (letters, digits, _ - .)")],
    path: Annotated[Path, typer.Argument(help="A file or a folder")],
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of CSV / JSON Lines")] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default ',', TSV: tab)")
    ] = None,
    column_type: Annotated[
        list[str] | None, typer.Option("--column-type", help="COLUMN=TYPE, e.g. zip=string")
    ] = None,
    sample_rows: Annotated[int, typer.Option(help="Rows kept as the reference sample")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the reference sample")] = 0,
    allow_empty: Annotated[bool, typer.Option(help="Version a table with no rows")] = False,
    as_json: _JSON = False,
) -> None:
    """Version a file or folder (unchanged content returns the existing version)."""
    from ladder.data import dataset

    started_ms = int(time.time() * 1000)
    with _bars() as bars:
        version = dataset.add(
            name,
            path,
            description=description,
            encoding=encoding,
            delimiter=delimiter,
            column_types=_column_types(column_type) or None,
            sample_rows=sample_rows,
            seed=seed,
            allow_empty=allow_empty,
            progress=RichProgress(bars),
        )
    created = version.created >= started_ms
    if as_json:
        print_json({**version.to_dict(), "created_now": created})
        return
    state = "[green]new version[/]" if created else "[yellow]unchanged[/], existing version"
    rows = f", {version.row_count:,} rows" if version.row_count is not None else ""
    console.print(
        f"{state} [bold]{version.label}[/] ({version.short_id}): {version.file_count:,} files, "
        f"{decimal(version.size)}{rows}"
    )


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Argument(help="List this dataset's versions")] = None,
    as_json: _JSON = False,
) -> None:
    """List datasets (latest version of each), or every version of NAME."""
    from ladder.data import dataset

    if name is not None:
        versions = dataset.versions(name)
        if as_json:
            print_json([v.to_dict() for v in versions])
            return
        table = Table(header_style="bold", title=f"dataset {name}")
        for column in ("version", "id", "created", "rows", "files", "size", "description"):
            table.add_column(
                column, justify="right" if column in ("rows", "files", "size") else "left"
            )
        for v in versions:
            table.add_row(
                f"@{v.number}",
                v.short_id,
                format_time(v.created),
                _rows(v),
                f"{v.file_count:,}",
                decimal(v.size),
                v.description or "",
            )
        console.print(table)
        return
    summaries = dataset.list_datasets()
    if as_json:
        print_json(
            [
                {"name": s.name, "versions": s.versions, "latest": s.latest.to_dict()}
                for s in summaries
            ]
        )
        return
    table = Table(header_style="bold")
    for column in (
        "name",
        "versions",
        "latest",
        "id",
        "format",
        "rows",
        "files",
        "size",
        "created",
    ):
        table.add_column(
            column, justify="right" if column in ("versions", "rows", "files", "size") else "left"
        )
    for s in summaries:
        v = s.latest
        table.add_row(
            s.name,
            str(s.versions),
            f"@{v.number}",
            v.short_id,
            v.table_format or "files",
            _rows(v),
            f"{v.file_count:,}",
            decimal(v.size),
            format_time(v.created),
        )
    console.print(table)


def _rows(version: DatasetVersion) -> str:
    return f"{version.row_count:,}" if version.row_count is not None else "-"


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@3, NAME@latest or NAME@<version id>")],
    as_json: _JSON = False,
) -> None:
    """Show a version: its schema and profile as tables, and the runs that made and used it."""
    from ladder.data import dataset

    version = dataset.get(ref)
    producers, consumers = version.lineage()
    if as_json:
        print_json(
            {
                **version.to_dict(),
                "schema": version.schema.to_dict()["columns"] if version.schema else None,
                "profile": version.profile.to_dict() if version.profile else None,
                "produced_by": [vars(link) for link in producers],
                "used_by": [vars(link) for link in consumers],
            }
        )
        return
    console.print(f"[bold]{version.label}[/]  id {version.version_id}")
    console.print(
        f"created {format_time(version.created)} from {version.source}; "
        f"{version.file_count:,} files, {decimal(version.size)}"
        + (f", {version.row_count:,} rows ({version.table_format})" if version.is_tabular else "")
    )
    if version.description:
        console.print(version.description)
    if version.profile is not None and version.schema is not None:
        console.print(_profile_table(version))
        console.print(_categories_table(version.profile.columns))
    else:
        console.print(_files_table(version))
    console.print(_lineage_table(producers, consumers))


def _profile_table(version: DatasetVersion) -> Table:
    profile, schema = version.profile, version.schema
    assert profile is not None and schema is not None
    title = f"{profile.row_count:,} rows × {len(profile.columns)} columns"
    if not profile.quantiles_exact:
        title += f" (quantiles from a {profile.sample_rows:,}-row sample)"
    table = Table(header_style="bold", title=title)
    for column in (
        "column",
        "type",
        "kind",
        "nullable",
        "missing",
        "distinct",
        "min",
        "mean",
        "std",
        "median",
        "max",
    ):
        table.add_column(
            column, justify="left" if column in ("column", "type", "kind") else "right"
        )
    for col_schema, col in zip(schema.columns, profile.columns, strict=True):
        table.add_row(
            col.name,
            col.type,
            col.kind,
            "yes" if col_schema.nullable else "no",
            f"{col.missing:,}" + (f" ({col.missing_fraction:.1%})" if col.missing else ""),
            "-" if col.distinct is None else f"{'' if col.distinct_exact else '~'}{col.distinct:,}",
            _num(col.min),
            _num(col.mean),
            _num(col.std),
            _num(col.quantile(0.5)),
            _num(col.max),
        )
    return table


def _num(value: float | None) -> str:
    return "-" if value is None else format_number(value, 5)


def _categories_table(columns: tuple[ColumnProfile, ...]) -> Table:
    table = Table(header_style="bold", title="top categories and histograms")
    table.add_column("column")
    table.add_column("values")
    for col in columns:
        if col.top_categories:
            shown = ", ".join(f"{c.value} ({c.count:,})" for c in col.top_categories[:6])
            more = len(col.top_categories) - 6
            table.add_row(col.name, shown + (f", … {more} more" if more > 0 else ""))
        elif col.histogram is not None:
            table.add_row(
                col.name,
                _spark(col.histogram.counts)
                + f"  [{_num(col.histogram.edges[0])} … {_num(col.histogram.edges[-1])}]",
            )
    return table


def _spark(counts: tuple[int, ...]) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(blocks[round(c / top * 8)] for c in counts)


def _files_table(version: DatasetVersion, limit: int = 20) -> Table:
    table = Table(header_style="bold", title=f"{version.file_count:,} files")
    table.add_column("path")
    table.add_column("size", justify="right")
    table.add_column("digest")
    for entry in version.files[:limit]:
        table.add_row(entry.path, decimal(entry.size), entry.digest[:19])
    if version.file_count > limit:
        table.add_row(f"… {version.file_count - limit:,} more", "", "")
    return table


def _lineage_table(producers: list[Any], consumers: list[Any]) -> Table:
    from ladder.errors import RunNotFound
    from ladder.tracking import get_run

    table = Table(header_style="bold", title="lineage")
    for column in ("run", "name", "status", "relation", "role", "when"):
        table.add_column(column)
    for relation, links in (("produced", producers), ("used", consumers)):
        for link in links:
            try:
                run = get_run(link.run_id)
                name, status = run.name, run.status
            except RunNotFound:
                name, status = "(deleted)", "-"
            table.add_row(link.run_id, name, status, relation, link.role, format_time(link.created))
    if not producers and not consumers:
        table.add_row("-", "no run produced or used this version yet", "", "", "", "")
    return table


@app.command("diff")
def diff(
    before: Annotated[str, typer.Argument(help="NAME@A")],
    after: Annotated[str, typer.Argument(help="NAME@B")],
    as_json: _JSON = False,
) -> None:
    """Files added / removed / changed, schema changes and per-column profile shifts."""
    from ladder.data import dataset

    result = dataset.diff(before, after)
    if as_json:
        print_json(result.to_dict())
        return
    _print_diff(result)


def _print_diff(result: DatasetDiff) -> None:
    console.print(f"[bold]{result.before}[/] → [bold]{result.after}[/]")
    if result.identical:
        console.print("[green]identical content[/]")
    if result.files:
        table = Table(header_style="bold", title=f"files ({result.unchanged_files:,} unchanged)")
        for column in ("change", "path", "size before", "size after"):
            table.add_column(column)
        style = {"added": "green", "removed": "red", "changed": "yellow"}
        for f in result.files:
            table.add_row(
                f"[{style[f.change]}]{f.change}[/]",
                f.path,
                "-" if f.size_before is None else decimal(f.size_before),
                "-" if f.size_after is None else decimal(f.size_after),
            )
        console.print(table)
    if result.rows_before is not None or result.rows_after is not None:
        console.print(f"rows: {_count(result.rows_before)} → {_count(result.rows_after)}")
    if result.schema:
        table = Table(header_style="bold", title="schema changes")
        for column in ("column", "change", "before", "after"):
            table.add_column(column)
        for s in result.schema:
            table.add_row(s.column, s.change, s.before or "-", s.after or "-")
        console.print(table)
    if result.columns:
        table = Table(header_style="bold", title="profile shifts")
        for column in ("column", "missing", "mean", "std", "shift (σ)", "distinct", "categories"):
            table.add_column(column)
        for c in result.columns:
            categories = ""
            if c.categories_added or c.categories_removed:
                categories = " ".join(
                    [f"+{v}" for v in c.categories_added[:5]]
                    + [f"-{v}" for v in c.categories_removed[:5]]
                )
            if c.category_distance:
                categories = f"TVD {c.category_distance:.3f} " + categories
            shift = "-" if c.mean_shift is None else f"{c.mean_shift:+.3f}"
            table.add_row(
                Text(c.column, style="yellow" if c.changed else ""),
                f"{c.missing_before:.1%} → {c.missing_after:.1%}",
                f"{_num(c.mean_before)} → {_num(c.mean_after)}",
                f"{_num(c.std_before)} → {_num(c.std_after)}",
                shift,
                f"{_count(c.distinct_before)} → {_count(c.distinct_after)}",
                categories,
            )
        console.print(table)


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


@app.command("checkout")
def checkout(
    ref: Annotated[str, typer.Argument(help="NAME@V")],
    dest: Annotated[Path, typer.Argument(help="Destination folder")],
) -> None:
    """Write the files of a version under DEST (files already identical are left alone)."""
    from ladder.data import dataset

    with _bars() as bars:
        target = dataset.checkout(ref, dest, progress=RichProgress(bars))
    console.print(f"checked out {ref} into {target}")


@app.command("validate")
def validate(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@V: the reference version")],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file (or folder)")],
    tolerance: Annotated[
        float, typer.Option(help="Allowed excess over the reference range, as a share of it")
    ] = 0.1,
    strict: Annotated[bool, typer.Option(help="Every failed check is blocking")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Show passed checks too")] = False,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of FILE")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter of FILE")] = None,
    as_json: _JSON = False,
) -> None:
    """Check FILE against a version's schema and profile; exit 1 when a blocking check fails."""
    from ladder.data import dataset

    report = dataset.validate(
        ref, file, tolerance=tolerance, strict=strict, encoding=encoding, delimiter=delimiter
    )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report, show_all, ref)
    if not report.passed:
        raise typer.Exit(1)


def _print_report(report: ValidationReport, show_all: bool, ref: str) -> None:
    shown = report.results if show_all else report.failures
    table = Table(header_style="bold", title=f"{report.rows:,} rows checked against {ref}")
    for column in ("column", "check", "result", "failed", "examples", "detail"):
        table.add_column(column, justify="right" if column == "failed" else "left")
    for r in shown:
        if r.passed:
            result = "[green]pass[/]"
        else:
            result = "[red]FAIL[/]" if r.blocking else "[yellow]warn[/]"
        examples = ", ".join(f"row {e.row}: {e.value}" for e in r.examples[:3])
        table.add_row(r.column, r.check, result, f"{r.failed:,}", examples, r.message)
    if shown:
        console.print(table)
    passed = sum(1 for r in report.results if r.passed)
    verdict = "[green]passed[/]" if report.passed else "[red]failed[/]"
    console.print(
        f"validation {verdict}: {passed} checks passed, {len(report.errors)} blocking failures, "
        f"{len(report.warnings)} warnings"
    )
