"""Checks at a reconciliation cycle's end, raised as alerts for operators (``estelam.outputs.alerts``)."""

from __future__ import annotations

from collections import defaultdict

from estelam.freeze.ledger import HubView, LedgerState


def frozen_beyond_debt(view: HubView, state: LedgerState) -> dict[str, tuple[int, int]]:
    """Debtors whose frozen total (what the agencies acknowledged holding, all their cases) is above what they
    still owe (open cases' outstanding less what was collected): person_id -> (frozen, owed)."""
    person_of = {c.case_id: c.person_id for c in view.cases}
    owed: dict[str, int] = defaultdict(int)
    for case in view.cases:
        if case.is_open:
            owed[case.person_id] += max(case.outstanding_rial - state.collected[case.case_id], 0)
    frozen: dict[str, int] = defaultdict(int)
    for (case_id, _agency_id, _asset_ref), amount in state.held.items():
        if case_id in person_of:
            frozen[person_of[case_id]] += amount
    return {person: (total, owed[person]) for person, total in frozen.items() if total > owed[person]}
