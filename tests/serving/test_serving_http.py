"""`ladder serve` over real HTTP on 127.0.0.1: every endpoint, and every bad input and fault."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_helpers import FEATURES, POISON, ServerProcess, register_raising_model, row, serving

from ladder.db import forget_stores
from ladder.serving import create_deployment, predictions, rejected_inputs
from ladder.workspace import Workspace, open_workspace

BODY_LIMIT_MB = 1


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Workspace]]:
    root = tmp_path_factory.mktemp("serving-http")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("LADDER_") and name not in ("LADDER_REQUIRE_SERVICES",):
                patch.delenv(name)
        patch.setenv("LADDER_HOME", str(root))
        ws = open_workspace(root)
        register_raising_model(ws, "fragile")
        create_deployment("shop", "fragile/1", workspace=ws)
        yield root, ws
        forget_stores()


@pytest.fixture(scope="module")
def server(project: tuple[Path, Workspace]) -> Iterator[ServerProcess]:
    root, _ = project
    # A long flush interval: the SIGTERM test checks that shutdown writes what is buffered.
    args = ["--deployment", "shop", "--trust", "--flush-seconds", "30"]
    with serving([*args, "--max-body-mb", str(BODY_LIMIT_MB)], root) as process:
        yield process


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def post_json(client: httpx.Client, path: str, body: bytes | str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return client.post(path, content=content, headers={"content-type": "application/json"})


# -- what must work -------------------------------------------------------------------------


def test_predict_answers_predictions_probabilities_version_variant_and_request_id(
    client: httpx.Client,
) -> None:
    response = client.post("/predict", json=row(0.9))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == [1] and body["classes"] == [0, 1]
    assert len(body["probabilities"][0]) == 2 and sum(body["probabilities"][0]) == pytest.approx(1)
    assert (body["model"], body["model_version"], body["variant"]) == ("fragile", 1, "primary")
    assert body["deployment"] == "shop" and body["ids"] == [body["request_id"]]
    assert response.headers["x-ladder-model-version"] == "fragile/1"
    assert response.headers["x-request-id"] == body["request_id"]


def test_predict_takes_records_and_columns_with_caller_ids(client: httpx.Client) -> None:
    records = client.post(
        "/predict", json={"records": [row(0.1), row(0.9)], "ids": ["loan-1", "loan-2"]}
    ).json()
    assert records["predictions"] == [0, 1] and records["ids"] == ["loan-1", "loan-2"]
    columns = client.post(
        "/predict", json={"columns": {name: [0.1, 0.9, 0.2] for name in FEATURES}}
    ).json()
    assert columns["predictions"] == [0, 1, 0]
    assert columns["ids"] == [f"{columns['request_id']}-{i}" for i in range(3)]


def test_invocations_speaks_mlflows_protocol(client: httpx.Client) -> None:
    split = {"dataframe_split": {"columns": FEATURES, "data": [[0.9] * 4, [0.1] * 4]}}
    for body in (
        split,
        {"dataframe_records": [row(0.9), row(0.1)]},
        {"instances": [[0.9] * 4, [0.1] * 4]},
        {"inputs": {name: [0.9, 0.1] for name in FEATURES}},
    ):
        response = client.post("/invocations", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [1, 0]}
        assert response.headers["x-ladder-variant"] == "primary"
    csv = "f0,f1,f2,f3\n0.9,0.9,0.9,0.9\n"
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    assert response.json() == {"predictions": [1]}


def test_open_inference_v2_infer_health_and_metadata(client: httpx.Client) -> None:
    tensors = [
        {"name": name, "shape": [2], "datatype": "FP64", "data": [0.9, 0.1]} for name in FEATURES
    ]
    response = client.post("/v2/models/shop/infer", json={"id": "abc", "inputs": tensors})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("shop", "1", "abc")
    predict, proba = body["outputs"]
    assert (predict["name"], predict["shape"], predict["data"]) == ("predict", [2], [1, 0])
    assert (proba["shape"], proba["datatype"]) == ([2, 2], "FP64")
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/health/live").json() == {"live": True}
    metadata = client.get("/v2/models/shop").json()
    assert [i["name"] for i in metadata["inputs"]] == FEATURES


def test_health_ready_version_docs_and_openapi(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"ready": True}
    version = client.get("/version").json()
    assert version["deployment"] == "shop" and version["revision"] == 1
    assert version["variants"][0]["version"] == "fragile/1"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/predict", "/invocations", "/v2/models/{name}/infer", "/labels"} <= set(paths)


def test_metrics_count_requests_latency_and_batch_sizes_per_variant_and_version(
    client: httpx.Client,
) -> None:
    client.post("/predict", json=row())
    text = client.get("/metrics").text
    labels = (
        'deployment="shop",endpoint="predict",model="fragile",status="200",'
        'variant="primary",version="1"'
    )
    assert f"ladder_serving_requests_total{{{labels}}}" in text
    assert 'ladder_serving_request_latency_seconds_bucket{deployment="shop"' in text
    assert 'ladder_serving_batch_rows_count{deployment="shop",model="fragile"' in text
    info = (
        'ladder_serving_model_info{deployment="shop",model="fragile",variant="primary",version="1"}'
    )
    assert f"{info} 1.0" in text


def test_served_requests_reach_the_prediction_log_and_labels_join(
    client: httpx.Client, project: tuple[Path, Workspace]
) -> None:
    _, ws = project
    answered = client.post("/predict", json={"records": [row(0.8)], "ids": ["order-77"]}).json()
    # /labels flushes this worker's buffered predictions first, so the id is known at once.
    receipt = client.post(
        "/labels", json={"request_ids": ["order-77", "never-seen"], "labels": [1, 0]}
    )
    assert receipt.status_code == 200, receipt.text
    assert receipt.json() == {"stored": 2, "unknown": 1, "unknown_ids": ["never-seen"]}
    frame = predictions("shop", workspace=ws).set_index("request_id")
    logged = frame.loc["order-77"]
    assert logged["prediction"] == answered["predictions"][0] and logged["label"] == 1
    assert logged["input.f0"] == 0.8 and logged["model_version"] == 1
    assert logged["latency_ms"] > 0


def test_labels_endpoint_refuses_malformed_bodies(client: httpx.Client) -> None:
    assert client.post("/labels", json={"request_ids": ["a"]}).status_code == 400
    mismatched = client.post("/labels", json={"request_ids": ["a"], "labels": [1, 2]})
    assert mismatched.status_code == 400 and "one label per request id" in mismatched.text


# -- bad input and faults -------------------------------------------------------------------


def test_malformed_json_is_a_400_naming_the_position(client: httpx.Client) -> None:
    response = post_json(client, "/predict", '{"f0": 0.5, "f1": ')
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "InvalidPayload"
    assert "malformed JSON" in response.json()["error"]["message"]


def test_wrong_types_are_a_422_with_row_column_expected_and_given(client: httpx.Client) -> None:
    records = [row(), {**row(), "f2": "high"}, {**row(), "f3": True}]
    response = client.post("/predict", json=records)
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert {(p["row"], p["column"]) for p in problems} == {(1, "f2"), (2, "f3")}
    by_column = {p["column"]: p for p in problems}
    assert by_column["f2"]["expected"].startswith("float64")
    assert by_column["f2"]["given"] == "str 'high'"
    assert by_column["f3"]["given"] == "bool True"


def test_missing_and_extra_columns_are_named(client: httpx.Client) -> None:
    missing = {k: v for k, v in row().items() if k != "f1"}
    response = client.post("/predict", json={**missing, "colour": "red"})
    assert response.status_code == 422
    problems = {p["column"]: p["reason"] for p in response.json()["error"]["problems"]}
    assert problems == {"f1": "missing column", "colour": "extra column"}


def test_an_extra_column_alone_is_refused_too(client: httpx.Client) -> None:
    response = client.post("/predict", json={**row(), "colour": 1.0})
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [(p["column"], p["reason"]) for p in problems] == [("colour", "extra column")]


def test_nan_is_a_null_and_infinity_is_refused_per_row(client: httpx.Client) -> None:
    body = b'[{"f0": NaN, "f1": 1, "f2": 1, "f3": 1}, {"f0": 1, "f1": Infinity, "f2": 1, "f3": 1}]'
    response = post_json(client, "/predict", body)
    assert response.status_code == 422
    problems = {(p["row"], p["column"], p["reason"]) for p in response.json()["error"]["problems"]}
    assert problems == {
        (0, "f0", "null where the signature forbids it"),
        (1, "f1", "not a finite number"),
    }


def test_an_empty_batch_is_a_400(client: httpx.Client) -> None:
    for path, body in (
        ("/predict", "[]"),
        ("/predict", '{"records": []}'),
        ("/invocations", '{"dataframe_records": []}'),
        ("/v2/models/shop/infer", '{"inputs": []}'),
    ):
        response = post_json(client, path, body)
        assert response.status_code == 400, (path, response.text)
        assert "empty batch" in response.json()["error"]["message"]


def test_an_unknown_content_type_is_a_415_and_pickle_is_never_read(client: httpx.Client) -> None:
    import pickle

    for content_type in ("application/python-pickle", "application/octet-stream", "text/plain"):
        response = client.post(
            "/predict", content=pickle.dumps(row()), headers={"content-type": content_type}
        )
        assert response.status_code == 415
        assert response.json()["error"]["type"] == "UnsupportedContentType"


def test_an_unknown_deployment_is_a_404(client: httpx.Client) -> None:
    response = client.post("/v2/models/elsewhere/infer", json={"inputs": []})
    assert response.status_code == 404
    assert "'elsewhere'" in response.json()["error"]["message"]
    assert client.get("/v2/models/elsewhere/ready").status_code == 404


def test_prediction_paths_answer_post_only_and_nothing_beside_them(client: httpx.Client) -> None:
    assert client.get("/predict").status_code == 405
    assert client.put("/invocations", json=[row()]).status_code == 405
    assert client.get("/v2/models/shop/infer").status_code == 405
    assert client.post("/predict/", json=row()).status_code == 307  # FastAPI: to /predict
    assert client.post("/v2/models/shop/x/infer", json={"inputs": []}).status_code == 404
    assert client.post("/v2/models//infer", json={"inputs": []}).status_code == 404


def raw_exchange(server: ServerProcess, head: bytes, body_chunks: Iterator[bytes]) -> bytes:
    """Send a request by hand, stop sending once the server has answered; return its answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        sock.settimeout(0.0)
        received = b""
        for chunk in body_chunks:
            with contextlib.suppress(BlockingIOError):
                received += sock.recv(65536)
            if received:
                break
            try:
                sock.settimeout(5)
                sock.sendall(chunk)
                sock.settimeout(0.0)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except (ConnectionResetError, TimeoutError):
            pass
        return received


