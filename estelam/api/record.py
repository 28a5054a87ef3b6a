"""The record, served: the latest signed checkpoints and the hub's public key for anyone who wants to hold the
hub to its logs, and message bodies for auditors."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from estelam.access.audit import AuditAction
from estelam.access.auth import Principal, Role
from estelam.access.checkpoints import ALGORITHM, signer
from estelam.api.dependencies import Settings, require
from estelam.core.exceptions import RecordError

router = APIRouter(tags=["record"])

Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
MESSAGE_ID_PATTERN = r"^[0-9a-f]{32}$"
AUDITOR_PURPOSE = "audit of the hub's exchanges"


class MessageDirection(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


@router.get("/audit/checkpoint", summary="The latest signed checkpoints of the audit and message logs (no token)",
            responses={200: {"description": "checkpoints, the Ed25519 public key, and how to verify"}})
def checkpoint(settings: Settings) -> dict[str, Any]:
    """What an outside party keeps to hold the hub to its logs later: for each log, its length and head hash at a
    moment, signed with the hub's key. ``estelam audit verify --checkpoint FILE --public-key KEY`` checks a log
    against a kept checkpoint. No personal data: counts, hashes and times only."""
    key = signer()
    latest = {"audit": settings.audit.latest_checkpoint(), "messages": settings.messages.latest_checkpoint()}
    return {
        "algorithm": ALGORITHM, "public_key": key.public_key_text, "key_id": key.key_id,
        "checkpoints": {name: c.as_dict() if c else None for name, c in latest.items()},
        "signed_bytes": "canonical JSON of {at, entries, head, log} (sorted keys, no spaces)",
        "verify": "estelam audit verify --checkpoint <this document> --public-key <public_key>",
    }


@router.get("/audit/messages/{message_id}/{direction}", summary="One message's exact bytes (auditors only)",
            responses={200: {"content": {"application/octet-stream": {}}},
                       401: {"description": "no or unknown token"}, 403: {"description": "not an auditor"},
                       404: {"description": "no such message, or its body is not kept"}})
def message_body(message_id: Annotated[str, Path(pattern=MESSAGE_ID_PATTERN)], direction: MessageDirection,
                 auditor: Auditor, settings: Settings) -> Response:
    """The body as it was on the wire, checked against its recorded SHA-256 before it is served."""
    try:
        body = settings.messages.body(message_id, str(direction))
    except RecordError as exc:
        settings.audit.record(actor=auditor.subject, role=auditor.role, action=AuditAction.MESSAGE_READ,
                              purpose=AUDITOR_PURPOSE, outcome="refused",
                              detail={"message_id": message_id, "direction": str(direction), "reason": str(exc)})
        return Response(str(exc), status_code=404, media_type="text/plain")
    settings.audit.record(actor=auditor.subject, role=auditor.role, action=AuditAction.MESSAGE_READ,
                          purpose=AUDITOR_PURPOSE, detail={"message_id": message_id, "direction": str(direction)})
    return Response(body, media_type="application/octet-stream")
