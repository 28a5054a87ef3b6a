# One image for every Estelam service: Airflow components, the agency simulators.
# Installs exactly the locked environment.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/estelam/.venv \
    PATH=/opt/estelam/.venv/bin:$PATH \
    ESTELAM_DATA_DIR=/var/lib/estelam \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/estelam/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

WORKDIR /opt/estelam
RUN pip install --no-cache-dir "uv==0.13.9"
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev \
 && useradd --system --uid 50000 --home-dir /opt/airflow estelam \
 && mkdir -p /var/lib/estelam /opt/airflow \
 && chown -R estelam /var/lib/estelam /opt/airflow
USER estelam
