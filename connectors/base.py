"""What every agency client offers, whatever its wire protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from estelam.core.domain import Acknowledgement, AgencyInstance, FreezeOrder, InquiryAnswer, OrderKind
from estelam.core.exceptions import AgencyError

#: Safe defaults, named once.
DEFAULT_CONNECT_TIMEOUT_S = 2.0
#: Persons per batch inquiry call: how real agencies take volume.
DEFAULT_INQUIRY_BATCH_SIZE = 100

#: A batch inquiry's result: per person asked, the answer, or why that person alone got none
#: (``AgencyFault``: the agency refused them; ``AgencyError``: an id no contract accepts, never sent).
BatchAnswers = dict[str, InquiryAnswer | AgencyError]


#: The order kinds every agency's contract has operations for; transfer is the optional one.
FREEZE_AND_RELEASE: frozenset[OrderKind] = frozenset({OrderKind.FREEZE, OrderKind.RELEASE})


@runtime_checkable
class AgencyClient(Protocol):
    """One agency instance, reached over its own contract (SOAP or REST).

    Every method either returns a domain object or raises an
    ``estelam.core.exceptions.AgencyError`` subclass carrying agency, operation and request id.
    """

    instance: AgencyInstance

    @property
    def max_batch_size(self) -> int:
        """Persons per batch call, as the agency's contract allows."""
        ...

    @property
    def order_kinds(self) -> frozenset[OrderKind]:
        """The order kinds this agency's contract has operations for: freeze, release and cancel, and transfer
        and payout where the agency holds money (banks)."""
        ...

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what assets ``person_id`` has at this agency."""
        ...

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> BatchAnswers:
        """Ask about many persons in one call (the agency's batch operation).

        Every person asked is a key of the result: their ``InquiryAnswer`` (no assets when they own
        nothing here), or an ``AgencyError`` for that person alone (an ``AgencyFault`` when the agency
        refused them, e.g. an id failing its check digit; a plain ``AgencyError`` for an id that is not
        10 or 11 digits, which is never sent) — each person ends in exactly one state. An answer that leaves a
        person out, or a call that fails as a whole, raises ``AgencyError`` for the whole batch.
        At most ``max_batch_size`` persons (the contract's limit) per call.
        """
        ...

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        """Block an asset up to ``order.amount_rial`` for ``order.case_id``."""
        ...

    def release(self, order: FreezeOrder) -> Acknowledgement:
        """Lift up to ``order.amount_rial`` of this case's block on the asset."""
        ...

    def transfer(self, order: FreezeOrder) -> Acknowledgement:
        """Move up to ``order.amount_rial`` of this case's block on a bank account to the court's account.

        Raises ``OperationNotInContract`` (final, nothing sent) when ``OrderKind.TRANSFER`` is not in
        ``order_kinds``: this agency's contract has no transfer operation.
        """
        ...

    def pay_out(self, order: FreezeOrder) -> Acknowledgement:
        """Pay ``order.amount_rial`` from the court's account for the case to the creditor's IBAN
        (``order.asset_ref``): only the bank holding the court's account has this operation."""
        ...

    def cancel(self, order: FreezeOrder) -> Acknowledgement:
        """Cancel the order ``order.cancels``: the agency undoes it if applied and refuses it if it arrives later."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
