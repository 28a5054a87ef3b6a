# GENERATED from contracts/feeds/*.yaml by estelam.contracts.row_types.write_rows(): do not edit by hand.
# Regenerate: .venv/bin/python -c "from estelam.contracts.row_types import write_rows; write_rows()"
# tests/contracts/test_rows.py fails when this file and the contracts disagree.
"""Typed rows of every landed feed, one TypedDict per feed contract (generated).

``<Feed>Row`` is a row as its producer writes it; ``Landed<Feed>Row`` is the same row read back from
the landing zone (``estelam.ingest.landing.read_landed``), with the lineage columns and the partition.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, TypedDict

#: Every landed feed, by name.
FeedName = Literal[
    "alerts",
    "bank_accounts",
    "case_directives",
    "case_events",
    "civil_records",
    "debtor_notifications",
    "employments",
    "freeze_acknowledgements",
    "freeze_orders",
    "inquiries",
    "message_log",
    "notification_deliveries",
    "properties",
    "register_pushes",
    "returned_cheques",
    "security_holdings",
    "vat_registrations",
    "vehicles",
]


class AlertsRow(TypedDict):
    """alerts: Alerts for operators and courts: a failed DAG task, an agency past its reply deadline or with its
    circuit breaker open, money frozen beyond a debt at a cycle end, an audit verification failure, an anomaly.
    The alert id is its deduplication key: an alert raised again is neither recorded nor delivered again. One row
    per state of its delivery over one channel (e-mail to the operators, a JSON POST to the webhook; log when none
    is configured).
    """

    alert_id: str
    """The deduplication key: the kind and what it is about (kind:agency:round, kind:case:…)."""
    kind: str
    """What happened."""
    severity: str
    """How urgent."""
    subject: str
    """One line for a person."""
    detail: str
    """What was found (names no person; an actor's account for an anomaly)."""
    case_id: str | None
    """The case it concerns, if one; the cases, comma-separated, when it concerns several (a debtor's open cases)."""
    agency_id: str | None
    """The agency it concerns"""
    raised_at: datetime
    """When it was first raised (UTC)."""
    channel: str
    """How it was delivered."""
    state: str
    """What the channel did with it."""
    attempt: int
    """Attempts made so far (0 when queued)."""
    reason: str | None
    """Why it failed"""
    state_at: datetime
    """When the state was reached (UTC)."""


class LandedAlertsRow(AlertsRow):
    """A ``alerts`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class BankAccountsRow(TypedDict):
    """bank_accounts: Bank accounts found by bank inquiries, with their balances."""

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The bank."""
    person_id: str
    """Account holder's national code or national id."""
    holder_name: str
    """Holder's name as the bank spells it."""
    iban: str
    """IBAN (ISO 13616), of the jurisdiction profile's form (pattern iban: IR + 24 digits, SA + 22)."""
    account_kind: str
    """Salary and pension accounts are protected from freezing."""
    balance_rial: int
    """Available balance in rials."""
    responded_at: datetime
    """When the bank answered."""


class LandedBankAccountsRow(BankAccountsRow):
    """A ``bank_accounts`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class CaseDirectivesRow(TypedDict):
    """case_directives: A judge's directives on a case, from the court system's drop or a judge through the API:
    confidential (orders and reports visible to the named users only) or lifted; collect (transfer frozen money,
    an amount or all, to the court's account, then pay it out to the creditor); restrict a vehicle (transfer,
    circulation or seizure) or lift its restriction; cancel an order in flight; release an asset (an amount or
    all); re-inquire the debtor now; re-inquire with priority the debtors of the case not yet covered. The latest
    of each kind holds.
    """

    directive_id: str
    """The directive's id."""
    case_id: str
    """Enforcement case (file) number."""
    directive: str
    """What the judge directed."""
    authorised_users: str | None
    """For confidential, the user ids allowed to see the case, comma-separated."""
    amount_rial: int | None
    """For collect and release, the amount in rials; empty for all."""
    restriction_type: str | None
    """For restrict_vehicle, what the restriction forbids."""
    order_id: str | None
    """For cancel_order, the order to cancel."""
    asset_ref: str | None
    """For restrict_vehicle and lift_vehicle_restriction the plate; for release the asset (empty for every asset of
    the case).
    """
    note: str | None
    """The judge's note (the decision's reference), at most 500 characters."""
    source: str | None
    """Who produced the row (court drop, api, portal)."""
    issued_by: str
    """The judge who directed it."""
    issued_at: datetime
    """When (UTC)."""


class LandedCaseDirectivesRow(CaseDirectivesRow):
    """A ``case_directives`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class CaseEventsRow(TypedDict):
    """case_events: Steps in the life of an enforcement case, as sent by the court system."""

    event_id: str
    """The court system's id of the event."""
    case_id: str
    """Enforcement case (file) number."""
    event_type: str
    """Which step (payment_proved - the debtor proved payment made outside the court; absconded and apprehended - for
    the register of fugitive convicts).
    """
    occurred_at: datetime
    """When the step happened (UTC)."""
    court_code: str
    """The enforcement branch that owns the case."""
    debtor_id: str
    """The debtor's id: bare as the court writes it (read by the deployment's jurisdiction profile: an Iranian
    national code or national id, a Saudi national id, iqama or unified number), or written with its scheme (sa-
    nid:1100000007).
    """
    debtor_kind: str
    """natural or legal person."""
    debtor_name: str
    """The debtor's name as the court spells it."""
    creditor_name: str
    """The creditor's name."""
    amount_rial: int | None
    """For filed the amount owed; for paid the amount paid; otherwise empty."""
    channel: str | None
    """For notified"""
    automated: bool
    """Whether the step ran without human intervention."""
    debtor_email: str | None
    """For filed, the debtor's e-mail address registered for electronic notices (empty when none)."""
    debtor_mobile: str | None
    """For filed, the debtor's mobile number registered for SMS notices (the profile's pattern mobile: 09 and nine
    digits in Iran, 05 and eight in Saudi Arabia; empty when none).
    """
    debtor_language: str | None
    """For filed, the language the debtor reads notices in (Persian when empty)."""
    creditor_iban: str | None
    """For filed, the creditor's bank account (IBAN) that collected money is paid out to (empty: paid out once the
    court sends one).
    """
    decision_number: str | None
    """For filed and freeze_ordered, the number of the enforcement decision (اجراییه) the step rests on."""
    judge_name: str | None
    """For filed and freeze_ordered"""
    creditor_email: str | None
    """For filed, the creditor's e-mail address for notices of collection and payout (empty when none)."""
    creditor_mobile: str | None
    """For filed, the creditor's mobile number for SMS notices (the profile's pattern mobile: 09 and nine digits in
    Iran, 05 and eight in Saudi Arabia; empty when none).
    """
    creditor_language: str | None
    """For filed, the language the creditor reads notices in (Persian when empty)."""


class LandedCaseEventsRow(CaseEventsRow):
    """A ``case_events`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class CivilRecordsRow(TypedDict):
    """civil_records: A person's record at the civil registry (alive or deceased, current registered address, and the
    identifiers the person is known by).
    """

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The registry."""
    person_id: str
    """National code or national id."""
    full_name: str
    """Name as the registry spells it."""
    vital_status: str
    """alive or deceased."""
    death_date: date | None
    """Date of death (deceased only)."""
    address: str
    """Current registered address."""
    postal_code: str
    """Ten-digit postal code."""
    known_ids: str | None
    """Other identifiers the person is known by, comma separated."""
    responded_at: datetime
    """When the registry answered."""


