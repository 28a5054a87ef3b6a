"""``estelam audit``: check the audit log's hash chain, and read who looked at whom."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from estelam.access.audit import AuditLog

audit_app = typer.Typer(
    help="The audit log: verify its hash chain, list who looked at a person, flag unusual lookups.",
    epilog="Example: estelam audit verify   (exits 1 where the chain breaks)",
    no_args_is_help=True,
)

LogOption = Annotated[
    Path | None, typer.Option("--log", help="audit log file (default: data/audit/audit.jsonl)", dir_okay=False),
]


@audit_app.command(epilog="Example: estelam audit verify --log data/audit/audit.jsonl")
def verify(log: LogOption = None) -> None:
    """Walk the hash chain; exit 1 where it breaks (a changed, inserted or deleted entry)."""
    audit_log = AuditLog(log)
    report = audit_log.verify()
    for problem in report.problems:
        typer.echo(problem, err=True)
    typer.echo(f"{audit_log.path}: {report.entries} entries, chain {'intact' if report.ok else 'BROKEN'}, "
               f"head {report.head_hash[:16]}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("who-looked-at", epilog="Example: estelam audit who-looked-at 0012345679")
def who_looked_at(person_id: Annotated[str, typer.Argument(help="national id of the person")],
                  log: LogOption = None) -> None:
    """List who looked at a person's data: when, who, what, allowed or refused, and why."""
    for entry in AuditLog(log).who_looked_at(person_id):
        typer.echo(f"{entry.at}  {entry.actor} ({entry.role})  {entry.action}  {entry.outcome}  "
                   f"purpose: {entry.purpose}")


@audit_app.command(epilog="Example: estelam audit anomalies --log data/audit/audit.jsonl")
def anomalies(log: LogOption = None) -> None:
    """Flag users who looked at many unrelated persons within a short window."""
    for anomaly in AuditLog(log).unusual_lookups():
        typer.echo(f"{anomaly.actor} ({anomaly.role}): {anomaly.distinct_subjects} unrelated persons "
                   f"from {anomaly.window_start}")
