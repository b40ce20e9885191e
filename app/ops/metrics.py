"""Prometheus collectors, one registry per app (no global state), and their middleware."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.jobs import service as jobs_service

log = logging.getLogger("tollgate")


class Metrics:
    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(QueueCollector(maker))
        self.requests = Counter(
            "tollgate_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tollgate_http_request_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=self.registry,
        )


class QueueCollector(Collector):
    """Job queue gauges read from the shared database at scrape time, so every API replica
    reports the same truth however many worker processes there are."""

    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.maker = maker

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "tollgate_database_up", "1 when the last scrape reached the database."
        )
        try:
            with self.maker() as session:
                state = jobs_service.queue_state(session)
        except Exception:  # a scrape must answer even when the database does not
            log.warning("metrics: the job queue could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily("tollgate_jobs", "Jobs by status.", labels=["status"])
        for status in ("queued", "running", "done", "failed"):
            jobs.add_metric([status], state.counts.get(status, 0))
        yield jobs
        age = GaugeMetricFamily(
            "tollgate_oldest_queued_job_seconds",
            "Age of the oldest queued job (0 when none): alert when workers fall behind.",
        )
        age.add_metric([], state.oldest_queued_age or 0.0)
        yield age


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # Route templates, never raw paths: raw paths would make label cardinality unbounded.
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
