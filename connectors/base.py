"""What every agency client offers, whatever its wire protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from estelam.domain import Acknowledgement, AgencyInstance, FreezeOrder, InquiryAnswer

#: Safe defaults, named once.
DEFAULT_CONNECT_TIMEOUT_S = 2.0
#: Persons per batch inquiry call: how real agencies take volume.
DEFAULT_INQUIRY_BATCH_SIZE = 100


class AgencyClient(Protocol):
    """One agency instance, reached over its own contract (SOAP or REST).

    Every method either returns a domain object or raises an
    ``estelam.exceptions.AgencyError`` subclass carrying agency, operation and request id.
    """

    instance: AgencyInstance

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what assets ``person_id`` has at this agency."""
        ...

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> dict[str, InquiryAnswer]:
        """Ask about many persons in one call (the agency's batch operation).

        Every person asked is a key of the result (an empty answer when they own nothing here);
        an answer that leaves a person out, or a call that fails as a whole, raises ``AgencyError``.
        """
        ...

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        """Block an asset up to ``order.amount_rial`` for ``order.case_id``."""
        ...

    def release(self, order: FreezeOrder) -> Acknowledgement:
        """Lift up to ``order.amount_rial`` of this case's block on the asset."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
