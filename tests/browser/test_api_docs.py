"""/docs in real Chromium, served from this server's own copy of Swagger UI: "Authorize" takes a
token of `codi-ledger user add` and "Try it out" then answers as the API does, a write with the
Idempotency-Key the OpenAPI document declares (api.docs.declare_bearer_tokens)."""

import json


def test_authorize_and_try_it_out_work_in_the_api_docs(desktop, demo):
    page = desktop
    elsewhere = []
    page.on("request", lambda request: None if request.url.startswith(page.base) else elsewhere.append(request.url))
    page.goto("/docs")
    page.click("button.authorize")
    page.fill(".auth-container input", demo.admin_token)
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".auth-btn-wrapper button.btn-done")

    party = operation(page, "post", "/v1/parties")
    party.locator("tr[data-param-name='Idempotency-Key'] input").fill("docs-try-it-out-1")
    body = json.dumps({"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์จากหน้าเอกสาร"}, ensure_ascii=False)
    party.locator("textarea.body-param__text").fill(body)
    party.locator("button.execute").click()
    assert answered(party) == "201"  # the token sent (401 without), and the key (a write without one is refused)
    assert elsewhere == [] and page.csp_violations == []


def operation(page, method: str, path: str):
    """The operation's block, opened and ready to execute ("Try it out" pressed)."""
    block = page.locator(f".opblock-{method}:has(.opblock-summary-path[data-path='{path}'])").first
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    return block


def answered(block) -> str:
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    return status.inner_text().strip()
