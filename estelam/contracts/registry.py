"""Read the contracts: the agency registry and every landed feed's data contract.

Everything else (connectors, Arrow schemas, GX suites, dbt sources) is built
from what this module returns, so a feed's shape and rules live only in
``contracts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from estelam.core import settings
from estelam.core.domain import MESSAGE_LOG_MODES, AgencyInstance, AgencyKind, MessageLogMode, Protocol, TlsOptions
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import is_iban
from estelam.core.jurisdiction import Profile, current_profile
from estelam.core.kinds import KindMapping, MappingError, check_mapping, load_located, mapping_at, mappings_in

#: Contract column types -> Arrow types. Money and counts are int64, time is UTC.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

#: Contract column types -> DuckDB types (for dbt sources and staging casts).
DUCKDB_TYPES: dict[str, str] = {
    "string": "varchar",
    "int64": "bigint",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp with time zone",
}

#: libyaml's safe loader when present: the registry is read by every task, ten times faster this way.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PII_CLASSES = frozenset({"none", "indirect", "direct"})
#: ``pattern: <name>`` is the jurisdiction profile's regex of that name (``iban``, ``plate``, ``mobile``): read with
#: the profile, it becomes the column's ``regex`` rule, so a Saudi deployment checks Saudi IBANs by the same rule.
RULE_NAMES = frozenset({"regex", "pattern", "allowed", "min", "max", "check_digit"})
CHECK_DIGIT_SCHEMES = frozenset({"person_id", "iran_national_code", "iban"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    pii: str
    description: str
    rules: dict[str, Any] = field(default_factory=dict)

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class FeedContract:
    feed: str
    description: str
    produced_by: str
    grain: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise ContractError(f"feed {self.feed!r} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema every landed batch of this feed has."""
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns],
            metadata={"estelam.feed": self.feed},
        )

    @property
    def personal_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii == "direct"]


