"""Signed checkpoints: what a log held at a moment, signed with the hub's Ed25519 key.

A checkpoint says "log L had N entries and its N-th entry's hash was H at time T", signed over the
canonical JSON of those four fields. The hub signs one after every write, keeps them apart from the
log (their own file or table) and serves the latest with its public key (``GET /audit/checkpoint``).
An outside party that keeps the checkpoints it was served can later prove that the log was cut,
rewritten or extended behind their back: see :mod:`estelam.access.chain` for the verification steps.

The signing key is 32 random bytes (the Ed25519 seed), base64 in the file ``ESTELAM_SIGNING_KEY_FILE``
or in ``ESTELAM_SIGNING_KEY`` itself. The embedded default creates ``<data>/keys/record-signing.key``
(mode 0600) on first use; a deployment mounts its own key as a secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from estelam.core import settings
from estelam.core.exceptions import RecordError

ALGORITHM = "Ed25519"
KEY_FILE = Path("keys") / "record-signing.key"


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of a log's length and head."""

    log: str
    entries: int
    head: str
    at: str
    key_id: str
    signature: str  # base64 of the Ed25519 signature over :meth:`signed_bytes`

    def signed_bytes(self) -> bytes:
        return canonical_checkpoint(self.log, self.entries, self.head, self.at)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> Checkpoint:
        return cls(log=str(fields["log"]), entries=int(fields["entries"]), head=str(fields["head"]),
                   at=str(fields["at"]), key_id=str(fields["key_id"]), signature=str(fields["signature"]))


def canonical_checkpoint(log: str, entries: int, head: str, at: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return json.dumps({"at": at, "entries": entries, "head": head, "log": log},
                      sort_keys=True, separators=(",", ":")).encode()


def public_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 over its raw bytes."""
    return hashlib.sha256(public_raw(public_key)).hexdigest()[:16]


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key given as base64 of its 32 raw bytes (what ``GET /audit/checkpoint`` serves)."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise RecordError(f"not an Ed25519 public key (base64 of 32 bytes): {exc}") from exc


class Signer:
    """The hub's checkpoint key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @property
    def public_key_text(self) -> str:
        return base64.b64encode(public_raw(self.public_key)).decode()

    def sign(self, log: str, entries: int, head: str, at: str) -> Checkpoint:
        signature = self._key.sign(canonical_checkpoint(log, entries, head, at))
        return Checkpoint(log, entries, head, at, self.key_id, base64.b64encode(signature).decode())


def signature_holds(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """Whether ``checkpoint`` was signed by ``public_key``'s private key and is unchanged since."""
    if checkpoint.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True


_signer_lock = threading.Lock()
_signers: dict[str, Signer] = {}


def _key_from_text(text: str, where: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise RecordError(f"{where}: not an Ed25519 key (base64 of a 32-byte seed): {exc}") from exc


def signer() -> Signer:
    """The configured signing key (created under the data directory in the embedded default)."""
    config = settings.current()
    if config.signing_key:
        cache_key = "env:" + hashlib.sha256(config.signing_key.encode()).hexdigest()
    else:
        path = (config.signing_key_file or settings.data_dir() / KEY_FILE).resolve()
        cache_key = f"file:{path}"
    with _signer_lock:
        cached = _signers.get(cache_key)
        if cached is None:
            if config.signing_key:
                private_key = _key_from_text(config.signing_key, "ESTELAM_SIGNING_KEY")
            else:
                private_key = _load_or_create(path, create=config.signing_key_file is None)
            cached = _signers[cache_key] = Signer(private_key)
        return cached


def _load_or_create(path: Path, *, create: bool) -> Ed25519PrivateKey:
    if not path.is_file():
        if not create:
            raise RecordError(f"signing key file {path} does not exist (ESTELAM_SIGNING_KEY_FILE)")
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole under a temporary name, then linked into place: a racing process sees no key or a whole one
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            temporary.unlink()
    return _key_from_text(path.read_text(), str(path))


__all__ = [
    "ALGORITHM",
    "Checkpoint",
    "Signer",
    "canonical_checkpoint",
    "key_id",
    "public_key_from_text",
    "public_raw",
    "signature_holds",
    "signer",
]
