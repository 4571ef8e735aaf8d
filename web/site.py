"""The site: the pages' routes, static files, error pages and sign-in redirects, added to the
API's app by `install`."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fontpkg_sarabun import ROOT as SARABUN

from ledger.errors import Rejection
from web.csrf import CsrfRefused
from web.import_jobs import ImportJobs
from web.routes import (
    account,
    admin,
    audit,
    dates,
    enterprise_equity,
    home,
    imports,
    investments,
    loan,
    loan_operations,
    office,
    office_loan_products,
    office_loans,
    parties,
    periods,
    rate_changes,
    sales,
    shares,
    statement,
    tiers,
    welfare_office,
)
from web.session import SignInRequired, session_times, signin_location
from web.templating import render
from web.throttle import SignInThrottle

STATIC_DIR = Path(__file__).parent / "static"
PAGE_AREAS = (  # the route modules, in the order their routes are matched
    account,
    home,
    dates,
    sales,
    statement,
    loan,
    shares,
    audit,
    periods,
    imports,
    investments,
    enterprise_equity,
    welfare_office,
    loan_operations,
    rate_changes,
    office_loan_products,
    office_loans,
    office,
    parties,
    tiers,
    admin,
)
API_PREFIXES = ("/v1/", "/openapi.json", "/docs", "/redoc", "/health", "/ready", "/metrics")
ERROR_PAGES = {404: "not_found", 403: "forbidden", 500: "internal"}


def is_page(request: Request) -> bool:
    """Whether a request is for a page (an HTML answer) rather than the API."""
    return not request.url.path.startswith(API_PREFIXES)


def page_error(request: Request, status: int, reason: str):
    """The Thai (or English) page for a refusal on a page's path; None for the API's paths."""
    if not is_page(request):
        return None
    kind = ERROR_PAGES.get(status, "not_found" if reason == Rejection.not_found else "error")
    return render(request, "error.html", status, kind=kind)


def install(app: FastAPI) -> None:
    app.state.session_times = session_times(app.state.settings)
    app.state.sign_in_throttle = SignInThrottle()
    app.state.page_error = page_error
    app.state.import_jobs = ImportJobs()
    app.mount("/static/fonts", StaticFiles(directory=SARABUN / "files"), name="fonts")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in PAGE_AREAS:
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(_request: Request, error: SignInRequired) -> RedirectResponse:
        return RedirectResponse(signin_location(error.next_path), 303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _error: CsrfRefused):
        return render(request, "error.html", 403, kind="csrf")
