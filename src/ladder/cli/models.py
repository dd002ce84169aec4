"""``ladder models``: list, show, lineage, aliases, gates, promotion and batch prediction."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.tree import Tree

from ladder.cli.output import console, err_console, format_number, format_time, print_json
from ladder.errors import InvalidValue

if TYPE_CHECKING:
    import pandas as pd

    from ladder.registry.signature import Signature

app = typer.Typer(
    help="Registered models: versions, aliases, gates, promotion.", no_args_is_help=True
)
alias_app = typer.Typer(
    help="Move, remove and audit aliases (champion, challenger, ...).", no_args_is_help=True
)
app.add_typer(alias_app, name="alias")

_READERS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
}


def read_table(path: Path, signature: Signature | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet, JSON (records) or JSON Lines file.

    CSV holds only text, so with a signature its string columns stay strings and
    its numeric columns become numbers cell by cell; a cell that is not a number
    stays text, for the signature check to report by row.
    """
    import pandas as pd

    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise InvalidValue(
            f"file {path}: expected one of {', '.join(sorted(_READERS))}, "
            f"got {path.suffix or 'no suffix'}"
        )
    if not path.is_file():
        raise InvalidValue(f"file {path}: no such file")
    if kind == "parquet":
        return pd.read_parquet(path)
    if kind != "csv":
        return pd.read_json(path, lines=kind == "jsonl", orient="records", dtype=False)
    specs = signature.inputs if signature is not None else ()
    text = [s.name for s in specs if s.type in ("string", "category")]
    frame = pd.read_csv(path, dtype={c: str for c in text})
    for spec in specs:
        column = frame.get(spec.name)
        if spec.type in ("integer", "float") and column is not None and column.dtype.kind in "OT":
            frame[spec.name] = [_number_or_text(v) for v in column.astype(object)]
    return frame


def _number_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def _models_table(models: list[Any]) -> Table:
    table = Table(header_style="bold")
    for column in ("name", "latest", "versions", "aliases", "updated"):
        table.add_column(column)
    for model in models:
        aliases = ", ".join(f"[cyan]{a}[/] → {v}" for a, v in model.aliases.items())
        table.add_row(
            model.name,
            str(model.latest_version or "-"),
            str(model.version_count),
            aliases or "-",
            format_time(model.updated),
        )
    return table


@app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List registered models with their latest version and aliases."""
    from ladder.registry import list_models as registry_list

    models = registry_list()
    if as_json:
        print_json([m.to_dict() for m in models])
        return
    console.print(_models_table(models))


@app.command("show")
def show(
    target: Annotated[str, typer.Argument(help="NAME, NAME/VERSION, NAME@ALIAS or NAME@latest")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show a model's versions, or one version: flavor, signature, metrics, datasets, gates."""
    from ladder.registry import get_model_version, list_evaluations, list_versions

    if "/" not in target and "@" not in target:
        versions = list_versions(target)
        if as_json:
            print_json([v.to_dict() for v in versions])
            return
        table = Table(title=target, title_justify="left", header_style="bold")
        for column in ("version", "flavor", "aliases", "metrics", "run", "created", "by"):
            table.add_column(column)
        for v in versions:
            metrics = ", ".join(
                f"{k}={format_number(x, 4)}" for k, x in list(v.metrics.items())[:3]
            )
            table.add_row(
                str(v.version),
                v.flavor,
                ", ".join(f"[cyan]{a}[/]" for a in v.aliases) or "-",
                metrics or "-",
                v.run_id or "-",
                format_time(v.created),
                v.created_by or "-",
            )
        console.print(table)
        return
    version = get_model_version(target)
    gates = list_evaluations(version.name, version.version, limit=5)
    if as_json:
        print_json({**version.to_dict(), "gates": [g.to_dict() for g in gates]})
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("model", f"{version.uri}  [dim]({version.id})[/]")
    head.add_row("flavor", version.flavor)
    head.add_row("aliases", ", ".join(f"[cyan]{a}[/]" for a in version.aliases) or "-")
    head.add_row("created", f"{format_time(version.created)} by {version.created_by or '-'}")
    if version.description:
        head.add_row("description", version.description)
    head.add_row("run", version.run_id or "-")
    if version.pipeline_run_id:
        head.add_row("pipeline run", version.pipeline_run_id)
    if version.git_commit:
        head.add_row(
            "git", version.git_commit + (" [yellow](dirty)[/]" if version.git_dirty else "")
        )
    head.add_row("size", f"{version.artifact_size:,} bytes  [dim]{version.artifact_digest}[/]")
    head.add_row("requirements", " ".join(version.requirements) or "-")
    console.print(head)
    if version.signature is not None:
        table = Table(title="signature (inputs)", title_justify="left", header_style="bold")
        for column in ("column", "type", "dtype", "nullable"):
            table.add_column(column)
        for spec in version.signature.inputs:
            table.add_row(spec.name, spec.type, spec.dtype, "yes" if spec.nullable else "no")
        console.print(table)
        output = version.signature.output
        if output is not None:
            classes = f", classes {list(output.classes)}" if output.classes is not None else ""
            proba = ", predict_proba" if output.has_proba else ""
            console.print(f"[bold]output[/]: {output.dtype} {list(output.shape)}{classes}{proba}")
    if version.metrics:
        table = Table(title="metrics", title_justify="left", header_style="bold")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in version.metrics.items():
            table.add_row(key, format_number(value))
        console.print(table)
    if version.datasets:
        table = Table(title="datasets", title_justify="left", header_style="bold")
        table.add_column("dataset")
        table.add_column("role")
        for use in version.datasets:
            table.add_row(use.ref, use.role)
        console.print(table)
    if gates:
        table = Table(title="gates (latest first)", title_justify="left", header_style="bold")
        for column in ("gate", "against", "dataset", "result", "when"):
            table.add_column(column)
        for g in gates:
            table.add_row(
                g.id,
                g.champion or "-",
                g.dataset or "-",
                "[green]passed[/]" if g.passed else "[red]failed[/]",
                format_time(g.created),
            )
        console.print(table)