class LandedCivilRecordsRow(CivilRecordsRow):
    """A ``civil_records`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class DebtorNotificationsRow(TypedDict):
    """debtor_notifications: What the debtor is told about every acknowledged freeze, release and transfer of their
    assets: what, where, how much, why and under which case; and what the creditor is told when collected money is
    paid out to them (recipient creditor). Written by the reconciliation cycle; delivered by e-mail, SMS or the
    outbox.
    """

    notification_id: str
    """The order acknowledged (one notification per order)."""
    case_id: str
    """The case the order served."""
    person_id: str
    """The debtor (notified"""
    action: str
    """What was done (payout - collected money paid to the creditor; cancel - a freeze the judge cancelled, undone)."""
    agency_id: str
    """Where"""
    asset_kind: str
    """The kind of asset."""
    asset_ref: str
    """Where"""
    amount_rial: int
    """How much was frozen"""
    frozen_total_rial: int
    """What stays frozen on the asset for the case afterwards."""
    reason_code: str
    """Why."""
    message: str
    """The sentence the debtor reads (Persian)."""
    occurred_at: datetime
    """When the agency acted."""
    confidential: bool
    """The case is confidential; the serving layer shows it to its named users only."""
    recipient: str | None
    """Who is told: the debtor (empty in rows written before creditors were told) or the creditor (the case's
    creditor, by the contact the court registered).
    """


class LandedDebtorNotificationsRow(DebtorNotificationsRow):
    """A ``debtor_notifications`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class EmploymentsRow(TypedDict):
    """employments: A person's current employments at the social security organization, with the monthly salary and
    the part of it a court may garnish.
    """

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The organization."""
    person_id: str
    """The insured person."""
    employer_id: str
    """The employer's workshop code."""
    employer_name: str
    """The employer."""
    monthly_salary_rial: int
    """Monthly salary in rials."""
    garnishable_rial: int
    """The part of the salary a court may garnish."""
    protected_rial: int
    """The part the law protects."""
    employed_since: date
    """Start of the employment."""
    responded_at: datetime
    """When the organization answered."""


class LandedEmploymentsRow(EmploymentsRow):
    """A ``employments`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class FreezeAcknowledgementsRow(TypedDict):
    """freeze_acknowledgements: Agencies' acknowledgements of freeze, release and transfer orders."""

    order_id: str
    """The order acknowledged."""
    order_kind: str | None
    """The kind of the order acknowledged (as the hub sent it)."""
    agency_id: str
    """The agency that acknowledged."""
    case_id: str
    """The case of the order."""
    asset_ref: str
    """The asset."""
    status: str
    """Outcome."""
    acknowledged_amount_rial: int
    """Amount this order actually blocked"""
    frozen_total_rial: int
    """What the agency holds frozen for this case and asset after the order."""
    acknowledged_at: datetime
    """When the agency acknowledged."""
    reason: str | None
    """Why refused or partial."""


class LandedFreezeAcknowledgementsRow(FreezeAcknowledgementsRow):
    """A ``freeze_acknowledgements`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class FreezeOrdersRow(TypedDict):
    """freeze_orders: Every sending of a freeze, release or transfer order by the hub, with its outcome. An order is
    sent again, under the same idempotency key, in every cycle until its agency acknowledges it; each sending is
    one row, so the log shows when it was first issued, its deadline and whether it went late.
    """

    order_id: str
    """Idempotency key derived from case"""
    cycle_id: str
    """The reconciliation cycle that sent it this time."""
    kind: str
    """freeze, release, transfer (frozen money to the court's account), payout (collected money from the court's
    account to the creditor's account: asset_ref is the creditor's IBAN, agency_id the bank of the court's
    account) or cancel (of the order in cancels_order_id).
    """
    case_id: str
    """The case the order serves."""
    person_id: str
    """The debtor who owns the asset."""
    agency_id: str
    """The agency told."""
    asset_kind: str
    """The kind of asset (a payout's is the creditor's bank_account)."""
    asset_ref: str
    """The asset at that agency (IBAN"""
    amount_rial: int
    """Amount to block"""
    restriction_type: str | None
    """Vehicle freezes only"""
    version: int
    """Acknowledgements already received for this case and asset when the order was issued."""
    reason_code: str
    """Why the order was issued."""
    confidential: bool
    """The case is confidential (visible to its named users only)."""
    first_issued_at: datetime
    """When the hub first issued this order."""
    deadline_at: datetime
    """First issue plus the agency's reply deadline."""
    issued_at: datetime
    """When the hub sent it this time (the cycle's instant)."""
    delivery: str
    """Whether the agency acknowledged this sending (withheld - not sent"""
    status: str
    """acknowledged"""
    reason: str | None
    """Why delivery failed."""
    message_id: str | None
    """The message (in the message log) this sending travelled in; empty when nothing reached the wire and in logs
    written before the message log.
    """
    cancels_order_id: str | None
    """Cancel orders only: the order the judge cancelled (undone by the agency if applied, refused if it arrives
    later).
    """


class LandedFreezeOrdersRow(FreezeOrdersRow):
    """A ``freeze_orders`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class InquiriesRow(TypedDict):
    """inquiries: The inquiry log. One row per question the hub asked one agency about one person, with its final
    state.
    """

    inquiry_id: str
    """Deterministic id of the inquiry (run"""
    run_id: str
    """The inquiry round that sent it."""
    agency_id: str
    """Agency instance asked."""
    agency_kind: str
    """Kind of agency: a kind of contracts/agencies.yaml or contracts/kinds/."""
    person_id: str
    """Who was asked about."""
    case_id: str | None
    """The case that needed the inquiry."""
    requested_at: datetime
    """When the request left the hub."""
    responded_at: datetime | None
    """When the answer arrived; empty if none did."""
    latency_ms: int | None
    """Response time in milliseconds."""
    status: str
    """Final state."""
    reason: str | None
    """Why it failed, missed its deadline or was rejected."""
    assets_found: int
    """Assets in the answer (valid or not)."""
    attempts: int | None
    """Calls the hub made for this inquiry, retries included (0: the circuit was open or the deadline had passed;
    empty in logs written before it was recorded).
    """
    message_id: str | None
    """The message (in the message log) the answer or failure travelled in; empty when nothing was sent (circuit
    open, deadline passed) and in logs written before the message log.
    """


class LandedInquiriesRow(InquiriesRow):
    """A ``inquiries`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class MessageLogRow(TypedDict):
    """message_log: The index of the message log: every message the hub exchanged with an agency (inquiries and their
    answers, single and batch; freeze, release and transfer orders and their acknowledgements; inbound
    acknowledgements over SOAP and REST), with its time, size and the SHA-256 of its exact bytes. The bodies stay
    in the message log (compressed, readable only by the roles that may see them); this index holds none. Exported
    from the hash-chained log before each warehouse build, so every landed inquiry and order row can be traced to
    its message by message_id.
    """

    seq: int
    """Position in the hash-chained message log."""
    message_id: str
    """One id per exchange (attempt); the request and its answer share it."""
    direction: str
    """outbound (the hub's request or order) or inbound (the agency's answer)."""
    agency_id: str
    """The agency the message went to or came from."""
    operation: str
    """The operation of the agency's contract (or the hub's"""
    request_id: str | None
    """The request or order id the message carried."""
    message_at: datetime
    """When the message left or arrived (UTC)."""
    size_bytes: int
    """Bytes on the wire."""
    sha256: str
    """SHA-256 of the exact bytes on the wire."""
    body_kept: bool
    """Whether the body is in the message log (false: the agency's registry entry says message_log: metadata)."""
    http_status: int | None
    """The HTTP status of an answer."""
    error: str | None
    """Why no answer was read (timeout"""
    purpose: str
    """The declared purpose (e.g. enforcement of case N)."""
    case_ids: str | None
    """The cases the exchange served"""
    persons: int
    """How many persons the exchange was about."""


class LandedMessageLogRow(MessageLogRow):
    """A ``message_log`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class NotificationDeliveriesRow(TypedDict):
    """notification_deliveries: How each debtor notification reached the debtor: one row per state of its delivery
    over one channel (queued before the send, then sent, delivered or failed with a reason). The idempotency key
    (notification id and channel) is what a channel is given so a notification is never sent twice over it. No raw
    account or asset reference: the recipient is masked and the text is never stored here.
    """

    notification_id: str
    """The notification delivered (debtor_notifications)."""
    channel: str
    """How it was sent (outbox is the file fallback with no channel configured)."""
    recipient_masked: str
    """The address or number, masked (a***@example.ir, ******1234)."""
    language: str
    """The language of the text sent."""
    state: str
    """What the channel did with it."""
    attempt: int
    """Attempts made so far (0 when queued)."""
    reason: str | None
    """Why it failed (the last error)"""
    provider_message_id: str | None
    """The channel's id of the message (SMS gateway id"""
    state_at: datetime
    """When the state was reached (UTC)."""
    idempotency_key: str
    """notification_id and channel; the key a channel is given."""


class LandedNotificationDeliveriesRow(NotificationDeliveriesRow):
    """A ``notification_deliveries`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class PropertiesRow(TypedDict):
    """properties: Real estate registered to a person at the land registry."""

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The land registry."""
    person_id: str
    """Owner's national code or national id."""
    owner_name: str
    """Owner's name as the registry spells it."""
    registry_section: str
    """Registry section (district)."""
    main_plate: int
    """Main registry plate."""
    sub_plate: int
    """Sub plate within the main plate."""
    share_percent: int
    """Owner's share of the property in percent."""
    value_rial: int
    """Appraised value of the owner's share in rials."""
    responded_at: datetime
    """When the registry answered."""


class LandedPropertiesRow(PropertiesRow):
    """A ``properties`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class RegisterPushesRow(TypedDict):
    """register_pushes: Every push of a register's change to the agency that receives it (the fugitive-convicts
    register to the police, the credit-scoring feed to the central bank) and how it ended: acknowledged by the
    agency (with its receipt) or failed with the reason. The reconciler's known state: what each agency
    acknowledged holding. A failed push is sent again, under the same idempotency key, on the next run. Written by
    estelam.registers.push.
    """

    push_id: str
    """The idempotency key: the same change to the same agency always has the same key."""
    receiver_id: str
    """The agency pushed to (contracts/agencies.yaml receivers)."""
    register: str
    """The register the change comes from."""
    person_id: str
    """The person whose entry changed."""
    change: str
    """What changed."""
    reason: str | None
    """Why a person left the register (apprehended, paid, expired, delisted); empty otherwise."""
    fingerprint: str
    """SHA-256 of the entry as pushed (empty entry for a removal)."""
    state: str
    """How the push ended."""
    failure: str | None
    """Why the push failed (unreachable"""
    receipt_id: str | None
    """The agency's receipt of an acknowledged push."""
    attempted_at: datetime
    """When the hub sent it."""
    acknowledged_at: datetime | None
    """When the agency received it (its acknowledgement)."""
    message_id: str | None
    """The message (in the message log) the push travelled in; empty when nothing reached the wire."""


class LandedRegisterPushesRow(RegisterPushesRow):
    """A ``register_pushes`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class ReturnedChequesRow(TypedDict):
    """returned_cheques: Returned (bounced) cheques registered on a person's name at the central bank."""

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The registry."""
    person_id: str
    """The cheque's drawer."""
    sayad_id: str
    """The cheque's 16-digit Sayad number."""
    bank_name: str
    """The drawee bank."""
    amount_rial: int
    """Amount in rials."""
    returned_on: date
    """When the cheque was returned."""
    reason: str
    """Why it was returned."""
    responded_at: datetime
    """When the registry answered."""


class LandedReturnedChequesRow(ReturnedChequesRow):
    """A ``returned_cheques`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class SecurityHoldingsRow(TypedDict):
    """security_holdings: Listed securities held by a person at the central securities depository."""

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The depository."""
    person_id: str
    """Holder's national code or national id."""
    holder_name: str
    """Holder's name as the depository spells it."""
    symbol: str
    """Ticker symbol."""
    quantity: int
    """Number of shares."""
    unit_price_rial: int
    """Last price per share in rials."""
    value_rial: int
    """quantity times unit price."""
    responded_at: datetime
    """When the depository answered."""


class LandedSecurityHoldingsRow(SecurityHoldingsRow):
    """A ``security_holdings`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class VatRegistrationsRow(TypedDict):
    """vat_registrations: A VAT registration the EU's VIES service confirmed for a person's number, with the trader's
    registered name and address.
    """

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The service."""
    person_id: str
    """The number asked about (the hub's person id)."""
    country_code: str
    """The member state of the registration."""
    trader_name: str | None
    """The registered trader's name (not every member state discloses it)."""
    trader_address: str | None
    """The registered address (not every member state discloses it)."""
    responded_at: datetime
    """When the service answered (its requestDate is a date; midnight UTC)."""


class LandedVatRegistrationsRow(VatRegistrationsRow):
    """A ``vat_registrations`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


class VehiclesRow(TypedDict):
    """vehicles: Vehicles registered to a person at the police vehicle registry."""

    inquiry_id: str
    """The inquiry that found it."""
    agency_id: str
    """The registry."""
    person_id: str
    """Owner's national code or national id."""
    owner_name: str
    """Owner's name as the registry spells it."""
    plate: str
    """The plate in the jurisdiction profile's form (pattern plate): Iranian two digits, a letter, three digits,
    dash, two-digit region; Saudi one to four digits and three letters, Arabic or Latin.
    """
    model: str
    """Make and model."""
    value_rial: int
    """Appraised value in rials."""
    responded_at: datetime
    """When the registry answered."""


class LandedVehiclesRow(VehiclesRow):
    """A ``vehicles`` row read from the landing zone."""

    _batch_id: str
    """Lineage: the landed batch (file) this row came from."""
    _landed_at: datetime
    """Lineage: when the batch was landed (UTC)."""
    dt: date
    """The landing partition (the batch's dt=YYYY-MM-DD folder)."""


__all__ = [
    "AlertsRow",
    "BankAccountsRow",
    "CaseDirectivesRow",
    "CaseEventsRow",
    "CivilRecordsRow",
    "DebtorNotificationsRow",
    "EmploymentsRow",
    "FeedName",
    "FreezeAcknowledgementsRow",
    "FreezeOrdersRow",
    "InquiriesRow",
    "LandedAlertsRow",
    "LandedBankAccountsRow",
    "LandedCaseDirectivesRow",
    "LandedCaseEventsRow",
    "LandedCivilRecordsRow",
    "LandedDebtorNotificationsRow",
    "LandedEmploymentsRow",
    "LandedFreezeAcknowledgementsRow",
    "LandedFreezeOrdersRow",
    "LandedInquiriesRow",
    "LandedMessageLogRow",
    "LandedNotificationDeliveriesRow",
    "LandedPropertiesRow",
    "LandedRegisterPushesRow",
    "LandedReturnedChequesRow",
    "LandedSecurityHoldingsRow",
    "LandedVatRegistrationsRow",
    "LandedVehiclesRow",
    "MessageLogRow",
    "NotificationDeliveriesRow",
    "PropertiesRow",
    "RegisterPushesRow",
    "ReturnedChequesRow",
    "SecurityHoldingsRow",
    "VatRegistrationsRow",
    "VehiclesRow",
]
