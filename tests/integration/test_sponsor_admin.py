"""Managing sponsors and beneficiaries: ``/v1/admin/sponsors`` and the CLI."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from otpgate.cli.main import app as cli
from otpgate.core.model import Environment
from otpgate.settings import Settings
from tests.integration.sponsor_support import access_token
from tests.support.sealing import sealer_of

SPONSOR_BODY = {
    "name": "Salud Total",
    "channels": ["SMS", "EMAIL"],
    "otp_operations": {"pharmacy": ["dispensation.complete"]},
}


async def test_sponsor_and_beneficiary_lifecycle(harness):
    async with harness.client(harness.sandbox_key) as c:
        r = await c.put("/v1/admin/sponsors/salud-total", json=SPONSOR_BODY)
        assert r.status_code == 200
        assert r.json() == {**SPONSOR_BODY, "slug": "salud-total", "active": True}
        r = await c.put(
            "/v1/admin/sponsors/salud-total", json={**SPONSOR_BODY, "channels": ["sms"]}
        )
        assert r.json()["channels"] == ["SMS"]
        assert [s["slug"] for s in (await c.get("/v1/admin/sponsors")).json()["sponsors"]] == [
            "salud-total"
        ]

        r = await c.put(
            "/v1/admin/sponsors/salud-total/beneficiaries/bnf_1",
            json={"phone_number": "+57 300-123-4542", "email": "Ana@Example.com"},
        )
        assert r.status_code == 200
        assert r.json() == {
            "sponsor_slug": "salud-total",
            "beneficiary_id": "bnf_1",
            "phone_number": "+57 300 *** ** 42",
            "email": "A***a@example.com",
        }
        assert (
            await c.get("/v1/admin/sponsors/salud-total/beneficiaries/bnf_1")
        ).status_code == 200
        r = await c.delete("/v1/admin/sponsors/salud-total/beneficiaries/bnf_1")
        assert r.status_code == 204
        assert (
            await c.get("/v1/admin/sponsors/salud-total/beneficiaries/bnf_1")
        ).status_code == 404
        r = await c.delete("/v1/admin/sponsors/salud-total/beneficiaries/bnf_1")
        assert r.status_code == 404


async def test_admin_input_is_checked(harness):
    async with harness.client(harness.sandbox_key) as c:
        cases = [
            ("/v1/admin/sponsors/Bad_Slug", SPONSOR_BODY, "slug"),
            ("/v1/admin/sponsors/ok", {**SPONSOR_BODY, "channels": ["VOICE"]}, "channels"),
            ("/v1/admin/sponsors/ok", {**SPONSOR_BODY, "channels": []}, "channels"),
            ("/v1/admin/sponsors/ok", {**SPONSOR_BODY, "name": ""}, "name"),
            (
                "/v1/admin/sponsors/ok",
                {**SPONSOR_BODY, "otp_operations": {"x": ["a b"]}},
                "otp_operations",
            ),
        ]
        for path, body, field in cases:
            r = await c.put(path, json=body)
            assert r.status_code == 400, (path, body, r.text)
            assert r.json()["field"].startswith(field), r.json()
        assert (await c.get("/v1/admin/sponsors")).json()["sponsors"] == []

        await c.put("/v1/admin/sponsors/ok", json=SPONSOR_BODY)
        for body, field in [
            ({}, "phone_number"),
            ({"phone_number": "12"}, "phone_number"),
            ({"email": "not-an-email"}, "email"),
            ({"phone_number": "+14155550100", "fax": "x"}, "fax"),
        ]:
            r = await c.put("/v1/admin/sponsors/ok/beneficiaries/bnf_2", json=body)
            assert r.status_code == 400, body
            assert r.json()["field"] == field
        r = await c.put("/v1/admin/sponsors/ok/beneficiaries/bad%20id", json={"email": "a@b.co"})
        assert r.status_code == 400 and r.json()["field"] == "beneficiary_id"
        r = await c.put("/v1/admin/sponsors/missing/beneficiaries/bnf_2", json={"email": "a@b.co"})
        assert r.status_code == 404
    async with harness.client() as c:
        assert (await c.get("/v1/admin/sponsors")).status_code == 401
    async with harness.client(await access_token(harness, harness.sandbox_key)) as c:
        # The admin API takes API keys, not the sponsor API's access tokens.
        assert (await c.get("/v1/admin/sponsors")).status_code == 401


async def test_tenants_do_not_see_each_others_sponsors(harness):
    async with harness.client(harness.sandbox_key) as c:
        await c.put("/v1/admin/sponsors/salud-total", json=SPONSOR_BODY)
        await c.put("/v1/admin/sponsors/salud-total/beneficiaries/bnf_1", json={"email": "a@b.co"})
    other = await harness.create_key(Environment.SANDBOX, "globex")
    async with harness.client(other) as c:
        assert (await c.get("/v1/admin/sponsors")).json()["sponsors"] == []
        assert (await c.get("/v1/admin/sponsors/salud-total")).status_code == 404
        r = await c.get("/v1/admin/sponsors/salud-total/beneficiaries/bnf_1")
        assert r.status_code == 404
        # Their own sponsor of the same slug is theirs alone.
        r = await c.put("/v1/admin/sponsors/salud-total", json={**SPONSOR_BODY, "name": "Globex"})
        assert r.status_code == 200
    async with harness.client(harness.sandbox_key) as c:
        assert (await c.get("/v1/admin/sponsors/salud-total")).json()["name"] == "Salud Total"


def test_cli_manages_sponsors_and_beneficiaries(tmp_path, monkeypatch):
    db = tmp_path / "cli.db"
    monkeypatch.setenv("OTPGATE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("OTPGATE_LOG_JSON", "true")
    runner = CliRunner()
    key = runner.invoke(cli, ["keys", "create", "--environment", "sandbox", "--tenant", "acme"])
    assert key.exit_code == 0, key.output
    assert "OAuth client id" in key.output
    assert key.output.strip().splitlines()[-1].startswith("og_sandbox_")

    r = runner.invoke(
        cli,
        [
            "sponsors", "create", "sponsor-sandbox", "--name", "Sandbox Health",
            "--channel", "SMS", "--channel", "EMAIL",
            "--otp-operation", "pharmacy=dispensation.complete", "--tenant", "acme",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        [
            "beneficiaries", "add", "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O",
            "--sponsor", "sponsor-sandbox", "--phone", "+573001234542", "--tenant", "acme",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "+57 300 *** ** 42" in r.output and "1234542" not in r.output
    r = runner.invoke(cli, ["sponsors", "list", "--tenant", "acme"])
    assert "sponsor-sandbox" in r.output and "dispensation.complete" in r.output

    bad = runner.invoke(
        cli,
        [
            "beneficiaries",
            "add",
            "bnf_2",
            "--sponsor",
            "nobody",
            "--email",
            "a@b.co",
            "--tenant",
            "acme",
        ],
    )
    assert bad.exit_code == 2
    bad = runner.invoke(cli, ["sponsors", "create", "Bad Slug", "--name", "x"])
    assert bad.exit_code == 2

    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT phone FROM sponsor_beneficiaries").fetchall()
    sealer = sealer_of(Settings(_env_file=None))  # type: ignore[call-arg]
    assert [sealer.open(p) for (p,) in stored] == ["+573001234542"]
    assert "+573001234542" not in str(stored), "stored sealed"