@app.command("lineage")
def lineage(
    target: Annotated[str, typer.Argument(help="NAME/VERSION or NAME@ALIAS")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show where a version came from: model → run → pipeline → datasets → commit."""
    from ladder.registry import model_lineage

    info = model_lineage(target)
    if as_json:
        print_json(info.to_dict())
        return
    version = info.version
    tree = Tree(f"[bold]model[/] {version.uri} ({version.flavor})")
    node = tree
    if info.run is not None:
        node = node.add(f"[bold]run[/] {info.run.id} {info.run.name} [dim]{info.run.status}[/]")
    elif version.run_id:
        node = node.add(f"[bold]run[/] {version.run_id} [yellow](deleted)[/]")
    else:
        node = node.add("[dim]no run (registered outside a run)[/]")
    for parent in info.parents:
        node = node.add(f"[bold]{parent.kind}[/] {parent.id} {parent.name}")
    if info.pipeline_run is not None:
        node = node.add(f"[bold]pipeline[/] {info.pipeline_run.id} {info.pipeline_run.name}")
    datasets = node.add("[bold]datasets[/]" if info.datasets else "[dim]no datasets recorded[/]")
    for use in info.datasets:
        datasets.add(f"{use.ref} [dim]({use.role})[/]")
    dirty = " [yellow](dirty)[/]" if info.git_dirty else ""
    node.add(
        f"[bold]commit[/] {info.git_commit}{dirty}" if info.git_commit else "[dim]no git commit[/]"
    )
    if info.used_by:
        used = tree.add("[bold]used by[/]")
        for link in info.used_by:
            used.add(f"run {link.run_id} [dim]({link.role})[/]")
    console.print(tree)


@alias_app.command("set")
def alias_set(
    name: Annotated[str, typer.Argument(help="Model name")],
    alias: Annotated[str, typer.Argument(help="Alias, e.g. champion")],
    version: Annotated[str, typer.Argument(help="Version number or NAME/VERSION")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail")] = None,
) -> None:
    """Point NAME@ALIAS at a version (audited)."""
    from ladder.registry import set_alias

    event = set_alias(name, alias, version, reason=reason)
    previous = f"{name}/{event.from_version}" if event.from_version else "unset"
    console.print(f"{name}@{alias}: {previous} → {name}/{event.to_version}")


@alias_app.command("rm")
def alias_rm(
    name: Annotated[str, typer.Argument(help="Model name")],
    alias: Annotated[str, typer.Argument(help="Alias to remove")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail")] = None,
) -> None:
    """Remove NAME@ALIAS (audited)."""
    from ladder.registry import remove_alias

    event = remove_alias(name, alias, reason=reason)
    console.print(f"{name}@{alias}: removed (was {name}/{event.from_version})")


@alias_app.command("history")
def alias_history(
    name: Annotated[str, typer.Argument(help="Model name")],
    alias: Annotated[str | None, typer.Argument(help="One alias (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The audit trail of alias moves: who, when, from → to, why."""
    from ladder.registry import alias_history as history

    events = history(name, alias)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    table = Table(header_style="bold")
    for column in ("when", "alias", "action", "from → to", "who", "why"):
        table.add_column(column)
    styles = {"set": "green", "remove": "yellow", "rejected": "red"}
    for e in events:
        move = f"{e.from_version or '-'} → {e.to_version or '-'}"
        action = f"[{styles.get(e.action, 'white')}]{e.action}{' (forced)' if e.forced else ''}[/]"
        table.add_row(format_time(e.created), e.alias, action, move, e.actor, e.reason or "")
    console.print(table)


def _dataset_argument(value: str) -> Any:
    path = Path(value)
    if path.suffix.lower() in _READERS and path.exists():
        return read_table(path)
    return value


@app.command("gate")
def gate_command(
    candidate: Annotated[str, typer.Argument(help="Candidate version, NAME/VERSION")],
    dataset: Annotated[
        str,
        typer.Option("--dataset", "-d", help="Dataset NAME@VERSION, or a CSV/Parquet/JSON file"),
    ],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="METRIC:KEY=VALUE,... e.g. roc_auc:min=0.8,min_delta=0 (repeatable)",
        ),
    ] = None,
    metrics_json: Annotated[
        str | None, typer.Option("--metrics-json", help='{"roc_auc": {"min": 0.8}}')
    ] = None,
    against: Annotated[
        str | None, typer.Option("--against", "-a", help="Usually NAME@champion")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Label column")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Slice column")] = None,
    slice_tolerance: Annotated[float, typer.Option(help="How much worse a slice may be")] = 0.0,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow cloudpickle (python flavor) models")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Evaluate a candidate against the alias holder on the same data; exit 1 when it fails."""
    from ladder.registry import gate
    from ladder.registry.gating import parse_metric_option

    spec: dict[str, dict[str, float]] = {}
    if metrics_json:
        try:
            spec.update(orjson.loads(metrics_json))
        except orjson.JSONDecodeError as exc:
            raise typer.BadParameter(f"not JSON: {exc}", param_hint="--metrics-json") from None
    for item in metric or []:
        key, values = parse_metric_option(item)
        spec[key] = values
    if not spec:
        raise typer.BadParameter(
            "give at least one --metric or --metrics-json", param_hint="--metric"
        )
    with err_console.status(f"gating {candidate}{f' against {against}' if against else ''}…"):
        result = gate(
            candidate,
            against,
            _dataset_argument(dataset),
            metrics=spec,
            label=label,
            by=by,
            slice_tolerance=slice_tolerance,
            trust=trust,
        )
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table(title=f"gate {result.id}", title_justify="left", header_style="bold")
        for column in ("metric", "slice", "rows", "candidate", "champion", "delta", "result"):
            table.add_column(column)
        for check in result.checks:
            table.add_row(
                check.metric,
                check.slice or "all",
                str(check.rows),
                format_number(check.candidate, 4),
                format_number(check.champion, 4) if check.champion is not None else "-",
                format_number(check.delta, 4) if check.delta is not None else "-",
                "[green]pass[/]" if check.passed else f"[red]fail[/] {'; '.join(check.reasons)}",
            )
        console.print(table)
        colour = "green" if result.passed else "red"
        console.print(f"[{colour}]{result.summary()}[/]")
    if not result.passed:
        raise typer.Exit(1)


