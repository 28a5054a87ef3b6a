"""The one exception tree of Estelam.

    EstelamError
    ├── ContractError            a contract file is missing or says something impossible
    ├── AgencyError              an agency call went wrong (carries agency_id, operation, request_id)
    │   ├── AgencyUnavailable    could not reach the agency or it timed out (transient)
    │   │   └── AgencyDeadlineMissed  no answer within the agency's reply deadline, over all attempts
    │   ├── AgencyFault          the agency answered with a fault or an error status
    │   └── AgencyAnswerMalformed the answer does not follow the agency's contract
    ├── LandingError             a batch could not be written to the landing zone
    ├── WarehouseError           dbt failed to build the warehouse
    └── DemoError                the end-to-end demo could not run a step

Connectors raise only AgencyError subclasses; callers record them as an
inquiry's or order's final state with the message as its reason.
"""

from __future__ import annotations


class EstelamError(Exception):
    """Base of every error Estelam raises on purpose."""


class ContractError(EstelamError):
    """A contract (agency registry, WSDL, OpenAPI, data contract) is missing or invalid."""


class AgencyError(EstelamError):
    """An agency call failed; says which agency, which operation and which request."""

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        agency_id: str,
        operation: str,
        request_id: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.agency_id = agency_id
        self.operation = operation
        self.request_id = request_id
        self.status_code = status_code
        where = f"{agency_id}.{operation}"
        if request_id:
            where += f" [{request_id}]"
        super().__init__(f"{where}: {message}")


class AgencyUnavailable(AgencyError):
    """The agency could not be reached or did not answer in time."""

    transient = True


class AgencyDeadlineMissed(AgencyUnavailable):
    """The agency gave no usable answer within its reply deadline, however many attempts were made.

    Final for the call that raised it (the resilient client does not retry it); recorded as the
    inquiry's ``deadline_missed`` state, which the compliance scoreboard counts against the agency.
    """

    def __init__(self, message: str, *, deadline_s: float, attempts: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.deadline_s = deadline_s
        self.attempts = attempts


class AgencyFault(AgencyError):
    """The agency answered with a SOAP fault or an HTTP error status."""

    def __init__(self, message: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.transient = self.status_code is not None and self.status_code >= 500


class AgencyAnswerMalformed(AgencyError):
    """The agency's answer could not be read against its contract."""


class LandingError(EstelamError):
    """A batch could not be written to the landing zone."""


class WarehouseError(EstelamError):
    """dbt could not build the warehouse."""


class DemoError(EstelamError):
    """A step of the end-to-end demo failed."""
