"""A throwaway PostgreSQL database on the machine's local server, for tests of the deployment-grade stores."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

LOOPBACK = "127.0.0.1"
POSTGRES_PORT = 5432


def postgres_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((LOOPBACK, POSTGRES_PORT)) == 0


def dsn(database: str) -> str:
    """The libpq URL of ``database`` on the local server (trust authentication, user postgres)."""
    return f"postgresql://postgres@{LOOPBACK}:{POSTGRES_PORT}/{database}"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database ``estelam_test_<random>``, dropped afterwards; skips the test when no server runs."""
    if not postgres_running():
        pytest.skip(f"no PostgreSQL on {LOOPBACK}:{POSTGRES_PORT}")
    import psycopg2

    name = f"estelam_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(host=LOOPBACK, port=POSTGRES_PORT, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()
