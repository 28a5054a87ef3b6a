"""``model_rules`` (dbt/macros/tests/model_rules.sql), the one test a model's column rules run as, means what dbt's
generic tests of the same names meant: run by dbt itself on a small project (the house's macros, two models), it
passes rows that keep every rule and, on rows that break them, fails with one row per broken rule naming the
column(s) and the offending value with how many rows break it — the rows ``estelam.warehouse.dbt_build`` reads back
into the build's error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]

# id 1..3 keep every rule; 4..6 break one each, some twice
PEOPLE_SQL = """
select * from (values
    (1, 'a', 'x', 'open',   10, 10, 1),
    (2, 'b', 'y', 'closed', 20, 20, 2),
    (3, 'c', 'x', 'open',   30, 30, null)
) as t(id, code, kind, status, total, parts, parent_id)
{% if var('broken', false) %}
union all select * from (values
    (4, null, 'x', 'open', 1, 1, 1),
    (4, 'a',  'x', 'teleported', 1, 2, 9),
    (5, 'a',  'x', 'open', 1, 1, 2)
) as broken(id, code, kind, status, total, parts, parent_id)
{% endif %}
"""

RULES = """
version: 2
models:
  - name: people
    data_tests:
      - model_rules:
          name: model_rules_people
          arguments:
            not_null: [id, code]
            unique: [id]
            unique_combinations:
              - [code, kind]
            accepted_values:
              status: [open, closed]
            relationships:
              - {column: parent_id, to: parents, field: parent_id}
            expressions:
              - "total = parts"
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "rules_check"
    (project / "models").mkdir(parents=True)
    shutil.copytree(ROOT / "dbt" / "macros", project / "macros")
    (project / "dbt_project.yml").write_text(
        "name: rules_check\nversion: '1.0.0'\nconfig-version: 2\nprofile: rules_check\n"
        "flags: {send_anonymous_usage_stats: false}\n"
        "models: {rules_check: {+materialized: table}}\n", encoding="utf-8")
    (project / "profiles.yml").write_text(
        "rules_check:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n"
        f"      path: {tmp_path / 'rules.duckdb'}\n      threads: 1\n", encoding="utf-8")
    (project / "models" / "people.sql").write_text(PEOPLE_SQL, encoding="utf-8")
    (project / "models" / "parents.sql").write_text(
        "select * from (values (1), (2)) as t(parent_id)", encoding="utf-8")
    (project / "models" / "people.yml").write_text(RULES, encoding="utf-8")
    return project


def _build(project: Path, broken: bool) -> dict[str, str]:
    """dbt build of the project; each node's status by name."""
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet",
         "--vars", json.dumps({"broken": broken})],
        check=False, capture_output=True, text=True, timeout=300)
    results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    return {r["unique_id"].split(".")[2]: r["status"] for r in results}


def test_rows_keeping_every_rule_pass_and_each_broken_rule_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert _build(project, broken=False) == {"parents": "success", "people": "success", "model_rules_people": "pass"}

    assert _build(project, broken=True)["model_rules_people"] == "fail"
    (compiled,) = (project / "target" / "compiled").rglob("model_rules_people.sql")
    with duckdb.connect(str(tmp_path / "rules.duckdb"), read_only=True) as connection:
        rows = set(connection.execute(f"select * from ({compiled.read_text(encoding='utf-8')})").fetchall())
    assert rows == {
        ("not_null", "code", None, 1),
        ("unique", "id", "4", 2),
        ("unique_combination", "code, kind", "a / x", 3),  # rows 1, 4 and 5; row 4's null code is its own combination
        ("accepted_values", "status", "teleported", 1),
        ("relationships", "parent_id -> parents.parent_id", "9", 1),
        ("expression_holds", "total = parts", None, 1),
    }
