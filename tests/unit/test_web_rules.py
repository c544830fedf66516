"""Rules the front-ends used to hold, where they live now (core, flows, destinations).

Each test names the rule; the front-ends' integration tests check that the APIs still
answer with them.
"""

from __future__ import annotations

import hashlib
import string

import pytest

from otpgate.core import branding, sandbox
from otpgate.core.cache import ExpiringCache
from otpgate.core.clock import FakeClock
from otpgate.core.errors import InvalidInput
from otpgate.core.memory import MemoryLimiter
from otpgate.core.model import Channel, DestinationKind, Environment, Scope, Tenant
from otpgate.core.opaque import BASE62, digest, random_token
from otpgate.core.ports import NoLimiter
from otpgate.core.throttle import Throttle
from otpgate.destinations import outbox_destination, parse_contact, parse_phone
from otpgate.flows.evaluation.ids import check_eval_id
from otpgate.flows.phonematch.catalog import channel_for, user_names_tenant
from otpgate.flows.sponsor.channels import channel_named, send_channel, sponsor_channels
from otpgate.flows.sponsor.configuration import ProductRules, otp_rules
from otpgate.flows.sponsor.directory import SponsorAdmin
from otpgate.flows.sponsor.errors import ChannelUnavailable
from otpgate.flows.sponsor.model import Sponsor
from otpgate.testing.fakes import MemoryUnitOfWorkFactory

ACME = Tenant("t1", "acme")
BRANDED = Tenant("t2", "acme-eu", brand="Acme Health", default_locale="es")

# -- sandbox magic numbers ----------------------------------------------------


def test_only_sandbox_keys_may_name_the_magic_numbers() -> None:
    assert sandbox.takes_magic_numbers(Environment.SANDBOX)
    assert not sandbox.takes_magic_numbers(Environment.PRODUCTION)


@pytest.mark.parametrize("typed", ["+11234567890", "+1 123-456-7890", "+11234567899"])
def test_a_magic_number_stands_for_itself_where_allowed(typed: str) -> None:
    parsed = parse_phone(typed, allow_magic=True)
    assert parsed.value in sandbox.MAGIC_PHONES and parsed.country == "US"
    with pytest.raises(InvalidInput):
        parse_phone(typed, allow_magic=False)  # not a valid number


def test_the_guard_and_the_sandbox_share_one_refused_number() -> None:
    from otpgate.core.guard_types import GUARD_REFUSED_PHONE

    assert GUARD_REFUSED_PHONE == sandbox.GUARD_REFUSED_PHONE
    assert {sandbox.FAILING_PHONE, GUARD_REFUSED_PHONE} == sandbox.MAGIC_PHONES


# -- destinations: the one parser ---------------------------------------------


def test_a_contact_parses_what_was_given_and_names_the_apis_fields() -> None:
    both = parse_contact("+1 415 555 0100", " Ana@Example.com ")
    assert both.phone is not None and both.phone.value == "+14155550100"
    assert both.email is not None and both.email.kind is DestinationKind.EMAIL
    assert parse_contact(None, None).phone is None
    with pytest.raises(InvalidInput) as bad:
        parse_contact("", None, phone_field="data.individual.phone_number")
    assert bad.value.field == "data.individual.phone_number"
    with pytest.raises(InvalidInput) as refused:
        parse_contact(sandbox.FAILING_PHONE, None, allow_magic=False)
    assert refused.value.field == "phone_number"


def test_an_outbox_lookup_normalises_what_it_can_and_keeps_the_rest() -> None:
    assert outbox_destination("+1 (415) 555-0100") == "+14155550100"
    assert outbox_destination("Ana@EXAMPLE.com") == "Ana@example.com"
    assert outbox_destination("  not a number ") == "not a number"
    with pytest.raises(InvalidInput) as bad:
        outbox_destination("a@@b")
    assert bad.value.field == "destination"


# -- branding -------------------------------------------------------------------


def test_messages_are_signed_with_the_tenants_brand_else_the_installs() -> None:
    assert branding.message_brand(BRANDED, "otpgate") == "Acme Health"
    assert branding.message_brand(ACME, "otpgate") == "otpgate"


def test_the_sender_an_answer_shows_is_the_brand_else_the_tenants_name() -> None:
    assert branding.company(BRANDED) == "Acme Health"
    assert branding.company(ACME) == "acme"


# -- the PhoneMatch gateway's catalog -------------------------------------------


def test_the_service_names_the_channel() -> None:
    assert channel_for("PhoneMatch5.0.Voice") is Channel.VOICE
    with pytest.raises(InvalidInput) as bad:
        channel_for("PhoneMatch4.0.SMS")
    assert bad.value.field == "service" and "PhoneMatch5.0.SMS" in bad.value.message


