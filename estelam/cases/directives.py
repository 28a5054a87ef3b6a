"""A judge's directives on a case: validated, landed in the ``case_directives`` feed, audited, and folded.

Directives arrive from two sides: the court system's drop (:mod:`estelam.ingest.case_events`) and judges
through the API (``POST /cases/{case_id}/directives``), both through :func:`submit_directive`, which checks
a directive against what the hub has landed (the case, its debtor's vehicles, its orders), lands one row and
writes one audit entry; a directive it cannot take raises :class:`DirectiveRejected` (audited as refused,
nothing landed). The freeze reconciliation reads each case's standing directives (:func:`case_directives`)
when it plans; the inquiry rounds read the re-inquiry directives (:func:`reinquiry_requests`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

import duckdb

from estelam.access.audit import AuditAction, AuditLog, Outcome
from estelam.contracts.rows import CaseDirectivesRow
from estelam.core import clock
from estelam.core.domain import RestrictionType
from estelam.core.exceptions import DirectiveRejected
from estelam.core.keys import stable_id
from estelam.ingest.landing import AuditedLanding, land_audited, landed_glob, read_landed

DIRECTIVES_FEED: Final = "case_directives"
#: The restriction a vehicle freeze asks for unless the judge directed otherwise.
DEFAULT_RESTRICTION = RestrictionType.TRANSFER
#: A judge's note is kept up to this many characters (a longer one is rejected, not cut).
MAX_NOTE_CHARS = 500
#: A user id named in a confidential directive: letters, digits and ``._@-``.
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
#: Who produced a directive row (the contract's ``source``).
SOURCES: Final = ("court", "api", "portal")


class Directive(StrEnum):
    """What a judge may direct about a case (the ``case_directives`` feed)."""

    CONFIDENTIAL = "confidential"  # orders and reports visible to the named users only
    LIFT_CONFIDENTIALITY = "lift_confidentiality"
    COLLECT = "collect"  # transfer frozen money (an amount in total, or all) to the court account
    RESTRICT_CIRCULATION = "restrict_circulation"  # every vehicle of the case off the road (the court drop's kind)
    RESTRICT_VEHICLE = "restrict_vehicle"  # one vehicle: transfer, circulation or seizure
    LIFT_VEHICLE_RESTRICTION = "lift_vehicle_restriction"  # one vehicle: lift its restriction (a release)
    CANCEL_ORDER = "cancel_order"  # an order of the case: cancelled at its agency
    RELEASE = "release"  # judge-ordered release of an asset (an amount, or all), or of every asset of the case
    REINQUIRE_NOW = "reinquire_now"  # ask every agency about the debtor now (the on-demand inquiry)
    PRIORITY_REINQUIRY = "priority_reinquiry"  # the debtor is asked again at the next round, however fresh


#: Directives that act on assets: refused for a closed case (only releases and cancels still make sense).
ACTING_ON_OPEN_CASES = frozenset({Directive.COLLECT, Directive.RESTRICT_CIRCULATION, Directive.RESTRICT_VEHICLE,
                                  Directive.REINQUIRE_NOW, Directive.PRIORITY_REINQUIRY})


@dataclass(frozen=True)
class CaseDirectives:
    """The judge's standing directives for one case."""

    confidential: bool = False
    authorised_users: tuple[str, ...] = ()
    collect: bool = False
    #: with ``collect``: at most this many rials transferred to the court in total (None: all that is frozen)
    collect_limit_rial: int | None = None
    restriction_type: RestrictionType = DEFAULT_RESTRICTION
    #: per vehicle plate: the restriction directed for it (overrides ``restriction_type``); None: lifted
    vehicle_restrictions: Mapping[str, RestrictionType | None] = field(default_factory=dict)
    #: orders the judge cancelled (ids)
    cancelled_orders: frozenset[str] = frozenset()
    #: judge-ordered releases: (directive id, asset_ref or None for every asset, amount or None for all)
    releases: tuple[tuple[str, str | None, int | None], ...] = ()

    def restriction_for(self, asset_ref: str) -> RestrictionType | None:
        """The restriction a vehicle's order asks for (None: the judge lifted it)."""
        if asset_ref in self.vehicle_restrictions:
            return self.vehicle_restrictions[asset_ref]
        return self.restriction_type


NO_DIRECTIVES = CaseDirectives()


