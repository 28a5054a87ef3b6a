"""What a deployment of Estelam needs in Airflow besides the DAGs: its pools.

One DuckDB file has one writer and blocks it while any reader is open, so every task that
opens the warehouse takes slots of one pool, used as a readers-writer lock:

    estelam_warehouse  (WAREHOUSE_POOL_SLOTS slots)
      dbt_build                   takes every slot   -> runs alone
      inquire, reconcile,         take one slot each -> read side by side, never during a build
      publish_kpis

The inquiry and freeze tasks read the warehouse and then talk to agencies, so the same pool
also bounds how many agency conversations a scaled-out Celery fleet holds at once. Each
agency's own rate limit and circuit breaker live in the connectors, per agency: a mapped task
takes one pool for all its instances, so per-agency pools cannot be set on the mapped
inquiry task.

The demo path (``estelam.orchestration.in_process``) and a deployment's init step both call
:func:`ensure_pools`; ``python -m estelam.orchestration.pools`` does it against the configured
metadata database (after ``airflow db migrate``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

#: The readers-writer pool on the warehouse file.
WAREHOUSE_POOL = "estelam_warehouse"
#: Readers that may hold the warehouse open at once; a build takes all of them.
WAREHOUSE_POOL_SLOTS = 8
#: Slots the single dbt writer takes: all of them.
WAREHOUSE_WRITER_SLOTS = WAREHOUSE_POOL_SLOTS


#: How long one task may run before Airflow stops it (and its retries take over): a stalled agency must not stall
#: reconciliation and the releases behind it, nor a build the readers queued on the pool.
TASK_TIMEOUTS = {
    "case_events_ingest": timedelta(minutes=30),
    "warehouse_build": timedelta(hours=2),
    "asset_inquiries": timedelta(hours=2),  # one agency's round: its persons in batches, each within the deadline
    "freeze_reconciliation": timedelta(hours=1),
    "register_push": timedelta(minutes=30),
    "anomaly_detection": timedelta(minutes=30),
}


@dataclass(frozen=True)
class PoolSpec:
    """One Airflow pool: name, slots and what it is for."""

    name: str
    slots: int
    description: str


POOLS = (
    PoolSpec(WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS,
             "DuckDB warehouse: dbt build takes every slot (one writer, no readers); readers take one"),
)


def ensure_pools() -> list[str]:
    """Create or update every pool of :data:`POOLS` in Airflow's metadata database; returns their names.

    Airflow must be configured (``AIRFLOW_HOME`` / ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``) and migrated.
    """
    from airflow.models.pool import Pool

    for pool in POOLS:
        Pool.create_or_update_pool(pool.name, pool.slots, pool.description, include_deferred=False)
    return [pool.name for pool in POOLS]


#: The host name of the simulators' service in docker-compose.yml.
SIMULATORS_SERVICE = "simulators"


def simulator_endpoints(host: str = SIMULATORS_SERVICE) -> dict[str, str]:
    """agency_id -> URL of its simulator on ``host``, at the port of the registry's endpoint.

    What ``deploy/endpoints.json`` holds: the simulators' container listens with ``--fixed-ports``.
    """
    from estelam.contracts.registry import load_agency_registry

    endpoints = {}
    for instance in load_agency_registry().instances:
        parts = urlsplit(instance.endpoint)
        endpoints[instance.agency_id] = f"{parts.scheme}://{host}:{parts.port}"
    return endpoints


def main() -> int:
    """Bootstrap a migrated metadata database: the pools the DAGs use."""
    for name in ensure_pools():
        print(f"pool {name} ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
