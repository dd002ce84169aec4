"""Running the app: one uvicorn process, or uvicorn's supervisor with N worker processes.

With ``workers > 1`` the workers share one listening socket; uvicorn's
supervisor replaces a worker that dies, and the others keep accepting
connections meanwhile. Options travel to the workers as JSON in an environment
variable; Prometheus samples are pooled through a fresh multiprocess folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ladder.serving.app import OPTIONS_ENV, ServeOptions, create_app
from ladder.serving.metrics import MULTIPROC_ENV


def run_server(options: ServeOptions) -> None:
    """Serve until interrupted (SIGINT/SIGTERM flush the prediction log before exiting)."""
    import uvicorn

    common = {
        "host": options.host,
        "port": options.port,
        "log_level": "info",
        "access_log": options.access_log,
        "timeout_graceful_shutdown": 10,
    }
    if options.workers == 1:
        uvicorn.run(create_app(options), **common)  # type: ignore[arg-type]
        return
    metrics_dir = tempfile.mkdtemp(prefix="ladder-metrics-")
    os.environ[OPTIONS_ENV] = options.to_json()
    os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        uvicorn.run(
            "ladder.serving.app:app_from_environment",
            factory=True,
            workers=options.workers,
            **common,  # type: ignore[arg-type]
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
