"""Messages that leave the hub for people: debtor notifications over e-mail and SMS (``notify``), operators'
alerts over e-mail and a webhook (``alerts``), the channels they share (``channels``) and the texts
(``texts``: the debtor's language, the agency's name, a masked account).

Every delivery is a landed state (``notification_deliveries``, ``alerts``), keyed by an idempotency key so a
retry or a rerun never sends the same message twice over a channel.

May import: core, contracts, connectors (the SMS gateway's client), ingest (landing), access.
"""
