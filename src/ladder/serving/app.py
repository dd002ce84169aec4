"""The ASGI app of ``ladder serve``: predict endpoints, health, metrics, labels.

Request path, kept free of disk and database work: check the content type,
read the body while enforcing the size limit, parse it (orjson), pick a variant
from the current route table, queue the rows on that variant's micro-batcher,
answer with orjson. Everything slow happens elsewhere: prediction on worker
threads, the prediction log in a background writer, deployment changes in a
background poll (see ``route_table``).

Endpoints: ``POST /predict`` (Ladder's own JSON), ``POST /invocations`` (MLflow's
scoring protocol), ``POST /v2/models/{name}/infer`` and the v2 health and metadata
routes (Open Inference Protocol), ``POST /labels``, ``GET /health`` (liveness),
``/ready`` (readiness), ``/version``, ``/metrics`` (Prometheus), ``/docs`` (OpenAPI).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from ladder.errors import (
    InvalidPayload,
    InvalidValue,
    LadderError,
    PayloadTooLarge,
    SignatureMismatch,
    UnsupportedContentType,
)
from ladder.ids import new_id
from ladder.serving.batching import BatchLimits
from ladder.serving.metrics import ServingMetrics
from ladder.serving.prediction_log import PredictionLogWriter, RejectedInput, log_labels
from ladder.serving.protocols import (
    CSV,
    JSON,
    TableInput,
    media_kind,
    parse_invocations,
    parse_predict,
    parse_v2,
    read_csv,
    read_json,
    v2_datatype,
)
from ladder.serving.route_table import Router, RouteTable, ServingSource
from ladder.serving.variants import ModelFailed, PendingRequest, Prediction, ServedVariant
from ladder.workspace import open_workspace

log = logging.getLogger("ladder.serving")

OPTIONS_ENV = "LADDER_SERVE_OPTIONS"
_JSON_TYPE = "application/json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_PARSE_INLINE_BYTES = 256 * 1024  # larger bodies are parsed on a thread, off the event loop


@dataclass
class ServeOptions:
    """Everything ``ladder serve`` is told; passed to worker processes as JSON."""

    deployment: str | None = None
    model: str | None = None
    name: str | None = None  # deployment name for a bare model (default: the model's name)
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_batch_rows: int = 1024
    max_wait_ms: float = 0.0
    max_body_bytes: int = 16 * 1024 * 1024
    flush_rows: int = 10_000
    flush_seconds: float = 5.0
    poll_seconds: float = 1.0
    log_predictions: bool = True
    probabilities: bool = True
    trust: bool = False
    trusted_types: tuple[str, ...] = field(default_factory=tuple)
    threads: int = 4
    access_log: bool = False

    def __post_init__(self) -> None:
        if (self.deployment is None) == (self.model is None):
            raise InvalidValue(
                "serve: expected exactly one of a model URI or --deployment NAME, "
                f"given model={self.model!r}, deployment={self.deployment!r}"
            )
        for name in ("workers", "max_batch_rows", "max_body_bytes", "flush_rows", "threads"):
            if getattr(self, name) < 1:
                raise InvalidValue(f"serve {name}: expected >= 1, given {getattr(self, name)}")
        for name in ("flush_seconds", "poll_seconds"):
            if getattr(self, name) <= 0:
                raise InvalidValue(f"serve {name}: expected > 0, given {getattr(self, name)}")
        self.trusted_types = tuple(self.trusted_types)

    @property
    def source(self) -> ServingSource:
        if self.deployment is not None:
            return ServingSource(self.deployment)
        assert self.model is not None
        from ladder.registry import parse_model_uri

        return ServingSource(self.name or parse_model_uri(self.model).name, model=self.model)

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        return cls(**orjson.loads(text))


def _error(status: int, kind: str, message: str, **extra: Any) -> Response:
    body = {"error": {"type": kind, "message": message, **extra}}
    return Response(orjson.dumps(body), status_code=status, media_type=_JSON_TYPE)


def _jsonable(values: np.ndarray) -> Any:
    """An array orjson writes natively (numbers, booleans) or as a list (text, objects)."""
    if values.dtype.kind in "biuf" and values.flags.c_contiguous:
        return values
    return values.tolist()


_ORJSON = orjson.OPT_SERIALIZE_NUMPY


class ServingApp:
    """The state behind one app: router, batchers, log writer and metrics."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.source = options.source
        self.deployment = self.source.deployment
        self.metrics = ServingMetrics()
        self.router: Router | None = None
        self.writer: PredictionLogWriter | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._counters: dict[tuple[str, ...], Any] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        options = self.options
        ws = open_workspace()
        executor = ThreadPoolExecutor(
            max_workers=options.threads, thread_name_prefix="ladder-predict"
        )
        if options.log_predictions:
            self.writer = PredictionLogWriter(
                ws,
                self.deployment,
                flush_rows=options.flush_rows,
                flush_seconds=options.flush_seconds,
                on_written=self.metrics.log_rows.labels(self.deployment).inc,
            )
        self.router = Router(
            ws,
            self.source,
            self.metrics,
            self.writer,
            executor,
            BatchLimits(options.max_batch_rows, options.max_wait_ms),
            trust=options.trust,
            trusted_types=options.trusted_types,
            probabilities=options.probabilities,
        )
        await asyncio.to_thread(self.router.load)
        # What is loaded by now (libraries, models) lives as long as the server. Left to the
        # collector, every full pass walks all of it again and stalls requests for 0.1-0.3 s,
        # every few seconds under load; frozen, a full pass sees only newer objects.
        gc.collect()
        gc.freeze()
        watcher = asyncio.create_task(self.router.watch(options.poll_seconds))
        try:
            yield
        finally:
            watcher.cancel()
            if self._background:  # shadow predictions still running: let them finish briefly
                await asyncio.wait(list(self._background), timeout=5)
            if self.writer is not None:
                await asyncio.to_thread(self.writer.close)
            executor.shutdown(wait=False)

    # -- reading requests ---------------------------------------------------------------------
    async def read_body(self, request: Request) -> bytes:
        """The body, refused with 413 as soon as it is known to exceed the limit."""
        limit = self.options.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(
                f"request body: {int(declared)} bytes declared, the limit is {limit} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"request body: more than {limit} bytes (the limit) received; stopped reading"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_table(
        self, request: Request, parse: Callable[[Any], TableInput], csv: bool = False
    ) -> TableInput:
        kind = media_kind(request.headers.get("content-type"), (JSON, CSV) if csv else (JSON,))
        body = await self.read_body(request)

        def decode() -> TableInput:
            if kind == CSV:
                return read_csv(body)
            document, tolerant = read_json(body)
            table = parse(document)
            table.may_be_non_finite = tolerant
            return table

        if len(body) > _PARSE_INLINE_BYTES:
            return await asyncio.to_thread(decode)
        return decode()

    def _names(self) -> list[str] | None:
        """Column order for positional inputs: the main variant's signature."""
        table = self.route()
        signature = table.live[0].model.signature
        return signature.columns if signature is not None else None

    def route(self) -> RouteTable:
        assert self.router is not None and self.router.table is not None
        return self.router.table

    # -- the prediction path ------------------------------------------------------------------
    async def infer(
        self,
        request: Request,
        endpoint: str,
        parse: Callable[[Any], TableInput],
        render: Callable[[ServedVariant, str, list[str], Prediction], Response],
        *,
        csv: bool = False,
    ) -> Response:
        arrival = time.perf_counter()
        arrival_us = time.time_ns() // 1000
        variant: ServedVariant | None = None
        request_id: str | None = None
        try:
            table = await self.read_table(request, parse, csv=csv)
            route = self.route()
            variant = route.choose(table.key or request.headers.get("x-routing-key"))
            request_id = self._request_id(request, table)
            ids = table.ids or (
                [request_id]
                if table.rows == 1
                else [f"{request_id}-{i}" for i in range(table.rows)]
            )
            pending = PendingRequest(table, ids, arrival_us, arrival)
            result = await variant.batcher.submit(pending, table.rows)
        except LadderError as exc:
            if isinstance(exc, SignatureMismatch) and variant is not None and request_id:
                self._log_rejected(variant, request_id, arrival_us, exc)
            return self._refuse(endpoint, variant, exc)
        except ModelFailed as exc:
            self._count(endpoint, variant, "500", error="model")
            return _error(
                500,
                "ModelError",
                f"model {variant.uri if variant else '?'} failed: {exc}",
                error_id=exc.error_id,
            )
        except Exception as exc:  # a bug, not the caller's fault: answer 500, keep serving
            return self._server_error(endpoint, variant, exc)
        variant.observe_latency(time.perf_counter() - arrival)
        for shadow in route.shadows:
            self._spawn(self._shadow(shadow, table, ids, arrival_us))
        self._count(endpoint, variant, "200")
        return render(variant, request_id, ids, result)

    def _request_id(self, request: Request, table: TableInput) -> str:
        if table.ids and table.rows == 1:
            return table.ids[0]
        given = table.request_id or request.headers.get("x-request-id")
        return given if given and _REQUEST_ID.match(given) else new_id()

    def _log_rejected(
        self, variant: ServedVariant, request_id: str, arrival_us: int, exc: SignatureMismatch
    ) -> None:
        """Record why the input was refused, once per (column, reason): monitors count these."""
        if self.writer is None:
            return
        version = variant.model.version
        reasons = dict.fromkeys((p.column, p.reason) for p in exc.problems)
        self.writer.append_rejected(
            [
                RejectedInput(
                    request_id,
                    arrival_us,
                    variant.name,
                    version.name,
                    version.version,
                    column,
                    reason,
                )
                for column, reason in reasons
            ]
        )

    def _refuse(self, endpoint: str, variant: ServedVariant | None, exc: LadderError) -> Response:
        if isinstance(exc, SignatureMismatch):
            self._count(endpoint, variant, "422", error="validation")
            return _error(
                422,
                "SignatureMismatch",
                str(exc),
                problems=[p.to_dict() for p in exc.problems],
            )
        status = (
            413
            if isinstance(exc, PayloadTooLarge)
            else 415
            if isinstance(exc, UnsupportedContentType)
            else 400
            if isinstance(exc, (InvalidPayload, InvalidValue))
            else 500
        )
        if status == 500:
            return self._server_error(endpoint, variant, exc)
        self._count(endpoint, variant, str(status), error="bad_request")
        return _error(status, type(exc).__name__, str(exc))

    def _server_error(
        self, endpoint: str, variant: ServedVariant | None, exc: Exception
    ) -> Response:
        error_id = new_id()
        log.error("request failed [error id %s]", error_id, exc_info=exc)
        self._count(endpoint, variant, "500", error="server")
        return _error(500, type(exc).__name__, str(exc), error_id=error_id)

    async def _shadow(
        self, shadow: ServedVariant, table: TableInput, ids: list[str], arrival_us: int
    ) -> None:
        started = time.perf_counter()
        try:
            await shadow.batcher.submit(PendingRequest(table, ids, arrival_us, started), table.rows)
        except (LadderError, ModelFailed) as exc:
            self._count("shadow", shadow, "error", error=type(exc).__name__)
            return
        shadow.observe_latency(time.perf_counter() - started)
        self._count("shadow", shadow, "200")

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)  # keep a reference until done (the loop holds weak ones)
        task.add_done_callback(self._background.discard)

    def _count(
        self, endpoint: str, variant: ServedVariant | None, status: str, error: str | None = None
    ) -> None:
        labels = variant.labels if variant is not None else (self.deployment, "", "", "")
        key = (endpoint, *labels, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.metrics.requests.labels(*key)
        counter.inc()
        if error is not None:
            self.metrics.errors.labels(endpoint, *labels, error).inc()

    # -- renderers ----------------------------------------------------------------------------
    def render_predict(
        self, variant: ServedVariant, request_id: str, ids: list[str], result: Prediction
    ) -> Response:
        body: dict[str, Any] = {
            "request_id": request_id,
            "deployment": self.deployment,
            "variant": variant.name,
            "model": variant.model_name,
            "model_version": variant.version,
            "predictions": _jsonable(result.predictions),
            "ids": ids,
        }
        if result.proba is not None:
            body["probabilities"] = _jsonable(result.proba)
            body["classes"] = variant.classes
        return Response(
            orjson.dumps(body, option=_ORJSON),
            media_type=_JSON_TYPE,
            headers=_headers(variant, request_id),
        )

    def render_invocations(
        self, variant: ServedVariant, request_id: str, ids: list[str], result: Prediction
    ) -> Response:
        return Response(
            orjson.dumps({"predictions": _jsonable(result.predictions)}, option=_ORJSON),
            media_type=_JSON_TYPE,
            headers=_headers(variant, request_id),
        )

    def render_v2(
        self, variant: ServedVariant, request_id: str, ids: list[str], result: Prediction
    ) -> Response:
        predictions = result.predictions
        outputs: list[dict[str, Any]] = [
            {
                "name": "predict",
                "shape": list(predictions.shape),
                "datatype": v2_datatype(predictions),
                "data": _jsonable(predictions.reshape(-1)),
            }
        ]
        if result.proba is not None:
            outputs.append(
                {
                    "name": "predict_proba",
                    "shape": list(result.proba.shape),
                    "datatype": "FP64",
                    "data": _jsonable(
                        np.ascontiguousarray(result.proba, dtype="float64").reshape(-1)
                    ),
                }
            )
        body = {
            "model_name": self.deployment,
            "model_version": str(variant.version),
            "id": request_id,
            "parameters": {
                "variant": variant.name,
                "model": variant.uri,
                "classes": variant.classes,
                "ids": ids,
            },
            "outputs": outputs,
        }
        return Response(
            orjson.dumps(body, option=_ORJSON),
            media_type=_JSON_TYPE,
            headers=_headers(variant, request_id),
        )

    # -- the rest -----------------------------------------------------------------------------
    def version_info(self) -> dict[str, Any]:
        from ladder import __version__

        table = self.router.table if self.router is not None else None
        return {
            "ladder": __version__,
            "deployment": self.deployment,
            "revision": table.revision if table else None,
            "kind": table.policy.kind if table else None,
            "variants": table.describe() if table else [],
            "pid": os.getpid(),
            "swaps": self.router.swaps if self.router else 0,
            "reload_error": self.router.reload_error if self.router else None,
            "prediction_log": (
                {
                    "buffered_rows": self.writer.buffered_rows,
                    "rows_written": self.writer.stats.rows_written,
                    "parts_written": self.writer.stats.parts_written,
                    "rows_dropped": self.writer.stats.rows_dropped,
                    "last_error": self.writer.stats.last_error,
                }
                if self.writer is not None
                else None
            ),
        }

    async def labels(self, request: Request) -> Response:
        try:
            media_kind(request.headers.get("content-type"))
            document, _ = read_json(await self.read_body(request))
            if (
                not isinstance(document, dict)
                or "request_ids" not in document
                or "labels" not in document
            ):
                raise InvalidPayload('labels: expected {"request_ids": [...], "labels": [...]}')
            ids, values = document["request_ids"], document["labels"]
            if not isinstance(ids, list) or not isinstance(values, list):
                raise InvalidPayload("labels: request_ids and labels must be JSON lists")
            writer = self.writer
            if writer is not None:  # make this worker's recent predictions visible first
                await asyncio.to_thread(writer.flush)
            assert self.router is not None
            receipt = await asyncio.to_thread(
                log_labels,
                ids,
                values,
                self.deployment,
                self.router.workspace,
                also_known=writer.buffered_request_ids if writer is not None else None,
            )
        except LadderError as exc:
            return self._refuse("labels", None, exc)
        self._count("labels", None, "200")
        return Response(orjson.dumps(receipt.to_dict()), media_type=_JSON_TYPE)


def _headers(variant: ServedVariant, request_id: str) -> dict[str, str]:
    return {
        "x-request-id": request_id,
        "x-ladder-variant": variant.name,
        "x-ladder-model-version": variant.uri,
    }


_TABLE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "array", "items": {"type": "object"}, "description": "a list of records"},
        {
            "type": "object",
            "properties": {
                "records": {"type": "array", "items": {"type": "object"}},
                "columns": {"type": "object", "additionalProperties": {"type": "array"}},
                "ids": {"type": "array", "items": {"type": "string"}},
                "key": {"type": "string", "description": "sticky routing key"},
            },
        },
        {"type": "object", "description": "one record: column → value"},
    ]
}


