"""Request builders and small readers shared by the evaluation API tests."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

PHONE = "+14155550100"
PHONE_2 = "+14155550101"
MAGIC_FAIL = "+11234567890"
EMAIL = "jane.doe@example.com"
VOIP = "+445612345678"

PII: dict[str, Any] = {
    "given_name": "Jane",
    "family_name": "Doe",
    "national_id": "123-45-6789",
    "date_of_birth": "1990-05-17",
    "address": {
        "line_1": "1 Market St",
        "line_2": "Suite 5",
        "locality": "San Francisco",
        "major_admin_division": "CA",
        "postal_code": "94105",
        "country": "US",
    },
}

RESPONSE_KEYS = {
    "id",
    "eval_id",
    "workflow",
    "workflow_id",
    "workflow_version",
    "eval_source",
    "eval_start_time",
    "eval_end_time",
    "decision",
    "decision_at",
    "status",
    "sub_status",
    "tags",
    "review_queues",
    "data_enrichments",
    "eval_status",
    "environment_name",
    "attempts_remaining",
    "expires_at",
}

_ids = itertools.count(1)


def request_id(prefix: str = "req") -> str:
    return f"{prefix}-{next(_ids)}"


def start_body(
    *,
    phone: str | None = PHONE,
    email: str | None = None,
    workflow: str = "otp_verification",
    id: str | None = None,
    channel: str | None = None,
    **individual: Any,
) -> dict[str, Any]:
    ind: dict[str, Any] = dict(individual)
    if phone is not None:
        ind["phone_number"] = phone
    if email is not None:
        ind["email"] = email
    if channel is not None:
        ind["otp"] = {"channel": channel}
    return {
        "id": id or request_id("start"),
        "timestamp": "2025-09-30T10:00:00Z",
        "workflow": workflow,
        "data": {"individual": ind},
    }


def code_body(
    code: str, id: str | None = None, workflow: str = "otp_verification"
) -> dict[str, Any]:
    return {
        "id": id or request_id("verify"),
        "timestamp": "2025-09-30T10:01:00Z",
        "workflow": workflow,
        "data": {"individual": {"otp": {"code": code}}},
    }


def resend_body(id: str | None = None) -> dict[str, Any]:
    return {
        "id": id or request_id("resend"),
        "data": {"individual": {"otp": {"resend": True}}},
    }


def resume_body(id: str | None = None) -> dict[str, Any]:
    return {"id": id or request_id("resume"), "actions": {"resume": True}}


def details_body(details: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    return {"id": id or request_id("pii"), "data": {"individual": details}}


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def state(body: dict[str, Any]) -> tuple[str, str, str]:
    return body["status"], body["sub_status"], body["decision"]


def named(body: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [e for e in body["data_enrichments"] if e["enrichment_name"].startswith(prefix)]


async def start(client: httpx.AsyncClient, **kwargs: Any) -> dict[str, Any]:
    r = await client.post("/api/evaluation", json=start_body(**kwargs))
    assert r.status_code == 200, r.text
    return r.json()


async def patch(client: httpx.AsyncClient, eval_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(f"/api/evaluation/{eval_id}", json=body)
