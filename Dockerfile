# One production image for every Estelam service: the Airflow components (api-server, scheduler,
# dag-processor, triggerer, Celery workers), the Estelam API and the dashboard. It holds no simulator:
# the `simulators` stage below adds them for the compose `simulators` profile (demo and staging only).
# Installs exactly the locked environment (uv.lock, --frozen); the project itself last, so code changes
# rebuild only the final layers.
FROM python:3.11-slim-bookworm AS production

ARG UV_VERSION=0.13.9
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/estelam/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/estelam/.venv/bin:$PATH \
    PYTHONPATH=/opt/estelam \
    ESTELAM_DATA_DIR=/var/lib/estelam \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/estelam/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# WeasyPrint (asset reports as PDF) needs pango; fonts for Persian text.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/estelam
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
# Only what production runs: the package (estelam, connectors), the DAGs, the dbt project, the contracts and
# the dashboard. The wheel excludes simulators/ and benchmarks/, and so does this image.
COPY estelam ./estelam
COPY connectors ./connectors
COPY dags ./dags
COPY dbt ./dbt
COPY contracts ./contracts
COPY dashboards ./dashboards
COPY deploy ./deploy
RUN uv sync --frozen --no-dev \
 && useradd --system --uid 50000 --home-dir /opt/airflow estelam \
 && mkdir -p /var/lib/estelam /opt/airflow \
 && chown -R estelam /var/lib/estelam /opt/airflow /opt/estelam/dbt
USER estelam
VOLUME ["/var/lib/estelam", "/opt/airflow"]
# Airflow api-server, Estelam API, dashboard, worker log server (inside the compose network only).
EXPOSE 8080 8000 8501 8793
CMD ["airflow", "version"]

# The agency simulators (loopback counterparts of the partner agencies): never deployed to production.
FROM production AS simulators
COPY --chown=estelam simulators ./simulators
