"""``estelam warehouse``: build the DuckDB warehouse with dbt; create the Airflow pools its tasks share."""

from __future__ import annotations

from typing import Annotated

import typer

warehouse_app = typer.Typer(
    help="The DuckDB warehouse: build it with dbt; create the Airflow pools that guard it.",
    epilog="Example: estelam warehouse build",
    no_args_is_help=True,
)


@warehouse_app.command(epilog="Example: estelam warehouse build --select +financial_convictions")
def build(select: Annotated[str | None, typer.Option(help="dbt node selection (default: everything)")] = None,
          ) -> None:
    """Run dbt build (seeds, models, snapshots, data and unit tests) into the warehouse and print what it did."""
    # dbt is a heavy import: only the command that builds pays for it.
    from estelam.warehouse.dbt_build import build as build_warehouse

    summary = build_warehouse(select=select)
    typer.echo(f"dbt build: {summary.models} models, {summary.tests_passed} tests passed "
               f"({summary.tests_warned} warned, {summary.tests_failed} failed), {summary.unit_tests} unit tests, "
               f"{summary.skipped} skipped, in {summary.duration_s:.1f}s")
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}")


@warehouse_app.command(epilog="Example: airflow db migrate && estelam warehouse pools")
def pools() -> None:
    """Create or update the Airflow pools the DAGs use, in the configured (migrated) metadata database."""
    from estelam.orchestration.pools import ensure_pools

    for name in ensure_pools():
        typer.echo(f"pool {name} ready")