def _users(row: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(sorted({u.strip() for u in str(row.get("authorised_users") or "").split(",") if u.strip()}))


def _amount(row: Mapping[str, object]) -> int | None:
    amount = row.get("amount_rial")
    return int(str(amount)) if amount is not None else None


def _fold(now: CaseDirectives, row: Mapping[str, object]) -> CaseDirectives:
    directive = Directive(str(row["directive"]))
    asset_ref = str(row["asset_ref"]) if row.get("asset_ref") else None
    if directive is Directive.CONFIDENTIAL:
        return replace(now, confidential=True, authorised_users=_users(row))
    if directive is Directive.LIFT_CONFIDENTIALITY:
        return replace(now, confidential=False, authorised_users=())
    if directive is Directive.COLLECT:
        return replace(now, collect=True, collect_limit_rial=_amount(row), restriction_type=RestrictionType.SEIZURE)
    if directive is Directive.RESTRICT_CIRCULATION:
        if now.restriction_type is RestrictionType.SEIZURE:
            return now
        return replace(now, restriction_type=RestrictionType.CIRCULATION)
    if directive is Directive.RESTRICT_VEHICLE and asset_ref:
        restriction = RestrictionType(str(row["restriction_type"]))
        return replace(now, vehicle_restrictions={**now.vehicle_restrictions, asset_ref: restriction})
    if directive is Directive.LIFT_VEHICLE_RESTRICTION and asset_ref:
        return replace(now, vehicle_restrictions={**now.vehicle_restrictions, asset_ref: None})
    if directive is Directive.CANCEL_ORDER and row.get("order_id"):
        return replace(now, cancelled_orders=now.cancelled_orders | {str(row["order_id"])})
    if directive is Directive.RELEASE:
        return replace(now, releases=(*now.releases, (str(row["directive_id"]), asset_ref, _amount(row))))
    return now  # re-inquiries act on the inquiry rounds, not on the freezes


def case_directives(records: Iterable[Mapping[str, object]]) -> dict[str, CaseDirectives]:
    """Fold the directive log (oldest first by ``issued_at``) into each case's standing directives."""
    state: dict[str, CaseDirectives] = {}
    for row in sorted(records, key=lambda r: (str(r["issued_at"]), str(r["directive_id"]))):
        case_id = str(row["case_id"])
        state[case_id] = _fold(state.get(case_id, NO_DIRECTIVES), row)
    return state


def standing_directives() -> dict[str, CaseDirectives]:
    """Every case's standing directives from the landed ``case_directives`` feed."""
    return case_directives(read_landed(DIRECTIVES_FEED))


@dataclass(frozen=True)
class ReinquiryRequest:
    """A judge asked for a case's debtor to be asked again: now (on demand) or at the next round (priority)."""

    directive_id: str
    case_id: str
    directive: Directive
    issued_by: str
    issued_at: datetime


def reinquiry_requests(records: Iterable[Mapping[str, object]] | None = None) -> list[ReinquiryRequest]:
    """Every re-inquiry directive landed (oldest first)."""
    rows = read_landed(DIRECTIVES_FEED) if records is None else records
    found = [ReinquiryRequest(str(r["directive_id"]), str(r["case_id"]), Directive(str(r["directive"])),
                              str(r["issued_by"]), r["issued_at"])  # type: ignore[arg-type]
             for r in rows if r["directive"] in (Directive.REINQUIRE_NOW, Directive.PRIORITY_REINQUIRY)]
    return sorted(found, key=lambda r: (r.issued_at, r.directive_id))


# --- what the hub knows of a case (the landed feeds) ----------------------------------------------


@dataclass(frozen=True)
class CaseOnRecord:
    """A case as the court's landed events describe it."""

    case_id: str
    court_code: str
    debtor_id: str
    is_open: bool


def _query(feed: str, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
    pattern = landed_glob(feed)
    if pattern is None:
        return []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        source = f"read_parquet('{pattern}', union_by_name = true)"
        return con.execute(sql.format(source=source), list(params)).fetchall()


def cases_on_record(case_ids: Iterable[str]) -> dict[str, CaseOnRecord]:
    """The cases the landed court events describe, by id, in one scan of the events (an id the court never sent
    is absent): a court drop's directives look their cases up together, not one scan each."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    rows = _query("case_events", "select case_id, any_value(court_code), any_value(debtor_id), "
                  "count(*) filter (where event_type = 'closed') from {source} "
                  "where case_id in (select unnest(?)) group by case_id", [wanted])
    return {str(case_id): CaseOnRecord(str(case_id), str(court_code), str(debtor_id), not closed)
            for case_id, court_code, debtor_id, closed in rows if court_code is not None}


def case_on_record(case_id: str) -> CaseOnRecord | None:
    """The case from the landed court events (None when the court never sent it)."""
    return cases_on_record([case_id]).get(case_id)


def _debtor_vehicle(debtor_id: str, plate: str) -> bool:
    return bool(_query("vehicles", "select 1 from {source} where person_id = ? and plate = ? limit 1",
                       [debtor_id, plate]))


def _case_order(case_id: str, order_id: str) -> bool:
    """Whether ``order_id`` is a freeze of the case: only a freeze can be cancelled (a release, transfer or payout
    has moved nothing the agency could give back by cancelling)."""
    return bool(_query("freeze_orders", "select 1 from {source} where case_id = ? and order_id = ? "
                       "and kind = 'freeze' limit 1", [case_id, order_id]))


def _case_asset(case_id: str, asset_ref: str) -> bool:
    return bool(_query("freeze_orders", "select 1 from {source} where case_id = ? and asset_ref = ? limit 1",
                       [case_id, asset_ref]))


# --- producing ------------------------------------------------------------------------------------


def _check(case: CaseOnRecord | None, case_id: str, kind: Directive, *, amount_rial: int | None,
           restriction: RestrictionType | None, authorised_users: Sequence[str], order_id: str | None,
           asset_ref: str | None, note: str | None, issued_by: str) -> None:
    """Raise :class:`DirectiveRejected` naming the first thing wrong with the directive."""
    if case is None:
        raise DirectiveRejected(f"unknown case {case_id!r}", status_code=404)
    if not issued_by.strip():
        raise DirectiveRejected("a directive names the judge who issued it")
    if not case.is_open and kind in ACTING_ON_OPEN_CASES:
        raise DirectiveRejected(f"case {case_id} is closed: only releases, cancels and confidentiality apply")
    if amount_rial is not None and kind not in (Directive.COLLECT, Directive.RELEASE):
        raise DirectiveRejected(f"{kind} takes no amount")
    if amount_rial is not None and amount_rial <= 0:
        raise DirectiveRejected(f"the amount must be a positive number of rials, not {amount_rial}")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise DirectiveRejected(f"the note is {len(note)} characters, more than {MAX_NOTE_CHARS}")
    if restriction is not None and kind is not Directive.RESTRICT_VEHICLE:
        raise DirectiveRejected(f"{kind} takes no restriction type")
    if authorised_users and kind is not Directive.CONFIDENTIAL:
        raise DirectiveRejected(f"{kind} names no users")
    if order_id is not None and kind is not Directive.CANCEL_ORDER:
        raise DirectiveRejected(f"{kind} names no order")
    if kind is Directive.CONFIDENTIAL:
        if not authorised_users:
            raise DirectiveRejected("a confidential directive names the users allowed to see the case")
        bad = [u for u in authorised_users if not USER_ID_PATTERN.match(u)]
        if bad:
            raise DirectiveRejected(f"not a user id: {bad[0][:64]!r}")
    if kind in (Directive.RESTRICT_VEHICLE, Directive.LIFT_VEHICLE_RESTRICTION):
        if kind is Directive.RESTRICT_VEHICLE and restriction is None:
            raise DirectiveRejected("a vehicle restriction names its type: transfer, circulation or seizure")
        if not asset_ref:
            raise DirectiveRejected(f"{kind} names the vehicle's plate (asset_ref)")
        if not _debtor_vehicle(case.debtor_id, asset_ref):
            raise DirectiveRejected(f"{asset_ref[:40]!r} is not a vehicle of the debtor of case {case_id}")
    elif asset_ref is not None and kind is not Directive.RELEASE:
        raise DirectiveRejected(f"{kind} names no asset")
    if kind is Directive.RELEASE and asset_ref is not None and not _case_asset(case_id, asset_ref):
        raise DirectiveRejected(f"case {case_id} holds nothing on {asset_ref[:40]!r}")
    if kind is Directive.CANCEL_ORDER and (not order_id or not _case_order(case_id, order_id)):
        raise DirectiveRejected(f"case {case_id} has no freeze order {str(order_id)[:64]!r} to cancel")


def submit_directive(case_id: str, kind: Directive, *, issued_by: str, amount_rial: int | None = None,
                     restriction: RestrictionType | None = None, authorised_users: Sequence[str] = (),
                     order_id: str | None = None, asset_ref: str | None = None, note: str | None = None,
                     issued_at: datetime | None = None, source: str = "api", role: str = "judge",
                     audit: AuditLog | None = None, landing: AuditedLanding | None = None,
                     on_record: Mapping[str, CaseOnRecord] | None = None) -> str:
    """Validate a directive against what the hub landed, land it, audit it; returns its ``directive_id``.

    ``landing``: land through this audited landing (a court drop's directives: one GX run audits all of them)
    instead of a GX run of its own. ``on_record``: the cases looked up beforehand (:func:`cases_on_record` of
    every case a drop names; a case absent from it is unknown) instead of a scan of the court events of its own.

    Rejected (:class:`DirectiveRejected`, 404 for an unknown case, 422 otherwise) when the case is unknown,
    an amount is not positive, a restriction names something not a vehicle of the debtor, a cancel names an
    order the case never had, ...: nothing is landed, and the refusal is audited with its reason. The same
    directive submitted twice (same case, kind, fields and instant) lands once (its id is stable).
    """
    kind = Directive(kind)
    issued_at = issued_at or clock.now()
    audit = audit or AuditLog()
    case = on_record.get(case_id) if on_record is not None else case_on_record(case_id)
    detail: dict[str, object] = {"directive": str(kind), "source": source, "amount_rial": amount_rial,
                                 "restriction_type": str(restriction) if restriction else None,
                                 "order_id": order_id, "asset_ref": asset_ref}
    purpose = f"directive on case {case_id}"
    person_id = case.debtor_id if case else None
    try:
        if source not in SOURCES:
            raise DirectiveRejected(f"unknown source {source[:20]!r}")
        _check(case, case_id, kind, amount_rial=amount_rial, restriction=restriction,
               authorised_users=authorised_users, order_id=order_id, asset_ref=asset_ref, note=note,
               issued_by=issued_by)
    except DirectiveRejected as refused:
        audit.record(actor=issued_by, role=role, action=AuditAction.DIRECTIVE, purpose=purpose,
                     outcome=Outcome.REFUSED, person_id=person_id, case_id=case_id,
                     detail={**detail, "reason": str(refused)}, at=issued_at)
        raise
    users = ",".join(sorted(set(authorised_users))) or None
    directive_id = stable_id(case_id, kind, issued_at.isoformat(), amount_rial, restriction, users, order_id,
                             asset_ref)
    row: CaseDirectivesRow = {
        "directive_id": directive_id, "case_id": case_id, "directive": str(kind), "authorised_users": users,
        "amount_rial": amount_rial, "restriction_type": str(restriction) if restriction else None,
        "order_id": order_id, "asset_ref": asset_ref, "note": note, "source": source,
        "issued_by": issued_by, "issued_at": issued_at,
    }
    if landing is None:
        land_audited(DIRECTIVES_FEED, [row], batch_id=directive_id, partition=issued_at.date())
    else:
        landing.land([row], batch_id=directive_id, partition=issued_at.date())
    audit.record(actor=issued_by, role=role, action=AuditAction.DIRECTIVE, purpose=purpose, person_id=person_id,
                 case_id=case_id, detail={**detail, "directive_id": directive_id}, at=issued_at)
    return directive_id


def mark_directive(case_id: str, directive: Directive, *, issued_by: str, authorised_users: Sequence[str] = (),
                   issued_at: datetime | None = None) -> None:
    """Land a directive row as given, unchecked and unaudited (fixtures; producers use :func:`submit_directive`)."""
    issued_at = issued_at or clock.now()
    row: CaseDirectivesRow = {
        "directive_id": stable_id(case_id, directive, issued_at.isoformat()), "case_id": case_id,
        "directive": str(directive), "authorised_users": ",".join(authorised_users) or None,
        "amount_rial": None, "restriction_type": None, "order_id": None, "asset_ref": None, "note": None,
        "source": "court", "issued_by": issued_by, "issued_at": issued_at,
    }
    land_audited(DIRECTIVES_FEED, [row], batch_id=row["directive_id"], partition=issued_at.date())
