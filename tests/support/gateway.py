"""Request bodies of the PhoneMatch gateway document, with otpgate credentials swapped in."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx

TOKEN = re.compile(r"[a-z0-9]{32}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
META_KEYS = {"confirmation", "reference", "service", "timestamp", "company", "user"}

# The document's "Sample Initial Request Body"; its country placeholders filled in.
SAMPLE_INITIAL: dict[str, Any] = {
    "user": "user@company.com",
    "pass": "PASSWORD",
    "service": "PhoneMatch5.0.SMS",
    "reference": "12345",
    "options": {
        "outofband": {
            "message": "Hello {fn}, your one-time password is {pin}",
            "do_not_send_to_types": ["voip", "mobile", "landline"],
            "country": {"blacklist": ["CU"], "whitelist": ["US", "CA"]},
        }
    },
    "target": {"fn": "John", "ln": "Smith", "phone": "2015106000"},
}


def initial(key: str, tenant: str = "acme", **changes: Any) -> dict[str, Any]:
    """The sample request with credentials swapped; ``changes`` use dotted paths."""
    body = copy.deepcopy(SAMPLE_INITIAL)
    body["user"], body["pass"] = tenant, key
    # A voip-only exclusion lets the sample's US number (mobile-or-landline) through.
    body["options"]["outofband"]["do_not_send_to_types"] = ["voip"]
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        if value is ...:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return body


async def send(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/process/comprehensive/gateway", json=body)


async def start(client: httpx.AsyncClient, key: str, **changes: Any) -> str:
    """Start a transaction and return its continuation token."""
    r = await send(client, initial(key, **changes))
    assert r.status_code == 200, r.text
    assert r.json()["result"]["action"] == "PENDING", r.json()
    return r.json()["continuations"]["outofband"]["template"]["token"]


async def cont(client: httpx.AsyncClient, token: str, key: Any, **extra: Any) -> httpx.Response:
    return await client.post(
        "/process/continue", json={"token": token, "codematch": {"key": key}, **extra}
    )


def assert_envelope(body: dict[str, Any], action: str, detail: str) -> None:
    assert set(body["meta"]) == META_KEYS
    assert isinstance(body["meta"]["confirmation"], int)
    assert 10_000_000 <= body["meta"]["confirmation"] < 100_000_000
    assert TIMESTAMP.fullmatch(body["meta"]["timestamp"])
    assert body["result"]["action"] == action
    assert body["result"]["detail"] == detail
    assert isinstance(body["result"]["issues"], list)