def test_a_100_mb_body_is_refused_with_413_before_it_is_all_sent(server: ServerProcess) -> None:
    total = 100 * 1024 * 1024
    chunk = b" " * (256 * 1024)
    sent = 0

    def declared() -> Iterator[bytes]:
        nonlocal sent
        while sent < total:
            sent += len(chunk)
            yield chunk

    head = (
        f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {total}\r\n\r\n"
    ).encode()
    answer = raw_exchange(server, head, declared())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total // 2  # refused from the header, long before the body was through

    streamed = 0

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        nonlocal streamed
        while streamed < total:
            streamed += len(chunk)
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    head = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = raw_exchange(server, head, chunked())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert streamed < total // 2


def test_a_model_that_raises_is_a_500_with_an_error_id_and_the_worker_survives(
    client: httpx.Client, server: ServerProcess
) -> None:
    response = client.post("/predict", json={**row(), "f0": POISON})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "ModelError" and "poisoned row" in error["message"]
    assert len(error["error_id"]) == 26
    assert error["error_id"] in server.output()  # the traceback is logged under that id
    assert client.post("/predict", json=row()).status_code == 200
    assert server.process.poll() is None


def test_one_poisoned_request_in_a_batch_fails_alone(client: httpx.Client) -> None:
    import asyncio

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as http:
            bodies = [row(0.9)] * 10 + [{**row(), "f0": POISON}] + [row(0.1)] * 10
            responses = await asyncio.gather(*(http.post("/predict", json=b) for b in bodies))
            return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    assert statuses == [200] * 10 + [500] + [200] * 10


