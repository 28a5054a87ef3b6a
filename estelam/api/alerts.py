"""Alerts the hub raised, for operators (the auditor role): newest first, each with its channels' delivery states."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from estelam.access.auth import Principal, Role
from estelam.api.dependencies import require
from estelam.outputs import alerts

router = APIRouter(tags=["record"])

Operator = Annotated[Principal, Depends(require(Role.AUDITOR))]


@router.get("/alerts", summary="Alerts raised for operators (auditors only)",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not an auditor"}})
def list_alerts(operator: Operator,
                kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$", description="one kind only")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    """A failed task, an agency past its deadline or with its breaker open, money frozen beyond a debt, a failed
    audit verification, an anomaly: each once (its id is its deduplication key), with where it was delivered."""
    found = alerts.raised(kind)
    return {"alerts": found[:limit], "total": len(found)}
