"""Is the service up: `/health` says the process answers (it asks nothing of the database);
`/ready` says it can serve: 200 when the database answers, its schema is at the newest migration
and its guards are in place, otherwise 503 with the reason (store.readiness), so that a load
balancer sends it no traffic and an operator reads why."""

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from store.readiness import newest_revision, not_ready

router = APIRouter(tags=["service"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Not ready: the reason and what was found"}})
async def ready(request: Request) -> JSONResponse:
    found = await run_in_threadpool(not_ready, request.app.state.db)
    if found is None:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not ready", "reason": found.reason, "detail": found.detail}, 503)


def install(app: FastAPI) -> None:
    newest_revision()  # read the migrations now, so that the first probe is as quick as the rest
    app.include_router(router)
