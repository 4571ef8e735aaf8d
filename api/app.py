"""The FastAPI application: `create_app` for a database and settings given, and
`app_from_settings`, the factory each server process calls (`codi-ledger run`)."""

from fastapi import Depends, FastAPI

from api import docs, headers, health, logs, metrics, middleware, problems
from api.context import Clock, KnownTokens
from api.known_query import refuse_unknown_query
from api.problems import PROBLEM_RESPONSES
from api.routes import (
    admin,
    commands,
    equity,
    exports,
    journal,
    loans,
    look_through,
    onlend,
    personal,
    registry,
    remittances,
    reports,
    savings,
    welfare,
)
from api.settings import Settings
from store.engine import Database
from web import site


def create_app(db: Database | None = None, clock: Clock | None = None, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.load()
    app = FastAPI(
        title="codi-ledger",
        version="0.1.0",
        description="Double-entry ledger of the CODI fund, its welfare funds and community enterprises. "
        "Amounts are decimal strings of baht; errors are application/problem+json with a `reason`.",
        responses=PROBLEM_RESPONSES,
        openapi_url="/openapi.json" if settings.api_docs else None,
        docs_url=None,  # served by api.docs, from local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.state.clock = clock or Clock()
    app.state.known_tokens = KnownTokens()
    problems.install(app)
    middleware.install(app, body_timeout_s=settings.body_timeout_s)
    headers.install(app)
    logs.install(app)
    routers = (registry, journal, loans, onlend, savings, remittances, admin, commands, reports, exports, equity,
               welfare, personal, look_through)
    for module in routers:
        app.include_router(module.router, dependencies=[Depends(refuse_unknown_query)])
    docs.declare_bearer_tokens(app)
    if settings.api_docs:
        docs.install(app)
    health.install(app)
    metrics.install(app)
    site.install(app)  # the pages, under /
    return app


def app_from_settings() -> FastAPI:
    """The app of the settings in force, its log configured: what each server process runs."""
    settings = Settings.load()
    logs.configure(settings)
    return create_app(settings=settings)
