"""A kind that contributes assets, declared by files alone (a fixture crypto exchange): asked through the generic
client of its generated simulator, its records reach ``int_assets_latest``, the asset report and ``person_assets``
with the mapping's liquidity rank, protection rule, detail and labels; its mapping declares a freeze operation, so
the freeze plan takes them (but the protected ones)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors import wire_client_for
from estelam.contracts import dbt_sources, kind_models
from estelam.contracts import registry as contracts
from estelam.core import settings
from estelam.core.kinds import mapping_at
from estelam.inquiry.rounds import InquiryTarget, run_round
from estelam.reporting.asset_report import load_case_report, render_case_report
from estelam.warehouse import dbt_build as warehouse
from simulators.agency_state import AgencyState
from simulators.mapped_app import load_kind_world, mapped_application, records_of
from simulators.server import RunningServer
from tests.settings_support import override
from tests.warehouse.test_warehouse import land_world

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kinds"
AGENCY = "coin_exchange"
INSTANCE = f"""
  - agency_id: {AGENCY}
    kind: crypto_exchange
    name: Coin exchange
    name_fa: صرافی رمزارز
    name_ar: منصة العملات المشفرة
    endpoint: http://127.0.0.1:1
    reply_deadline_s: 10
"""


@dataclass
class Built:
    expected: dict[str, list[dict[str, Any]]]  # debtor -> the exchange's records of them
    cases: dict[str, list[str]]  # debtor -> their case ids


def _project(root: Path) -> tuple[Path, Path]:
    """The project's contracts and dbt project, copied, with the fixture asset kind and one exchange added."""
    contracts_dir, dbt_dir = root / "contracts", root / "dbt"
    shutil.copytree(settings.PROJECT_ROOT / "contracts", contracts_dir)
    shutil.copytree(settings.DBT_PROJECT_DIR, dbt_dir, ignore=shutil.ignore_patterns("target", "logs"))
    for name in ("crypto_exchange.yaml", "crypto_exchange.openapi.yaml"):
        shutil.copy(FIXTURE / "kinds" / name, contracts_dir / "kinds")
    shutil.copy(FIXTURE / "feeds" / "crypto_wallets.yaml", contracts_dir / "feeds")
    registry = contracts_dir / "agencies.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").rstrip("\n") + "\n" + INSTANCE, encoding="utf-8")
    return contracts_dir, dbt_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("mapped-assets")
    contracts_dir, dbt_dir = _project(root)
    data = root / "data"
    with pytest.MonkeyPatch.context() as mp:
        override(mp, contracts_dir=contracts_dir, data_dir=data, warehouse=data / "warehouse.duckdb")
        mp.setattr(settings, "DBT_PROJECT_DIR", dbt_dir)
        dbt_sources.write_sources()
        kind_models.write_staging()  # regenerated from the copied contracts: the exchange's assets are in
        landed = land_world(data, with_freezes=False)
        instance = contracts.load_agency_registry().instance(AGENCY)
        mapping = mapping_at(Path(str(instance.mapping_file)))
        world_data = load_kind_world(FIXTURE / "world_data" / "crypto_exchange.yaml")
        app = mapped_application(AgencyState(instance, []), mapping, landed.world, None, world_data=world_data)
        cases: dict[str, list[str]] = {}
        for case in landed.world.cases:
            cases.setdefault(case.debtor.person_id, []).append(case.case_id)
        with RunningServer(app) as server:
            bound = replace(instance, endpoint=server.url)
            client = wire_client_for(bound, credentials=None)
            summary = run_round(bound, [InquiryTarget(p, None) for p in sorted(cases)], round_id="coins-1",
                                today=date(2026, 11, 30), client=client)
            client.close()
        assert summary.answered == len(cases), summary
        expected = {p: records_of(landed.world, world_data, AGENCY, p) or [] for p in cases}
        warehouse.build(unit_tests=False)
        yield Built(expected, cases)


def _query(sql: str) -> list[tuple[Any, ...]]:
    with warehouse.connect_read_only() as con:
        return con.execute(sql).fetchall()


def test_the_generated_staging_model_reads_the_fixture_kinds_assets(built: Built) -> None:
    text = kind_models.render_assets()
    assert "-- crypto_exchange: feed crypto_wallets" in text and "'crypto_wallet' as asset_kind" in text
    assert "coalesce(cast(wallet_kind as varchar) in ('escrow'), false) as is_protected" in text
    assert "true as can_freeze" in text


def test_the_exchanges_wallets_reach_the_asset_report(built: Built) -> None:
    want = {(p, r["wallet_id"], r["value_rial"], r["wallet_kind"] == "escrow", r["coin"])
            for p, rows in built.expected.items() for r in rows}
    assert len(want) > 5 and any(w[3] for w in want) and not all(w[3] for w in want)
    got = set(_query("""select person_id, asset_ref, value_rial, is_protected, asset_detail from asset_report
                        where asset_kind = 'crypto_wallet' and agency_kind = 'crypto_exchange'"""))
    assert got == want
    # one row per case of the debtor, as for any asset
    per_case = _query("select count(*) from asset_report where asset_kind = 'crypto_wallet'")[0][0]
    assert per_case == sum(len(rows) * len(built.cases[p]) for p, rows in built.expected.items())


def test_the_mapping_gives_rank_and_owner_and_the_plan_takes_what_it_can_order_frozen(built: Built) -> None:
    rows = _query("""select distinct liquidity_rank, can_freeze, owner_name is not null
                     from intermediate.int_assets_latest where asset_kind = 'crypto_wallet'""")
    assert rows == [(2, True, True)]  # the fixture's mapping declares orders.freeze
    assert _query("select distinct liquidity_rank from person_assets where asset_kind = 'crypto_wallet'") == [(2,)]
    planned = {r[0] for r in _query("select asset_ref from freeze_plan where asset_kind = 'crypto_wallet'")}
    escrow = {r["wallet_id"] for rows in built.expected.values() for r in rows if r["wallet_kind"] == "escrow"}
    assert planned and not planned & escrow  # protected_when: an escrow wallet is never planned


def test_the_report_names_the_asset_kind_in_each_language(built: Built) -> None:
    debtor = next(p for p, rows in sorted(built.expected.items()) if rows)
    report = load_case_report(built.cases[debtor][0])
    assert {a["asset_kind"] for a in report.assets} >= {"crypto_wallet"}
    for lang, label in (("en", "crypto wallet"), ("fa", "کیف پول رمزارز"), ("ar", "محفظة عملة مشفرة")):
        assert label in render_case_report(report, lang)
