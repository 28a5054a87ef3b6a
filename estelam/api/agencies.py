"""Partner agencies: their own orders, and acknowledgements posted back over REST."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field, field_validator

from estelam.access.audit import AuditAction
from estelam.access.auth import Principal, Role
from estelam.api.dependencies import BODY_RESPONSES, Settings, require
from estelam.core.domain import AckStatus
from estelam.core.exceptions import AccessDenied, RequestRejected
from estelam.freeze.acknowledgements import (
    MAX_ACKNOWLEDGEMENTS_PER_CALL,
    PostedAcknowledgement,
    acknowledgements_of,
    land_acknowledgements,
    orders_of,
)

router = APIRouter(tags=["agencies"])
AgencyCaller = Annotated[Principal, Depends(require(Role.AGENCY))]
AGENCY_ID_PATTERN = r"^[a-z0-9_]{1,64}$"
AgencyId = Annotated[str, Path(pattern=AGENCY_ID_PATTERN)]
#: Rial amounts fit a signed 64-bit integer (the feed's int64 columns).
MAX_RIAL = 2**63 - 1
AGENCY_PURPOSE = "freeze_orders"
#: Acknowledgement times outside these years are typos or attacks, not acknowledgements.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class AcknowledgementIn(BaseModel):
    order_id: str = Field(min_length=1, max_length=200, description="The order acknowledged (its idempotency key).")
    status: AckStatus
    acknowledged_amount_rial: int = Field(ge=0, le=MAX_RIAL, description="Amount this order actually blocked, "
                                                                         "released or transferred.")
    frozen_total_rial: int = Field(ge=0, le=MAX_RIAL, description="What the agency holds frozen for the case and "
                                                                  "asset after the order.")
    acknowledged_at: datetime = Field(description="When the agency acted (UTC; a time without a zone is UTC).")
    reason: str | None = Field(default=None, max_length=1000)

    @field_validator("acknowledged_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise ValueError(f"acknowledged_at must fall between {EARLIEST_YEAR} and {LATEST_YEAR}")
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class AcknowledgementsIn(BaseModel):
    acknowledgements: list[AcknowledgementIn] = Field(min_length=1, max_length=MAX_ACKNOWLEDGEMENTS_PER_CALL)


def _own(principal: Principal, agency_id: str) -> None:
    if principal.agency_id != agency_id:
        raise AccessDenied(f"{principal.subject} speaks for {principal.agency_id}, not {agency_id}")


@router.get("/agencies/{agency_id}/orders", summary="The freeze, release and transfer orders sent to this agency",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "another agency's"}})
def orders(agency_id: AgencyId, agency: AgencyCaller, settings: Settings) -> list[dict[str, Any]]:
    _own(agency, agency_id)
    found = orders_of(agency_id)
    settings.audit.record(actor=agency.subject, role=agency.role, action=AuditAction.ORDER_READ,
                          purpose=AGENCY_PURPOSE, detail={"agency_id": agency_id, "orders": len(found)})
    rows: list[dict[str, Any]] = jsonable_encoder(found)
    return rows


@router.get("/agencies/{agency_id}/acknowledgements", summary="The acknowledgements this agency posted",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "another agency's"}})
def acknowledgements(agency_id: AgencyId, agency: AgencyCaller) -> list[dict[str, Any]]:
    _own(agency, agency_id)
    rows: list[dict[str, Any]] = jsonable_encoder(acknowledgements_of(agency_id))
    return rows


@router.post("/agencies/{agency_id}/acknowledgements", status_code=201,
             summary="Acknowledge orders: land them for the next reconciliation cycle",
             responses={**BODY_RESPONSES, 401: {"description": "no or unknown token"},
                        403: {"description": "another agency's"},
                        409: {"description": "already acknowledged (exactly one of concurrent calls wins)"},
                        422: {"description": "not this agency's order"}})
def post_acknowledgements(agency_id: AgencyId, body: Annotated[AcknowledgementsIn, Body()], agency: AgencyCaller,
                          settings: Settings, raw: Annotated[bytes, Depends(raw_body)]) -> dict[str, object]:
    _own(agency, agency_id)
    message_id = uuid.uuid4().hex
    try:
        receipt = land_acknowledgements(agency_id,
                                        [PostedAcknowledgement(**a.model_dump()) for a in body.acknowledgements])
    except RequestRejected as refused:  # on the message log as received; the audit entry comes from the handler
        settings.messages.record_inbound(
            agency_id=agency_id, operation="POST acknowledgements", request_id=None, body=raw,
            answer=json.dumps({"detail": str(refused)}).encode(), http_status=refused.status_code,
            purpose=AGENCY_PURPOSE, message_id=message_id)
        raise
    answer = receipt.as_dict()
    settings.messages.record_inbound(
        agency_id=agency_id, operation="POST acknowledgements", request_id=receipt.batch_id, body=raw,
        answer=json.dumps(answer, default=str).encode(), http_status=201, purpose=AGENCY_PURPOSE,
        message_id=message_id)
    settings.audit.record(actor=agency.subject, role=agency.role, action=AuditAction.ACKNOWLEDGEMENT,
                          purpose=AGENCY_PURPOSE, detail={"agency_id": agency_id, "message_id": message_id,
                                                          **answer})
    return answer


async def raw_body(request: Request) -> bytes:
    """The body exactly as received (read once by FastAPI, bounded by the guard): what the message log keeps."""
    return await request.body()