def _load_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ContractError(f"contract file not found: {path}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc


def _parse_column(feed: str, raw: dict[str, Any], profile: Profile | None = None) -> Column:
    name = raw.get("name")
    ctype = raw.get("type")
    if not name or ctype not in ARROW_TYPES:
        raise ContractError(f"feed {feed!r}: column {raw!r} needs a name and a type in {sorted(ARROW_TYPES)}")
    pii = raw.get("pii", "none")
    if pii not in PII_CLASSES:
        raise ContractError(f"feed {feed!r}: column {name!r} has pii {pii!r}, expected one of {sorted(PII_CLASSES)}")
    rules = dict(raw.get("rules") or {})
    unknown = set(rules) - RULE_NAMES
    if unknown:
        raise ContractError(f"feed {feed!r}: column {name!r} has unknown rules {sorted(unknown)}")
    if "pattern" in rules:
        if "regex" in rules:
            raise ContractError(f"feed {feed!r}: column {name!r} has both a regex and a pattern")
        try:
            rules["regex"] = (profile or current_profile()).pattern(str(rules["pattern"]))
        except ContractError as exc:
            raise ContractError(f"feed {feed!r}: column {name!r}: {exc}") from None
    scheme = rules.get("check_digit")
    if scheme is not None and scheme not in CHECK_DIGIT_SCHEMES:
        raise ContractError(f"feed {feed!r}: column {name!r} has unknown check_digit {scheme!r}")
    return Column(
        name=name,
        type=ctype,
        nullable=bool(raw.get("nullable", False)),
        pii=pii,
        description=str(raw.get("description", "")),
        rules=rules,
    )


def load_feed(path: Path, profile: Profile | None = None) -> FeedContract:
    """One feed's data contract; its ``pattern`` rules read from ``profile`` (the settings' profile if None)."""
    raw = _load_yaml(path)
    feed = raw.get("feed")
    if feed != path.stem:
        raise ContractError(f"{path}: feed name {feed!r} must equal the file name {path.stem!r}")
    columns = tuple(_parse_column(feed, c, profile) for c in raw.get("columns") or [])
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ContractError(f"feed {feed!r}: duplicate column names")
    primary_key = tuple(raw.get("primary_key") or [])
    missing = set(primary_key) - set(names)
    if not primary_key or missing:
        raise ContractError(f"feed {feed!r}: primary key {primary_key} must name existing columns")
    return FeedContract(
        feed=feed,
        description=str(raw.get("description", "")),
        produced_by=str(raw.get("produced_by", "")),
        grain=str(raw.get("grain", "")),
        primary_key=primary_key,
        columns=columns,
    )


@cache
def _feeds_in(folder: Path, jurisdiction: str) -> dict[str, FeedContract]:
    profile = current_profile()
    return {p.stem: load_feed(p, profile) for p in sorted(folder.glob("*.yaml"))}


def feeds() -> dict[str, FeedContract]:
    """Every feed's data contract, by feed name (its ``pattern`` rules those of the jurisdiction profile)."""
    return _feeds_in(settings.contracts_dir() / "feeds", current_profile().id)


def feed(name: str) -> FeedContract:
    try:
        return feeds()[name]
    except KeyError:
        raise ContractError(f"no data contract for feed {name!r} in {settings.contracts_dir() / 'feeds'}") from None


@dataclass(frozen=True)
class AgencyKindContract:
    kind: AgencyKind
    protocol: Protocol
    contract: str
    answer_feed: str
    #: the mapping file that declares the kind (``contracts/kinds/<kind>.yaml``): every kind is one
    mapping: KindMapping


#: Registry defaults when the file's ``defaults:`` does not say.
DEFAULT_REPLY_DEADLINE_S = 30.0
DEFAULT_CALL_TIMEOUT_S = 5.0
#: How a credentials reference names where the secret lives.
CREDENTIAL_SCHEMES = frozenset({"env", "file"})


@dataclass(frozen=True)
class AgencyRegistry:
    kinds: dict[AgencyKind, AgencyKindContract]
    instances: tuple[AgencyInstance, ...]
    #: Where contract paths are relative to: the folder of the registry file.
    root: Path = field(default_factory=settings.contracts_dir)

    def instance(self, agency_id: str) -> AgencyInstance:
        for inst in self.instances:
            if inst.agency_id == agency_id:
                return inst
        raise ContractError(f"agency {agency_id!r} is not in the agency registry")

    def of_kind(self, kind: AgencyKind) -> list[AgencyInstance]:
        return [i for i in self.instances if i.kind == kind]

    def contract_path(self, instance: AgencyInstance) -> Path:
        """The instance's interface file (the loader resolves it against the registry's folder)."""
        return self.root / instance.contract


def _endpoint_overrides() -> dict[str, str]:
    path = settings.current().endpoints_file
    if not path:
        return {}
    try:
        overrides = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ContractError(f"endpoints file {path}: cannot read endpoints: {exc}") from exc
    if not isinstance(overrides, dict):
        raise ContractError(f"{path}: expected a JSON object agency_id -> URL")
    return {str(k): str(v) for k, v in overrides.items()}


def _message_log_mode(value: object, where: str) -> MessageLogMode:
    for mode in MESSAGE_LOG_MODES:
        if value == mode:
            return mode
    raise ContractError(f"{where}: message_log must be one of {list(MESSAGE_LOG_MODES)}, got {value!r}")


def _positive(spec: dict[str, Any], name: str, default: float | None, where: str) -> float | None:
    value = spec.get(name, default)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{where}: {name} must be a number, got {value!r}") from exc
    if number <= 0:
        raise ContractError(f"{where}: {name} must be positive, got {value!r}")
    return number


def _seconds(spec: dict[str, Any], name: str, default: float, where: str) -> float:
    seconds = _positive(spec, name, default, where)
    return default if seconds is None else seconds


def _credentials_reference(value: Any, where: str, root: Path) -> str | None:
    if value is None:
        return None
    scheme, sep, target = str(value).partition(":")
    if not sep or scheme not in CREDENTIAL_SCHEMES or not target:
        raise ContractError(f"{where}: credentials {value!r} must be 'env:VARIABLE' or 'file:PATH'")
    if scheme == "file":  # relative to the registry file, like contract paths
        return f"file:{(root / target).resolve()}"
    return f"{scheme}:{target}"


def _tls(value: Any, where: str, root: Path) -> TlsOptions | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"ca_file", "client_cert", "client_key"}:
        raise ContractError(f"{where}: tls takes only ca_file, client_cert and client_key, got {value!r}")
    paths = {name: str((root / str(path)).resolve()) for name, path in value.items() if path}
    if "client_key" in paths and "client_cert" not in paths:
        raise ContractError(f"{where}: tls.client_key needs tls.client_cert")
    return TlsOptions(**paths)