def test_bad_requests_are_counted_as_errors(client: httpx.Client) -> None:
    post_json(client, "/predict", "{")
    text = client.get("/metrics").text
    assert (
        'ladder_serving_errors_total{deployment="shop",endpoint="predict",kind="bad_request"'
        in text
    )
    assert 'kind="validation",model="fragile"' in text


def test_sigterm_flushes_the_log_and_exits_cleanly(
    client: httpx.Client, server: ServerProcess, project: tuple[Path, Workspace]
) -> None:
    """Runs last in this module: it stops the module's server."""
    _, ws = project
    ids = [f"term-{i}" for i in range(20)]
    for rid in ids:
        assert client.post("/predict", json={"records": [row()], "ids": [rid]}).status_code == 200
    refused = {k: v for k, v in row().items() if k != "f1"} | {"f2": "high"}
    response = client.post("/predict", json={"records": [refused], "ids": ["refused-1"]})
    assert response.status_code == 422
    # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15 rather than 0.
    assert server.stop() in (0, -15)
    assert "Application shutdown complete" in server.output()
    logged = set(predictions("shop", workspace=ws)["request_id"])
    assert set(ids) <= logged
    # Refused inputs are logged too, once per column and reason: what monitors count.
    rejected = rejected_inputs("shop", workspace=ws)
    mine = rejected[rejected["request_id"] == "refused-1"]
    assert set(zip(mine["column"], mine["reason"], strict=True)) == {
        ("f1", "missing column"),
        ("f2", mine[mine["column"] == "f2"]["reason"].iloc[0]),
    }
    assert len(mine) == 2 and set(mine["model"]) == {"fragile"}
    assert "refused-1" not in logged
