"""Builds every adapter and service from settings: the one place that wires otpgate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import disposable_email_domains
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate import secretfile
from otpgate.adapters.delivery.base import Provider
from otpgate.adapters.delivery.catalog import load_book
from otpgate.adapters.delivery.console import ConsoleProvider
from otpgate.adapters.delivery.courier import Courier, RetryPolicy
from otpgate.adapters.delivery.outbox import OutboxProvider
from otpgate.adapters.delivery.registry import build_routes
from otpgate.adapters.delivery.templates import Renderer
from otpgate.adapters.ids import new_ulid
from otpgate.adapters.redis.limiter import RedisLimiter, connect
from otpgate.adapters.sql.accounts import AccountStore, LegacySecrets
from otpgate.adapters.sql.clients import ClientDirectory
from otpgate.adapters.sql.database import Database, PostgresDatabase, SqliteDatabase
from otpgate.adapters.sql.db import create_engine, is_sqlite, sqlite_path
from otpgate.adapters.sql.fallback import RedisFirst
from otpgate.adapters.sql.purge import Purger, PurgeSchedule
from otpgate.adapters.sql.sealed import Sealer
from otpgate.adapters.sql.uow import SqlUnitOfWorkFactory
from otpgate.adapters.tokens import AccessTokens
from otpgate.core.clock import Clock, SystemClock
from otpgate.core.codes import Keyring
from otpgate.core.model import Channel
from otpgate.core.ports import Courier as CourierPort
from otpgate.core.ports import DestinationParsers, Limiter, NoLimiter
from otpgate.core.service import OtpService
from otpgate.core.uow import OutboxMessage, UnitOfWorkFactory
from otpgate.destinations import parse_email, parse_phone
from otpgate.flows.evaluation.service import EvaluationService
from otpgate.flows.phonematch.service import GatewayService
from otpgate.flows.sponsor.model import SponsorPolicy
from otpgate.flows.sponsor.service import SponsorService
from otpgate.flows.sponsor.tokens import SponsorIds
from otpgate.observability import Metrics, count_committed, count_refusal
from otpgate.secretfile import Secrets
from otpgate.services import Closer, OutboxReader, ReadyCheck, Services, SponsorOAuth
from otpgate.settings import Settings
from otpgate.workflow_files import load_catalog


@dataclass(kw_only=True)
class WiredServices(Services):
    """The services with the concrete handles behind them, for operations and tests: the
    web layer is typed against :class:`~otpgate.services.Services` and never sees these."""

    engine: AsyncEngine
    database: Database
    uow: SqlUnitOfWorkFactory
    accounts: AccountStore

    async def close(self) -> None:
        await super().close()
        await self.database.close()
        await self.engine.dispose()


def database_check(engine: AsyncEngine) -> ReadyCheck:
    async def ready() -> bool:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    return ready


def outbox_reader(uow: SqlUnitOfWorkFactory) -> OutboxReader:
    async def read(
        tenant_id: str | None,
        environment: str | None,
        destination: str | None = None,
        limit: int = 50,
    ) -> list[OutboxMessage]:
        async with uow.reading() as tx:
            return await tx.outbox.list(tenant_id, environment, destination, limit)

    return read


def build_keyring(found: Secrets) -> Keyring:
    return Keyring.rotating(found.code, lookup_key=found.lookup)


def build_sealer(found: Secrets) -> Sealer:
    return Sealer(found.data, lookup_key=found.lookup)


async def provide_secrets(settings: Settings, engine: AsyncEngine) -> Secrets:
    """The secrets file is completed here on SQLite (one host by nature); on PostgreSQL
    it must exist already (``otpgate init``), so no process ever invents its own."""
    return await secretfile.provision(
        settings, LegacySecrets(engine), create=is_sqlite(settings.database_url)
    )


def build_providers(settings: Settings, uow: UnitOfWorkFactory) -> dict[Channel, list[Provider]]:
    """Ordered providers per channel; raises ``ConfigurationError`` naming what is missing."""
    builtin: dict[str, Provider] = {"outbox": OutboxProvider(uow), "console": ConsoleProvider()}
    return build_routes(settings, builtin.__getitem__)


async def open_database(settings: Settings) -> Database:
    if is_sqlite(settings.database_url):
        return SqliteDatabase(sqlite_path(settings.database_url))
    db = PostgresDatabase(
        settings.database_url,
        min_size=1,
        max_size=settings.database_pool_size + settings.database_max_overflow,
    )
    await db.open()
    return db


def build_limiter(
    settings: Settings, services_closers: list[Closer], ready: dict[str, ReadyCheck]
) -> Limiter:
    """No outside limiter (every count in the database), or Redis first with the database
    as the fallback while Redis is unreachable (see ``adapters/sql/fallback.py``)."""
    if not settings.redis_url:
        return NoLimiter()
    redis = RedisLimiter(connect(settings.redis_url), prefix=settings.redis_key_prefix)
    services_closers.append(redis.close)
    ready["redis"] = redis.ping
    return RedisFirst(redis, retry_seconds=settings.redis_retry_seconds)


def limiter_down(limiter: Limiter) -> Callable[[], bool] | None:
    """Whether Redis is configured but unreachable right now (the guard then fails open)."""
    if isinstance(limiter, RedisFirst):
        return lambda: limiter.primary_down
    return None


def start_housekeeping(
    settings: Settings, engine: AsyncEngine, clock: Clock, closers: list[Closer]
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
    closers.insert(0, schedule.stop)


CourierFactory = Callable[[Settings, UnitOfWorkFactory, Metrics], CourierPort]


def default_courier(settings: Settings, uow: UnitOfWorkFactory, metrics: Metrics) -> CourierPort:
    return Courier(
        sandbox=OutboxProvider(uow),
        production=build_providers(settings, uow),
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
    )


async def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    courier_factory: CourierFactory | None = None,
    metrics: Metrics | None = None,
) -> WiredServices:
    clock = clock or SystemClock()
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    metrics = metrics or Metrics()
    try:
        found = await provide_secrets(settings, engine)
    except BaseException:
        await engine.dispose()
        raise
    settings = secretfile.with_file_secrets(settings, found)
    database = await open_database(settings)
    uow = SqlUnitOfWorkFactory(
        database, build_sealer(found), on_commit=partial(count_committed, metrics)
    )
    closers: list[Closer] = []
    ready: dict[str, ReadyCheck] = {}
    accounts = AccountStore(engine, cache_seconds=settings.key_cache_seconds)
    limiter = build_limiter(settings, closers, ready)
    keyring = build_keyring(found)
    courier = (courier_factory or default_courier)(settings, uow, metrics)
    if isinstance(courier, Courier):
        courier.accounts = AccountStore(engine, cache_seconds=0).tenant_by_id
        closers.append(courier.aclose)
    otp = OtpService(
        uow=uow,
        limiter=limiter,
        courier=courier,
        keyring=keyring,
        clock=clock,
        policy=settings.policy(),
        guard=settings.guard(),
        on_refusal=partial(count_refusal, metrics),
        limiter_down=limiter_down(limiter),
        on_fail_open=metrics.guard_fail_open.inc,
    )
    start_housekeeping(settings, engine, clock, closers)
    return WiredServices(
        settings=settings,
        engine=engine,
        database=database,
        database_backend=engine.dialect.name,
        database_ready=database_check(engine),
        outbox=outbox_reader(uow),
        uow=uow,
        clock=clock,
        metrics=metrics,
        accounts=accounts,
        limiter=limiter,
        otp=otp,
        evaluations=EvaluationService(
            otp=otp,
            uow=uow,
            workflows=load_catalog(settings.workflows_file),
            clock=clock,
            disposable_domains=frozenset(disposable_email_domains.blocklist),
        ),
        gateway=GatewayService(
            otp=otp,
            uow=uow,
            clock=clock,
            destinations=DestinationParsers(phone=parse_phone, email=parse_email),
        ),
        sponsors=SponsorService(
            otp=otp,
            uow=uow,
            clock=clock,
            ids=SponsorIds(ulid=new_ulid),
            policy=SponsorPolicy(
                otp_ttl_seconds=settings.sponsor_otp_ttl_seconds,
                max_attempts=settings.sponsor_otp_max_attempts,
                token_ttl_seconds=settings.sponsor_token_ttl_seconds,
                sends_per_hour=settings.sponsor_sends_per_hour,
                client_requests_per_minute=settings.sponsor_client_requests_per_minute,
            ),
        ),
        oauth=SponsorOAuth(
            clients=ClientDirectory(accounts),
            tokens=AccessTokens(
                found.oauth,
                clock,
                settings.oauth_access_token_ttl_seconds,
            ),
        ),
        ready_checks=ready,
        closers=closers,
    )
