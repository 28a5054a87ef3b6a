"""The one exception tree of Estelam.

    EstelamError
    ├── ContractError            a contract file is missing or says something impossible
    │   └── ValidationDisagreement  GX's audit judged rows differently from the contract's compiled rules
    ├── AgencyError              an agency call went wrong (carries agency_id, operation, request_id)
    │   ├── AgencyUnavailable    could not reach the agency or it timed out (transient)
    │   │   └── AgencyDeadlineMissed  no answer within the agency's reply deadline, over all attempts
    │   ├── AgencyFault          the agency answered with a fault or an error status
    │   ├── OperationNotInContract  the agency's contract has no such operation (e.g. transfer): nothing sent
    │   └── AgencyAnswerMalformed the answer does not follow the agency's contract
    ├── LandingError             a batch could not be written to the landing zone
    ├── RoundError               an inquiry task's rounds did not run at some of its agencies (the others ran)
    ├── WarehouseError           dbt failed to build the warehouse
    ├── ReportError              a report could not be produced (unknown case, language or variant)
    ├── DemoError                the end-to-end demo could not run a step
    ├── RecordError              the audit log or message log cannot be written or read (store, key)
    └── AccessError              the serving API refuses a caller (carries the HTTP status it maps to)
        ├── NotAuthenticated     no token, or a token the hub does not know (401)
        ├── AccessDenied         a known caller asked for something their role or assignment does not allow (403)
        ├── ConsentRefused       a registry lookup's consent code is unknown, used, expired or bound elsewhere (403)
        └── RequestRejected      a request the hub will not act on: unknown or already acknowledged order (409/422)
            └── DirectiveRejected  a directive the hub will not land: unknown case, bad amount, not a vehicle (422)

Connectors raise only AgencyError subclasses; callers record them as an
inquiry's or order's final state with the message as its reason.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict, Unpack

#: An agency's words kept in an error (and so in the inquiry or order log's reason): at most this many characters.
MAX_AGENCY_MESSAGE_CHARS = 2000


class EstelamError(Exception):
    """Base of every error Estelam raises on purpose."""


class ContractError(EstelamError):
    """A contract (agency registry, WSDL, OpenAPI, data contract) is missing or invalid."""


class ValidationDisagreement(ContractError):
    """The GX suite (the authority) judged rows of a feed differently from the contract's compiled rules: the
    batches were re-landed as GX judged them; set ``ESTELAM_VALIDATION=gx`` until the compiled rules are fixed."""


class AgencyCallSite(TypedDict):
    """Where an agency call went wrong: the keyword arguments every ``AgencyError`` takes besides the status."""

    agency_id: str
    operation: str
    request_id: NotRequired[str | None]


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
        if len(message) > MAX_AGENCY_MESSAGE_CHARS:  # an agency's fault text is kept as a reason: bound what is kept
            message = (f"{message[:MAX_AGENCY_MESSAGE_CHARS]}… "
                       f"({len(message) - MAX_AGENCY_MESSAGE_CHARS} more characters not kept)")
        super().__init__(f"{where}: {message}")


class AgencyUnavailable(AgencyError):
    """The agency could not be reached or did not answer in time."""

    transient = True


class AgencyDeadlineMissed(AgencyUnavailable):
    """The agency gave no usable answer within its reply deadline, however many attempts were made.

    Final for the call that raised it (the resilient client does not retry it); recorded as the
    inquiry's ``deadline_missed`` state, which the compliance scoreboard counts against the agency.
    """

    def __init__(self, message: str, *, deadline_s: float, attempts: int, status_code: int | None = None,
                 **kwargs: Unpack[AgencyCallSite]) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.deadline_s = deadline_s
        self.attempts = attempts


class AgencyFault(AgencyError):
    """The agency answered with a SOAP fault or an HTTP error status."""

    def __init__(self, message: str, *, status_code: int | None = None, **kwargs: Unpack[AgencyCallSite]) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.transient = self.status_code is not None and self.status_code >= 500


class AgencyAnswerMalformed(AgencyError):
    """The agency's answer could not be read against its contract."""


class OperationNotInContract(AgencyError):
    """The agency's contract has no such operation (a registry cannot transfer money): final, nothing was sent."""


class LandingError(EstelamError):
    """A batch could not be written to the landing zone."""


class RoundError(EstelamError):
    """An inquiry task could not run the rounds of some of its agencies (the rest of its agencies were asked);
    an agency's own faults are not this: they end as its inquiries' recorded states."""


class ReportError(EstelamError):
    """A report could not be produced (unknown case, empty warehouse, unknown language or variant)."""


class WarehouseError(EstelamError):
    """dbt could not build the warehouse."""


class DemoError(EstelamError):
    """A step of the end-to-end demo failed."""


class RecordError(EstelamError):
    """The audit log, the message log or their signing key cannot be written or read."""


class AccessError(EstelamError):
    """The serving API refuses a caller; ``status_code`` is the HTTP status it answers with."""

    status_code: int = 403
    #: Set by a route that wrote this refusal to the audit log itself (with more context than the API can).
    audited: bool = False


class NotAuthenticated(AccessError):
    """No bearer token, or one the hub does not know."""

    status_code = 401


class AccessDenied(AccessError):
    """The caller is known but their role, court assignment or agency does not allow this."""

    status_code = 403


class ConsentRefused(AccessError):
    """A consent code is unknown, already used, expired, or bound to another requester, person or purpose."""

    status_code = 403


class RequestRejected(AccessError):
    """A caller's well-formed request the hub will not act on (e.g. acknowledging an order it never sent them)."""

    def __init__(self, message: str, *, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


class DeliveryError(EstelamError):
    """A message to a person could not be handed to its channel (mail server, SMS gateway, webhook).

    ``permanent`` when retrying cannot help (a refused number, a rejected address); else a retry may."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


#: A rejected directive's message is kept at most this long (it echoes what the caller sent).
MAX_DIRECTIVE_MESSAGE_CHARS = 300


class DirectiveRejected(RequestRejected):
    """A judge's directive that cannot be landed as given (unknown case, amount not positive, restriction on an
    asset that is not a vehicle, an order the case never had, ...): nothing is landed, the reason is audited."""

    def __init__(self, message: str, *, status_code: int = 422) -> None:
        if len(message) > MAX_DIRECTIVE_MESSAGE_CHARS:
            message = message[:MAX_DIRECTIVE_MESSAGE_CHARS] + "…"
        super().__init__(message, status_code=status_code)
