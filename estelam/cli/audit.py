"""``estelam audit``: verify the audit log and the message log against their signed checkpoints; read who
looked at whom; show the latest checkpoint an outside party should keep."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Annotated

import typer

from estelam.access.audit import AuditLog
from estelam.access.chain import Verification
from estelam.access.checkpoints import Checkpoint, public_key_from_text, signer
from estelam.access.message_log import MessageLog
from estelam.core.exceptions import RecordError
from estelam.outputs import alerts

audit_app = typer.Typer(
    help="The audit and message logs: verify their chains and signatures, list who looked at a person, "
         "flag unusual lookups, show the latest signed checkpoint.",
    epilog="Example: estelam audit verify   (exits 1 naming what broke)",
    no_args_is_help=True,
)

LogOption = Annotated[
    Path | None, typer.Option("--log", help="audit log file (default: the configured store)", dir_okay=False),
]
HeldOption = Annotated[
    list[Path] | None,
    typer.Option("--checkpoint", help="a checkpoint you kept (JSON, as GET /audit/checkpoint served it); repeatable",
                 exists=True, dir_okay=False),
]
PublicKeyOption = Annotated[
    str | None,
    typer.Option("--public-key", help="the hub's public key (base64) you hold; default: the configured key"),
]


def _held(paths: list[Path] | None) -> list[Checkpoint]:
    held: list[Checkpoint] = []
    for path in paths or []:
        document = json.loads(path.read_text())
        held.append(Checkpoint.from_dict(document.get("checkpoint", document)))
    return held


def _report(name: str, report: Verification) -> None:
    for problem in report.problems:
        typer.echo(f"{name}: {problem}", err=True)
    latest = report.latest_checkpoint
    signed = f"last signed {latest.entries} entries at {latest.at}" if latest else "no signed checkpoint"
    typer.echo(f"{name} ({report.location}): {report.entries} entries, {signed}: "
               f"{'intact' if report.ok else 'BROKEN'}")


@audit_app.command(epilog="Example: estelam audit verify --checkpoint kept.json --public-key BASE64")
def verify(log: LogOption = None, checkpoint: HeldOption = None, public_key: PublicKeyOption = None,
           messages: Annotated[bool, typer.Option(help="the message log too (bodies re-hashed)")] = True) -> None:
    """Check every entry, link and hash, every checkpoint's signature, and the entries against the checkpoints:
    exit 1 naming an edited, removed, inserted or unsigned entry, a cut tail, a missing log or a changed body."""
    try:
        key = public_key_from_text(public_key) if public_key else signer().public_key
        held = _held(checkpoint)
        reports = [("audit log", AuditLog(log).verify(public_key=key, held=[c for c in held if c.log == "audit"]))]
        if messages and log is None:
            reports.append(("message log", MessageLog().verify(public_key=key,
                                                               held=[c for c in held if c.log == "messages"])))
    except RecordError as exc:
        typer.echo(f"cannot verify: {exc}", err=True)
        raise typer.Exit(2) from exc
    for name, report in reports:
        _report(name, report)
    if not all(report.ok for _, report in reports):
        alerts.raise_alerts(alerts.Alert("audit_verification_failed", f"{name.split()[0]}:{report.head}", "critical",
                                         f"{name} verification failed ({len(report.problems)} problems)",
                                         "\n".join(report.problems[:20])) for name, report in reports if not report.ok)
        raise typer.Exit(1)


@audit_app.command(epilog="Example: estelam audit checkpoint > kept.json")
def checkpoint(log: LogOption = None) -> None:
    """Print the latest signed checkpoint of each log with the public key: keep it to hold the hub to it."""
    key = signer()
    latest = {"audit": AuditLog(log).latest_checkpoint()}
    if log is None:
        latest["messages"] = MessageLog().latest_checkpoint()
    typer.echo(json.dumps({"algorithm": "Ed25519", "public_key": key.public_key_text, "key_id": key.key_id,
                           "checkpoints": {name: c.as_dict() if c else None for name, c in latest.items()}},
                          ensure_ascii=False, indent=2))


def _printable(text: str) -> str:
    """A stored value as one safe line: control and bidi-override characters shown as escapes."""
    return "".join(c if unicodedata.category(c)[0] != "C" else f"\\u{ord(c):04x}" for c in text)


@audit_app.command("who-looked-at", epilog="Example: estelam audit who-looked-at 0012345679")
def who_looked_at(person_id: Annotated[str, typer.Argument(help="national id of the person")],
                  log: LogOption = None) -> None:
    """List who looked at or ordered on a person's data: when, who, what, at which agency, allowed or refused,
    and why."""
    for entry in AuditLog(log).who_looked_at(person_id):
        agency = entry.detail.get("agency_id")
        where = f" at {agency}" if agency else ""
        typer.echo(_printable(f"{entry.at}  {entry.actor} ({entry.role})  {entry.action}{where}  {entry.outcome}  "
                              f"purpose: {entry.purpose}"))


@audit_app.command(epilog="Example: estelam audit anomalies --log data/audit/audit.jsonl")
def anomalies(log: LogOption = None) -> None:
    """Flag users who looked at many unrelated persons within a short window."""
    for anomaly in AuditLog(log).unusual_lookups():
        typer.echo(_printable(f"{anomaly.actor} ({anomaly.role}): {anomaly.distinct_subjects} unrelated persons "
                              f"from {anomaly.window_start}"))


@audit_app.command("purge-bodies", epilog="Example: estelam audit purge-bodies")
def purge_bodies() -> None:
    """Delete message bodies past their retention (ESTELAM_MESSAGE_RETENTION_DAYS); entries and hashes stay."""
    typer.echo(f"{MessageLog().purge_expired()} message bodies past their retention deleted")
