"""``create_app(settings)``: builds the services and mounts every front-end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from otpgate import __version__
from otpgate.core.clock import Clock
from otpgate.observability import Metrics, configure_logging
from otpgate.services import Services
from otpgate.settings import Settings
from otpgate.web import openapi
from otpgate.web.admin.routes import router as admin_router
from otpgate.web.admin.sponsors import router as admin_sponsors_router
from otpgate.web.demo.routes import router as demo_router
from otpgate.web.evaluation.routes import HOT as EVALUATION_HOT
from otpgate.web.evaluation.routes import router as evaluation_router
from otpgate.web.fastlane import FastLane
from otpgate.web.middleware import RequestContextMiddleware
from otpgate.web.phonematch.routes import HOT as GATEWAY_HOT
from otpgate.web.phonematch.routes import router as gateway_router
from otpgate.web.sponsor.oauth import router as oauth_router
from otpgate.web.sponsor.routes import HOT as SPONSOR_HOT
from otpgate.web.sponsor.routes import router as sponsor_router
from otpgate.wiring import CourierFactory, build_services

log = structlog.get_logger("otpgate")
HOT_ROUTES = (*EVALUATION_HOT, *GATEWAY_HOT, *SPONSOR_HOT)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    courier_factory: CourierFactory | None = None,
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(
            settings, clock=clock, courier_factory=courier_factory, metrics=metrics
        )
        aliases = settings.workflow_alias_map(settings.workflow_aliases)
        if aliases:  # OTPGATE_WORKFLOW_ALIASES: the operator's workflow ids for ours
            services = replace(services, evaluations=services.evaluations.aliased(aliases))
        app.state.services = services
        for hook in app.state.startup_hooks:
            await hook(services)
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="otpgate",
        version=__version__,
        description="Self-hosted one-time-passcode verification, wire-compatible with three "
        "public OTP APIs.",
        lifespan=lifespan,
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.settings = settings
    app.state.startup_hooks = []
    # Added first, so it sits inside the request context (ids, access log, body cap).
    app.add_middleware(FastLane, routes=HOT_ROUTES)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(evaluation_router)
    app.include_router(admin_router)
    app.include_router(gateway_router)
    app.include_router(admin_sponsors_router)
    app.include_router(oauth_router)
    app.include_router(sponsor_router)
    app.include_router(demo_router)
    _mount_operations(app)
    _mount_error_handlers(app)
    openapi.install(app)  # offline /docs; the document as otpgate answers (openapi.py)
    return app


def _mount_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> JSONResponse:
        services: Services = request.app.state.services
        try:
            await services.database_ready()
        except Exception as exc:  # any database failure means not ready
            log.warning("readyz.database_unavailable", error=type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "error"}, status_code=503)
        body: dict[str, str] = {
            "status": "ok",
            "database": "ok",
            "database_backend": services.database_backend,
        }
        # Optional parts (Redis) report here but do not make the process unready:
        # the limiter falls back to the database while Redis is away.
        for name, check in services.ready_checks.items():
            try:
                body[name] = "ok" if await check() else "error"
            except Exception as exc:
                log.warning(
                    "readyz.dependency_unavailable", dependency=name, error=type(exc).__name__
                )
                body[name] = "error"
        return JSONResponse(body)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        registry = request.app.state.services.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _mount_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"msg": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", error=type(exc).__name__, path=request.url.path)
        return JSONResponse(
            {
                "msg": "internal error",
                "request_id": request.scope.get("state", {}).get("request_id"),
            },
            status_code=500,
        )


def create_app_from_env() -> FastAPI:
    """The uvicorn factory: settings from ``OTPGATE_*`` variables."""
    return create_app(Settings())
