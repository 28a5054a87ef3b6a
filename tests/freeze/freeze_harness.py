"""An in-memory enforcement world for freeze reconciliation: agencies as AgencyState objects, no HTTP.

Agencies can misbehave per cycle: ``down`` (the order never arrives), ``lost`` (the order is applied but
the acknowledgement never comes back: a timeout after the fact). Time is a fake clock.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from estelam.cases.directives import CaseDirectives
from estelam.contracts.registry import CourtAccount
from estelam.core.domain import (
    Acknowledgement,
    AgencyInstance,
    AgencyKind,
    FreezeOrder,
    Protocol,
)
from estelam.core.exceptions import AgencyUnavailable
from estelam.core.kinds import mapping_at
from estelam.freeze.ledger import CaseFacts, HubView, LedgerState, ledger_state
from estelam.freeze.planner import KnownAsset
from estelam.freeze.reconciliation import CycleSummary, MemoryLedger, reconcile
from simulators.agency_state import AgencyAsset, AgencyState, MappedAsset

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DEADLINE_S = 30.0
CYCLE_EVERY = timedelta(seconds=20)  # so an unanswered order is pending one cycle, late the next
AGENCIES = {
    "bank_a": AgencyKind("bank"), "bank_b": AgencyKind("bank"), "csdi": AgencyKind("securities_depository"),
    "traffic_police": AgencyKind("vehicle_registry"), "land_registry": AgencyKind("land_registry"),
}
#: The harness's mapped kinds are the depository's (its holdings), the land registry's (its properties, restricted
#: whole: ``indivisible``) and the vehicle registry's (its vehicles, restricted whole, each freeze of a type).
KINDS = Path(__file__).resolve().parents[2] / "contracts" / "kinds"
#: The restriction types a vehicle's freeze carries, weakest first, as the vehicle registry's mapping declares them.
VEHICLE_RESTRICTIONS = mapping_at(KINDS / "vehicle_registry.yaml").assets.restrictions  # type: ignore[union-attr]


def account(iban: str, holder_id: str, balance_rial: int, *, protected: bool = False) -> MappedAsset:
    """An account at a bank, as its generated simulator holds it (contracts/kinds/bank.yaml: the IBAN its reference,
    the balance its value; salary and pension accounts ``protected``, as the mapping's protected_when declares)."""
    return MappedAsset(iban, holder_id, balance_rial, protected=protected)


def is_account(asset: AgencyAsset) -> bool:
    """Whether the asset is a bank account (its reference an IBAN)."""
    return _IBAN.fullmatch(asset.asset_ref) is not None


_IBAN = re.compile(r"[A-Z]{2}[0-9]{24}")


def holding(holder_id: str, symbol: str, quantity: int, unit_price_rial: int) -> MappedAsset:
    """A holding at the depository, as its generated simulator holds it (contracts/kinds/securities_depository.yaml:
    the reference ``<holder>:<symbol>``, the value the quantity times the price)."""
    return MappedAsset(f"{holder_id}:{symbol}", holder_id, quantity * unit_price_rial)


def parcel(owner_id: str, registry_section: str, main_plate: int, sub_plate: int, value_rial: int) -> MappedAsset:
    """A property at the land registry, as its generated simulator holds it (contracts/kinds/land_registry.yaml: the
    reference ``<section>/<main plate>/<sub plate>``, restricted whole)."""
    return MappedAsset(f"{registry_section}/{main_plate}/{sub_plate}", owner_id, value_rial, indivisible=True)


def registered_car(owner_id: str, plate: str, value_rial: int) -> MappedAsset:
    """A vehicle at the vehicle registry, as its generated simulator holds it (contracts/kinds/vehicle_registry.yaml:
    the plate its reference, restricted whole, a freeze carrying one of its restriction types)."""
    return MappedAsset(plate, owner_id, value_rial, indivisible=True, restrictions=VEHICLE_RESTRICTIONS)


def asset_kind(asset: AgencyAsset) -> str:
    """The asset kind the planner knows the asset by."""
    if is_account(asset):
        return "bank_account"
    return "vehicle" if asset.restrictions else "property" if asset.indivisible else "security_holding"


def instance(agency_id: str) -> AgencyInstance:
    kind = AGENCIES[agency_id]
    rest = agency_id in ("csdi", "traffic_police")
    protocol = Protocol.REST if rest else Protocol.SOAP
    return AgencyInstance(agency_id, kind, agency_id, protocol, "", "http://127.0.0.1:1", DEADLINE_S, 1.0)


class FakeClock:
    """Cycle instants, and strictly increasing acknowledgement instants within them."""

    def __init__(self) -> None:
        self.now = T0
        self._tick = 0

    def advance(self, by: timedelta = CYCLE_EVERY) -> datetime:
        self.now += by
        self._tick = 0
        return self.now

    def stamp(self) -> datetime:
        self._tick += 1
        return self.now + timedelta(microseconds=self._tick)


@dataclass
class FlakyAgency:
    """An AgencyClient over an AgencyState, with the cycle's fault mode."""

    state: AgencyState
    clock: FakeClock
    mode: str = "ok"  # ok | down | lost
    calls: int = 0

    @property
    def instance(self) -> AgencyInstance:
        return self.state.instance

    def _call(self, order: FreezeOrder) -> Acknowledgement:
        self.calls += 1
        where = {"agency_id": order.agency_id, "operation": str(order.kind), "request_id": order.order_id}
        if self.mode == "down":
            raise AgencyUnavailable("connection refused", **where)  # type: ignore[arg-type]
        ack = self.state.apply(order, self.clock.stamp())
        if self.mode == "lost":
            raise AgencyUnavailable("read timed out", **where)  # type: ignore[arg-type]
        return ack

    freeze = release = transfer = pay_out = cancel = _call

    def close(self) -> None:
        """Nothing to close."""


@dataclass
class EnforcementWorld:
    """Debtors, their cases and assets at the agencies, and the hub's logs."""

    assets: list[MappedAsset]
    cases: dict[str, CaseFacts]
    person_kind: dict[str, str]
    subsistence_minimum_rial: int = 0
    clock: FakeClock = field(default_factory=FakeClock)
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    directives: dict[str, CaseDirectives] = field(default_factory=dict)
    phantoms: list[KnownAsset] = field(default_factory=list)  # reported by an agency, unknown when ordered
    filed: dict[str, int] = field(default_factory=dict)  # case_id -> amount owed when filed
    court_account: CourtAccount | None = None  # where collections land and payouts leave from

    def __post_init__(self) -> None:
        placed: dict[str, list[MappedAsset]] = defaultdict(list)
        self.agency_of: dict[str, str] = {}
        for asset in self.assets:
            agency_id = self._agency_for(asset)
            placed[agency_id].append(asset)
            self.agency_of[asset.asset_ref] = agency_id
        self.states = {a: AgencyState(instance(a), placed[a]) for a in AGENCIES}
        self.clients = {a: FlakyAgency(s, self.clock) for a, s in self.states.items()}
        self.reported: list[KnownAsset] = []
        self.inquire()

    @staticmethod
    def _agency_for(asset: MappedAsset) -> str:
        if is_account(asset):
            return "bank_a" if int(asset.asset_ref[-1]) % 2 == 0 else "bank_b"
        return "traffic_police" if asset.restrictions else "land_registry" if asset.indivisible else "csdi"

    def inquire(self) -> None:
        """Every agency reports every debtor's assets as they are now."""
        now = self.clock.now
        self.reported = [
            KnownAsset(a.owner_id, agency_id, asset_kind(a), a.asset_ref, a.value_rial, now, a.protected)
            for agency_id, state in self.states.items()
            for person in self.person_kind for a in state.assets_of(person)
        ] + [KnownAsset(p.person_id, p.agency_id, p.asset_kind, p.asset_ref, p.value_rial, now) for p in self.phantoms]

    def pay(self, case_id: str, amount_rial: int) -> None:
        case = self.cases[case_id]
        self.cases[case_id] = replace(case, outstanding_rial=max(case.outstanding_rial - amount_rial, 0))

    def close(self, case_id: str) -> None:
        case = self.cases[case_id]
        self.cases[case_id] = replace(case, is_open=False)

    def view(self) -> HubView:
        return HubView(list(self.cases.values()), list(self.reported), dict(self.directives), self.court_account)

    def cycle(self, cycle_id: str, faults: dict[str, str] | None = None, *, timed_passes: bool = False
              ) -> CycleSummary:
        """One reconciliation; with ``timed_passes`` each later pass reads the clock, as production cycles do."""
        for agency_id, client in self.clients.items():
            client.mode = (faults or {}).get(agency_id, "ok")
        return reconcile(cycle_id, self.view(), self.ledger, self.clients,
                         deadlines_s=dict.fromkeys(AGENCIES, DEADLINE_S), now=self.clock.now,
                         subsistence_minimum_rial=self.subsistence_minimum_rial,
                         clock=self.clock.stamp if timed_passes else None)

    def held_truth(self) -> dict[tuple[str, str, str], int]:
        """What the agencies really hold: (case_id, agency_id, asset_ref) -> rials."""
        return {(case_id, agency_id, ref): amount for agency_id, state in self.states.items()
                for (case_id, ref), amount in state.held_freezes().items()}

    def state(self) -> LedgerState:
        return ledger_state(self.ledger.attempts(), self.ledger.acknowledgements())
