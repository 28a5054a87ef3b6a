"""Tamper evidence of the audit log and the message log, on both stores: every way of rewriting history that an
attacker with write access to the log could try is found, named, and makes `estelam audit verify` exit non-zero."""

from __future__ import annotations

import base64
import gzip
import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from connectors.message_hook import Direction, Exchange, WireMessage
from estelam.access.audit import AuditAction, AuditLog
from estelam.access.checkpoints import Signer, signer
from estelam.cli import app
from tests.access.record_support import Backend
from tests.postgres_support import dsn
from tests.settings_support import override


def _filled(backend: Backend, entries: int = 5) -> AuditLog:
    log = backend.audit_log()
    for i in range(entries):
        log.record(actor=f"judge-{i % 2}", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement",
                   person_id=f"000000000{i % 10}", case_id=f"1403-{i:06d}")
    return log


def _problems(log: AuditLog) -> str:
    report = log.verify()
    assert not report.ok
    return "\n".join(report.problems)


def test_an_untouched_log_verifies_clean(backend: Backend) -> None:
    log = _filled(backend)
    report = log.verify()
    assert report.ok, report.problems
    assert report.entries == 5 and report.latest_checkpoint is not None
    assert log.head() == (5, report.head)


def test_an_edited_entry_is_named(backend: Backend) -> None:
    log = _filled(backend)
    entries = backend.entries("audit")
    entries[2]["purpose"] = "curiosity"
    backend.rewrite("audit", entries)
    assert "entry 3: content does not match its hash (entry edited)" in _problems(log)


def test_an_edited_entry_with_its_chain_recomputed_is_caught_by_the_checkpoints(backend: Backend) -> None:
    log = _filled(backend)
    entries = backend.entries("audit")
    entries[2]["actor"] = "someone-else"
    backend.rewrite("audit", backend.rechain(entries))
    assert "entry 3: differs from what the checkpoint" in _problems(log)


def test_a_deleted_middle_entry_with_the_chain_recomputed_is_named(backend: Backend) -> None:
    log = _filled(backend)
    entries = backend.entries("audit")
    backend.rewrite("audit", backend.rechain(entries[:2] + entries[3:]))
    problems = _problems(log)
    assert "entry 3: differs from what the checkpoint" in problems
    assert "entries 5–5 were removed" in problems


@pytest.mark.parametrize("cut", [1, 50])
def test_a_cut_tail_is_named(backend: Backend, cut: int) -> None:
    log = _filled(backend, 60)
    backend.rewrite("audit", backend.entries("audit")[:-cut])
    assert f"the log ends at entry {60 - cut}, but the checkpoint" in _problems(log)
    assert f"entries {61 - cut}–60 were removed" in _problems(log)


def test_an_emptied_or_deleted_log_is_named(backend: Backend) -> None:
    log = _filled(backend)
    backend.rewrite("audit", [])
    assert "the log is empty, but the checkpoint" in _problems(log)
    backend.delete_log("audit")
    assert "entries 1–5 were removed" in _problems(log)


def test_an_appended_entry_without_a_signature_is_named(backend: Backend) -> None:
    log = _filled(backend)
    entries = backend.entries("audit")
    forged = {k: v for k, v in entries[-1].items() if k != "hash"} | {"actor": "forger"}
    backend.rewrite("audit", backend.rechain([*entries, forged]))
    assert "entries 6–6: appended after the last signed checkpoint" in _problems(log)


def test_a_checkpoint_signed_by_another_key_is_refused(backend: Backend) -> None:
    log = _filled(backend)
    entries = backend.entries("audit")
    forged = {k: v for k, v in entries[-1].items() if k != "hash"} | {"actor": "forger"}
    rechained = backend.rechain([*entries, forged])
    backend.rewrite("audit", rechained)
    impostor = Signer(Ed25519PrivateKey.generate())
    store = backend.store("audit")
    # the forger appends a checkpoint of their own over the forged head: it does not verify under the hub's key
    checkpoint = impostor.sign("audit", 6, rechained[-1]["hash"], datetime.now(UTC).isoformat())
    _write_checkpoint(backend, store, checkpoint.as_dict())
    problems = _problems(log)
    assert "signature does not hold under the hub's public key" in problems
    assert "entries 6–6: appended after the last signed checkpoint" in problems


