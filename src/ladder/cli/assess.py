"""``ladder assess``: the maturity level of a repository, from evidence."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ladder.cli.output import console, err_console


def assess(
    # a plain string: the assessment checks the path itself and explains what is wrong with it
    path: Annotated[str, typer.Argument(help="Repository folder (default: here)")] = ".",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the documented JSON (ladder.assess/1)")
    ] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report here")
    ] = None,
) -> None:
    """Assess the MLOps maturity level (1-5) of PATH: checklist, evidence and next steps."""
    from ladder.maturity import assess as run_assessment
    from ladder.maturity import print_report, to_json, write_html

    with err_console.status(f"assessing {path} …"):
        result = run_assessment(Path(path))
    if html is not None:
        written = write_html(result, html)
        err_console.print(f"wrote {written}")
    if as_json:
        sys.stdout.write(to_json(result) + "\n")
        return
    print_report(result, console)
