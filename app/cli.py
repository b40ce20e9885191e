"""`tollgate` commands: serve, apply, keys create, db upgrade. They call services, not HTTP,
except `apply --url`, which registers through a running server's API."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.auth import service as auth_service
from app.auth.service import Principal, Role
from app.batches.pipeline import LEASE, Context
from app.config import Settings
from app.contracts import service as contracts_service
from app.contracts.errors import IncompatibleChange, InvalidContract, VersionConflict
from app.contracts.parsing import to_yaml
from app.contracts.spec import ContractSpec
from app.db import migrate
from app.db.engine import make_engine, make_sessionmaker, transaction
from app.features.offline import OfflineStore
from app.jobs.worker import default_worker_id, drain, run_worker
from app.problems import TollgateError
from app.validation.engine import validate
from app.validation.infer import infer_contract
from app.validation.reading import UnreadableParquet
from app.validation.report import as_json, render_text
from app.validation.results import Outcome

CONTRACT_SUFFIXES = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".json": "application/json",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tollgate", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate the database and run the API")
    serve.add_argument("--host", default=None, help="default TOLLGATE_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default TOLLGATE_PORT or 8000")
    serve.add_argument("--data-dir", default=None, help="default TOLLGATE_DATA_DIR or ./data")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run queued validations")
    worker.add_argument("--threads", type=int, default=1, help="worker threads (default 1)")
    worker.add_argument(
        "--drain", action="store_true", help="run every job that is due, then exit (cron, tests)"
    )
    worker.set_defaults(func=_worker)

    validate = sub.add_parser("validate", help="validate a Parquet file locally, no server")
    validate.add_argument("contract", type=Path, help="contract file (YAML, JSON or ODCS)")
    validate.add_argument("batch", type=Path, help="Parquet file")
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    validate.add_argument("--failures", type=Path, help="also write the failing rows here")
    validate.set_defaults(func=_validate)

    infer = sub.add_parser("infer", help="draft a contract from a Parquet file")
    infer.add_argument("batch", type=Path, help="Parquet file")
    infer.add_argument("--name", help="contract name (default: from the file name)")
    infer.set_defaults(func=_infer)

    apply = sub.add_parser("apply", help="register every contract file in a folder (GitOps)")
    apply.add_argument("paths", nargs="+", type=Path, help="folders or contract files")
    apply.add_argument(
        "--url",
        default=os.environ.get("TOLLGATE_URL"),
        help="register through this server's API instead of the database",
    )
    apply.add_argument(
        "--key",
        default=os.environ.get("TOLLGATE_API_KEY"),
        help="API key for --url (default TOLLGATE_API_KEY)",
    )
    apply.add_argument("--allow-breaking", action="store_true", help="admin: force refused changes")
    apply.set_defaults(func=_apply)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = keys.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument(
        "--contracts",
        action="append",
        default=[],
        help="contract-name glob for a producer (repeatable)",
    )
    create.add_argument("--name", default="created with the CLI")
    create.set_defaults(func=_keys_create)

    features = sub.add_parser("features", help="feature-store maintenance").add_subparsers(
        required=True, metavar="ACTION"
    )
    compact = features.add_parser(
        "compact",
        help="merge a view's Delta files and delete unreferenced ones (reads stay the same)",
    )
    compact.add_argument("view")
    compact.set_defaults(func=_features_compact)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply the alembic migrations").set_defaults(func=_db_upgrade)
    return parser


def _settings(data_dir: str | None = None) -> Settings:
    if data_dir is not None:
        return Settings(data_dir=Path(data_dir))
    return Settings()


def _sessions(settings: Settings) -> sessionmaker[Session]:
    """Sessions on a database whose schema is current: the embedded SQLite default is migrated
    on the spot (as `serve` does); any other database must be upgraded by its operator."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    if not migrate.at_head(engine, settings.database_url):
        raise SystemExit(
            f"tollgate: the database at {_redacted(settings.database_url)} is not migrated to the "
            "current schema; run `tollgate db upgrade` first"
        )
    return make_sessionmaker(engine)


