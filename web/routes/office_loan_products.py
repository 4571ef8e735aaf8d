"""The fund officer's loan products: the list (a page at a time, as the API pages), a product's
settings, and a new product with every setting POST /v1/loan-products takes, its instalments
previewed as the officer types.

The figures and the write are the API's: `loans.list_products` and `loans.get_product` (GET
/v1/loan-products[/{id}]), the API's `create_product` route itself under the form's
idempotency key (the same audited write, recorded under the officer), and the preview is
`ledger.loans.schedule` over the terms the API's `parse_terms` reads: what a loan disbursed
under the product would owe. The preview is a fragment (POST /office/loan-products/preview)
that htmx asks for as the form changes; without JavaScript the form's Preview button shows
the same fragment in the page.
"""

import json
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from api.context import APPROVERS, LOAN_OFFICERS, STAFF
from api.pages import PageDep, next_cursor
from api.routes.loans import create_product
from api.schemas import IdPath
from api.writes import form_write
from ledger.calendar import page_form
from ledger.errors import LedgerError
from store import books, loans
from store.users import Principal
from web import office_loan_forms
from web.forms import new_key
from web.office_loan_forms import ProductTyped
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
PageLoanOfficer = Annotated[Principal, Depends(page_role(LOAN_OFFICERS))]
PageStaff = Annotated[Principal, Depends(page_role(STAFF))]
MAX_BOOKS = 100
Action = Annotated[str, Form(max_length=20)]


@router.get("/office/loan-products")
def products(request: Request, principal: PageStaff, page: PageDep):
    with request.app.state.db.read() as connection:
        rows = loans.list_products(connection, after=page.after, limit=page.limit)
    return render(request, "office_loan_products.html", products=rows, next_cursor=next_cursor(rows, page),
                  may_create=principal.role in LOAN_OFFICERS, choices=_choice_names())  # fmt: skip


@router.get("/office/loan-products/new")
def new_product(request: Request, principal: PageLoanOfficer):
    typed = office_loan_forms.blank_product(page_form(request.app.state.clock.today()))
    return _form(request, typed, [], preview=office_loan_forms.preview_schedule(typed))


@router.post("/office/loan-products/preview")
def preview(request: Request, principal: PageLoanOfficer, typed: ProductTyped):
    """The fragment of the instalments the typed terms give (nothing written)."""
    planned, errors = office_loan_forms.preview_schedule(typed)
    return render(request, "_loan_schedule_preview.html", planned=planned, errors=errors)


@router.post("/office/loan-products/new")
def save_product(request: Request, principal: PageLoanOfficer, typed: ProductTyped, action: Action = ""):
    """The Preview button shows the form again with the instalments; Save makes the product,
    the API's audited write under the form's key (a second tap makes nothing more)."""
    if action == "preview":
        return _form(request, typed, [], preview=office_loan_forms.preview_schedule(typed))
    body, errors = office_loan_forms.read_product(typed)
    if errors:
        return _form(request, typed, errors)
    try:
        write = form_write(request, typed["key"] or new_key(), body.model_dump(mode="json"))
        answer = create_product(body, request, write, principal)
    except LedgerError as error:
        found = office_loan_forms.refusal(error)
        if found is None:
            raise
        return _form(request, typed, [found])
    return RedirectResponse(f"/office/loan-products/{json.loads(answer.body)['id']}?saved=1", 303)


def _form(request: Request, typed: dict, errors: list, preview=None):
    with request.app.state.db.read() as connection:
        book_choices = books.list_books(connection, only_party=None, after=0, limit=MAX_BOOKS)
    planned, preview_errors = preview or (None, [])
    return render(request, "office_loan_product_form.html", 422 if errors else 200, typed=typed, errors=errors,
                  error_of=dict(errors), books=book_choices, choices=office_loan_forms.CHOICES,
                  components=office_loan_forms.COMPONENT_NAMES, account_roles=office_loan_forms.ACCOUNT_ROLE_NAMES,
                  rate_change_rows=office_loan_forms.RATE_CHANGE_ROWS, planned=planned,
                  preview_errors=preview_errors)  # fmt: skip


@router.get("/office/loan-products/{product_id}")
def product(request: Request, principal: PageStaff, product_id: IdPath, saved: bool = False):
    with request.app.state.db.read() as connection:
        found = loans.get_product(connection, product_id)
        book = books.get_book(connection, found["book_id"])
        accounts = {role: books.get_account(connection, account_id) for role, account_id in found["accounts"].items()}
    return render(request, "office_loan_product.html", product=found, book=book, accounts=accounts, saved=saved,
                  may_change_rate=principal.role in APPROVERS,
                  choices=_choice_names(), components=office_loan_forms.COMPONENT_NAMES,
                  account_roles=office_loan_forms.ACCOUNT_ROLE_NAMES)  # fmt: skip


def _choice_names() -> dict[str, dict[str, str]]:
    """Each choice of the terms by its ledger value, for showing a product's settings."""
    choices = office_loan_forms.CHOICES
    return {name: {str(value): words for value, words in options} for name, options in choices.items()}
