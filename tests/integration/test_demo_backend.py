"""The demo page's backend: a sandbox key kept server-side, forwarding to the real API."""

from __future__ import annotations

import asyncio

from otpgate.adapters.sql.accounts import AccountStore
from otpgate.adapters.sql.db import create_engine
from otpgate.core.model import Environment
from otpgate.settings import Settings
from otpgate.testing.app import running_app
from otpgate.web.demo.backend import DEMO_TENANT, demo_account


def start_body(destination: dict[str, str], request_id: str = "demo-1") -> dict:
    return {"id": request_id, "workflow": "otp_verification", "data": {"individual": destination}}


async def test_the_page_and_its_files_are_served_without_any_key(harness):
    async with harness.client() as client:
        started = await client.post("/demo/api/evaluation", json=start_body({"email": "a@b.io"}))
        assert started.status_code == 200
        demo_key = (await demo_account(harness.services).key()).key
        page = await client.get("/")
        script = await client.get("/demo/static/app.js")
        style = await client.get("/demo/static/style.css")
        config = await client.get("/demo/api/config")
        missing = await client.get("/demo/static/index.py")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    assert config.json()["code_length"] == 6 and config.json()["lockout_seconds"] == 600
    for response in (page, script, style, config, started):
        assert demo_key not in response.text
        assert "og_sandbox_" not in response.text


async def test_evaluations_belong_to_the_demo_tenant_only(harness):
    async with harness.client() as browser:
        r = await browser.post("/demo/api/evaluation", json=start_body({"email": "c@d.io"}))
    assert r.status_code == 200 and r.json()["environment_name"] == "Sandbox"
    eval_id = r.json()["eval_id"]
    async with harness.client(harness.sandbox_key) as acme:
        assert (await acme.get(f"/api/evaluation/{eval_id}")).status_code == 404
    demo = await harness.services.accounts.tenant_by_name(DEMO_TENANT)
    stored = (await harness.services.evaluations.get(demo.id, eval_id)).evaluation
    assert stored is not None


async def test_patch_and_get_forward_the_real_contract(harness):
    async with harness.client() as client:
        started = await client.post(
            "/demo/api/evaluation", json=start_body({"phone_number": "+1 415 555 0120"})
        )
        eval_id = started.json()["eval_id"]
        wrong = await client.patch(
            f"/demo/api/evaluation/{eval_id}",
            json={"id": "v1", "data": {"individual": {"otp": {"code": "000000"}}}},
        )
        again = await client.get(f"/demo/api/evaluation/{eval_id}")
        bad_id = await client.get("/demo/api/evaluation/..%2F..%2Fv1%2Foutbox")
        bad_body = await client.post("/demo/api/evaluation", content=b"not json")
    assert wrong.status_code == 400
    assert wrong.json()["msg"] == "Invalid code" and wrong.json()["attempts_remaining"] == 4
    assert again.json()["attempts_remaining"] == 4
    assert bad_id.status_code in (400, 404)
    assert bad_body.status_code == 400 and bad_body.json()["field"] == "body"


async def test_the_inbox_shows_only_the_demo_evaluation_destination(harness):
    phone = "+14155550121"
    async with harness.client(harness.sandbox_key) as acme:
        other_tenant = await acme.post("/api/evaluation", json=start_body({"phone_number": phone}))
        assert other_tenant.status_code == 200
    async with harness.client() as client:
        mine = await client.post("/demo/api/evaluation", json=start_body({"phone_number": phone}))
        other_dest = await client.post(
            "/demo/api/evaluation", json=start_body({"email": "x@y.io"}, "demo-2")
        )
        assert other_dest.status_code == 200
        inbox = await client.get(f"/demo/api/inbox/{mine.json()['eval_id']}")
        unknown = await client.get("/demo/api/inbox/00000000-0000-0000-0000-000000000000")
        malformed = await client.get("/demo/api/inbox/not-a-uuid")
        acme_eval = await client.get(f"/demo/api/inbox/{other_tenant.json()['eval_id']}")
    messages = inbox.json()["messages"]
    assert len(messages) == 1 and messages[0]["destination"] == phone
    # the acme tenant's message to the same number is not in the demo inbox
    assert len(await harness.messages(phone)) == 2
    assert unknown.status_code == 404 and acme_eval.status_code == 404
    assert malformed.status_code == 400 and malformed.json()["field"] == "eval_id"


async def test_rate_limit_answers_pass_through_with_retry_after(harness):
    async with harness.client() as client:
        answers = [
            await client.post(
                "/demo/api/evaluation",
                json=start_body({"phone_number": "+14155550122"}, f"demo-rl-{i}"),
            )
            for i in range(6)
        ]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].json()["retry_after"] >= 1


async def test_concurrent_first_use_creates_one_key(harness):
    account = demo_account(harness.services)
    keys = await asyncio.gather(*(account.key() for _ in range(5)))
    assert len({k.key for k in keys}) == 1


async def test_the_demo_key_is_revoked_at_shutdown(settings):
    async with running_app(settings) as h:
        key = (await demo_account(h.services).key()).key
        principal = await h.services.accounts.authenticate(key)
        assert principal is not None and principal.environment is Environment.SANDBOX
    engine = create_engine(settings.database_url, pool_size=0)
    try:
        assert await AccountStore(engine).authenticate(key) is None
    finally:
        await engine.dispose()


async def test_turned_off_the_demo_answers_404(db_url):
    settings = Settings(database_url=db_url, demo_enabled=False, _env_file=None)
    async with running_app(settings) as h, h.client() as client:
        page = await client.get("/")
        api = await client.post("/demo/api/evaluation", json=start_body({"email": "a@b.io"}))
        inbox = await client.get("/demo/api/inbox/00000000-0000-0000-0000-000000000000")
    assert page.status_code == api.status_code == inbox.status_code == 404
    assert "OTPGATE_DEMO_ENABLED" in page.json()["msg"]
    assert await h.services.accounts.tenant_by_name(DEMO_TENANT) is None


async def test_the_key_less_routes_are_throttled_per_client_address(harness):
    """20 writes a minute per address (starts and PATCHes alike), then 429; the API's own
    per-destination limits never come into it (each start goes to another number)."""
    async with harness.client() as client:
        answers = [
            await client.post(
                "/demo/api/evaluation",
                json=start_body({"email": f"flood-{i}@example.com"}, f"demo-flood-{i}"),
            )
            for i in range(25)
        ]
    assert [a.status_code for a in answers] == [200] * 20 + [429] * 5
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert "too many requests" in answers[-1].json()["msg"]
    demo = await harness.services.accounts.tenant_by_name(DEMO_TENANT)
    async with harness.services.uow() as uow:
        rows = await uow.transaction.fetch(
            "SELECT COUNT(*) FROM evaluations WHERE tenant_id = :t", {"t": demo.id}
        )
    assert rows[0][0] == 20