@app.command("promote")
def promote_command(
    candidate: Annotated[str, typer.Argument(help="NAME/VERSION to promote")],
    alias: Annotated[str, typer.Option("--alias", help="Alias to move")] = "champion",
    force: Annotated[bool, typer.Option("--force", help="Promote without a passing gate")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --force)")] = None,
) -> None:
    """Move an alias to a candidate that passed its gate against the current holder."""
    from ladder.registry import promote

    event = promote(candidate, alias, force=force, reason=reason)
    previous = f"{event.name}/{event.from_version}" if event.from_version else "unset"
    forced = " [yellow](forced)[/]" if event.forced else ""
    console.print(
        f"{event.name}@{event.alias}: {previous} → {event.name}/{event.to_version}{forced}"
    )


def _cell(value: Any) -> str:
    return format_number(value) if isinstance(value, float) else str(value)


@app.command("predict")
def predict_command(
    uri: Annotated[str, typer.Argument(help="NAME/VERSION, NAME@ALIAS or NAME@latest")],
    file: Annotated[Path, typer.Argument(help="Input rows: CSV, Parquet, JSON or JSON Lines")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write predictions as CSV here")
    ] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Also output class probabilities")] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow cloudpickle (python flavor) models")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Predict for every row of FILE (validated against the model's signature)."""
    import pandas as pd

    from ladder.registry import load_model

    model = load_model(uri, trust=trust)
    frame = read_table(file, model.signature)
    result = pd.DataFrame({"prediction": list(model.predict(frame))}, index=frame.index)
    if proba:
        probabilities = model.predict_proba(frame)
        labels = model.classes or tuple(range(probabilities.shape[1]))
        for position, label in enumerate(labels):
            result[f"proba_{label}"] = probabilities[:, position]
    if output is not None:
        result.to_csv(output, index=False)
        err_console.print(f"wrote {len(result)} predictions of {model.uri} to {output}")
    elif as_json:
        print_json(orjson.loads(result.to_json(orient="records")))
    else:
        table = Table(
            title=f"{model.uri} ({len(result)} rows)", title_justify="left", header_style="bold"
        )
        table.add_column("row")
        for column in result.columns:
            table.add_column(str(column), justify="right")
        for index, *values in result.head(50).itertuples():
            table.add_row(str(index), *(_cell(v) for v in values))
        console.print(table)
        if len(result) > 50:
            err_console.print(f"[dim]first 50 of {len(result)} rows; use --output FILE for all[/]")
    sys.stdout.flush()
