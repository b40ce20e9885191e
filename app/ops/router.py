"""/healthz, /readyz, /metrics, and the OpenAPI document with every contract as a component."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.contracts import service as contracts_service
from app.contracts.jsonschema import component_name, row_schema
from app.contracts.spec import ContractSpec
from app.deps import SessionDep
from app.ops import service
from app.problems import PROBLEM_SCHEMA

router = APIRouter(tags=["operations"])
STATIC_DIR = Path(fastapi_offline.__file__).parent / "static"


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: SessionDep, request: Request) -> JSONResponse:
    """Readiness: the database and the storage are reachable."""
    checks = service.readiness(session, request.app.state.batch_context.blobs)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, session: SessionDep) -> JSONResponse:
    """The API's OpenAPI document plus `contract.<name>` for every contract's latest version."""
    doc: dict[str, Any] = copy.deepcopy(request.app.openapi())
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for spec in contracts_service.latest_specs(session):
        schemas[component_name(spec.name)] = _component(spec)
    return JSONResponse(doc)


def _component(spec: ContractSpec) -> dict[str, Any]:
    """The row schema without its `title`: Swagger UI lists a schema by its title (capitalised)
    and falls back to the component name, `contract.<name>`; the title leads the description."""
    schema = row_schema(spec)
    lead = schema.pop("title", None)
    if lead and lead != spec.name:
        rest = schema.get("description")
        schema["description"] = f"{lead}.\n\n{rest}" if rest else f"{lead}."
    return schema


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """Swagger UI, served from local assets (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Tollgate API",
        swagger_js_url="/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/docs/static/swagger-ui.css",
        swagger_favicon_url="/docs/static/favicon.png",
        swagger_ui_parameters={"defaultModelsExpandDepth": 1, "docExpansion": "none"},
    )
