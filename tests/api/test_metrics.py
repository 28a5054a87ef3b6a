"""GET /metrics: the API's requests by route template, and the agency calls this process made, in Prometheus text."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from estelam.api import create_app
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import AgencyKind
from estelam.inquiry.rounds import InquiryTarget, run_round
from simulators.fleet import Fleet
from simulators.world import generate
from tests.settings_support import override


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_after_a_round_name_each_agency_and_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    full = load_agency_registry()
    registry = replace(full, instances=(full.of_kind(AgencyKind("bank"))[0],
                                        full.of_kind(AgencyKind("vehicle_registry"))[0]))
    world = generate(registry.instances, n_persons=12)
    with Fleet.start(registry, world) as fleet:
        override(monkeypatch, endpoints_file=fleet.write_endpoints(tmp_path / "endpoints.json"))
        targets = [InquiryTarget(p.person_id, "1403-000001") for p in world.persons]
        for instance in load_agency_registry().instances:
            if instance.agency_id in fleet.endpoints:
                run_round(instance, targets, round_id=f"metrics-{instance.agency_id}")
    with TestClient(create_app()) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/cases/1403-000001/asset-report", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    bank, vehicles = (i.agency_id for i in registry.instances)
    for agency in (bank, vehicles):
        calls = [v for (name, labels), v in samples.items() if name == "estelam_agency_calls_total"
                 and ("agency_id", agency) in labels and ("outcome", "ok") in labels]
        assert calls and sum(calls) >= 1, f"no successful calls counted for {agency}"
        assert any(name == "estelam_agency_call_seconds_count" and ("agency_id", agency) in labels
                   for name, labels in samples)
        assert samples[("estelam_agency_breaker_open", (("agency_id", agency),))] == 0
    assert samples[("estelam_api_requests_total", (("method", "GET"), ("route", "/health"), ("status", "200")))] >= 1
    assert samples[("estelam_api_refusals_total",
                    (("route", "/cases/{case_id}/asset-report"), ("status", "401")))] >= 1
    assert not any(re.search(p.person_id, response.text) for p in world.persons)  # no person in any label