def _db_upgrade(_args: argparse.Namespace) -> int:
    settings = _settings()
    migrate.upgrade(settings.database_url)
    print(f"database at head: {_redacted(settings.database_url)}")
    return 0


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    settings = _settings(args.data_dir)
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    migrate.upgrade(settings.database_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=True)
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = _settings()
    maker = _sessions(settings)
    context = Context.build(settings.storage_url, settings.scratch_dir)
    context.repair(maker)
    handlers = context.handlers()
    if args.drain:
        done = drain(maker, handlers, worker_id=f"{default_worker_id()}:drain", lease=LEASE)
        print(f"ran {done} job(s)", file=sys.stderr)
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [
        threading.Thread(
            target=run_worker,
            args=(maker, handlers),
            kwargs={
                "stop": stop,
                "worker_id": f"{default_worker_id()}:{i}",
                "lease": LEASE,
                "poll_interval": 1.0,
            },
            name=f"tollgate-worker-{i}",
        )
        for i in range(max(1, args.threads))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


def _validate(args: argparse.Namespace) -> int:
    try:
        spec = _read_contract(args.contract)
        report = validate(spec, args.batch, now=datetime.now(UTC), failures_to=args.failures)
    except (InvalidContract, UnreadableParquet, OSError) as exc:
        print(f"tollgate validate: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    print(json.dumps(as_json(report), indent=2) if args.json else render_text(report))
    return 1 if report.outcome is Outcome.REJECTED else 0


def _read_contract(path: Path) -> ContractSpec:
    media = CONTRACT_SUFFIXES.get(path.suffix, "application/yaml")
    return contracts_service.read_document(path.read_bytes(), media)


def _infer(args: argparse.Namespace) -> int:
    name = args.name or re.sub(r"[^a-z0-9_]", "_", args.batch.stem.lower()).strip("_") or "batch"
    if not name[0].isalpha():
        name = f"c_{name}"
    try:
        document = infer_contract(args.batch, name=name[:63])
    except (UnreadableParquet, OSError) as exc:
        print(f"tollgate infer: {exc}", file=sys.stderr)
        return 2
    print(to_yaml(document), end="")
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    role = Role(args.role)
    if args.contracts and role is not Role.PRODUCER:
        print("--contracts applies to producer keys only", file=sys.stderr)
        return 2
    settings = _settings()
    maker = _sessions(settings)
    with maker() as session, transaction(session):
        key, secret = auth_service.create_key(
            session, name=args.name, role=role, contracts=args.contracts
        )
    print(f"created {role.value} key {key.id}; its secret (shown once):", file=sys.stderr)
    print(secret)
    return 0


def _features_compact(args: argparse.Namespace) -> int:
    offline = OfflineStore(_settings().storage_url)
    if offline.table(args.view) is None:
        print(f"no offline table for view {args.view!r}", file=sys.stderr)
        return 1
    print(json.dumps(offline.compact(args.view)))
    return 0


def _apply(args: argparse.Namespace) -> int:
    files = list(_contract_files(args.paths))
    if not files:
        print("no contract files (*.yaml, *.yml, *.json) found", file=sys.stderr)
        return 1
    register = _http_registrar(args) if args.url else _db_registrar(args)
    refused = 0
    for path in files:
        outcome, message = register(path)
        refused += outcome == "refused"
        print(f"{outcome:<9} {path}  {message}")
    print(f"{len(files)} file(s), {refused} refused", file=sys.stderr)
    return 1 if refused else 0


def _contract_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in CONTRACT_SUFFIXES)
        else:
            yield path


Registrar = Callable[[Path], tuple[str, str]]


def _db_registrar(args: argparse.Namespace) -> Registrar:
    settings = _settings()
    maker = _sessions(settings)
    # The CLI runs with the database's own credentials: it acts as an admin.
    principal = Principal(uuid.UUID(int=0), Role.ADMIN)

    def register(path: Path) -> tuple[str, str]:
        try:
            spec = contracts_service.read_document(
                path.read_bytes(), CONTRACT_SUFFIXES.get(path.suffix, "application/yaml")
            )
            with maker() as session, transaction(session):
                reg = contracts_service.register(
                    session, spec=spec, principal=principal, allow_breaking=args.allow_breaking
                )
        except (InvalidContract, IncompatibleChange, VersionConflict) as exc:
            return "refused", exc.detail
        except (TollgateError, OSError) as exc:
            return "refused", str(exc)
        verb = "created" if reg.created else "unchanged"
        return verb, f"{reg.version.name} {reg.version.version}"

    return register


def _http_registrar(args: argparse.Namespace) -> Registrar:
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    client = httpx.Client(base_url=args.url, headers=headers, timeout=30)

    def register(path: Path) -> tuple[str, str]:
        media = CONTRACT_SUFFIXES.get(path.suffix, "application/yaml")
        try:
            response = client.post(
                "/v1/contracts",
                content=path.read_bytes(),
                params={"allow_breaking": "true"} if args.allow_breaking else {},
                headers={"Content-Type": media},
            )
        except (httpx.HTTPError, OSError) as exc:
            return "refused", str(exc)
        if response.status_code in (200, 201):
            body = response.json()
            verb = "created" if response.status_code == 201 else "unchanged"
            return verb, f"{body['name']} {body['version']}"
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        return "refused", f"HTTP {response.status_code}: {detail}"

    return register


if __name__ == "__main__":
    sys.exit(main())