def _write_checkpoint(backend: Backend, store: object, fields: dict[str, object]) -> None:
    from estelam.access.chain import FileChainStore, PostgresChainStore, canonical

    if isinstance(store, FileChainStore):
        with open(store.checkpoint_path, "ab") as handle:
            handle.write(canonical(fields) + b"\n")
        return
    assert isinstance(store, PostgresChainStore)
    connection = store._connection()
    with connection, connection.cursor() as cursor:
        cursor.execute("insert into record_checkpoints (log, entries, checkpoint) values (%s, %s, %s) "
                       "on conflict (log, entries) do update set checkpoint = excluded.checkpoint",
                       ("audit", fields["entries"], canonical(fields).decode()))


def test_an_outside_partys_checkpoint_catches_a_rewrite_of_log_and_checkpoints(tmp_path: Path) -> None:
    """The hub's operator deletes the tail and the checkpoints that covered it; the auditor kept one."""
    backend = Backend("file", tmp_path)
    log = _filled(backend, 10)
    held = log.latest_checkpoint()
    assert held is not None
    backend.rewrite("audit", backend.entries("audit")[:7])
    checkpoints = backend.store("audit").checkpoint_path  # type: ignore[attr-defined]
    checkpoints.write_text("\n".join(checkpoints.read_text().splitlines()[:7]) + "\n")
    assert log.verify().ok  # consistent with what is left on the hub...
    report = log.verify(held=[held])  # ...but not with what the auditor holds
    assert "entries 8–10 were removed" in "\n".join(report.problems)
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(held.as_dict()))
    public_key = signer().public_key_text
    result = CliRunner().invoke(app, ["audit", "verify", "--log", str(log.path), "--checkpoint", str(kept),
                                      "--public-key", public_key])
    assert result.exit_code == 1 and "entries 8–10 were removed" in result.output


def test_a_garbage_line_is_named_and_never_stops_reads_or_writes(tmp_path: Path) -> None:
    backend = Backend("file", tmp_path)
    log = _filled(backend)
    assert log.path is not None
    with open(log.path, "ab") as handle:
        handle.write(b'{"seq": 6, "torn wri')  # a torn write: no newline, not JSON
    assert len(list(log.entries())) == 5  # reads go on
    log.record(actor="judge-9", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement")
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6] and entries[-1].actor == "judge-9"
    problems = _problems(log)
    assert f"{log.path} line 6: not an entry" in problems
    assert problems.count("\n") == 0  # the new entry chains to entry 5 and is signed: only the damage is named


def test_the_command_line_exits_non_zero_naming_the_entry(tmp_path: Path) -> None:
    backend = Backend("file", tmp_path)
    log = _filled(backend)
    runner = CliRunner()
    command = ["audit", "verify", "--log", str(log.path)]
    clean = runner.invoke(app, command)
    assert clean.exit_code == 0 and "intact" in clean.output
    backend.rewrite("audit", backend.entries("audit")[:-1])
    broken = runner.invoke(app, command)
    assert broken.exit_code == 1
    assert "entries 5–5 were removed" in broken.output and "BROKEN" in broken.output


def _append_many(database: str | None, root: str, worker: int) -> None:
    backend = Backend("postgres" if database else "file", Path(root), database)
    log = backend.audit_log()
    for i in range(20):
        log.record(actor=f"worker-{worker}", role="system", action=AuditAction.INQUIRY, purpose="enforcement",
                   person_id=f"{i:010d}")


