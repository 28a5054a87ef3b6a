"""An inquiry round at one agency: ask about every target person, land answers and the inquiry log.

Every inquiry ends in exactly one recorded state in the ``inquiries`` feed:
``answered`` (all asset rows valid), ``rejected`` (the agency answered but rows
broke the data contract; they are in quarantine with reasons) or ``failed``
(the agency could not be asked; the error is the reason).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from time import perf_counter

from connectors import client_for
from estelam.contracts import load_agency_registry
from estelam.domain import (
    AgencyInstance,
    BankAccount,
    InquiryAnswer,
    InquiryStatus,
    Property,
    SecurityHolding,
    Vehicle,
)
from estelam.exceptions import AgencyError
from estelam.ids import stable_id
from estelam.landing import validate_and_land

INQUIRY_LOG_FEED = "inquiries"
#: An answer older than this is stale: the person is asked again.
DEFAULT_STALE_AFTER = timedelta(days=7)
#: Persons per landed batch: one Parquet file per batch per agency.
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class InquiryTarget:
    person_id: str
    case_id: str | None


@dataclass(frozen=True)
class RoundSummary:
    agency_id: str
    sent: int
    answered: int
    rejected: int
    failed: int
    assets_landed: int
    assets_quarantined: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def asset_record(inquiry_id: str, agency_id: str, asset: object, responded_at: datetime) -> dict[str, object]:
    """One asset of an answer, shaped as its feed's data contract wants it."""
    base: dict[str, object] = {"inquiry_id": inquiry_id, "agency_id": agency_id, "responded_at": responded_at}
    if isinstance(asset, BankAccount):
        return base | {"person_id": asset.holder_id, "holder_name": asset.holder_name, "iban": asset.iban,
                       "account_kind": str(asset.account_kind), "balance_rial": asset.balance_rial}
    if isinstance(asset, SecurityHolding):
        return base | {"person_id": asset.holder_id, "holder_name": asset.holder_name, "symbol": asset.symbol,
                       "quantity": asset.quantity, "unit_price_rial": asset.unit_price_rial,
                       "value_rial": asset.value_rial}
    if isinstance(asset, Vehicle):
        return base | {"person_id": asset.owner_id, "owner_name": asset.owner_name, "plate": asset.plate,
                       "model": asset.model, "value_rial": asset.value_rial}
    if isinstance(asset, Property):
        return base | {"person_id": asset.owner_id, "owner_name": asset.owner_name,
                       "registry_section": asset.registry_section, "main_plate": asset.main_plate,
                       "sub_plate": asset.sub_plate, "share_percent": asset.share_percent,
                       "value_rial": asset.value_rial}
    raise TypeError(f"not an asset: {asset!r}")


def _batches(targets: Sequence[InquiryTarget], size: int) -> Iterator[tuple[int, Sequence[InquiryTarget]]]:
    for start in range(0, len(targets), size):
        yield start // size, targets[start:start + size]


def targets_for(agency_id: str, *, stale_after: timedelta = DEFAULT_STALE_AFTER,
                now: datetime | None = None) -> list[InquiryTarget]:
    """Debtors of open cases with no fresh answer from this agency (from the warehouse)."""
    from estelam.warehouse import connect_read_only

    cutoff = (now or datetime.now(UTC)) - stale_after
    with connect_read_only() as con:
        rows = con.execute(
            """
            select t.person_id, t.case_id
            from inquiry_targets as t
            where not exists (
                select 1 from staging.stg_hub__inquiries as i
                where i.person_id = t.person_id and i.agency_id = ?
                  and i.status = 'answered' and i.responded_at >= ?
            )
            order by t.person_id
            """,
            [agency_id, cutoff],
        ).fetchall()
    return [InquiryTarget(person_id, case_id) for person_id, case_id in rows]


def run_round(instance: AgencyInstance, targets: Sequence[InquiryTarget], *, round_id: str,
              batch_size: int = DEFAULT_BATCH_SIZE, today: date | None = None) -> RoundSummary:
    """Ask ``instance`` about every target and land the answers and the inquiry log, batch by batch."""
    registry = load_agency_registry()
    answer_feed = registry.kinds[instance.kind].answer_feed
    partition = today or datetime.now(UTC).date()
    client = client_for(instance)
    totals = {"answered": 0, "rejected": 0, "failed": 0, "assets_landed": 0, "assets_quarantined": 0}
    try:
        for number, batch in _batches(targets, batch_size):
            batch_id = f"{round_id}-{instance.agency_id}-{number:04d}"
            log: dict[str, dict[str, object]] = {}
            asset_rows: list[dict[str, object]] = []
            for target in batch:
                inquiry_id = stable_id(round_id, instance.agency_id, target.person_id)
                entry: dict[str, object] = {
                    "inquiry_id": inquiry_id, "run_id": round_id, "agency_id": instance.agency_id,
                    "agency_kind": str(instance.kind), "person_id": target.person_id, "case_id": target.case_id,
                    "requested_at": datetime.now(UTC), "responded_at": None, "latency_ms": None,
                    "status": str(InquiryStatus.ANSWERED), "reason": None, "assets_found": 0,
                }
                started = perf_counter()
                try:
                    answer: InquiryAnswer = client.inquire(target.person_id, inquiry_id)
                except AgencyError as exc:
                    entry |= {"status": str(InquiryStatus.FAILED), "reason": str(exc)}
                else:
                    entry |= {"responded_at": answer.responded_at,
                              "latency_ms": round((perf_counter() - started) * 1000),
                              "assets_found": len(answer.assets)}
                    asset_rows.extend(asset_record(inquiry_id, instance.agency_id, a, answer.responded_at)
                                      for a in answer.assets)
                log[inquiry_id] = entry
            answers = validate_and_land(answer_feed, asset_rows, batch_id=batch_id, partition=partition)
            for inquiry_id, reason in answers.rejected_reasons_by("inquiry_id").items():
                if inquiry_id in log:
                    log[inquiry_id] |= {"status": str(InquiryStatus.REJECTED), "reason": reason}
            validate_and_land(INQUIRY_LOG_FEED, list(log.values()), batch_id=batch_id, partition=partition)
            for entry in log.values():
                totals[str(entry["status"])] += 1
            totals["assets_landed"] += answers.valid_rows
            totals["assets_quarantined"] += answers.rejected_rows
    finally:
        client.close()
    return RoundSummary(agency_id=instance.agency_id, sent=len(targets), **totals)


def inquire_agency(agency_id: str, *, round_id: str) -> dict[str, object]:
    """The DAG's task: find this agency's targets, run the round, return a small summary."""
    instance = load_agency_registry().instance(agency_id)
    return run_round(instance, targets_for(agency_id), round_id=round_id).as_dict()


def agencies_to_ask() -> list[str]:
    """Every agency instance of the registry: the inquiry DAG fans out over these."""
    return [i.agency_id for i in load_agency_registry().instances]