def _body(schema: dict[str, Any], csv: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"requestBody": {"required": True, "content": content}}


Endpoint = Callable[[Request], Awaitable[Response]]
_V2_PREFIX, _V2_SUFFIX = "/v2/models/", "/infer"


class ServingAPI(FastAPI):
    """FastAPI, except that a POST to a prediction endpoint goes straight to its handler.

    FastAPI's middleware stack, routing and dependency solving cost a no-op model's
    request about as much CPU as everything else it does; the prediction handlers
    read the raw request, answer every error themselves and need none of it. The
    routes stay declared on FastAPI too, for the OpenAPI docs.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.predict_endpoints: dict[str, Endpoint] = {}
        self.v2_infer: Callable[[str, Request], Awaitable[Response]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self._prediction_endpoint(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                response = await endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _prediction_endpoint(self, path: str) -> Endpoint | None:
        endpoint = self.predict_endpoints.get(path)
        if endpoint is not None or self.v2_infer is None:
            return endpoint
        if path.startswith(_V2_PREFIX) and path.endswith(_V2_SUFFIX):
            name = path[len(_V2_PREFIX) : -len(_V2_SUFFIX)]
            if name and "/" not in name:
                v2_infer = self.v2_infer
                return lambda request: v2_infer(name, request)
        return None


def create_app(options: ServeOptions) -> ServingAPI:
    """The ASGI app (FastAPI) serving ``options``' deployment (or bare model)."""
    state = ServingApp(options)
    app = ServingAPI(
        title=f"Ladder serving: {state.deployment}",
        description="Predictions from the models of a Ladder deployment.",
        lifespan=state.lifespan,
    )
    app.state.ladder = state

    @app.post("/predict", openapi_extra=_body(_TABLE_SCHEMA), tags=["predict"])
    async def predict(request: Request) -> Response:
        """Predict for JSON records or columns: predictions, probabilities, version, variant."""
        return await state.infer(request, "predict", parse_predict, state.render_predict)

    @app.post(
        "/invocations",
        openapi_extra=_body(
            {
                "type": "object",
                "description": "one of dataframe_split, dataframe_records, instances, inputs",
            },
            csv=True,
        ),
        tags=["mlflow"],
    )
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol (``mlflow models serve`` clients work unchanged)."""
        return await state.infer(
            request,
            "invocations",
            lambda document: parse_invocations(document, state._names()),
            state.render_invocations,
            csv=True,
        )

    @app.post(
        "/v2/models/{name}/infer",
        openapi_extra=_body({"type": "object", "description": "Open Inference Protocol v2"}),
        tags=["v2"],
    )
    async def v2_infer(name: str, request: Request) -> Response:
        """Open Inference Protocol v2 inference (KServe, Seldon, Triton clients)."""
        if name != state.deployment:
            return _unknown_model(name, state.deployment)
        return await state.infer(
            request,
            "v2",
            lambda document: parse_v2(document, state._names()),
            state.render_v2,
        )

    app.predict_endpoints.update({"/predict": predict, "/invocations": invocations})
    app.v2_infer = v2_infer

    @app.post(
        "/labels",
        openapi_extra=_body(
            {
                "type": "object",
                "properties": {
                    "request_ids": {"type": "array", "items": {"type": "string"}},
                    "labels": {"type": "array"},
                },
                "required": ["request_ids", "labels"],
            }
        ),
        tags=["monitoring"],
    )
    async def labels(request: Request) -> Response:
        """Ground truth for earlier predictions, joined to the prediction log by request id."""
        return await state.labels(request)

    @app.get("/health", tags=["health"])
    async def health() -> Response:
        """Liveness: the process answers."""
        return Response(b'{"status":"ok"}', media_type=_JSON_TYPE)

    @app.get("/ready", tags=["health"])
    async def ready() -> Response:
        """Readiness: every variant's model is loaded and warmed."""
        ok = state.router is not None and state.router.table is not None
        return Response(
            orjson.dumps({"ready": ok}), status_code=200 if ok else 503, media_type=_JSON_TYPE
        )

    @app.get("/version", tags=["health"])
    async def version() -> Response:
        """The deployment revision, and the model version behind each variant."""
        return Response(orjson.dumps(state.version_info()), media_type=_JSON_TYPE)

    @app.get("/metrics", tags=["health"])
    async def metrics() -> Response:
        """Prometheus metrics."""
        data, content_type = state.metrics.render()
        return Response(data, media_type=content_type)

    @app.get("/v2", tags=["v2"])
    async def v2_server() -> Response:
        from ladder import __version__

        return Response(
            orjson.dumps({"name": "ladder", "version": __version__, "extensions": []}),
            media_type=_JSON_TYPE,
        )

    @app.get("/v2/health/live", tags=["v2"])
    async def v2_live() -> Response:
        return Response(b'{"live":true}', media_type=_JSON_TYPE)

    @app.get("/v2/health/ready", tags=["v2"])
    async def v2_ready() -> Response:
        return await ready()

    @app.get("/v2/models/{name}", tags=["v2"])
    async def v2_metadata(name: str) -> Response:
        if name != state.deployment:
            return _unknown_model(name, state.deployment)
        table = state.route()
        main = table.live[0]
        signature = main.model.signature
        inputs = [
            {"name": spec.name, "datatype": _V2_OF_TYPE.get(spec.type, "BYTES"), "shape": [-1]}
            for spec in (signature.inputs if signature is not None else ())
        ]
        return Response(
            orjson.dumps(
                {
                    "name": state.deployment,
                    "versions": sorted({str(v.version) for v in table.variants.values()}),
                    "platform": f"ladder-{main.model.version.flavor}",
                    "inputs": inputs,
                    "outputs": [{"name": "predict", "datatype": "BYTES", "shape": [-1]}],
                }
            ),
            media_type=_JSON_TYPE,
        )

    @app.get("/v2/models/{name}/ready", tags=["v2"])
    async def v2_model_ready(name: str) -> Response:
        if name != state.deployment:
            return _unknown_model(name, state.deployment)
        return await ready()

    return app


_V2_OF_TYPE = {"float": "FP64", "integer": "INT64", "boolean": "BOOL"}


def _unknown_model(name: str, served: str) -> Response:
    return _error(
        404,
        "DeploymentNotFound",
        f"deployment {name!r}: not served here; this server serves {served!r}",
    )


def app_from_environment() -> ServingAPI:
    """The app of a worker process started by ``ladder serve --workers N`` (options in the env)."""
    text = os.environ.get(OPTIONS_ENV)
    if not text:
        raise InvalidValue(f"{OPTIONS_ENV} is not set: start workers with ladder serve")
    return create_app(ServeOptions.from_json(text))
