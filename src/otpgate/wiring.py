"""Builds every adapter and service from settings: the one place that wires otpgate."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.clock import Clock, SystemClock
from otpgate.core.codes import Keyring
from otpgate.core.model import Channel
from otpgate.core.ports import Courier as CourierPort
from otpgate.core.ports import Limiter
from otpgate.core.service import OtpService
from otpgate.delivery.base import Provider
from otpgate.delivery.console import ConsoleProvider
from otpgate.delivery.courier import Courier
from otpgate.delivery.outbox import OutboxProvider
from otpgate.delivery.templates import Renderer
from otpgate.observability import MeteredAudit, Metrics
from otpgate.settings import Settings
from otpgate.storage.accounts import AccountStore, SecretStore
from otpgate.storage.db import create_engine
from otpgate.storage.evaluations import SqlEvaluationStore
from otpgate.storage.fallback import FallbackLimiter
from otpgate.storage.idempotency import IdempotencyStore
from otpgate.storage.limiter import SqlLimiter
from otpgate.storage.outbox import OutboxStore
from otpgate.storage.purge import Purger, PurgeSchedule
from otpgate.storage.redis_limiter import RedisLimiter, connect
from otpgate.storage.sessions import SqlSessionStore
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
    extras: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        for closer in self.extras.get("closers", []):
            await closer()
        await self.engine.dispose()


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
    known: dict[str, Provider] = {"outbox": OutboxProvider(outbox), "console": ConsoleProvider()}
    routes: dict[Channel, list[Provider]] = {}
    for channel, raw in (
        (Channel.SMS, settings.sms_providers),
        (Channel.VOICE, settings.voice_providers),
        (Channel.EMAIL, settings.email_providers),
    ):
        names = Settings.provider_list(raw)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown {channel} provider(s): {', '.join(unknown)}")
        routes[channel] = [known[n] for n in names]
    return routes


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
        renderer=Renderer(),
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
        courier=courier,
        keyring=keyring,
        clock=clock,
        policy=settings.policy(),
        audit=metered,
        deliveries=metered,
    )
    evaluations = EvaluationService(
        otp=otp,
        store=SqlEvaluationStore(engine),
        workflows=load_catalog(settings.workflows_file),
        clock=clock,
    )
    start_housekeeping(settings, engine, clock, extras)
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
        extras=extras,
    )
