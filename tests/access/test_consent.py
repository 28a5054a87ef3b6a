"""Consent codes: single use, short-lived, bound to the requester, the person and the purpose."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from estelam.access.consent import MAX_TTL, WRONG_USE, ConsentStore
from estelam.core.exceptions import ConsentRefused
from tests.access.record_support import Backend
from tests.postgres_support import dsn

PERSON = "0012345679"


@pytest.fixture
def store(backend: Backend) -> ConsentStore:
    """The embedded SQLite file, or PostgreSQL: every test runs on both."""
    if backend.database is not None:
        return ConsentStore(database=dsn(backend.database))
    return ConsentStore(backend.root / "consents.sqlite")


def test_a_code_is_spent_once(store: ConsentStore) -> None:
    consent = store.issue(PERSON, requester="bank-x", purpose="loan")
    spent = store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="loan")
    assert spent.person_id == PERSON and spent.purpose == "loan"
    with pytest.raises(ConsentRefused, match="already used"):
        store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="loan")


@pytest.mark.parametrize(("person", "requester"), [("9999999999", "bank-x"), (PERSON, "bank-y")])
def test_a_code_holds_only_for_what_it_was_issued_for(store: ConsentStore, person: str, requester: str) -> None:
    consent = store.issue(PERSON, requester="bank-x", purpose="loan")
    with pytest.raises(ConsentRefused) as refused:
        store.spend(consent.code, person_id=person, requester=requester, purpose="loan")
    assert str(refused.value) == WRONG_USE  # which binding failed, and to what, stays unsaid
    # someone else's attempt does not spend it
    store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="loan")


def test_a_wrong_purpose_is_not_revealed_and_burns_the_code(store: ConsentStore) -> None:
    consent = store.issue(PERSON, requester="bank-x", purpose="loan-4417")
    with pytest.raises(ConsentRefused) as refused:
        store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="marketing")
    assert str(refused.value) == WRONG_USE and "loan" not in str(refused.value)
    with pytest.raises(ConsentRefused, match="already used"):  # no retry with the right purpose
        store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="loan-4417")


def test_an_expired_or_unknown_code_is_refused(store: ConsentStore) -> None:
    issued_at = datetime(2026, 1, 1, tzinfo=UTC)
    consent = store.issue(PERSON, requester="bank-x", purpose="loan", ttl=timedelta(minutes=5), now=issued_at)
    with pytest.raises(ConsentRefused, match="expired"):
        store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="loan",
                    now=issued_at + timedelta(minutes=5, seconds=1))
    with pytest.raises(ConsentRefused, match="unknown"):
        store.spend("not-a-code", person_id=PERSON, requester="bank-x", purpose="loan")


def test_codes_are_stored_only_as_digests(store: ConsentStore) -> None:
    consent = store.issue(PERSON, requester="bank-x", purpose="loan")
    with store._connect() as con:
        stored = con.fetch_one("select * from consents")
    assert consent.code not in repr(stored) and len(stored[0]) == 64


def test_lifetime_is_bounded(store: ConsentStore) -> None:
    with pytest.raises(ValueError, match="at most"):
        store.issue(PERSON, requester="bank-x", purpose="loan", ttl=MAX_TTL + timedelta(seconds=1))


def test_two_racing_lookups_cannot_both_spend_a_code(store: ConsentStore) -> None:
    consent = store.issue(PERSON, requester="bank-x", purpose="loan")
    outcomes: list[str] = []

    def spend() -> None:
        try:
            store.spend(consent.code, person_id=PERSON, requester="bank-x", purpose="loan")
            outcomes.append("spent")
        except ConsentRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["spent"]