def holds_iban_accounts(kc: AgencyKindContract) -> bool:
    """Whether the kind's assets are accounts named by IBAN (the bank's): its mapping says
    ``contributes.assets.iban_accounts``. Its instances name their IBANs' bank code; the court's account is at one."""
    return _iban_accounts(kc.mapping)


def iban_account_holders(instances: Iterable[AgencyInstance]) -> list[AgencyInstance]:
    """The banks among ``instances``, in their order: the instances whose kind holds accounts named by IBAN, as
    each kind's mapping (``AgencyInstance.mapping_file``) says (:func:`holds_iban_accounts`)."""
    return [i for i in instances if i.mapping_file and _iban_accounts(mapping_at(Path(i.mapping_file)))]


def _iban_accounts(mapping: KindMapping) -> bool:
    return mapping.assets is not None and mapping.assets.iban_accounts


def _bank_code(spec: dict[str, Any], kc: AgencyKindContract, where: str) -> str | None:
    code = spec.get("iban_bank_code")
    if code is None:
        return None
    code = str(code)
    digits = current_profile().iban_bank_code_digits  # 3 in Iranian IBANs, 2 in Saudi ones
    if not holds_iban_accounts(kc) or not re.fullmatch(f"[0-9]{{{digits}}}", code):
        raise ContractError(f"{where}: iban_bank_code {code!r} must be {digits} digits "
                            f"({current_profile().id} profile), on a bank (a kind holding IBAN accounts)")
    return code


def registry_path() -> Path:
    """The agency registry of the deployment: the jurisdiction profile's ``agencies`` file in the contracts folder
    (``contracts/agencies.yaml`` for ``ir``, ``contracts/agencies.sa.yaml`` for ``sa``)."""
    return settings.contracts_dir() / current_profile().agencies
def _known_kind(name: object, kinds: dict[AgencyKind, AgencyKindContract]) -> AgencyKind | None:
    try:
        kind = AgencyKind(str(name))
    except ValueError:
        return None
    return kind if kind in kinds else None


def _instance_line(path: Path, agency_id: str) -> int:
    """The line of the ``kind:`` of instance ``agency_id`` in the registry file (for error messages only)."""
    for spec in load_located(path).get("instances") or []:
        if spec.get("agency_id") == agency_id:
            return int(spec.lines.get("kind", spec.line))
    return 0


def mapped_kinds(root: Path) -> dict[AgencyKind, AgencyKindContract]:
    """The kinds declared by mapping files in ``root/kinds``, each checked against its interface and its feed."""
    feeds_dir = root / "feeds"
    found: dict[AgencyKind, AgencyKindContract] = {}
    for kind, mapping in mappings_in(root / "kinds").items():
        contract_path = feeds_dir / f"{mapping.feed}.yaml"
        if not contract_path.is_file():
            raise MappingError(mapping.source, mapping.top_lines.get("feed", 0), "feed",
                               f"no data contract {contract_path}")
        contract = _feeds_in(feeds_dir.resolve(), current_profile().id)[mapping.feed]
        check_mapping(mapping, {c.name: c.type for c in contract.columns},
                      frozenset(c.name for c in contract.columns if c.nullable))
        found[kind] = AgencyKindContract(kind, mapping.protocol, str(mapping.interface), mapping.feed, mapping)
    return found


def _file_signature(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path), stat.st_mtime_ns, stat.st_size