def test_concurrent_writers_in_several_processes_keep_one_chain(backend: Backend) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(backend.database, str(backend.root), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    report = backend.audit_log().verify()
    assert report.ok, report.problems
    assert report.entries == 80


# --- the message log ----------------------------------------------------------------------------------


def _exchange(log: object, message_id: str, body: bytes, agency: str = "bank_melli") -> None:
    at = datetime.now(UTC)
    exchange = Exchange(log, "enforcement of case 1403-000001", ("1403-000001",), ("0012345679",))  # type: ignore[arg-type]
    log.record_exchange([  # type: ignore[attr-defined]
        WireMessage(message_id, agency, "inquireBatch", Direction.OUTBOUND, "req-1", at, body),
        WireMessage(message_id, agency, "inquireBatch", Direction.INBOUND, "req-1", at, b"<answer/>" + body, 200),
    ], exchange)


def test_message_bodies_are_kept_compressed_hashed_and_verified(backend: Backend) -> None:
    messages = backend.message_log()
    _exchange(messages, "m1", b"<envelope>0012345679</envelope>")
    _exchange(messages, "m2", b"<envelope>0012345680</envelope>")
    assert messages.verify().ok
    assert messages.body("m1", "outbound") == b"<envelope>0012345679</envelope>"
    logged = list(messages.messages())
    assert [(m.message_id, m.direction) for m in logged] == [("m1", "outbound"), ("m1", "inbound"),
                                                              ("m2", "outbound"), ("m2", "inbound")]
    assert logged[0].case_ids == ("1403-000001",) and logged[1].http_status == 200
    body = messages.root / str(logged[2].body)
    body.write_bytes(gzip.compress(b"<envelope>someone else</envelope>"))
    problems = "\n".join(messages.verify().problems)
    assert f"entry 3: stored body {logged[2].body} does not match its recorded SHA-256" in problems
    body.unlink()
    assert f"entry 3: stored body {logged[2].body} is missing" in "\n".join(messages.verify().problems)


def test_an_agency_on_metadata_only_leaves_hashes_and_no_bodies(tmp_path: Path) -> None:
    backend = Backend("file", tmp_path)
    messages = backend.message_log()
    messages.modes["bank_sina"] = "metadata"
    _exchange(messages, "m1", b"<envelope/>", agency="bank_sina")
    logged = list(messages.messages())
    assert all(m.body is None and len(m.sha256) == 64 for m in logged)
    assert not list((messages.root / "bodies").rglob("*.gz")) if (messages.root / "bodies").exists() else True
    assert messages.verify().ok


def test_bodies_past_their_retention_are_purged_and_the_record_stays(tmp_path: Path) -> None:
    backend = Backend("file", tmp_path)
    messages = backend.message_log()
    _exchange(messages, "m1", b"<envelope/>")
    assert messages.purge_expired() == 0
    later = datetime.now(UTC) + timedelta(days=3651)
    assert messages.purge_expired(now=later) == 2
    assert [m.sha256 for m in messages.messages()]  # the entries and hashes remain
    assert list((messages.root / "bodies").rglob("*.gz")) == []


def test_the_configured_key_signs_and_a_wrong_key_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seed = base64.b64encode(b"\x01" * 32).decode()
    override(monkeypatch, signing_key=seed, data_dir=tmp_path)
    log = AuditLog()
    log.record(actor="a", role="judge", action=AuditAction.REPORT_VIEW, purpose="p")
    assert log.verify().ok
    other = Ed25519PrivateKey.generate().public_key()
    assert "signature does not hold" in "\n".join(log.verify(public_key=other).problems)


def test_postgres_is_chosen_by_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.postgres_support import throwaway_database

    with throwaway_database() as database:
        override(monkeypatch, record_database=dsn(database), data_dir=tmp_path)
        log = AuditLog()
        log.record(actor="a", role="judge", action=AuditAction.REPORT_VIEW, purpose="p", person_id="0012345679")
        assert log.path is None and log.verify().ok
        assert not (tmp_path / "audit").exists()
        result = CliRunner().invoke(app, ["audit", "who-looked-at", "0012345679"])
        assert "a (judge)  report_view  allowed  purpose: p" in result.output
