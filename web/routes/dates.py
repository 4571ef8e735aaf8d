"""The preview of a typed date: what the page understood, before anything is written.

`GET /date-preview?sold_on=30/06/2567` (the field's own name, whatever it is) answers a
fragment (`30 มิ.ย. 2567 = 2024-06-30`, or why the date is refused) that the `date_field`
macro's input asks for with htmx as the person types. Without JavaScript the form's own
check-your-answers step shows the same words (web.forms.read_date).
"""

from fastapi import Request

from web.forms import read_date
from web.routes import page_router
from web.templating import render

router = page_router()


@router.get("/date-preview")
def date_preview(request: Request):
    value = next(iter(request.query_params.values()), "")[:40]
    day, error = read_date(value)
    return render(request, "_date_preview.html", day=day, error=error, value=value)
