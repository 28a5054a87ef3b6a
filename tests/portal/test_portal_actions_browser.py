"""A judge's actions reach the agencies, followed in headless Chromium over the demo's still-running simulators:
the judge orders collection in the portal, the next reconciliation transfers the frozen money to the court's
account at the bank simulator and pays it out to the creditor's account from the court's bank, the judge's case page
shows both on the timeline and the creditor sees the payout; a vehicle's restriction changed in the portal reaches
the vehicle-registry simulator as an order of the new type. Screenshots go to ``.test-artifacts/portal/``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pytest

from estelam.contracts.registry import load_court_account
from estelam.core.domain import RestrictionType
from tests.api.api_harness import copy_demo, demo_facts
from tests.portal.portal_harness import PortalFacts, portal_facts
from tests.portal.test_portal_browser import _shot, _signed_in, browser, portal  # noqa: F401  (shared fixtures)
from tests.settings_support import override

pytestmark = pytest.mark.e2e


@dataclass
class ActionFacts(PortalFacts):
    """The copied demo, with a case holding frozen money (to collect) and a case holding a frozen vehicle."""

    collect_case: str = ""
    creditor_iban: str = ""
    vehicle_case: str = ""
    plate: str = ""
    vehicle_agency: str = ""
    courts: tuple[str, ...] = ()

    def token_config(self) -> dict[str, Any]:
        config = super().token_config()
        for entry in config["tokens"]:
            if entry["subject"] == "judge-a":
                entry["courts"] = list(self.courts)
        return config


@pytest.fixture(scope="module")
def facts(demo_cycle: Any, tmp_path_factory: pytest.TempPathFactory) -> ActionFacts:
    data = copy_demo(demo_cycle.data_dir, tmp_path_factory.mktemp("portal-actions-data"))
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data)
        base = portal_facts(demo_facts(data))
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        collect_case, court, creditor, iban = con.execute("""
            select r.case_id, any_value(r.court_code), any_value(r.creditor_name), any_value(c.creditor_iban)
            from asset_report r join intermediate.int_cases c using (case_id)
            where r.case_status = 'open' and r.asset_kind = 'bank_account' and r.frozen_rial > 0
              and r.collected_rial = 0 and c.creditor_iban is not null and r.case_id <> ?
            group by r.case_id order by sum(r.frozen_rial) desc, r.case_id limit 1
        """, [base.demo.confidential_case_id]).fetchone()  # type: ignore[misc]
        vehicle_case, vehicle_court, plate, agency = con.execute("""
            select case_id, court_code, asset_ref, agency_id from asset_report
            where case_status = 'open' and asset_kind = 'vehicle' and frozen_rial > 0 and case_id not in (?, ?)
            order by case_id, asset_ref limit 1
        """, [base.demo.confidential_case_id, collect_case]).fetchone()  # type: ignore[misc]
    return ActionFacts(base.demo, str(creditor), base.other_creditor, base.other_case_id, str(collect_case),
                       str(iban), str(vehicle_case), str(plate), str(agency), (str(court), str(vehicle_court)))


def _next_cycle(demo_cycle: Any, facts: ActionFacts, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub's next reconciliation and build over the copied demo, against the demo's running agencies."""
    override(monkeypatch, data_dir=facts.data_dir)
    demo_cycle.live.run_dag("case_events_ingest")  # nothing new from the court: the portal landed the directive
    demo_cycle.live.run_dag("freeze_reconciliation")
    demo_cycle.live.run_dag("warehouse_build")


def _direct(page: Any, kind: str, *, asset_ref: str = "", restriction: str = "") -> None:
    page.select_option("#directive select[name=kind]", kind)
    if asset_ref:
        page.select_option("#directive select[name=asset_ref]", asset_ref)
    if restriction:
        page.select_option("#directive select[name=restriction]", restriction)
    page.click("#directive button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click("#confirm button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#notice").is_visible()


def test_a_collection_ordered_in_the_portal_is_transferred_and_paid_out_to_the_creditor(
        browser: Any, portal: str, facts: ActionFacts, demo_cycle: Any,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = demo_cycle.live.fleet
    court = load_court_account()
    assert court is not None
    case_id = facts.collect_case
    paid_before = fleet.states[court.agency_id].paid_out(case_id)
    page = _signed_in(browser, portal, "judge")
    page.goto(f"{portal}/portal/cases/{case_id}")
    _direct(page, "collect")
    _next_cycle(demo_cycle, facts, monkeypatch)

    collected = sum(state.collected(case_id) for state in fleet.states.values())
    assert collected > 0  # the bank moved the frozen money to the court's account
    assert paid_before == {}
    assert fleet.states[court.agency_id].paid_out(case_id) == {facts.creditor_iban: collected}

    page.goto(f"{portal}/portal/cases/{case_id}")
    events = {page.locator("#timeline tr[data-event]").nth(i).get_attribute("data-event")
              for i in range(page.locator("#timeline tr[data-event]").count())}
    assert {"transfer_order_sent", "payout_order_sent"} <= events
    _shot(page, "judge-case-collected-and-paid-out")
    page.close()

    creditor = _signed_in(browser, portal, "creditor")
    creditor.goto(f"{portal}/portal/requests/{case_id}?lang=en")
    assert f"{collected:,}" in creditor.locator("#paid-out").inner_text()
    assert creditor.locator("#timeline tr[data-event='payout_order_sent']").count() == 1
    _shot(creditor, "creditor-request-paid-out-en")
    creditor.goto(f"{portal}/portal/requests/{case_id}?lang=fa")
    _shot(creditor, "creditor-request-paid-out")
    creditor.close()


def test_a_vehicle_restriction_changed_in_the_portal_reaches_the_registry_as_an_order_of_the_new_type(
        browser: Any, portal: str, facts: ActionFacts, demo_cycle: Any,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    registry = demo_cycle.live.fleet.states[facts.vehicle_agency]
    before = registry.restriction(facts.vehicle_case, facts.plate)
    wanted = RestrictionType.SEIZURE if before is not RestrictionType.SEIZURE else RestrictionType.CIRCULATION
    page = _signed_in(browser, portal, "judge")
    page.goto(f"{portal}/portal/cases/{facts.vehicle_case}")
    _direct(page, "restrict_vehicle", asset_ref=facts.plate, restriction=str(wanted))
    _shot(page, "judge-case-vehicle-directed")
    _next_cycle(demo_cycle, facts, monkeypatch)
    assert registry.restriction(facts.vehicle_case, facts.plate) is wanted
    page.close()
