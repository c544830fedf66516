"""Schemathesis against ``/openapi.json`` of a real server, on SQLite and on PostgreSQL.

Every operation of the document, every built-in check (no 5xx, documented statuses,
content types and headers, response schemas, schema-invalid requests refused,
schema-valid ones accepted, ...), with a fixed number of examples per operation and a
deadline, so both runs together take well under 90 seconds. Requests carry a sandbox
API key, or an OAuth access token on the sponsor routes.

Settings: ``EXAMPLES`` (per operation and generation mode, positive and negative;
``OTPGATE_SCHEMATHESIS_EXAMPLES`` overrides it), ``DEADLINE_MS`` per example, derandomized
so that a run is repeatable. No check is left out: ``positive_data_acceptance`` too
("schema-valid request rejected") passes because the document states the rules the
server applies after parsing (id patterns, the workflow names the app loaded, formats,
enumerations, strings without control characters, the rules between fields).

The one rule JSON Schema cannot say, "a phone number valid for its region", the document
names ``format: phone``; this test gives Schemathesis values of that format: the example
numbers libphonenumber has for every region and number type, and neighbours of them it
also deems valid.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import phonenumbers
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.integration.sponsor_support import BENEFICIARY, OPERATIONS, SPONSOR
from tests.support.pgdb import fresh_database
from tests.support.server import ServerProcess
from tests.support.services import require_postgres

EXAMPLES = int(os.environ.get("OTPGATE_SCHEMATHESIS_EXAMPLES", "25"))
DEADLINE_MS = 2_000
SPONSOR_PATHS = ("/v1/otp", "/v1/sponsors")


def valid_numbers() -> list[str]:
    """E.164 numbers libphonenumber deems valid, from every region and number type."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for last in ("", "0", "7", "42"):
                candidate = e164[: len(e164) - len(last)] + last
                if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                    found.add(candidate)
    return sorted(found)


schemathesis.openapi.format("phone", st.sampled_from(valid_numbers()))


class Server:
    def __init__(self, process: ServerProcess, api_key: str, access_token: str) -> None:
        self.process = process
        self.url = process.url
        self.api_key = api_key
        self.access_token = access_token


def _start(tmp: Path, database_url: str) -> Iterator[Server]:
    env = {
        "OTPGATE_DATABASE_URL": database_url,
        "OTPGATE_SECRETS_FILE": str(tmp / "secrets"),
        "OTPGATE_CODE_SECRET": "schemathesis-code-secret-0123456789",
        "OTPGATE_OAUTH_SIGNING_KEY": "schemathesis-oauth-signing-key-0123456789",
        "OTPGATE_LOOKUP_KEY": "schemathesis-lookup-key-0123456789abcdef",
        "OTPGATE_DATA_KEY": "schemathesis-data-key-0123456789-0123456789",
        # The sponsor API's 50 requests/min per client would turn the run into 429s.
        "OTPGATE_SPONSOR_CLIENT_REQUESTS_PER_MINUTE": "100000",
        "OTPGATE_LOG_LEVEL": "warning",
    }
    process = ServerProcess(env, tmp / "server.log")
    with process:
        key = process.cli("keys", "create", "--environment", "sandbox").strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=process.url, headers=auth, timeout=10) as c:
            r = c.put(
                f"/v1/admin/sponsors/{SPONSOR}",
                json={"name": "Health", "channels": ["SMS", "EMAIL"], "otp_operations": OPERATIONS},
            )
            assert r.status_code == 200, r.text
            r = c.put(
                f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/{BENEFICIARY}",
                json={"phone_number": "+14155550100"},
            )
            assert r.status_code == 200, r.text
            client_id = c.get("/v1/admin/oauth-client").json()["client_id"]
        r = httpx.post(
            f"{process.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": key},
        )
        assert r.status_code == 200, r.text
        yield Server(process, key, r.json()["access_token"])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    if request.param == "sqlite":
        yield from _start(tmp, f"sqlite:///{tmp}/otpgate.db")
        return
    with fresh_database(require_postgres(), "otpgate_schemathesis") as url:
        yield from _start(tmp, url)


def _auth(server: Server, case) -> dict[str, str]:
    """Real credentials in place of generated ones. Schemathesis makes up a Bearer header
    for the API-key routes and leaves it out of a negative case that tests its absence:
    such a case stays without. It makes none for OAuth 2, so the sponsor routes get one."""
    if case.path.startswith(("/process", "/oauth")):  # credentials in the body, or none
        return {}
    if case.path.startswith(SPONSOR_PATHS):
        return {"Authorization": f"Bearer {server.access_token}"}
    if "Authorization" not in (case.headers or {}):
        return {}
    return {"Authorization": f"Bearer {server.api_key}"}


def _said(failure) -> str:
    return " ".join(str(getattr(failure, "message", "")).split())[:300]


def _run(operation, mode: GenerationMode, server: Server, failures: set[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=DEADLINE_MS,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=server.url, headers=_auth(server, case))
        try:
            case.validate_response(response, excluded_checks=[])
        except FailureGroup as exc:  # failed checks: collect them, go on
            answer = response.content.decode(errors="replace")[-300:]
            for failure in exc.exceptions:
                failures.add(
                    f"{operation.label} [{mode.value}] {failure.title}: {_said(failure)}"
                    f" -- {case.as_curl_command()[:300]} -> {response.status_code} {answer}"
                )

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (no parameters)
        check()


def test_the_api_keeps_its_document(server: Server):
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: set[str] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    # The admin routes last: a sponsor they make, with random channels, answers a send on a
    # channel it lacks with 422 channel_not_supported, the document's answer for that state.
    operations.sort(key=lambda operation: operation.path.startswith("/v1/admin"))
    assert len(operations) >= 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode, server, failures)
    assert not failures, f"{len(failures)} failed checks:\n" + "\n".join(sorted(failures))
