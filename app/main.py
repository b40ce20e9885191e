"""create_app(settings) → the FastAPI application: state, routers, handlers, middleware."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError

from app import __version__, problems
from app.auth import service as auth_service
from app.auth.middleware import AuthMiddleware
from app.auth.router import router as keys_router
from app.batches.intake import WORKER
from app.batches.pipeline import Context
from app.batches.router import router as batches_router
from app.config import Settings
from app.contracts.router import router as contracts_router
from app.db.engine import make_engine, make_sessionmaker, transaction
from app.features.router import router as features_router
from app.jobs.worker import start_in_process
from app.ops.metrics import Metrics, MetricsMiddleware
from app.ops.router import STATIC_DIR
from app.ops.router import router as ops_router

log = logging.getLogger("tollgate")

DESCRIPTION = """Data contracts enforced at the gate.

Every registered contract's latest version is listed below under **Schemas** as
`contract.<name>`: a JSON Schema of one row (types, nullability, enums, bounds, patterns, lengths).
Authenticate with `Authorization: Bearer <key>`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_admin_key(app)
        context.repair(app.state.sessionmaker)
        workers = [
            start_in_process(app.state.sessionmaker, context.handlers(), worker_id=f"{WORKER}:{i}")
            for i in range(settings.workers)
        ]
        yield
        for _, stop in workers:
            stop.set()
        for thread, _ in workers:
            thread.join()
        engine.dispose()

    app = FastAPI(
        title="Tollgate",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.metrics = Metrics(app.state.sessionmaker)
    context = Context.build(settings.storage_url, settings.scratch_dir)
    app.state.batch_context = context
    problems.install(app)
    app.include_router(ops_router)
    app.include_router(contracts_router)
    app.include_router(keys_router)
    app.include_router(batches_router)
    app.include_router(features_router)
    app.mount("/docs/static", StaticFiles(directory=STATIC_DIR), name="docs-static")
    app.add_middleware(AuthMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def ensure_admin_key(app: FastAPI) -> None:
    """Ensure TOLLGATE_ADMIN_KEY; generate and show an admin key once when none exists."""
    settings: Settings = app.state.settings
    with app.state.sessionmaker() as session:
        try:
            with transaction(session):
                secret = auth_service.ensure_admin(session, settings.admin_key)
        except IntegrityError:  # another replica inserted the same key first
            return
    if secret:
        sys.stderr.write(
            "\n  Tollgate generated the first admin key (shown once, store it now):\n"
            f"    {secret}\n\n"
        )
        sys.stderr.flush()