def _registry_inputs(path: Path) -> tuple[object, ...]:
    """What a loaded registry was read from: the registry file, the kinds' and feeds' folders, the endpoints file
    and the profile. Any of them touched (a file's time or size) makes the next load read everything again.
    ``path`` is resolved."""
    root = path.parent
    folders = [root / "kinds", root / "feeds"]
    files = [path, *(f for folder in folders if folder.is_dir() for f in sorted(folder.iterdir()))]
    endpoints = settings.current().endpoints_file
    if endpoints:
        files.append(Path(endpoints))
    return (current_profile().id, *(_file_signature(f) for f in files))


#: The registries loaded so far in this process, by what they were read from (:func:`_registry_inputs`).
_loaded: dict[Path, tuple[tuple[object, ...], AgencyRegistry]] = {}


def load_agency_registry(path: Path | None = None) -> AgencyRegistry:
    """Read the profile's registry (:func:`registry_path`, or ``path``), applying endpoint overrides from the
    environment.

    Contract, credential and TLS file paths are relative to the registry file's folder. A process that loads the
    registry again (each inquiry task, each order) gets the registry it already read, unless one of the files it
    was read from has changed since (a few ``stat`` calls instead of the YAML and the mappings, ~30 ms).
    """
    path = (path or registry_path()).resolve()
    inputs = _registry_inputs(path)
    known = _loaded.get(path)
    if known is not None and known[0] == inputs:
        return known[1]
    registry = _read_agency_registry(path)
    _loaded[path] = (inputs, registry)
    return registry


def _read_agency_registry(path: Path) -> AgencyRegistry:
    root = path.parent
    raw = _load_yaml(path)
    defaults = raw.get("defaults") or {}
    if raw.get("kinds"):  # the section kinds used to be declared in, when some had code of their own
        raise ContractError(f"{path}: agency kinds {sorted(raw['kinds'])} are declared in a kinds section; every "
                            f"kind is a mapping file in {root / 'kinds'} (its interface and its feed beside it)")
    kinds = mapped_kinds(root)
    overrides = _endpoint_overrides()
    instances = []
    seen: set[str] = set()
    bank_codes: dict[str, str] = {}
    for spec in raw.get("instances") or []:
        agency_id = spec.get("agency_id")
        if not agency_id or agency_id in seen:
            raise ContractError(f"{path}: instance {spec!r} needs a unique agency_id")
        seen.add(agency_id)
        where = f"{path}: agency {agency_id!r}"
        found = _known_kind(spec.get("kind"), kinds)
        if found is None:
            raise ContractError(f"{path}:{_instance_line(path, agency_id)}: agency {agency_id!r} has kind "
                                f"{spec.get('kind')!r}, which is not a loaded agency kind (known: "
                                f"{sorted(str(k) for k in kinds)}; a new kind is a file in {root / 'kinds'})")
        kind = found
        bank_code = _bank_code(spec, kinds[kind], where)
        if bank_code is not None:
            if bank_code in bank_codes:  # an IBAN's bank code must say which bank holds the account
                raise ContractError(f"{where}: iban_bank_code {bank_code} is already {bank_codes[bank_code]}'s")
            bank_codes[bank_code] = agency_id
        kc = kinds[kind]
        instances.append(
            AgencyInstance(
                agency_id=agency_id,
                kind=kind,
                name=str(spec.get("name", agency_id)),
                protocol=kc.protocol,
                contract=str(root / str(spec.get("contract", kc.contract))),
                endpoint=overrides.get(agency_id, str(spec.get("endpoint", ""))).rstrip("/"),
                reply_deadline_s=_seconds(spec, "reply_deadline_s",
                                          defaults.get("reply_deadline_s", DEFAULT_REPLY_DEADLINE_S), where),
                timeout_s=_seconds(spec, "timeout_s", defaults.get("timeout_s", DEFAULT_CALL_TIMEOUT_S), where),
                name_fa=str(spec.get("name_fa", "")),
                name_ar=str(spec.get("name_ar", "")),
                rate_limit_per_s=_positive(spec, "rate_limit_per_s", defaults.get("rate_limit_per_s"), where),
                credentials=_credentials_reference(spec.get("credentials"), where, root),
                demo_credentials=bool(spec.get("demo_credentials", defaults.get("demo_credentials", False))),
                tls=_tls(spec.get("tls", defaults.get("tls")), where, root),
                iban_bank_code=bank_code,
                message_log=_message_log_mode(spec.get("message_log", defaults.get("message_log", "full")), where),
                mapping_file=str(kc.mapping.source),
            )
        )
    return AgencyRegistry(kinds=kinds, instances=tuple(instances), root=root)


