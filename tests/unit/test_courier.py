from __future__ import annotations

from dataclasses import dataclass

from otpgate.adapters.delivery.base import ProviderError
from otpgate.adapters.delivery.courier import Courier, RetryPolicy
from otpgate.adapters.delivery.fakes import ScriptedProvider
from otpgate.adapters.delivery.templates import Renderer
from otpgate.core.model import Channel, Environment
from tests.support.messages import outgoing, phone

DOWN = ProviderError("a: HTTP 503", status_code=503)
REFUSED = ProviderError("a: HTTP 400", status_code=400, retryable=False)


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def courier(*providers, sleeps=None, policy=None, sandbox=None, accounts=None) -> Courier:
    return Courier(
        sandbox=sandbox or ScriptedProvider("outbox"),
        production={Channel.SMS: list(providers)},
        renderer=Renderer(),
        retry=policy or RetryPolicy(attempts=3, backoff_seconds=0.5, budget_seconds=10),
        sleep=sleeps if sleeps is not None else Sleeps(),
        accounts=accounts,
    )


async def test_a_5xx_is_retried_with_exponential_backoff_then_succeeds():
    sleeps = Sleeps()
    a = ScriptedProvider("a", [DOWN, DOWN])
    result = await courier(a, sleeps=sleeps).deliver(outgoing())
    assert result.ok and result.provider == "a"
    assert result.attempts == 3
    assert sleeps == [0.5, 1.0]


async def test_after_the_retries_the_next_provider_takes_over():
    sleeps = Sleeps()
    a = ScriptedProvider.failing("a", DOWN)
    b = ScriptedProvider("b")
    result = await courier(a, b, sleeps=sleeps).deliver(outgoing())
    assert (result.ok, result.provider, result.attempts) == (True, "b", 4)
    assert a.calls == 3 and b.calls == 1
    assert b.sent[0].text.startswith("482910 is your Acme")


async def test_a_4xx_is_not_retried_but_fails_over():
    sleeps = Sleeps()
    a = ScriptedProvider.failing("a", REFUSED)
    b = ScriptedProvider("b")
    result = await courier(a, b, sleeps=sleeps).deliver(outgoing())
    assert (result.ok, result.provider, result.attempts) == (True, "b", 2)
    assert a.calls == 1 and sleeps == []


async def test_failing_everywhere_is_a_result_naming_every_failure():
    a = ScriptedProvider.failing("a", DOWN)
    b = ScriptedProvider.failing(
        "b", ProviderError("b: login refused", status_code=401, retryable=False)
    )
    result = await courier(a, b).deliver(outgoing())
    assert not result.ok
    assert result.provider == "b" and result.status_code == 401
    assert result.attempts == 4
    assert result.error == "a: HTTP 503; b: login refused"


async def test_retries_stop_within_the_time_budget():
    sleeps = Sleeps()
    policy = RetryPolicy(attempts=10, backoff_seconds=1.0, budget_seconds=3.5)
    a = ScriptedProvider.failing("a", DOWN)
    result = await courier(a, sleeps=sleeps, policy=policy).deliver(outgoing())
    assert not result.ok
    assert sleeps == [1.0, 2.0]  # a third wait (4 s) would overrun the 3.5 s budget
    assert result.attempts == 3


async def test_a_hanging_provider_is_cut_off_by_the_timeout():
    policy = RetryPolicy(attempts=2, backoff_seconds=0, budget_seconds=5, timeout_seconds=0.05)
    a = ScriptedProvider("a", [5.0, 5.0])
    b = ScriptedProvider("b")
    result = await courier(a, b, policy=policy).deliver(outgoing())
    assert result.ok and result.provider == "b" and result.attempts == 3


async def test_a_crashing_provider_is_a_failure_not_an_exception():
    result = await courier(ScriptedProvider("a", [KeyError("boom")])).deliver(outgoing())
    assert not result.ok and result.status_code == 502
    assert result.error == "a: unexpected KeyError"


async def test_sandbox_always_goes_to_the_sandbox_provider():
    sandbox = ScriptedProvider("outbox")
    live = ScriptedProvider("a")
    result = await courier(live, sandbox=sandbox).deliver(outgoing(environment=Environment.SANDBOX))
    assert result.provider == "outbox" and live.calls == 0


async def test_no_provider_for_the_channel():
    result = await courier(ScriptedProvider("a")).deliver(outgoing(Channel.EMAIL))
    assert not result.ok and result.status_code == 503


@dataclass(frozen=True)
class Account:
    name: str
    brand: str | None
    default_locale: str | None


async def test_the_account_fills_brand_and_default_locale_when_the_message_lacks_them():
    lookups = []

    async def accounts(tenant_id: str) -> Account:
        lookups.append(tenant_id)
        return Account("acme", "Acme Bank", "de")

    a = ScriptedProvider("a")
    c = courier(a, accounts=accounts)
    await c.deliver(outgoing(brand=None, destination=phone(None)))
    await c.deliver(outgoing(brand=None, destination=phone(None)))
    assert a.sent[0].text.startswith("482910 ist Ihr Acme Bank-Bestätigungscode")
    assert lookups == ["tenant-1"]  # cached
