"""Bulk work for the fund's staff: a file of sales (CSV or JSON lines, as POST /v1/sales/import
takes it) or of entries (JSON lines, as `codi-ledger import` takes it) recorded in the
background a part at a time, its progress shown as it goes (htmx asks for it every second; a
page without JavaScript refreshes itself), and the refused lines listed with their reasons and
given back as a file of exactly those lines with a `reason` column, to put right and send again.

Each part is the API's audited write under the person (`run_sale_import`, and for entries the
CLI's `bulk.import_entries`), its idempotency key the upload form's and the part's number; each
line is judged by its own key under the person, as the API judges it, so a line recorded before
is not recorded again. The file is bounded as the API's import is (IMPORT_BODY_BYTES).
"""

import csv
import json
import logging
import uuid
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.context import JOURNAL_WRITERS
from api.formats import BYTE_ORDER_MARK
from api.middleware import IMPORT_BODY_BYTES
from api.problem_text import title_of
from api.routes.welfare import run_sale_import, sale_import_lines
from api.writes import Outcome, form_write, perform
from ledger.errors import LedgerError, Rejection
from store import bulk, welfare
from store.bulk import REASON_FIELD, ImportReport
from store.users import Principal
from web.forms import message
from web.i18n import N_, language_of
from web.import_jobs import PART_LINES, ImportJob
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
STAFF_WRITERS = JOURNAL_WRITERS - {"enterprise"}  # an enterprise records its own sales on its pages
PageImporter = Annotated[Principal, Depends(page_role(STAFF_WRITERS))]
KINDS = (("sales", N_("Sales (CSV or JSON lines, as the API's sales import)")),
         ("entries", N_("Journal entries (JSON lines, as codi-ledger import)")))  # fmt: skip
REJECTED_PAGE = 50
FormText = Annotated[str, Form(max_length=200)]
TOO_LARGE = N_("The file is larger than %(mib)s MiB.")
TOO_MANY_RUNNING = N_("Too many imports are running. Try again in a minute.")
log = logging.getLogger(__name__)


@router.get("/office/imports")
def imports_page(request: Request, principal: PageImporter):
    return _form(request, principal, {"kind": "sales", "key": uuid.uuid4().hex}, [])


@router.post("/office/imports")
async def upload(request: Request, principal: PageImporter, file: Annotated[UploadFile, File()],
                 kind: FormText = "", key: FormText = ""):  # fmt: skip
    typed = {"kind": kind, "key": key or uuid.uuid4().hex}
    if kind not in dict(KINDS):
        return _form(request, principal, typed, [("kind", message(N_("Choose what the file holds.")))])
    body = await file.read(IMPORT_BODY_BYTES + 1)
    if not body.strip():
        return _form(request, principal, typed, [("file", message(N_("Choose a file that is not empty.")))])
    if len(body) > IMPORT_BODY_BYTES:
        limit = IMPORT_BODY_BYTES // (1024 * 1024)
        return _form(request, principal, typed, [("file", message(TOO_LARGE, mib=limit))])
    is_csv = kind == "sales" and (file.filename or "").lower().endswith(".csv")
    try:
        job = await run_in_threadpool(_job, request, principal, typed, body, file.filename or "", is_csv)
    except LedgerError as error:
        said = message(N_("The file cannot be imported: %(title)s (%(detail)s)"),
                       title=title_of(error.reason, language_of(request)), detail=error.detail)  # fmt: skip
        return _form(request, principal, typed, [("file", said)])
    if job is None:
        return _form(request, principal, typed, [("file", message(TOO_MANY_RUNNING))])
    return RedirectResponse(f"/office/imports/{job.id}", 303)