@dataclass(frozen=True)
class Receiver:
    """An agency the hub pushes a register to (``receivers`` in ``contracts/agencies.yaml``)."""

    agency_id: str
    name: str
    register: str
    contract: Path
    endpoint: str
    credentials: str | None
    timeout_s: float
    demo_credentials: bool
    name_fa: str = ""
    name_ar: str = ""

    def display_name(self, language: str) -> str:
        """The receiver's name in ``language`` (fa, ar, en), as :meth:`AgencyInstance.display_name` gives it."""
        if language == "ar":
            return self.name_ar or self.name
        return self.name_fa or self.name if language == "fa" else self.name


@dataclass(frozen=True)
class CourtAccount:
    """The court's deposit account: where collections land and payouts to creditors leave from."""

    agency_id: str  # the bank instance holding it
    iban: str


def load_court_account(path: Path | None = None) -> CourtAccount | None:
    """The registry's ``court_account``, checked: a bank of the registry and a valid IBAN; None when absent
    (a deployment with no court account pays nothing out: transfers stay collected until one is configured)."""
    path = path or registry_path()
    spec = _load_yaml(path).get("court_account")
    if not spec:
        return None
    where = f"{path}: court_account"
    if not isinstance(spec, dict) or set(spec) != {"agency_id", "iban"}:
        raise ContractError(f"{where} takes exactly agency_id and iban, got {spec!r}")
    registry = load_agency_registry(path)
    instance = registry.instance(str(spec["agency_id"]))
    if not holds_iban_accounts(registry.kinds[instance.kind]):
        raise ContractError(f"{where}: {instance.agency_id!r} is a {instance.kind}, not a bank")
    iban = str(spec["iban"])
    if not is_iban(iban):
        raise ContractError(f"{where}: iban {iban!r} fails its check digits")
    profile = current_profile()
    if "iban" in profile.patterns and not re.fullmatch(profile.pattern("iban"), iban):
        raise ContractError(f"{where}: iban {iban!r} is not an IBAN of the {profile.id} profile "
                            f"({profile.pattern('iban')})")
    return CourtAccount(instance.agency_id, iban)


def load_receivers(path: Path | None = None) -> list[Receiver]:
    """The registry's receivers, endpoint overrides applied; contract paths resolved against its folder."""
    path = path or registry_path()
    root = path.resolve().parent
    raw = _load_yaml(path)
    defaults = raw.get("defaults") or {}
    overrides = _endpoint_overrides()
    receivers: list[Receiver] = []
    for spec in raw.get("receivers") or []:
        agency_id = spec.get("agency_id")
        where = f"{path}: receiver {agency_id!r}"
        if not agency_id or any(r.agency_id == agency_id for r in receivers):
            raise ContractError(f"{where} needs a unique agency_id")
        if not spec.get("register") or not spec.get("contract"):
            raise ContractError(f"{where} needs a register and a contract")
        receivers.append(Receiver(
            agency_id=str(agency_id), name=str(spec.get("name", agency_id)), register=str(spec["register"]),
            contract=root / str(spec["contract"]),
            endpoint=overrides.get(agency_id, str(spec.get("endpoint", ""))).rstrip("/"),
            credentials=str(spec["credentials"]) if spec.get("credentials") else None,
            timeout_s=_seconds(spec, "timeout_s", defaults.get("timeout_s", DEFAULT_CALL_TIMEOUT_S), where),
            demo_credentials=bool(spec.get("demo_credentials", defaults.get("demo_credentials", False))),
            name_fa=str(spec.get("name_fa", "")), name_ar=str(spec.get("name_ar", ""))))
    return receivers
