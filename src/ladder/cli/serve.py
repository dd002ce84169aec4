"""``ladder serve``: serve one model URI or a stored deployment over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from ladder.cli.output import err_console
from ladder.errors import InvalidValue


def serve(
    model: Annotated[
        str | None,
        typer.Argument(help="Model URI to serve: name@alias, name/3 or name@latest"),
    ] = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="Serve this stored deployment")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Deployment name a bare model is served and logged under (default: its name)"
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the port")] = 1,
    max_batch_rows: Annotated[
        int, typer.Option(help="Most rows one micro-batched predict call takes")
    ] = 1024,
    max_wait_ms: Annotated[
        float, typer.Option(help="How long a request may wait for others to batch with (ms)")
    ] = 0.0,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body accepted (MiB)")] = 16.0,
    flush_rows: Annotated[
        int, typer.Option(help="Write a prediction-log part every this many rows")
    ] = 10_000,
    flush_seconds: Annotated[float, typer.Option(help="…or every this many seconds")] = 5.0,
    poll_seconds: Annotated[
        float, typer.Option(help="How often deployment and alias changes are checked")
    ] = 1.0,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log predictions")] = False,
    no_proba: Annotated[
        bool,
        typer.Option(
            "--no-proba",
            help="Skip predict_proba: answers and the log carry predictions only (faster)",
        ),
    ] = False,
    trust: Annotated[
        bool, typer.Option(help="Allow loading cloudpickle (python flavor) models")
    ] = False,
    trusted_type: Annotated[
        list[str] | None,
        typer.Option(help="Extra type a skops model may contain (repeatable)"),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Print one line per request")] = False,
) -> None:
    """Serve a model or a deployment: /predict, /invocations (MLflow), /v2 (Open Inference),
    /labels, /health, /ready, /version, /metrics and /docs."""
    from ladder.registry import get_model_version
    from ladder.serving.app import ServeOptions
    from ladder.serving.deployments import get_deployment
    from ladder.serving.server import run_server

    options = ServeOptions(
        deployment=deployment,
        model=model,
        name=name,
        host=host,
        port=port,
        workers=workers,
        max_batch_rows=max_batch_rows,
        max_wait_ms=max_wait_ms,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        flush_rows=flush_rows,
        flush_seconds=flush_seconds,
        poll_seconds=poll_seconds,
        log_predictions=not no_log,
        probabilities=not no_proba,
        trust=trust,
        trusted_types=tuple(trusted_type or ()),
        access_log=access_log,
    )
    # Fail here, in one line, rather than inside a worker's start-up.
    if deployment is not None:
        described = get_deployment(deployment).policy.describe()
    else:
        assert model is not None
        described = get_model_version(model).uri
        if name is not None and not name.strip():
            raise InvalidValue("serve --name: expected a non-empty name")
    err_console.print(
        f"serving [bold]{options.source.deployment}[/] ({described}) on "
        f"http://{host}:{port} with {workers} worker{'s' if workers > 1 else ''}; docs at /docs"
    )
    run_server(options)
