"""Shared fixtures: a fresh Ladder workspace per test on SQLite or PostgreSQL, and S3 (moto).

Services that are missing make their tests skip with the reason, unless
``LADDER_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where they fail the run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ladder.artifacts import store as artifact_store_module
from ladder.db import forget_stores
from ladder.workspace import Workspace, open_workspace

PG_URL = os.environ.get("LADDER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def require_service(name: str, reason: str) -> None:
    """Skip (or, with LADDER_REQUIRE_SERVICES=1, fail) because service ``name`` is missing."""
    message = f"{name} unavailable: {reason}"
    if os.environ.get("LADDER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (LADDER_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def postgres_schema_url() -> str:
    """Create a fresh schema in the test database; return a store URI that uses it."""
    try:
        import psycopg
    except ImportError:
        require_service("PostgreSQL", "psycopg is not installed (pip install -e '.[postgres]')")
    if not _port_open("127.0.0.1", 5432):
        require_service("PostgreSQL", "nothing listens on 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", str(exc).strip())
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with no LADDER_* settings leaking in; cwd is the folder."""
    for name in list(os.environ):
        if name.startswith("LADDER_") and name not in ("LADDER_REQUIRE_SERVICES", "LADDER_TEST_PG"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LADDER_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def workspace(isolated: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh workspace on each metadata backend (SQLite file, PostgreSQL schema)."""
    if backend == "postgres":
        monkeypatch.setenv("LADDER_STORE_URI", postgres_schema_url())
    ws = open_workspace(isolated)
    yield ws
    forget_stores()


@pytest.fixture
def sqlite_workspace(isolated: Path) -> Iterator[Workspace]:
    ws = open_workspace(isolated)
    yield ws
    forget_stores()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, with AWS variables pointing at it."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        require_service("S3 (moto)", "moto[server] is not installed")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _AWS_VARS}
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_S3": endpoint,
        }
    )
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@pytest.fixture
def s3_uri(s3_endpoint: str) -> str:
    """A fresh bucket prefix on the moto server, as an artifact store URI."""
    import boto3

    bucket = f"ladder-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    artifact_store_module._stores.clear()
    return f"s3://{bucket}/artifacts"
