"""Start every agency instance of the registry as a loopback simulator, and stop them all.

The agencies the hub pushes registers to (the registry's ``receivers``: the police, the central bank) run
beside them, each keeping what it received.

The fleet writes an endpoints file (agency_id -> URL) so that connectors in the
same process, or in Airflow tasks, find the simulators through the usual
``ESTELAM_ENDPOINTS_FILE`` override of ``contracts/agencies.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from connectors.credentials import resolve_bearer_secret, resolve_credentials
from estelam.contracts.registry import AgencyRegistry, load_receivers
from estelam.core.exceptions import ContractError
from simulators.agency_state import AgencyState
from simulators.faults import FaultProfile, FaultyApplication, with_faults
from simulators.register_receiver import RegisterReceiver
from simulators.server import LOOPBACK, RunningServer
from simulators.world import World


@dataclass
class Fleet:
    """Running simulators, one per agency instance."""

    states: dict[str, AgencyState] = field(default_factory=dict)
    servers: dict[str, RunningServer] = field(default_factory=dict)
    faulty: dict[str, FaultyApplication] = field(default_factory=dict)  # instances with injected faults
    receivers: dict[str, RegisterReceiver] = field(default_factory=dict)  # agencies the hub pushes registers to

    @classmethod
    def start(cls, registry: AgencyRegistry, world: World, host: str = LOOPBACK, *,
              fixed_ports: bool = False, faults: Mapping[str, FaultProfile] | None = None) -> Fleet:
        """One simulator per instance: on ephemeral ports, or on the ports of the registry's endpoints.

        ``faults`` (agency_id -> profile) makes those instances misbehave; see ``simulators.faults``.
        """
        from estelam.core.kinds import mapping_at
        from simulators.mapped_app import MappedSoapAgency, mapped_application

        fleet = cls()
        try:
            for instance in registry.instances:
                if not instance.mapping_file:
                    raise ContractError(f"agency {instance.agency_id!r}: its kind ({instance.kind}) is declared by no "
                                        f"mapping file (contracts/kinds/{instance.kind}.yaml); every simulator is "
                                        "generated from its kind's mapping")
                # the ledger starts empty: it learns each person's assets as the simulator draws them from the world
                state = AgencyState(instance, [])
                credentials = resolve_credentials(instance)  # the agency expects what the hub will show it
                app = mapped_application(state, mapping_at(Path(instance.mapping_file)), world, credentials)
                soap = app if isinstance(app, MappedSoapAgency) else None
                app = with_faults(app, (faults or {}).get(instance.agency_id), protocol=instance.protocol,
                                  agency_id=instance.agency_id)
                if isinstance(app, FaultyApplication):
                    fleet.faulty[instance.agency_id] = app
                fleet.states[instance.agency_id] = state
                port = (urlsplit(instance.endpoint).port or 0) if fixed_ports else 0
                fleet.servers[instance.agency_id] = RunningServer(app, host=host, port=port)
                if soap is not None and not fixed_ports:  # the served WSDL names where it really listens
                    soap.public_url = fleet.servers[instance.agency_id].url
            for receiver in load_receivers():
                agency = RegisterReceiver(receiver.contract, token=resolve_bearer_secret(
                    receiver.agency_id, receiver.credentials, demo_allowed=receiver.demo_credentials))
                fleet.receivers[receiver.agency_id] = agency
                port = (urlsplit(receiver.endpoint).port or 0) if fixed_ports else 0
                fleet.servers[receiver.agency_id] = RunningServer(agency, host=host, port=port)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    @property
    def endpoints(self) -> dict[str, str]:
        return {agency_id: server.url for agency_id, server in self.servers.items()}

    def write_endpoints(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.endpoints, indent=2), encoding="utf-8")
        return path

    def held_freezes(self) -> dict[tuple[str, str, str], int]:
        """What every agency actually holds frozen: (agency_id, case_id, asset_ref) -> rials."""
        return {
            (agency_id, case_id, ref): amount
            for agency_id, state in self.states.items()
            for (case_id, ref), amount in state.held_freezes().items()
        }

    def collected(self) -> dict[str, int]:
        """What the agencies transferred to the court's account, by case (rials)."""
        total: dict[str, int] = {}
        for state in self.states.values():
            for case_id, amount in state.collections().items():
                total[case_id] = total.get(case_id, 0) + amount
        return total

    def payouts(self) -> dict[tuple[str, str, str], int]:
        """What every bank paid creditors from the court's account: (agency_id, case_id, IBAN) -> rials."""
        return {(agency_id, case_id, iban): amount for agency_id, state in self.states.items()
                for (case_id, iban), amount in state.payouts().items()}

    def stop(self) -> None:
        for app in self.faulty.values():
            app.stop()  # answer held requests now, so stopping does not wait for them
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
