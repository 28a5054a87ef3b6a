"""The one exception tree: what an error keeps of an agency's words."""

from __future__ import annotations

from estelam.core.exceptions import MAX_AGENCY_MESSAGE_CHARS, AgencyFault


def test_an_agencys_huge_fault_text_is_bounded_in_the_error_it_becomes() -> None:
    fault = AgencyFault("x" * 7_300_000, agency_id="bank_melli", operation="inquire_batch", request_id="r1")
    assert len(str(fault)) < MAX_AGENCY_MESSAGE_CHARS + 200
    assert str(fault).endswith("(7298000 more characters not kept)")
