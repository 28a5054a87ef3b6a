"""``GET /metrics``: Prometheus text of the API's requests (by route template, never a raw path: no person id in
a label), latencies and refusals, and of every agency call this process made (``connectors.metrics``).

With ``PROMETHEUS_MULTIPROC_DIR`` set (several API workers), the folder's values of every process are served.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

router = APIRouter(tags=["operations"])

REQUESTS = Counter("estelam_api_requests", "API requests answered, by route template, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("estelam_api_request_seconds", "Time to answer an API request", ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
REFUSALS = Counter("estelam_api_refusals", "Requests refused (401, 403, 404, 409, 413, 422, 429)",
                   ["route", "status"])
#: Requests that matched no route share one label: a scanner's random paths must not grow the label set.
UNMATCHED = "unmatched"
REFUSED_STATUSES = frozenset({401, 403, 404, 405, 409, 413, 415, 422, 429})


def _route(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


def instrument(app: FastAPI) -> None:
    """Count and time every request the app answers."""

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route(request)
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
        if response.status_code in REFUSED_STATUSES:
            REFUSALS.labels(route, str(response.status_code)).inc()
        return response


@router.get("/metrics", summary="Prometheus metrics: API requests and this process's agency calls",
            response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics() -> Response:
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus-client leaves it unannotated
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
