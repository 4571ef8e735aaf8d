"""The FastAPI application."""

import os

from fastapi import FastAPI

import web
from api import middleware, problems
from api.context import Clock, KnownTokens
from api.problems import PROBLEM_RESPONSES
from api.routes import admin, equity, exports, journal, loans, personal, registry, reports, welfare
from store.engine import DEFAULT_URL, Database


def create_app(db: Database | None = None, clock: Clock | None = None) -> FastAPI:
    app = FastAPI(
        title="codi-ledger",
        version="0.1.0",
        description="Double-entry ledger of the CODI fund, its welfare funds and community enterprises. "
        "Amounts are decimal strings of baht; errors are application/problem+json with a `reason`.",
        responses=PROBLEM_RESPONSES,
    )
    app.state.db = db or Database(os.environ.get("DATABASE_URL", DEFAULT_URL))
    app.state.clock = clock or Clock()
    app.state.known_tokens = KnownTokens()
    problems.install(app)
    middleware.install(app)
    for module in (registry, journal, loans, admin, reports, exports, equity, welfare, personal):
        app.include_router(module.router)
    web.install(app)  # the pages, under /

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