def _form(request: Request, principal: Principal, typed: dict, errors: list):
    return render(request, "imports.html", 422 if errors else 200, typed=typed, errors=errors,
                  error_of=dict(errors), kinds=KINDS, jobs=request.app.state.import_jobs.started_by(principal.user_id),
                  mib=IMPORT_BODY_BYTES // (1024 * 1024))  # fmt: skip


def _job(request: Request, principal: Principal, typed: dict, body: bytes, file_name: str, is_csv: bool):
    """The job of the file, started; None when too many run. A file that cannot be read at all
    (not UTF-8 text, a CSV header of other columns, too many lines) is refused, nothing recorded."""
    if typed["kind"] == "sales":
        sales, parsed = sale_import_lines(body, is_csv=is_csv, today=request.app.state.clock.today())
        total = len(sales) + len(parsed.rejected)
        job = ImportJob(principal.user_id, "sales", file_name[:200], is_csv, body.decode("utf-8-sig").splitlines(),
                        total)  # fmt: skip
        job.rejected = sorted(parsed.rejected)
        job.processed = len(parsed.rejected)
        run = _sales_run(request, principal, typed["key"], sales)
    else:
        try:
            lines = body.decode("utf-8-sig").splitlines()  # with or without a byte-order mark
        except UnicodeDecodeError:
            raise LedgerError(Rejection.invalid_request, "the file is not UTF-8 text") from None
        numbered = [(n, line.encode()) for n, line in enumerate(lines, start=1) if line.strip()]
        if len(numbered) > welfare.MAX_IMPORT_LINES:
            raise LedgerError(Rejection.request_too_large,
                              f"an import has at most {welfare.MAX_IMPORT_LINES} lines")  # fmt: skip
        job = ImportJob(principal.user_id, "entries", file_name[:200], False, lines, len(numbered))
        run = _entries_run(request, principal, typed["key"], numbered)
    return job if request.app.state.import_jobs.start(job, run) else None


def _parts(items: list) -> list[list]:
    return [items[at : at + PART_LINES] for at in range(0, len(items), PART_LINES)]


def _sales_run(request: Request, principal: Principal, key: str, sales: list):
    def run(job: ImportJob) -> None:
        def part(index: int, lines: list) -> dict:
            write = form_write(request, f"{key}:{index}", {"kind": "sales", "lines": [x.request_hash for x in lines]})
            return json.loads(run_sale_import(request, write, principal, lines, ImportReport()).body)

        _run_parts(job, _parts(sales), part)

    return run


def _entries_run(request: Request, principal: Principal, key: str, numbered: list[tuple[int, bytes]]):
    def run(job: ImportJob) -> None:
        def part(index: int, lines: list) -> dict:
            asked = {"kind": "entries", "lines": [raw.decode() for _, raw in lines]}
            write = form_write(request, f"{key}:{index}", asked)
            return json.loads(run_entries_import(request, write, principal, lines).body)

        _run_parts(job, _parts(numbered), part)

    return run


def _run_parts(job: ImportJob, parts: list[list], part) -> None:
    try:
        for index, lines in enumerate(parts):
            job.add(part(index, lines), len(lines))
    except LedgerError as error:
        job.failure = error.reason
    except Exception:  # a failure of ours: the person is told, the log keeps the rest
        log.exception("import %s stopped", job.id)
        job.failure = "internal_error"
    finally:
        job.done = True


def run_entries_import(request: Request, write, principal: Principal, lines: list[tuple[int, bytes]]) -> Response:
    """The entries of numbered JSON lines (`codi-ledger import`'s), recorded under the person's
    keys as one audited write."""

    def work(connection, now):
        report = ImportReport()
        recorded = bulk.import_entries(connection, lines, user_id=principal.user_id, report=report, now=now)
        rejected = [{"line": n, "reason": r, "detail": d} for n, r, d in sorted(report.rejected)]
        answer = {"recorded": report.recorded, "replayed": report.replayed, "rejected": rejected}
        return Outcome(answer, "entry-import", 200, [entry_id for _, entry_id in recorded])

    return perform(request, write, principal, "entry.import", work)


# --- a job's progress and its refused lines --------------------------------------------------------


@router.get("/office/imports/{job_id}")
def job_page(request: Request, principal: PageImporter, job_id: str,
             after: Annotated[int, Query(ge=0, lt=2**31)] = 0):  # fmt: skip
    job = _own_job(request, principal, job_id)
    done = job.done  # read once: the job goes on in its thread while the page is made
    later = [r for r in job.rejected if r[0] > after] if done else []
    shown = later[:REJECTED_PAGE]
    return render(request, "import_job.html", job=job, done=done, rejected=_shown(request, job, shown),
                  next_after=shown[-1][0] if len(later) > REJECTED_PAGE else None)  # fmt: skip


@router.get("/office/imports/{job_id}/status")
def job_status(request: Request, principal: PageImporter, job_id: str):
    """The progress alone, for htmx to swap in every second while the import runs."""
    job = _own_job(request, principal, job_id)
    return render(request, "_import_status.html", job=job, done=job.done)


@router.get("/office/imports/{job_id}/rejected")
def rejected_file(request: Request, principal: PageImporter, job_id: str):
    """Exactly the refused lines as they were sent, each with its reason in a `reason` column
    (CSV) or field (JSON lines); the import ignores it, so the file can be put right and sent again."""
    job = _own_job(request, principal, job_id)
    reasons = {number: _reason(request, reason, detail) for number, reason, detail in job.rejected}
    name = f"rejected-{job.file_name.rsplit('.', 1)[0] or 'import'}"
    if job.is_csv:
        content, media, suffix = _csv_with_reasons(job, reasons), "text/csv; charset=utf-8", "csv"
    else:
        content = "".join(_json_with_reason(job.lines[n - 1], why) + "\n" for n, why in reasons.items())
        media, suffix = "application/x-ndjson; charset=utf-8", "jsonl"
    disposition = f'attachment; filename="{_safe_name(name)}.{suffix}"'
    return Response(content.encode(), media_type=media, headers={"Content-Disposition": disposition})


def _own_job(request: Request, principal: Principal, job_id: str) -> ImportJob:
    job = request.app.state.import_jobs.of(job_id[:40], principal.user_id)
    if job is None:
        raise LedgerError(Rejection.not_found, f"there is no import {job_id[:40]!r}")
    return job


def _reason(request: Request, reason: str, detail: str) -> str:
    return f"{title_of(reason, language_of(request))}: {detail}"


def _shown(request: Request, job: ImportJob, rejected: list) -> list[dict]:
    return [{"line": n, "text": job.lines[n - 1][:300], "title": title_of(r, language_of(request)), "detail": d}
            for n, r, d in rejected]  # fmt: skip


def _csv_with_reasons(job: ImportJob, reasons: dict[int, str]) -> str:
    """The header and the refused rows as they were sent, each with its reason in a last column
    (a reason the file had already is replaced)."""
    header = next(csv.reader([job.header or ""]))
    if REASON_FIELD not in header:
        rows = [f"{job.header},{REASON_FIELD}"]
        rows += [f"{job.lines[n - 1]},{welfare.csv_row([why])}" for n, why in reasons.items()]
    else:
        at = header.index(REASON_FIELD)
        without = [*header[:at], *header[at + 1 :]]
        rows = [welfare.csv_row([*without, REASON_FIELD])]
        for number, why in reasons.items():
            values = next(csv.reader([job.lines[number - 1]]), [])
            rows.append(welfare.csv_row([*values[:at], *values[at + 1 :], why]))
    return BYTE_ORDER_MARK + "\r\n".join(rows) + "\r\n"  # as every CSV we write: spreadsheets then read Thai


def _json_with_reason(raw: str, reason: str) -> str:
    """The line with its reason as a field (one it had already is replaced); a line that is not
    a JSON object is kept as the text of a `line` field."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {"line": raw}
    return json.dumps({**data, REASON_FIELD: reason}, ensure_ascii=False)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80]
