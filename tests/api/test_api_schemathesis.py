"""Schemathesis against the published OpenAPI document, in process: no generated request makes a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from estelam.api import create_app
from tests.api.api_harness import auth, copy_demo, demo_facts
from tests.settings_support import override

#: Generated requests per operation and token: bounded to keep the suite quick.
EXAMPLES_PER_OPERATION = 8
#: Tokens the generated requests carry (each gets past a different door).
ROLES = ("judge", "agency", "public", "central_bank")


@pytest.fixture(scope="module")
def api_schema(demo_cycle: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data = copy_demo(demo_cycle.data_dir, tmp_path_factory.mktemp("api-fuzz-data"))
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data)
        app = create_app(demo_facts(data).settings())
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_generated_request_makes_a_server_error(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case: Any) -> None:
            for role in ROLES:
                case.call_and_validate(headers=auth(role), checks=[not_a_server_error])

        no_server_error()
