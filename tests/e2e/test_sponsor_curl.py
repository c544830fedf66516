"""The seed document's curl examples, host and token swapped, against a real server.

Two worker processes: the access token one worker signs, the other must accept
(the signing key lives in the database), and concurrent redemptions spread over
both processes still have exactly one winner.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import httpx
import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

SEND = """{
"beneficiary_id": "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O",
"sponsor_slug": "sponsor-sandbox",
"channel": "SMS"
}"""

VALIDATE = """{
"otp_id": "%s",
"code": "482913"
}"""


def post(url: str, token: str, body: str) -> dict:
    """``curl -X POST url -H "Authorization: Bearer $TOKEN" -H "Content-Type: …" -d body``."""
    if shutil.which("curl"):
        out = subprocess.run(
            [
                "curl", "-s", "-X", "POST", url,
                "-H", f"Authorization: Bearer {token}",
                "-H", "Content-Type: application/json",
                "-d", body,
            ],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
        return json.loads(out)
    r = httpx.post(
        url,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return r.json()


@pytest.fixture
def server(tmp_path):
    env = {"OTPGATE_DATABASE_URL": f"sqlite:///{tmp_path}/otpgate.db", "OTPGATE_LOG_JSON": "true"}
    proc = ServerProcess(env, tmp_path / "server.log", workers=2)
    out = proc.cli("keys", "create", "--environment", "sandbox", "--tenant", "acme")
    lines = out.strip().splitlines()
    proc.key = lines[-1]
    proc.client_id = next(line for line in lines if "client id" in line).split()[-1]
    proc.cli(
        "sponsors", "create", "sponsor-sandbox", "--name", "Sandbox Health",
        "--otp-operation", "pharmacy=dispensation.complete", "--tenant", "acme",
    )  # fmt: skip
    proc.cli(
        "beneficiaries", "add", "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O",
        "--sponsor", "sponsor-sandbox", "--phone", "+573001234542", "--tenant", "acme",
    )  # fmt: skip
    proc.start(timeout=120)  # generous: two workers on a busy 2-core machine
    try:
        yield proc
    finally:
        proc.stop()


async def test_the_documented_flow_runs_from_its_curl_examples(server):
    token_reply = httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, server.key),
    )
    assert token_reply.status_code == 200, token_reply.text
    token = token_reply.json()["access_token"]

    sent = post(f"{server.url}/v1/otp/send", token, SEND)
    assert sent["channel"] == "SMS" and sent["expires_in"] == 300
    assert sent["masked_destination"] == "+57 300 *** ** 42"

    validated = post(f"{server.url}/v1/otp/validate", token, VALIDATE % sent["otp_id"])
    assert validated["expires_in"] == 600
    verification_token = validated["otp_verification_token"]

    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as c:
        replies = await asyncio.gather(
            *(
                c.post(
                    "/v1/otp/verification-tokens/redeem",
                    json={"token": verification_token, "operation": "dispensation.complete"},
                )
                for _ in range(12)
            )
        )
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] + [404] * 11
    winner = next(r for r in replies if r.status_code == 200).json()
    assert winner["beneficiary_id"] == "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O"

    logs = server.logs()
    assert "573001234542" not in logs and verification_token not in logs
