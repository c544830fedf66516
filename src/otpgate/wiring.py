"""Builds every adapter and service from settings: the one place that wires otpgate."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.audit import (
    AuditedChallenges,
    AuditedDirectory,
    AuditedEvaluations,
    AuditedTransactions,
)
from otpgate.core.clock import Clock, SystemClock
from otpgate.core.codes import Keyring
from otpgate.core.model import Channel
from otpgate.core.ports import AuditLog, Limiter
from otpgate.core.ports import Courier as CourierPort
from otpgate.core.service import OtpService
from otpgate.delivery.base import Provider
from otpgate.delivery.catalog import load_book
from otpgate.delivery.console import ConsoleProvider
from otpgate.delivery.courier import Courier, RetryPolicy
from otpgate.delivery.outbox import OutboxProvider
from otpgate.delivery.registry import build_routes
from otpgate.delivery.templates import Renderer
from otpgate.gateway.service import GatewayService
from otpgate.observability import MeteredAudit, Metrics
from otpgate.settings import Settings
from otpgate.sponsors.model import SponsorPolicy
from otpgate.sponsors.service import SponsorService
from otpgate.sponsors.tokens import AccessTokens
from otpgate.storage.accounts import AccountStore, SecretStore
from otpgate.storage.clients import ClientDirectory
from otpgate.storage.db import create_engine
from otpgate.storage.evaluations import SqlEvaluationStore
from otpgate.storage.fallback import FallbackLimiter
from otpgate.storage.gateway import SqlTransactionStore
from otpgate.storage.idempotency import IdempotencyStore
from otpgate.storage.lease import ReleasingCourier
from otpgate.storage.limiter import SqlLimiter
from otpgate.storage.outbox import OutboxStore
from otpgate.storage.purge import Purger, PurgeSchedule
from otpgate.storage.redis_limiter import RedisLimiter, connect
from otpgate.storage.sessions import SqlSessionStore
from otpgate.storage.sponsors import SqlChallengeStore, SqlSponsorDirectory
from otpgate.workflows.definitions import load_catalog
from otpgate.workflows.evaluation import EvaluationService


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    metrics: Metrics
    accounts: AccountStore
    outbox: OutboxStore
    idempotency: IdempotencyStore
    sessions: SqlSessionStore
    limiter: Limiter
    otp: OtpService
    evaluations: EvaluationService
    gateway: GatewayService
    sponsors: SponsorService
    oauth: SponsorOAuth
    extras: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        for closer in self.extras.get("closers", []):
            await closer()
        await self.engine.dispose()


@dataclass(frozen=True)
class SponsorOAuth:
    """The sponsor API's client-credentials grant: who may ask, and what they get."""

    clients: ClientDirectory
    tokens: AccessTokens


def build_sponsors(
    settings: Settings,
    engine: AsyncEngine,
    otp: OtpService,
    limiter: Limiter,
    clock: Clock,
    audit: AuditLog,
) -> SponsorService:
    return SponsorService(
        otp=otp,
        directory=AuditedDirectory(SqlSponsorDirectory(engine), audit, clock),
        challenges=AuditedChallenges(SqlChallengeStore(engine), audit, clock),
        limiter=limiter,
        clock=clock,
        policy=SponsorPolicy(
            otp_ttl_seconds=settings.sponsor_otp_ttl_seconds,
            max_attempts=settings.sponsor_otp_max_attempts,
            token_ttl_seconds=settings.sponsor_token_ttl_seconds,
            sends_per_hour=settings.sponsor_sends_per_hour,
            client_requests_per_minute=settings.sponsor_client_requests_per_minute,
        ),
    )


def _secret_bytes(raw: str) -> bytes:
    try:
        decoded = base64.b64decode(raw, validate=True)
        if len(decoded) >= 16:
            return decoded
    except (binascii.Error, ValueError):
        pass
    return raw.encode()


async def build_keyring(settings: Settings, secrets: SecretStore) -> Keyring:
    if settings.code_secret:
        keys = {"env1": _secret_bytes(settings.code_secret)}
        if settings.code_secret_previous:
            keys["env0"] = _secret_bytes(settings.code_secret_previous)
        return Keyring(keys, current="env1")
    return Keyring({"db1": await secrets.get_or_create("code_secret_v1")}, current="db1")


