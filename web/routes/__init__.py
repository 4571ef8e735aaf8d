"""The page routes, one module per area. Each makes its router with `page_router()`."""

from fastapi import APIRouter, Depends

from web.csrf import CsrfChecked
from web.session import load_session


def page_router() -> APIRouter:
    """A router of pages: left out of the OpenAPI schema (it describes the API); every request
    meets its session first (`load_session`), and every POST its CSRF check."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(load_session), CsrfChecked])
