"""problem+json (RFC 9457) answers: one status per rejection reason, one body shape."""

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problem_text import DEFAULT_LANGUAGE, INTERNAL_ERROR, answer_language, detail_in, title_of
from api.writes import audit_refused_attempt
from ledger.errors import LedgerError, Rejection

log = logging.getLogger("codi_ledger")

STATUS = {
    Rejection.not_found: 404,
    Rejection.unauthenticated: 401,
    Rejection.forbidden: 403,
    Rejection.same_user_approval: 403,
    Rejection.request_timeout: 408,
    Rejection.request_too_large: 413,
    Rejection.too_many_attempts: 429,
    **dict.fromkeys(
        [
            Rejection.account_not_in_book,
            Rejection.period_closed,
            Rejection.insufficient_balance,
            Rejection.already_reversed,
            Rejection.idempotency_key_reused,
            Rejection.duplicate,
            Rejection.duplicate_national_id,
            Rejection.organisation_has_members,
            Rejection.period_not_closable,
            Rejection.entry_owned_by_operation,
            Rejection.account_owned_by_operation,
            Rejection.loan_not_pending_approval,
            Rejection.loan_not_approved,
            Rejection.loan_fully_disbursed,
            Rejection.disbursement_exceeds_amount,
            Rejection.loan_not_disbursed,
            Rejection.loan_closed,
            Rejection.loan_written_off,
            Rejection.loan_matured,
            Rejection.date_before_last_transaction,
            Rejection.nothing_to_write_off,
            Rejection.loan_not_written_off,
            Rejection.recovery_exceeds_written_off,
            Rejection.refund_exceeds_overpayment,
            Rejection.nothing_to_reschedule,
            Rejection.not_in_good_standing,
            Rejection.rebate_exceeds_interest_paid,
            Rejection.loan_rejected,
            Rejection.loan_withdrawn,
            Rejection.loan_cancelled,
            Rejection.loan_remainder_cancelled,
            Rejection.nothing_to_cancel,
            Rejection.loan_charged_off,
            Rejection.loan_not_charged_off,
            Rejection.nothing_to_charge_off,
            Rejection.later_transactions_exist,
            Rejection.remittance_exceeds_due,
            Rejection.loan_not_mirrored,
            Rejection.insufficient_shares,
            Rejection.holder_cap_exceeded,
            Rejection.distribution_period_taken,
            Rejection.distribution_paid,
            Rejection.investment_purchase_pending,
            Rejection.investment_exited,
            Rejection.investment_not_pending_approval,
            Rejection.fund_shares_through_investments,
            Rejection.settlement_exceeds_owed,
            Rejection.matching_exceeds_due,
            Rejection.administration_cap_exceeded,
            Rejection.rule_already_used,
            Rejection.overlapping_rules,
            Rejection.settlement_advance_used,
            Rejection.refund_exceeds_advance,
            Rejection.command_not_pending,
            Rejection.token_not_available,
            Rejection.maker_checker_required,
            Rejection.savings_below_minimum,
            Rejection.savings_withdrawal_in_arrears,
            Rejection.savings_interest_already_posted,
        ],
        409,
    ),
}


def status_of(reason: Rejection) -> int:
    return STATUS.get(reason, 422)


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    reason: str
    errors: list[dict] | None = None
    allowed_roles: list[str] | None = None  # 403 forbidden: the roles that may do it


PROBLEM_RESPONSES = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": title}
    for status, title in [
        (401, "No token, or a token that is unknown, revoked or expired"),
        (403, "The token's role may not do this"),
        (404, "Unknown, or not yours"),
        (408, "The request body did not arrive in time"),
        (409, "Conflicts with the ledger's state"),
        (413, "The request body is too large"),
        (422, "Malformed or invalid input"),
        (429, "Too many failed authentications from this address: wait Retry-After seconds"),
    ]
}


def problem(
    reason: Rejection | str, detail: str, status: int, errors: list | None = None, language: str = DEFAULT_LANGUAGE,
    allowed_roles: list[str] | None = None,
) -> JSONResponse:
    """The answer; `title` and `detail` in `language` (api.problem_text), `reason` as it is."""
    body = Problem(
        type=f"https://codi-ledger.example/problems/{reason}",
        title=title_of(str(reason), language),
        status=status,
        detail=detail_in(detail, language),
        reason=str(reason),
        errors=errors,
        allowed_roles=allowed_roles,
    )
    headers = {"Content-Language": language, **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(
        body.model_dump(exclude_none=True), status, headers=headers, media_type="application/problem+json"
    )


def language_of(request: Request) -> str:
    return answer_language(request.headers.get("accept-language", ""))


def _page(request: Request, status: int, reason: str):
    """On a page's path, the page that says it (web.site.page_error), instead of problem+json."""
    page_error = getattr(request.app.state, "page_error", None)
    return page_error(request, status, reason) if page_error else None


def install(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    def ledger_error(request: Request, error: LedgerError):
        audit_refused_attempt(request, error.reason)
        status = status_of(error.reason)
        return _page(request, status, error.reason) or problem(
            error.reason, error.detail, status, getattr(error, "errors", None), language=language_of(request),
            allowed_roles=getattr(error, "allowed_roles", None),
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, error: RequestValidationError):
        errors = [{"loc": [str(part) for part in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        reason = _reason_of(errors)
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)[:1000]
        audit_refused_attempt(request, reason)
        return _page(request, 422, reason) or problem(reason, detail, 422, errors, language_of(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        if error.status_code == 400:  # a body that is not JSON: malformed input, like any other (422)
            detail = f"the body could not be read: {error.detail}"
            return problem(Rejection.invalid_request, detail, 422, language=language_of(request))
        reasons = {404: Rejection.not_found, 401: Rejection.unauthenticated, 403: Rejection.forbidden}
        reason = reasons.get(error.status_code, Rejection.invalid_request)
        return _page(request, error.status_code, reason) or problem(
            reason, str(error.detail), error.status_code, language=language_of(request)
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        # The type and the stack, not the message: a database error's message holds the
        # statement's parameters, which may be personal data (names, ID numbers) or a token.
        stack = "".join(traceback.format_tb(error.__traceback__))
        log.error("unexpected %s in %s %s\n%s", type(error).__name__, request.method, request.url.path, stack)
        detail = "an unexpected error occurred; nothing was recorded"
        page = _page(request, 500, INTERNAL_ERROR)
        return page or problem(INTERNAL_ERROR, detail, 500, language=language_of(request))


def _reason_of(errors: list[dict]) -> Rejection:
    """The named reason of a malformed request: its first error that a validator of ours named
    (a date's: `api.schemas.ClientDate`), or that is about an amount or a posting count."""
    for error in errors:
        if error["type"] in Rejection.__members__:
            return Rejection(error["type"])
        field = error["loc"][-1] if error["loc"] else ""
        if field == "amount":
            return Rejection.malformed_amount
        if field == "postings" and error["type"] == "too_long":
            return Rejection.too_many_postings
    return Rejection.invalid_request
