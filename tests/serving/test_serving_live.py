"""A running server follows its deployment: hot swap under load, canary, shadow, A-B, aliases."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_helpers import ServerProcess, register_forest, row, serving

from ladder.db import forget_stores
from ladder.registry import set_alias
from ladder.serving import create_deployment, predictions, rollback_deployment, set_deployment
from ladder.workspace import Workspace, open_workspace


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Workspace]]:
    root = tmp_path_factory.mktemp("serving-live")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("LADDER_") and name not in ("LADDER_REQUIRE_SERVICES",):
                patch.delenv(name)
        patch.setenv("LADDER_HOME", str(root))
        ws = open_workspace(root)
        for seed in range(3):
            register_forest(ws, "clf", trees=5, seed=seed)
        set_alias("clf", "champion", 1, workspace=ws)
        create_deployment("live", "clf@champion", workspace=ws)
        yield root, ws
        forget_stores()


@pytest.fixture(scope="module")
def server(project: tuple[Path, Workspace]) -> Iterator[ServerProcess]:
    root, _ = project
    args = ["--deployment", "live", "--poll-seconds", "0.2", "--flush-seconds", "0.3"]
    with serving(args, root) as process:
        yield process


def wait_for(server: ServerProcess, check: object, timeout: float = 30) -> dict[str, object]:
    """Poll /version until ``check(version_info)`` holds."""
    deadline = time.monotonic() + timeout
    info: dict[str, object] = {}
    while time.monotonic() < deadline:
        info = httpx.get(f"{server.url}/version").json()
        if check(info):  # type: ignore[operator]
            return info
        time.sleep(0.1)
    raise AssertionError(f"server did not pick up the change: {info}")


def serving_versions(info: dict[str, object]) -> dict[str, str]:
    return {v["name"]: v["version"] for v in info["variants"]}  # type: ignore[attr-defined,index]


@pytest.mark.slow
def test_switching_the_model_under_16_clients_drops_no_request(
    server: ServerProcess, project: tuple[Path, Workspace]
) -> None:
    _, ws = project
    outcomes: list[tuple[float, int | None, str]] = []  # (time, model_version, failure)

    async def client(http: httpx.AsyncClient, stop: float) -> None:
        while time.monotonic() < stop:
            try:
                response = await http.post("/predict", json=row(0.6))
            except httpx.HTTPError as exc:
                outcomes.append((time.monotonic(), None, f"{type(exc).__name__}: {exc}"))
                continue
            if response.status_code != 200:
                outcomes.append((time.monotonic(), None, f"{response.status_code} {response.text}"))
                continue
            body = response.json()
            header = response.headers["x-ladder-model-version"]
            assert header == f"{body['model']}/{body['model_version']}"
            outcomes.append((time.monotonic(), body["model_version"], ""))

    async def main() -> tuple[float, float]:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
            start = time.monotonic()
            clients = [asyncio.create_task(client(http, start + 10)) for _ in range(16)]
            await asyncio.sleep(3)
            await asyncio.to_thread(set_deployment, "live", model="clf/2", workspace=ws)
            await asyncio.sleep(3.5)
            await asyncio.to_thread(rollback_deployment, "live", workspace=ws)
            rolled_back = time.monotonic()
            await asyncio.gather(*clients)
            return start, rolled_back

    start, rolled_back = asyncio.run(main())
    failures = [failure for _, _, failure in outcomes if failure]
    assert failures == [], failures[:5]
    versions = [version for _, version, _ in outcomes]
    assert len(versions) > 200
    assert set(versions) == {1, 2}
    # v1, then v2 after the switch, then v1 again after the rollback: each change took effect.
    first_v2 = next(t for t, v, _ in outcomes if v == 2)
    assert 3 <= first_v2 - start < 6.5
    assert all(v == 1 for t, v, _ in outcomes if t > rolled_back + 2)
    info = httpx.get(f"{server.url}/version").json()
    assert info["revision"] == 3 and info["reload_error"] is None


@pytest.mark.slow
def test_canary_shadow_and_ab_traffic_over_http(
    server: ServerProcess, project: tuple[Path, Workspace]
) -> None:
    _, ws = project
    revision = set_deployment("live", canary="clf/2:30", shadow="clf/3", workspace=ws).revision
    wait_for(server, lambda info: info["revision"] == revision)
    with httpx.Client(base_url=server.url) as http:
        answered: dict[str, str] = {}
        ids = []
        for i in range(200):
            body = http.post("/predict", json={"records": [row()], "key": f"user-{i}"}).json()
            answered[f"user-{i}"] = body["variant"]
            ids.append(body["request_id"])
            assert body["model_version"] == {"primary": 1, "canary": 2}[body["variant"]]
        shares = Counter(answered.values())
        assert set(shares) == {"primary", "canary"}  # the shadow never answers
        assert 0.2 <= shares["canary"] / 200 <= 0.4
        for i in range(0, 200, 10):  # sticky: the same key lands on the same variant
            again = http.post("/predict", json=row(), headers={"x-routing-key": f"user-{i}"})
            assert again.json()["variant"] == answered[f"user-{i}"]
    deadline = time.monotonic() + 10
    while True:
        frame = predictions("live", workspace=ws)
        shadow = frame[(frame["variant"] == "shadow") & frame["request_id"].isin(ids)]
        if len(shadow) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(shadow["request_id"]) == set(ids)  # the shadow saw a copy of every request
    assert set(shadow["model_version"]) == {3}

    revision = set_deployment("live", ab="clf/3:50", no_shadow=True, workspace=ws).revision
    wait_for(server, lambda info: info["revision"] == revision)
    with httpx.Client(base_url=server.url) as http:
        variants = Counter(
            http.post("/predict", json={"records": [row()], "key": f"k{i}"}).json()["variant"]
            for i in range(100)
        )
    assert set(variants) == {"a", "b"} and 30 <= variants["b"] <= 70
    text = httpx.get(f"{server.url}/metrics").text
    assert 'variant="b",version="3"' in text and 'variant="canary",version="2"' in text


@pytest.mark.slow
def test_moving_an_alias_moves_the_variant_that_follows_it(
    server: ServerProcess, project: tuple[Path, Workspace]
) -> None:
    _, ws = project
    revision = set_deployment("live", model="clf@champion", no_ab=True, workspace=ws).revision
    wait_for(server, lambda info: info["revision"] == revision)
    set_alias("clf", "champion", 3, workspace=ws)
    info = wait_for(server, lambda info: serving_versions(info)["primary"] == "clf/3")
    assert info["revision"] == revision  # the alias moved, not the deployment
    body = httpx.post(f"{server.url}/predict", json=row()).json()
    assert body["model_version"] == 3
