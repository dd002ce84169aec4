"""Fixtures of the pipelines slice's tests: a local Ray runtime for the whole session."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import require_service


@pytest.fixture(scope="session")
def ray_runtime(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A local Ray runtime (2 CPUs, no dashboard), started once: Ray takes seconds to start."""
    try:
        import ray
    except ImportError:
        require_service("Ray", "ray is not installed (pip install -e '.[ray]')")
    # Ray workers inherit the environment of ray.init: start the S3 server first so they see it.
    with contextlib.suppress(pytest.skip.Exception, pytest.fail.Exception):
        request.getfixturevalue("s3_endpoint")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
