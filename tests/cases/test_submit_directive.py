"""``submit_directive``: a judge's directive is checked against what the hub landed, landed once, and audited."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from estelam.access.audit import AuditAction, AuditLog
from estelam.cases.directives import (
    Directive,
    case_directives,
    reinquiry_requests,
    submit_directive,
)
from estelam.core.domain import RestrictionType
from estelam.core.exceptions import DirectiveRejected, RequestRejected
from estelam.core.identifiers import iran_national_code_check_digit
from estelam.ingest.landing import read_landed, validate_and_land
from tests.settings_support import override

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEBTOR = "123456789" + str(iran_national_code_check_digit("123456789"))
CASE, CLOSED = "1405-000001", "1405-000002"
PLATE = "12ب345-67"


@pytest.fixture(autouse=True)
def landed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    override(monkeypatch, data_dir=tmp_path)
    events = []
    for case_id, kinds in ((CASE, ["filed"]), (CLOSED, ["filed", "closed"])):
        for n, kind in enumerate(kinds):
            events.append({"event_id": f"{case_id}-{n}", "case_id": case_id, "event_type": kind, "occurred_at": AT,
                           "court_code": "THR-01", "debtor_id": DEBTOR, "debtor_kind": "natural",
                           "debtor_name": "A", "creditor_name": "B", "amount_rial": 1_000 if kind == "filed" else None,
                           "channel": None, "automated": True})
    validate_and_land("case_events", events, batch_id="court", partition=AT.date())
    validate_and_land("vehicles", [{"inquiry_id": "i1", "agency_id": "traffic_police", "person_id": DEBTOR,
                                    "owner_name": "A", "plate": PLATE, "model": "Pride", "value_rial": 500,
                                    "responded_at": AT}], batch_id="vehicles", partition=AT.date())
    return AuditLog()


def rejected(**kwargs: object) -> str:
    case_id = str(kwargs.pop("case_id", CASE))
    kind = kwargs.pop("kind")
    with pytest.raises(DirectiveRejected) as caught:
        submit_directive(case_id, kind, issued_by="judge-1", **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, RequestRejected) and len(str(caught.value)) <= 301
    return str(caught.value)


def test_each_kind_lands_one_row_and_one_audit_entry(landed: AuditLog) -> None:
    ids = [
        submit_directive(CASE, Directive.CONFIDENTIAL, issued_by="judge-1", authorised_users=["judge-1", "clerk"],
                         issued_at=AT),
        submit_directive(CASE, Directive.COLLECT, issued_by="judge-1", amount_rial=400, issued_at=AT),
        submit_directive(CASE, Directive.RESTRICT_VEHICLE, issued_by="judge-1", asset_ref=PLATE,
                         restriction=RestrictionType.CIRCULATION, note="decision 12/1405", issued_at=AT),
        submit_directive(CASE, Directive.RELEASE, issued_by="judge-1", issued_at=AT),
        submit_directive(CASE, Directive.PRIORITY_REINQUIRY, issued_by="judge-1", issued_at=AT),
        submit_directive(CLOSED, Directive.RELEASE, issued_by="judge-1", amount_rial=10, issued_at=AT),
    ]
    rows = read_landed("case_directives")
    assert sorted(r["directive_id"] for r in rows) == sorted(ids) and len(set(ids)) == 6
    entries = [e for e in landed.entries() if e.action == AuditAction.DIRECTIVE]
    assert [e.detail["directive_id"] for e in entries] == ids
    assert all(e.outcome == "allowed" and e.person_id == DEBTOR for e in entries)
    standing = case_directives(rows)[CASE]
    assert standing.confidential and standing.authorised_users == ("clerk", "judge-1")
    assert standing.collect and standing.collect_limit_rial == 400
    assert standing.restriction_for(PLATE) is RestrictionType.CIRCULATION
    assert standing.releases[0][1:] == (None, None)
    assert [r.directive for r in reinquiry_requests(rows)] == [Directive.PRIORITY_REINQUIRY]


def test_the_same_directive_twice_lands_once() -> None:
    first = submit_directive(CASE, Directive.COLLECT, issued_by="judge-1", issued_at=AT)
    assert submit_directive(CASE, Directive.COLLECT, issued_by="judge-1", issued_at=AT) == first
    assert len(read_landed("case_directives")) == 1


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"case_id": "1405-999999", "kind": Directive.COLLECT}, "unknown case"),
    ({"kind": Directive.COLLECT, "amount_rial": 0}, "positive"),
    ({"kind": Directive.RELEASE, "amount_rial": -5}, "positive"),
    ({"kind": Directive.CONFIDENTIAL, "amount_rial": 5, "authorised_users": ["a"]}, "takes no amount"),
    ({"kind": Directive.RESTRICT_VEHICLE, "asset_ref": "IR000", "restriction": RestrictionType.SEIZURE},
     "not a vehicle"),
    ({"kind": Directive.RESTRICT_VEHICLE, "asset_ref": PLATE}, "names its type"),
    ({"kind": Directive.COLLECT, "restriction": RestrictionType.SEIZURE}, "no restriction"),
    ({"kind": Directive.CONFIDENTIAL}, "names the users"),
    ({"kind": Directive.CONFIDENTIAL, "authorised_users": ["<script>"]}, "not a user id"),
    ({"kind": Directive.CANCEL_ORDER, "order_id": "nope"}, "has no freeze order"),
    ({"kind": Directive.RELEASE, "asset_ref": "IR00" + "9" * 5000}, "holds nothing"),
    ({"case_id": CLOSED, "kind": Directive.COLLECT}, "closed"),
    ({"kind": Directive.COLLECT, "note": "x" * 501}, "501 characters"),
])
def test_bad_directives_are_rejected_with_a_reason_audited_and_nothing_landed(
        landed: AuditLog, kwargs: dict[str, object], says: str) -> None:
    assert says in rejected(**kwargs)
    assert read_landed("case_directives") == []
    (entry,) = [e for e in landed.entries() if e.action == AuditAction.DIRECTIVE]
    assert entry.outcome == "refused" and says in entry.detail["reason"]


def test_an_unknown_case_is_a_404_like_refusal() -> None:
    with pytest.raises(DirectiveRejected) as caught:
        submit_directive("1405-999999", Directive.COLLECT, issued_by="judge-1")
    assert caught.value.status_code == 404
