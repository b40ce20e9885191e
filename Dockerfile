# Tollgate API image: `docker build -t tollgate .` then
#   docker run -p 8000:8000 -v tollgate-data:/data tollgate
# Embedded default: SQLite and blobs under /data. Production: set TOLLGATE_DATABASE_URL
# (postgresql://…) and TOLLGATE_STORAGE_URL (s3://bucket/prefix).

ARG PYTHON_IMAGE=python:3.11-slim

# -- builder: the project and its dependencies in a virtual environment --------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
# A regular (non-editable) install: the runtime stage needs nothing from /src.
RUN pip install --upgrade pip setuptools \
 && pip install . \
 && tollgate --help >/dev/null

# -- runtime --------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TOLLGATE_DATA_DIR=/data \
    TOLLGATE_HOST=0.0.0.0 \
    TOLLGATE_PORT=8000

RUN groupadd --system --gid 10001 tollgate \
 && useradd --system --uid 10001 --gid tollgate --home-dir /srv/tollgate --no-create-home \
        --shell /usr/sbin/nologin tollgate \
 && mkdir -p /data /srv/tollgate \
 && chown tollgate:tollgate /data

COPY --from=builder /opt/venv /opt/venv

# app/db/migrate.py finds migrations/ beside the package or in the working directory; an
# installed package has none beside it, so the history lives in the working directory.
WORKDIR /srv/tollgate
COPY alembic.ini ./
COPY migrations ./migrations

USER tollgate
VOLUME /data
EXPOSE 8000

# No curl in the slim image: the standard library asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('TOLLGATE_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]

# `exec` replaces the shell with the server, so that `docker stop`'s SIGTERM reaches uvicorn.
CMD ["sh", "-c", "tollgate db upgrade && exec tollgate serve"]
