"""Schemathesis against ``/openapi.json`` of a real server, on SQLite and on PostgreSQL.

Every operation of the document, every built-in check (no 5xx, documented statuses,
content types and headers, response schemas, schema-invalid requests refused,
schema-valid ones accepted, ...), with a fixed number of examples per operation and a
deadline, so both runs together take well under 90 seconds. Requests carry a sandbox
API key, or an OAuth access token on the sponsor routes.

Settings: ``EXAMPLES`` (per operation and generation mode, positive and negative;
``OTPGATE_SCHEMATHESIS_EXAMPLES`` overrides it), ``DEADLINE_MS`` per example, derandomized
so that a run is repeatable. ``EXCLUDED`` lists the one check left out:

- ``positive_data_acceptance`` ("schema-valid request rejected"): the document does not
  yet state the domain rules the server applies after the schema, so random schema-valid
  values are refused with a correct 400 naming the field: sponsor slugs and
  beneficiary ids (path and body; patterns), ``eval_id`` (a UUID), ``otp_id`` and
  verification tokens (prefixed ULIDs), ``workflow`` (built-in or operator-defined
  names), phone numbers and emails, the gateway ``service`` and ``target``, the sponsor
  ``channel``, country codes, request ``timestamp``, and strings holding control
  characters (refused on every field). Every other check, ``not_a_server_error`` among
  them, runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.integration.sponsor_support import BENEFICIARY, OPERATIONS, SPONSOR
from tests.support.pgdb import fresh_database
from tests.support.server import ServerProcess
from tests.support.services import require_postgres

EXAMPLES = int(os.environ.get("OTPGATE_SCHEMATHESIS_EXAMPLES", "25"))
DEADLINE_MS = 2_000
EXCLUDED: list = [checks.positive_data_acceptance]
SPONSOR_PATHS = ("/v1/otp", "/v1/sponsors")


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


def _auth(server: Server, path: str) -> dict[str, str]:
    if path.startswith(("/process", "/oauth")):  # credentials in the body, or none
        return {}
    token = server.access_token if path.startswith(SPONSOR_PATHS) else server.api_key
    return {"Authorization": f"Bearer {token}"}


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
        try:
            case.call_and_validate(
                base_url=server.url, headers=_auth(server, case.path), excluded_checks=EXCLUDED
            )
        except FailureGroup as exc:  # failed checks: collect them, go on
            for failure in exc.exceptions:
                failures.add(
                    f"{operation.label} [{mode.value}] {failure.title}: {_said(failure)}"
                    f" -- {case.as_curl_command()[:300]}"
                )

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (no parameters)
        check()


def test_the_api_keeps_its_document(server: Server):
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: set[str] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode, server, failures)
    assert not failures, f"{len(failures)} failed checks:\n" + "\n".join(sorted(failures))
