"""The pages people use: server-rendered HTML under `/`, beside the JSON API under `/v1`.

    web/routes/      page routes, one module per area, each router made by `page_router()`
    web/templates/   Jinja2 templates over base.html, recurring pieces in macros.html
    web/static/      our CSS and the vendored files (vendor/README.md names each)
    web/locale/      gettext catalogs (Thai and English), see web.i18n
    session.py       who is signed in (PagePrincipal), csrf.py the forms' tokens,
    templating.py    the environment, the `amount` and `date` filters, `render`

`web.site.install(app)` adds all of it to the API's app (api.app.create_app); this package's
own module stays empty, so that the API's modules may import a part of it (web.i18n's
catalogs, say) without loading every page. web/README.md tells how to add a page.
"""