def test_the_gateway_user_is_the_tenants_name() -> None:
    assert user_names_tenant(ACME, "acme")
    assert not user_names_tenant(ACME, "Acme")
    assert not user_names_tenant(None, "\x00" * 16)  # the dummy name never matches


# -- the sponsor API's channels and configuration ----------------------------------


def test_a_sponsor_is_configured_with_sms_and_email_only() -> None:
    assert sponsor_channels([" sms", "EMAIL"]) == [Channel.SMS, Channel.EMAIL]
    assert channel_named("voice") is None
    with pytest.raises(InvalidInput) as bad:
        sponsor_channels(["SMS", "VOICE"])
    assert bad.value.field == "channels"


def test_a_send_without_a_channel_is_malformed_and_an_unknown_one_unsupported() -> None:
    assert send_channel(" email ") is Channel.EMAIL
    with pytest.raises(InvalidInput) as missing:
        send_channel("  ")
    assert missing.value.field == "channel"
    with pytest.raises(ChannelUnavailable):
        send_channel("WHATSAPP")


def _sponsor(active: bool = True) -> Sponsor:
    return Sponsor(
        id="s1",
        tenant_id="t1",
        environment="sandbox",
        slug="acme",
        name="Acme",
        channels=(Channel.SMS,),
        otp_operations={"loan": ("disburse", "close"), "card": ("activate",)},
        active=active,
    )


def test_the_configuration_lists_the_operations_needing_an_otp_by_product_type() -> None:
    assert otp_rules(_sponsor()) == [
        ProductRules("card", ("activate",)),
        ProductRules("loan", ("disburse", "close")),
    ]
    assert otp_rules(_sponsor(), "loan") == [ProductRules("loan", ("disburse", "close"))]
    assert otp_rules(_sponsor(), "mortgage") == [ProductRules("mortgage", ())]


def test_an_inactive_sponsor_requires_no_otp() -> None:
    assert otp_rules(_sponsor(active=False)) == [
        ProductRules("card", ()),
        ProductRules("loan", ()),
    ]


async def test_a_beneficiary_needs_a_phone_or_an_email() -> None:
    uow = MemoryUnitOfWorkFactory()
    admin = SponsorAdmin(uow=uow, clock=FakeClock())
    scope = Scope("t1", Environment.SANDBOX)
    await admin.save_sponsor(scope, "acme", "Acme", [Channel.SMS], {})
    with pytest.raises(InvalidInput) as bad:
        await admin.save_beneficiary(scope, "acme", "bnf_1", None, None)
    assert bad.value.field == "phone_number"
    assert uow.db.table("sponsor_beneficiaries") == {}
    saved = await admin.save_beneficiary(
        scope, "acme", "bnf_1", parse_contact("+14155550100", None).phone, None
    )
    assert saved.phone is not None


# -- eval_id --------------------------------------------------------------------


def test_an_eval_id_is_a_uuid_in_its_canonical_form() -> None:
    assert check_eval_id("6F9619FF-8B86-D011-B42D-00C04FC964FF") == (
        "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    )
    with pytest.raises(InvalidInput) as bad:
        check_eval_id("../v1/outbox")
    assert bad.value.field == "eval_id"


# -- opaque tokens, the expiring cache, the throttle -------------------------------


def test_opaque_tokens_are_random_in_their_alphabet_and_stored_as_sha256() -> None:
    token = random_token(40, prefix="og_live_")
    assert token.startswith("og_live_") and len(token) == 48
    assert set(token[8:]) <= set(BASE62)
    assert set(random_token(200, string.digits)) <= set(string.digits)
    assert random_token(40) != random_token(40)
    assert digest(token) == hashlib.sha256(token.encode()).hexdigest()


def test_cached_values_expire_and_a_full_cache_starts_again() -> None:
    cache: ExpiringCache[str, str | None] = ExpiringCache(30, max_entries=3)
    cache.put("miss", None, now=100)
    found = cache.get("miss", now=129.9)
    assert found is not None and found.value is None  # a miss is remembered too
    assert cache.get("miss", now=130) is None
    for key in ("a", "b"):
        cache.put(key, key, now=100)
    assert len(cache) == 3
    cache.put("c", "c", now=100)
    assert len(cache) == 1 and cache.get("a", now=100) is None
    assert cache.get("c", now=100) is not None


async def test_the_throttle_counts_outside_first_and_else_in_the_database() -> None:
    clock = FakeClock()
    uow = MemoryUnitOfWorkFactory()
    outside = Throttle(MemoryLimiter(), uow, clock)
    inside = Throttle(NoLimiter(), uow, clock)
    assert [(await outside.hit("demo:1", 2, 60)).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert uow.db.table("counters") == {}  # Redis counted them
    assert [(await inside.hit("demo:2", 1, 60)).allowed for _ in range(2)] == [True, False]
    assert uow.db.table("counters") != {}
