"""Every DAG file imports without errors and is wired as the architecture says."""

from pathlib import Path

import pytest

from estelam.core import settings

EXPECTED = {"case_events_ingest", "asset_inquiries", "warehouse_build", "freeze_reconciliation", "register_push",
            "anomaly_detection"}


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(settings.DAGS_DIR))


def test_every_dag_file_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


def test_one_dag_per_file_named_after_it(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id in EXPECTED:
        dag = dagbag.dags.get(dag_id)
        assert Path(dag.fileloc).stem == dag_id
        assert dag.doc_md, f"{dag_id} has no doc_md"


def test_inquiries_fan_out_over_agencies_with_dynamic_mapping(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags.get("asset_inquiries")
    assert dag.get_task("inquire").is_mapped
    assert dag.get_task("inquire").upstream_task_ids == {"plan_round"}  # fans out over the round's plan


def test_the_rounds_are_audited_by_gx_once_at_the_end_whatever_their_outcome(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags.get("asset_inquiries")
    audit = dag.get_task("audit_answers")
    assert audit.upstream_task_ids == {"inquire"} and audit.is_teardown  # runs when the rounds are done, any state
    assert not audit.on_failure_fail_dagrun  # the run's state stays the rounds' own; a disagreement fails the task
    assert {a.name for a in audit.outlets} == {"landing_inquiry_answers"}  # the build starts after the audit
    assert not dag.get_task("inquire").outlets


def test_dags_are_chained_by_assets(dagbag) -> None:  # type: ignore[no-untyped-def]
    warehouse = dagbag.dags.get("warehouse_build")
    freezes = dagbag.dags.get("freeze_reconciliation")
    assert warehouse.timetable.asset_condition is not None
    assert {a.name for a in warehouse.get_task("dbt_build").outlets} == {"warehouse"}
    assert "warehouse" in str(freezes.timetable.asset_condition)


def test_every_task_has_an_execution_timeout(dagbag) -> None:  # type: ignore[no-untyped-def]
    """A stalled agency or build is stopped, not left to hold the pool and the releases behind it."""
    for dag_id in EXPECTED:
        for task in dagbag.dags[dag_id].tasks:
            assert task.execution_timeout is not None and task.execution_timeout.total_seconds() > 0, (
                f"{dag_id}.{task.task_id} has no execution_timeout")


def test_a_task_returns_its_summary_as_one_xcom(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Airflow reads a ``-> dict`` annotation as ``multiple_outputs``: one XCom per key, each a round trip to the
    API (ten a task, 3.7 s of a 39-task inquiry run in the demo). Nothing reads them by key."""
    split = sorted(f"{dag_id}.{task.task_id}" for dag_id, dag in dagbag.dags.items() for task in dag.tasks
                   if getattr(task, "multiple_outputs", False))
    assert split == []


def test_registers_are_pushed_after_each_build_by_a_warehouse_reader(dagbag) -> None:  # type: ignore[no-untyped-def]
    from estelam.orchestration.pools import WAREHOUSE_POOL

    pushes = dagbag.dags.get("register_push")
    assert "warehouse" in str(pushes.timetable.asset_condition)
    assert pushes.get_task("push").pool == WAREHOUSE_POOL
