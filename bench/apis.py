"""Pools for the gateway and sponsor bench flows, made through the real APIs before timing.

The evaluation flows are seeded straight into the database (``bench/seed.py``); the other
two APIs' pending checks are cheap enough to create over HTTP against the running server:

- ``gateway_pool``: ``POST /process/comprehensive/gateway`` with the tenant's production
  key for N distinct numbers; each answer's continuation token is one line of the pool.
- ``sponsor_pool``: one sponsor, N beneficiaries (``/v1/admin/sponsors/...``), an OAuth
  access token, then ``POST /v1/otp/send`` per beneficiary; each ``otp_id`` is a line.

Both flows then send a wrong code again and again (``continue.lua``, ``validate.lua``), as
``verify_wrong`` does on the evaluation API, so the three are compared on the same work.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

SPONSOR = "bench-sponsor"
WORKERS = 16


def _numbers(count: int, area: str) -> list[str]:
    return [f"+1{area}{2_000_000 + i}" for i in range(count)]


def gateway_pool(url: str, key: str, count: int, out: Path) -> Path:
    def one(client: httpx.Client, phone: str) -> str:
        r = client.post(
            "/process/comprehensive/gateway",
            json={
                "user": "bench",
                "pass": key,
                "service": "PhoneMatch5.0.SMS",
                "reference": phone,
                "target": {"phone": phone},
            },
        )
        body = r.json()
        if body.get("result", {}).get("action") != "PENDING":
            raise RuntimeError(f"gateway pool: {r.status_code} {r.text[-300:]}")
        return str(body["continuations"]["outofband"]["template"]["token"])

    with httpx.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(WORKERS) as pool:
        tokens = list(pool.map(lambda p: one(client, p), _numbers(count, "415")))
    out.write_text("\n".join(tokens) + "\n")
    return out


def sponsor_pool(url: str, key: str, count: int, out: Path) -> tuple[Path, str]:
    """The pool file and the access token the validate flow presents."""
    admin = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(WORKERS) as pool:
        r = client.put(
            f"/v1/admin/sponsors/{SPONSOR}",
            headers=admin,
            json={"name": "Bench", "channels": ["SMS"], "otp_operations": {"bench": ["pay"]}},
        )
        r.raise_for_status()

        def beneficiary(i_phone: tuple[int, str]) -> str:
            i, phone = i_phone
            bid = f"bnf_bench{i:06d}"
            client.put(
                f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/{bid}",
                headers=admin,
                json={"phone_number": phone},
            ).raise_for_status()
            return bid

        ids = list(pool.map(beneficiary, enumerate(_numbers(count, "650"))))
        client_id = client.get("/v1/admin/oauth-client", headers=admin).json()["client_id"]
        granted = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": key,
            },
        )
        granted.raise_for_status()
        token = str(granted.json()["access_token"])
        bearer = {"Authorization": f"Bearer {token}"}

        def send(bid: str) -> str:
            sent = client.post(
                "/v1/otp/send",
                headers=bearer,
                json={"beneficiary_id": bid, "sponsor_slug": SPONSOR, "channel": "SMS"},
            )
            if sent.status_code != 200:
                raise RuntimeError(f"sponsor pool: {sent.status_code} {sent.text[-300:]}")
            return str(sent.json()["otp_id"])

        otp_ids = list(pool.map(send, ids))
    out.write_text("\n".join(otp_ids) + "\n")
    return out, token
