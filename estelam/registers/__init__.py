"""The registers the hub provides to partner agencies: the register of fugitive convicts (read for the lookup
service) and the pushes of registers to the agencies that receive them (the police, the central bank),
acknowledged and reconciled like freezes.

May import: core, contracts, connectors, ingest, access, warehouse (reads).
"""
