"""``ladder deploy``: create, list, show, change, roll back and export deployments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ladder.cli.output import console, format_time, print_json

app = typer.Typer(
    help="Deployments: which model versions serve, with canary, shadow or A-B traffic.",
    no_args_is_help=True,
)


def _policy_table(deployment: object) -> Table:
    from ladder.serving.deployments import Deployment

    assert isinstance(deployment, Deployment)
    table = Table(header_style="bold", title=f"{deployment.name} (revision {deployment.revision})")
    table.add_column("variant")
    table.add_column("model")
    table.add_column("traffic", justify="right")
    for variant in deployment.policy.variants:
        share = "copy (shadow)" if variant.shadow else f"{variant.share:g} %"
        table.add_row(variant.name, variant.model, share)
    return table


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Deployment name")],
    model: Annotated[str, typer.Option(help="Main model: name@alias or name/N")],
    canary: Annotated[
        str | None, typer.Option(help="MODEL:PERCENT sent to a canary, e.g. loans/5:10")
    ] = None,
    shadow: Annotated[
        str | None, typer.Option(help="MODEL run on a copy of every request, output only logged")
    ] = None,
    ab: Annotated[
        str | None,
        typer.Option(help="MODEL:PERCENT for variant b of an A-B split, e.g. loans/5:50"),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Store a deployment: its variants and traffic policy."""
    from ladder.serving import create_deployment

    deployment = create_deployment(name, model, canary=canary, shadow=shadow, ab=ab, reason=reason)
    if as_json:
        print_json(deployment.to_dict())
        return
    console.print(_policy_table(deployment))
    console.print(f"serve it with: ladder serve --deployment {name}")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """List the project's deployments."""
    from ladder.serving import list_deployments

    deployments = list_deployments()
    if as_json:
        print_json([d.to_dict() for d in deployments])
        return
    table = Table(header_style="bold")
    for column in ("deployment", "revision", "kind", "variants", "updated"):
        table.add_column(column)
    for d in deployments:
        table.add_row(
            d.name, str(d.revision), d.policy.kind, d.policy.describe(), format_time(d.updated)
        )
    console.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Deployment name")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Show a deployment's current policy and its history of changes."""
    from ladder.serving import deployment_history, get_deployment

    deployment = get_deployment(name)
    events = deployment_history(name)
    if as_json:
        print_json({**deployment.to_dict(), "history": [e.to_dict() for e in events]})
        return
    console.print(_policy_table(deployment))
    history = Table(header_style="bold", title="history")
    for column in ("revision", "action", "policy", "by", "when", "reason"):
        history.add_column(column)
    for event in events:
        history.add_row(
            str(event.revision),
            event.action,
            event.policy.describe(),
            event.actor,
            format_time(event.created),
            event.reason or "",
        )
    console.print(history)


@app.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help="Deployment name")],
    model: Annotated[str | None, typer.Option(help="New main model")] = None,
    canary: Annotated[str | None, typer.Option(help="MODEL:PERCENT canary")] = None,
    shadow: Annotated[str | None, typer.Option(help="MODEL shadow")] = None,
    ab: Annotated[str | None, typer.Option(help="MODEL:PERCENT for variant b")] = None,
    no_canary: Annotated[bool, typer.Option("--no-canary", help="Remove the canary")] = False,
    no_shadow: Annotated[bool, typer.Option("--no-shadow", help="Remove the shadow")] = False,
    no_ab: Annotated[bool, typer.Option("--no-ab", help="End the A-B split")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Change a deployment; running servers switch to it without a restart."""
    from ladder.serving import set_deployment

    deployment = set_deployment(
        name,
        model=model,
        canary=canary,
        shadow=shadow,
        ab=ab,
        no_canary=no_canary,
        no_shadow=no_shadow,
        no_ab=no_ab,
        reason=reason,
    )
    if as_json:
        print_json(deployment.to_dict())
        return
    console.print(_policy_table(deployment))


@app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="Deployment name")],
    to_revision: Annotated[
        int | None, typer.Option("--to-revision", help="Revision whose policy to restore")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Return a deployment to the policy its current one replaced."""
    from ladder.serving import rollback_deployment

    deployment = rollback_deployment(name, to_revision=to_revision, reason=reason)
    if as_json:
        print_json(deployment.to_dict())
        return
    console.print(_policy_table(deployment))


@app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="Deployment name")],
    format: Annotated[str, typer.Option("--format", "-f", help="dockerfile or k8s")] = "dockerfile",
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write into")] = Path(
        "."
    ),
    image: Annotated[str | None, typer.Option(help="Image name for the k8s manifests")] = None,
    workers: Annotated[int, typer.Option(help="Server worker processes per container")] = 2,
    replicas: Annotated[int, typer.Option(help="Minimum pods (k8s)")] = 2,
    max_replicas: Annotated[int, typer.Option(help="Maximum pods for the autoscaler (k8s)")] = 10,
) -> None:
    """Write a Dockerfile or Kubernetes manifests that run `ladder serve --deployment NAME`."""
    from ladder.serving.export import ExportSettings, export_deployment

    path = export_deployment(
        name,
        format,
        output,
        ExportSettings(image=image, workers=workers, replicas=replicas, max_replicas=max_replicas),
    )
    console.print(f"wrote {path}")