def build_providers(settings: Settings, outbox: OutboxStore) -> dict[Channel, list[Provider]]:
    """Ordered providers per channel; raises ``ConfigurationError`` naming what is missing."""
    builtin: dict[str, Provider] = {"outbox": OutboxProvider(outbox), "console": ConsoleProvider()}
    return build_routes(settings, builtin.__getitem__)


def build_limiter(settings: Settings, engine: AsyncEngine, extras: dict[str, Any]) -> Limiter:
    """The database limiter; with ``OTPGATE_REDIS_URL``, Redis first and the database as
    the fallback while Redis is unreachable (see ``storage/fallback.py``)."""
    database = SqlLimiter(engine)
    if not settings.redis_url:
        return database
    redis = RedisLimiter(connect(settings.redis_url), prefix=settings.redis_key_prefix)
    extras.setdefault("closers", []).append(redis.close)
    extras.setdefault("ready_checks", {})["redis"] = redis.ping
    return FallbackLimiter(redis, database, retry_seconds=settings.redis_retry_seconds)


def start_housekeeping(
    settings: Settings, engine: AsyncEngine, clock: Clock, extras: dict[str, Any]
) -> None:
    if settings.purge_interval_seconds <= 0:
        return
    schedule = PurgeSchedule(
        Purger(engine),
        clock.now,
        interval=settings.purge_interval_seconds,
        older_than=settings.retention_seconds,
    )
    schedule.start()
    extras.setdefault("closers", []).insert(0, schedule.stop)


CourierFactory = Callable[[Settings, OutboxStore, Metrics], CourierPort]


def default_courier(settings: Settings, outbox: OutboxStore, metrics: Metrics) -> CourierPort:
    return Courier(
        sandbox=OutboxProvider(outbox),
        production=build_providers(settings, outbox),
        renderer=Renderer(
            load_book(settings.templates_file),
            default_brand=settings.brand,
            autofill_domain=settings.sms_autofill_domain,
        ),
        retry=RetryPolicy(
            attempts=settings.delivery_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            budget_seconds=settings.delivery_retry_budget_seconds,
            timeout_seconds=2 * settings.delivery_timeout_seconds,
        ),
        accounts=AccountStore(outbox.engine, cache_seconds=0).tenant_by_id,
    )


async def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    courier_factory: CourierFactory | None = None,
    metrics: Metrics | None = None,
) -> Services:
    clock = clock or SystemClock()
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    extras: dict[str, Any] = {}
    metrics = metrics or Metrics()
    accounts = AccountStore(engine, cache_seconds=settings.key_cache_seconds)
    outbox = OutboxStore(engine)
    sessions = SqlSessionStore(engine)
    limiter = build_limiter(settings, engine, extras)
    keyring = await build_keyring(settings, SecretStore(engine))
    courier = (courier_factory or default_courier)(settings, outbox, metrics)
    metered = MeteredAudit(sessions, metrics)
    otp = OtpService(
        store=sessions,
        limiter=limiter,
        courier=ReleasingCourier(courier),
        keyring=keyring,
        clock=clock,
        policy=settings.policy(),
        audit=metered,
        deliveries=metered,
    )
    evaluations = EvaluationService(
        otp=otp,
        store=AuditedEvaluations(SqlEvaluationStore(engine), metered, clock),
        workflows=load_catalog(settings.workflows_file),
        clock=clock,
    )
    start_housekeeping(settings, engine, clock, extras)
    if isinstance(courier, Courier):
        extras.setdefault("closers", []).append(courier.aclose)
    return Services(
        settings=settings,
        engine=engine,
        clock=clock,
        metrics=metrics,
        accounts=accounts,
        outbox=outbox,
        idempotency=IdempotencyStore(engine),
        sessions=sessions,
        limiter=limiter,
        otp=otp,
        evaluations=evaluations,
        gateway=GatewayService(
            otp=otp,
            store=AuditedTransactions(SqlTransactionStore(engine), metered, clock),
            clock=clock,
        ),
        sponsors=build_sponsors(settings, engine, otp, limiter, clock, metered),
        oauth=SponsorOAuth(
            clients=ClientDirectory(accounts),
            tokens=AccessTokens(
                await SecretStore(engine).get_or_create("oauth_signing_key_v1"),
                clock,
                settings.oauth_access_token_ttl_seconds,
            ),
        ),
        extras=extras,
    )
