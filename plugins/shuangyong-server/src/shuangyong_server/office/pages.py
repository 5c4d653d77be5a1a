"""The 双拥 office's pages, server-rendered (Jinja2, plain HTML forms, no script to build).

:func:`office_router` returns a FastAPI router under ``/office``: log in with a token; the
dossier of a unit and year, record by record, with add / edit / retire forms that show what is
wrong next to the input; the live compliance report with a chart and downloads through the
exporters plugins register; the 公示 notice for the unit's region, printable on A4; the ledger's
month view for the auditor. Chinese first, English with ``?lang=en`` (remembered in a cookie).
Who may see what: :data:`~shuangyong_server.office.auth.ROLES`; a token kept to one unit reaches
that unit's dossiers alone (every page about a unit checks it in :meth:`OfficePages._key`, the
list and the forms that start or import a dossier check it themselves). Every change is written
with the caller's name, role, request id and address, as a change through the API is.

Every handler is a plain function run in the thread pool (the store and ``authenticate`` block
on their database); only reading a submitted form is asynchronous.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import mimetypes
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import attrs
import jinja2
import yaml
from fastapi import APIRouter, Request  # Request at run time: FastAPI reads the endpoints' annotations
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from shuangyong import ShuangyongError, Text, plugins
from shuangyong.compliance.dossier import DossierError, parse_dossier
from shuangyong.compliance.records import RECORD_CLASSES
from shuangyong.compliance.report import STATUS_LABELS, Status, evaluate, report_to_dict
from shuangyong.dates import parse_date
from shuangyong.ledger.report import month_report, parse_month
from shuangyong.limits import MAX_YAML_BYTES
from shuangyong.notice import STYLE as NOTICE_STYLE
from shuangyong.notice import notice_for, notice_html
from shuangyong.plugins import ReportExporter
from shuangyong_server.office import views
from shuangyong_server.office.auth import (
    EDIT,
    LANG_COOKIE,
    LEDGER,
    NOTICE,
    REPORT,
    ROLES,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Sessions,
    Viewer,
    bearer,
    chosen_lang,
)
from shuangyong_server.office.dossiers import NotFound, Version
from shuangyong_server.office.forms import (
    KIND_LABELS,
    UNIT_FIELDS,
    form_from_record,
    input_name,
    record_fields,
    record_from_form,
    unit_from_form,
)
from shuangyong_server.tokens import Actor, unit_refused

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from shuangyong import PolicySet, Registry, StandardsSet
    from shuangyong.plugins import Ledger
    from shuangyong.text import Lang
    from shuangyong_server.office.dossiers import DossierStore

    #: a token → (name, role), or (name, role, unit) for a token kept to one unit (None: every unit); None if not valid
    Authenticate = Callable[[str], tuple[str, str] | tuple[str, str, str | None] | None]

PREFIX = "/office"
#: where each route says which roles it admits (``route.openapi_extra``): the office's pages check a
#: session cookie or a bearer token themselves, so they carry no ``require_role`` dependency
ROLES_KEY = "x-shuangyong-roles"


@attrs.frozen(slots=True)
class Call:
    """What a page handler gets: the request, who sent it, in which language, and the form sent."""

    request: Request
    viewer: Viewer
    lang: Lang
    form: Mapping[str, str] = attrs.field(factory=dict)
    files: Mapping[str, tuple[str, bytes]] = attrs.field(factory=dict)  #: input → (file name, content)

    @property
    def query(self) -> Mapping[str, str]:
        """The query string's parameters."""
        return self.request.query_params

    @property
    def actor(self) -> Actor:
        """Who makes a change through this request, for the dossier's versions and the audit log."""
        return Actor.of_request(self.request, self.viewer.name, self.viewer.role)


class Refused(Exception):
    """A page that cannot be shown: its status and why, in zh and en."""

    def __init__(self, status: int, why: Text) -> None:
        super().__init__(why.en)
        self.status, self.why = status, why


def _attachment(name: str) -> str:
    """A Content-Disposition for a download named ``name`` (a unit id may be Chinese: RFC 5987)."""
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def _read_form(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """A submitted form's fields and files; a file larger than a dossier may be is cut at the limit
    plus one byte, which the dossier reader then refuses by its size."""
    form = await request.form()
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if value.filename:
                files[key] = (value.filename, await value.read(MAX_YAML_BYTES + 1))
        else:
            fields[key] = value
    await form.close()
    return fields, files


class OfficePages:
    """The pages and what they share (templates, sessions, the sources of data); see the module."""

    def __init__(self, store_factory: Callable[[], DossierStore], authenticate: Authenticate,
                 standards: StandardsSet, policy: PolicySet, *, ledger: Callable[[], Ledger] | None = None,
                 registry: Registry | None = None, secret: bytes | None = None, prefix: str = PREFIX,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.store_factory = store_factory
        self.authenticate = authenticate
        self.standards = standards
        self.policy = policy
        self.ledger = ledger
        self.registry = registry or plugins.registry()
        self.sessions = Sessions(secret or secrets.token_bytes(32))
        self.prefix = prefix
        self.today = today
        self.templates = jinja2.Environment(loader=jinja2.PackageLoader("shuangyong_server.office", "templates"),
                                            autoescape=True, undefined=jinja2.StrictUndefined,
                                            trim_blocks=True, lstrip_blocks=True)
        self.templates.globals.update(views=views, kind_labels=KIND_LABELS, status_labels=STATUS_LABELS,
                                      Status=Status, roles=ROLES, capabilities={"edit": EDIT, "report": REPORT,
                                                                                "notice": NOTICE, "ledger": LEDGER})

    # -- the router ------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        """Every page, under the prefix."""
        router = APIRouter(prefix=self.prefix)
        pages: list[tuple[str, str, Callable[[Call], Response], str | None]] = [
            ("/", "GET", self.index, None),
            ("/dossiers", "POST", self.create, EDIT),
            ("/import", "POST", self.import_file, EDIT),
            ("/dossier", "GET", self.dossier, EDIT),
            ("/export", "GET", self.export, EDIT),
            ("/record/new", "GET", self.new_record, EDIT),
            ("/record/new", "POST", self.add_record, EDIT),
            ("/record", "GET", self.record, EDIT),
            ("/record", "POST", self.save_record, EDIT),
            ("/record/retire", "POST", self.retire_record, EDIT),
            ("/report", "GET", self.report, REPORT),
            ("/report/download", "GET", self.download, REPORT),
            ("/notice", "GET", self.notice, NOTICE),
            ("/ledger", "GET", self.month, LEDGER),
        ]
        for path, method, handler, capability in pages:
            roles = sorted(role for role, can in ROLES.items() if capability is None or capability in can)
            router.add_api_route(path, self._endpoint(handler, capability), methods=[method],
                                 include_in_schema=False, name=f"office.{handler.__name__}.{method.lower()}",
                                 openapi_extra={ROLES_KEY: roles})
        for method, endpoint in (("GET", self._login_page), ("POST", self._login)):
            router.add_api_route("/login", endpoint, methods=[method], include_in_schema=False,
                                 openapi_extra={ROLES_KEY: ["public"]})
        router.add_api_route("/logout", self._logout, methods=["POST"], include_in_schema=False,
                             openapi_extra={ROLES_KEY: ["public"]})
        return router

    def _endpoint(self, handler: Callable[[Call], Response], capability: str | None) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            form, files = await _read_form(request) if request.method == "POST" else ({}, {})
            return await run_in_threadpool(self._serve, request, handler, capability, form, files)
        return endpoint

    def _serve(self, request: Request, handler: Callable[[Call], Response], capability: str | None,
               form: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Response:
        """Who asks, whether they may, then the page; a refusal is a page too."""
        lang = chosen_lang(request.query_params, request.cookies)
        viewer = self._viewer(request)
        if viewer is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return self._remember_lang(request, RedirectResponse(self._url("/login", next=back), status_code=303))
        try:
            if viewer.role not in ROLES or (capability is not None and not viewer.can(capability)):
                raise Refused(403, Text(f"“{viewer.role_label.zh}”角色不能查看此页面",
                                        f"the role “{viewer.role_label.en}” cannot see this page"))
            if request.method == "POST" and viewer.csrf and not self.sessions.csrf_ok(
                    request.cookies.get(SESSION_COOKIE, ""), form.get("csrf")):
                raise Refused(403, Text("表单已过期，请返回并刷新页面后重试",
                                        "the form has expired: go back, reload the page and try again"))
            response = handler(Call(request, viewer, lang, form, files))
        except Refused as refused:
            response = self._render(Call(request, viewer, lang), "refused.html", refused.status, why=refused.why)
        except NotFound as missing:
            response = self._render(Call(request, viewer, lang), "refused.html", 404, why=missing.message)
        return self._remember_lang(request, response)

    def _viewer(self, request: Request) -> Viewer | None:
        """The person behind the request's bearer token or session cookie, if the token still holds."""
        token = bearer(request.headers)
        cookie = None
        if token is None:
            cookie = request.cookies.get(SESSION_COOKIE)
            token = self.sessions.token(cookie)
        found = self.authenticate(token) if token else None
        if found is None:
            return None
        name, role, *unit = found
        return Viewer(name, role, self.sessions.csrf(cookie) if cookie else "", unit=unit[0] if unit else None)

    def _remember_lang(self, request: Request, response: Response) -> Response:
        chosen = request.query_params.get("lang")
        if chosen in ("zh", "en"):
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, path=self.prefix, samesite="strict",
                                httponly=True, secure=request.url.scheme == "https")
        return response

    # -- helpers ---------------------------------------------------------------------------------

    def _url(self, path: str, **params: object) -> str:
        shown = {key: value for key, value in params.items() if value is not None}
        return f"{self.prefix}{path}" + (f"?{urlencode(shown)}" if shown else "")

    def _render(self, call: Call, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = call.lang
        switch = dict(call.query)
        switch["lang"] = "en" if lang == "zh" else "zh"
        page = self.templates.get_template(template).render(
            lang=lang, viewer=call.viewer, url=self._url, prefix=self.prefix,
            t=lambda zh, en: zh if lang == "zh" else en,
            tx=lambda text: (text.in_(lang) if isinstance(text, Text) else text[lang]),
            switch_url=f"{call.request.url.path}?{urlencode(switch)}", **context)
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    def _key(self, call: Call, source: Mapping[str, str] | None = None) -> tuple[str, int]:
        """The unit id and year a page is about (``?unit=…&year=…``, or the form's): every page
        about a unit asks here, so that a token kept to another unit is refused (403) before
        anything of the dossier is read or written, whether or not it exists."""
        values = source if source is not None else call.query
        unit, year = values.get("unit", ""), values.get("year", "")
        if not unit or not year.isdigit():
            raise Refused(400, Text("缺少单位或年度（?unit=…&year=…）", "which unit and year? (?unit=…&year=…)"))
        refused = unit_refused(call.viewer.unit, unit)
        if refused is not None:
            raise Refused(403, refused)
        return unit, int(year)

    def _store(self) -> DossierStore:
        return self.store_factory()

    def _errors(self, error: ShuangyongError, lang: Lang, inputs: set[str]) -> tuple[dict[str, str], str | None]:
        """An error as a message beside its input, or for the whole form when it names no input shown."""
        name = input_name(error)
        if name in inputs:
            return {name: error.message.in_(lang)}, None
        return {}, error.render(lang)

    # -- log in and out --------------------------------------------------------------------------

    def _safe_next(self, target: str | None) -> str:
        """Where to go after logging in: a page of ours, never another site."""
        if target and target.startswith(self.prefix) and not target.startswith("//") and "\\" not in target:
            return target
        return self._url("/")

    def _login_view(self, request: Request, status: int = 200, error: Text | None = None,
                    target: str | None = None) -> HTMLResponse:
        lang = chosen_lang(request.query_params, request.cookies)
        viewer = self._viewer(request)
        return self._render(Call(request, viewer or Viewer("", ""), lang), "login.html", status,
                            error=error, next=self._safe_next(target or request.query_params.get("next")),
                            logged_in=viewer is not None)

    async def _login_page(self, request: Request) -> Response:
        response = await run_in_threadpool(self._login_view, request)
        return self._remember_lang(request, response)

    async def _login(self, request: Request) -> Response:
        form, _ = await _read_form(request)
        token = form.get("token", "").strip()
        found = await run_in_threadpool(self.authenticate, token) if token else None
        target = form.get("next")
        if found is None:
            return await run_in_threadpool(self._login_view, request, 401,
                                           Text("令牌无效或已撤销", "the token is not valid, or was revoked"), target)
        if found[1] not in ROLES:
            return await run_in_threadpool(
                self._login_view, request, 403,
                Text(f"“{found[1]}”角色的令牌不能登录双拥办页面", f"a “{found[1]}” token cannot log in to these pages"),
                target)
        response = RedirectResponse(self._safe_next(target), status_code=303)
        response.set_cookie(SESSION_COOKIE, self.sessions.issue(token), max_age=SESSION_SECONDS, path=self.prefix,
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    async def _logout(self, request: Request) -> Response:
        response = RedirectResponse(self._url("/login"), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=self.prefix)
        return response

    # -- the dossiers ----------------------------------------------------------------------------

    def index(self, call: Call, status: int = 200, *, values: Mapping[str, str] | None = None,
              errors: Mapping[str, str] | None = None, form_error: str | None = None,
              import_error: str | None = None) -> Response:
        """Every dossier, with forms to start one and to import one (for those who edit), and the
        errors of a form sent back."""
        return self._render(call, "index.html", status, dossiers=self._store().dossiers(call.viewer.unit),
                            unit_fields=UNIT_FIELDS,
                            values=values or {}, errors=errors or {}, form_error=form_error,
                            import_error=import_error, this_year=self.today().year)

    def create(self, call: Call) -> Response:
        """Start a dossier from the form; an error is shown beside its input."""
        unit, year = unit_from_form(call.form)
        refused = unit_refused(call.viewer.unit, str(unit.get("id") or ""))
        if refused is not None:
            return self.index(call, 403, values=call.form, errors={"id": refused.in_(call.lang)})
        try:
            head = self._store().create(unit, year, call.actor)
        except DossierError as error:
            errors, whole = self._errors(error, call.lang, {f.name for f in UNIT_FIELDS})
            return self.index(call, 422, values=call.form, errors=errors, form_error=whole)
        return RedirectResponse(self._url("/dossier", unit=head.unit_id, year=head.year), status_code=303)

    def import_file(self, call: Call) -> Response:
        """Import a dossier file (YAML or JSON) as the command line reads it: the file becomes the
        dossier, every change a new version. A file of another unit than the token's is refused
        (403) once read, before anything is written."""
        name, content = call.files.get("file", ("<form>", call.form.get("text", "").encode("utf-8")))
        try:
            if len(content) > MAX_YAML_BYTES:
                raise DossierError(Text(f"文件超过 {MAX_YAML_BYTES} 字节", f"the file is over {MAX_YAML_BYTES} bytes"),
                                   record=name)
            dossier = parse_dossier(content.decode("utf-8-sig"), name)
            refused = unit_refused(call.viewer.unit, dossier.unit.id)
            if refused is not None:
                return self.index(call, 403, import_error=refused.in_(call.lang))
            summary = self._store().import_dossier(dossier, call.actor)
        except UnicodeDecodeError:
            return self.index(call, 422, import_error=Text(f"{name} 不是 UTF-8 文本", f"{name} is not UTF-8 text")
                              .in_(call.lang))
        except DossierError as error:
            return self.index(call, 422, import_error=error.render(call.lang))
        done = f"{len(summary.added)}.{len(summary.changed)}.{len(summary.retired)}"
        return RedirectResponse(self._url("/dossier", unit=summary.unit_id, year=summary.year, imported=done),
                                status_code=303)

    def dossier(self, call: Call) -> Response:
        """A unit's year: records by kind, the retired ones, and who changed what lately."""
        unit, year = self._key(call)
        store = self._store()
        head = store.head(unit, year)
        versions = store.records(unit, year, retired=True)
        by_kind = {kind: sorted((v for v in versions if not v.retired and v.record["kind"] == kind),
                                key=lambda v: (views.record_when(v.record, "en"), v.record_id))
                   for kind in RECORD_CLASSES}
        imported = call.query.get("imported", "").split(".")
        return self._render(call, "dossier.html", head=head, by_kind=by_kind,
                            retired=[v for v in versions if v.retired], changes=store.changes(unit, year),
                            saved=call.query.get("saved"), retired_now=call.query.get("retired"),
                            imported=imported if len(imported) == 3 else None)

    def export(self, call: Call) -> Response:
        """The dossier as a file, in the format ``shuangyong compliance`` reads."""
        unit, year = self._key(call)
        data = self._store().export(unit, year)
        if call.query.get("format") == "json":
            body, suffix, media = json.dumps(data, ensure_ascii=False, indent=2) + "\n", "json", "application/json"
        else:
            body, suffix, media = yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "yaml", "application/yaml"
        return Response(body.encode("utf-8"), media_type=f"{media}; charset=utf-8",
                        headers={"Content-Disposition": _attachment(f"{unit}-{year}.{suffix}")})

    def _record_form(self, call: Call, kind: str, status: int = 200, *, values: Mapping[str, str],
                     adding: bool, history: list[Version] | None = None, errors: Mapping[str, str] | None = None,
                     form_error: str | None = None, version: str | None = None) -> Response:
        """A record's form: empty or as stored or as sent back with its errors, and its history.
        ``version`` is the one the form edits (default the latest): a form sent back keeps the one
        it was opened at, so that a stale one stays refused. A retired record shows its history only."""
        unit, year = self._key(call, call.form or None)
        head = self._store().head(unit, year)
        history = history or []
        return self._render(call, "record.html", status, head=head, kind=kind, fields=record_fields(kind),
                            values=values, errors=errors or {}, form_error=form_error, history=history,
                            adding=adding, version=version or (history[-1].version if history else None),
                            retired=bool(history) and history[-1].retired)

    def _kind(self, value: str | None) -> str:
        if value not in RECORD_CLASSES:
            raise Refused(404, Text(f"没有 {value!r} 这类记录", f"there is no record kind {value!r}"))
        return value

    def new_record(self, call: Call) -> Response:
        """The empty form of a new record of ``?kind=``, with an id suggested."""
        kind = self._kind(call.query.get("kind"))
        unit, year = self._key(call)
        taken = {v.record_id for v in self._store().records(unit, year, retired=True)}
        number = next(n for n in range(1, len(taken) + 2) if f"{kind}-{year}-{n}" not in taken)
        return self._record_form(call, kind, values={"id": f"{kind}-{year}-{number}"}, adding=True)

    def _written(self, call: Call, adding: bool) -> Response:
        """Add or edit from the form; the loader's error comes back beside its input."""
        kind = self._kind(call.form.get("kind"))
        unit, year = self._key(call, call.form)
        record = record_from_form(kind, call.form)
        store = self._store()
        try:
            if adding:
                store.add(unit, year, record, call.actor)
            else:
                expect = call.form.get("version", "")
                store.edit(unit, year, record, call.actor, expect=int(expect) if expect.isdigit() else None)
        except DossierError as error:
            errors, whole = self._errors(error, call.lang, {f.name for f in record_fields(kind)})
            history = [] if adding else store.history(unit, year, str(record.get("id")))
            return self._record_form(call, kind, 422, values=call.form, errors=errors, form_error=whole,
                                     adding=adding, history=history, version=call.form.get("version"))
        return RedirectResponse(self._url("/dossier", unit=unit, year=year, saved=record["id"]) + f"#{kind}",
                                status_code=303)

    def add_record(self, call: Call) -> Response:
        """Add a record from the form."""
        return self._written(call, adding=True)

    def save_record(self, call: Call) -> Response:
        """Save an edited record as its next version."""
        return self._written(call, adding=False)

    def record(self, call: Call) -> Response:
        """A record's edit form, with every earlier version below it."""
        unit, year = self._key(call)
        history = self._store().history(unit, year, call.query.get("id", ""))
        latest = history[-1]
        return self._record_form(call, latest.record["kind"], values=form_from_record(latest.record),
                                 history=history, adding=False)

    def retire_record(self, call: Call) -> Response:
        """Retire a record: it leaves the dossier and stays in its history."""
        unit, year = self._key(call, call.form)
        record_id = call.form.get("id", "")
        expect = call.form.get("version", "")
        store = self._store()
        try:
            store.retire(unit, year, record_id, call.actor, expect=int(expect) if expect.isdigit() else None)
        except NotFound:
            raise
        except DossierError as error:
            history = store.history(unit, year, record_id)
            return self._record_form(call, history[-1].record["kind"], 409,
                                     values=form_from_record(history[-1].record), form_error=error.render(call.lang),
                                     history=history, adding=False)
        return RedirectResponse(self._url("/dossier", unit=unit, year=year, retired=record_id), status_code=303)

    # -- the compliance report -------------------------------------------------------------------

    def _as_of(self, call: Call, year: int) -> tuple[dt.date, str | None]:
        """``?as_of=`` or, by default, today (the year's last day for a past year), with the error
        a bad date gets."""
        default = min(self.today(), dt.date(year, 12, 31))
        given = call.query.get("as_of")
        if not given:
            return default, None
        try:
            return parse_date(given, field="as_of"), None
        except ShuangyongError as error:
            return default, error.message.in_(call.lang)

    def _report_data(self, call: Call) -> tuple[dict[str, Any], str | None]:
        unit, year = self._key(call)
        day, error = self._as_of(call, year)
        return report_to_dict(evaluate(self._store().dossier(unit, year), self.standards, day)), error

    def report(self, call: Call) -> Response:
        """The live report: headline scores as bars, each standard's status and gaps, what falls due next."""
        data, error = self._report_data(call)
        exporters = sorted(plugins.exporters("compliance"))
        return self._render(call, "report.html", 422 if error else 200, report=data, as_of_error=error,
                            typed_as_of=call.query.get("as_of", "") if error else data["as_of"],
                            bars=views.score_bars(data, call.lang), formats=exporters,
                            unit=data["unit"]["id"], year=data["year"])

    def download(self, call: Call) -> Response:
        """The report through an exporter: the built-in JSON, Markdown, HTML; xlsx and PDF from shuangyong-export."""
        fmt = call.query.get("format", "")
        exporters = plugins.exporters("compliance")
        if fmt not in exporters:
            known = ", ".join(sorted(exporters))
            raise Refused(404, Text(f"没有名为 {fmt!r} 的报告格式（可用：{known}）",
                                    f"no report format named {fmt!r} (available: {known})"))
        data, error = self._report_data(call)
        if error:
            raise Refused(400, Text(error, error))
        exporter = exporters[fmt]
        out = io.BytesIO()
        if isinstance(exporter, ReportExporter):  # the built-in ones speak the page's language
            exporter.write("compliance", data, out, lang=call.lang)
        else:
            exporter.write("compliance", data, out)
        name = f"{data['unit']['id']}-{data['year']}-{data['as_of']}{exporter.suffix}"
        media = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(out.getvalue(), media_type=media, headers={"Content-Disposition": _attachment(name)})

    # -- the notice and the ledger ---------------------------------------------------------------

    def notice(self, call: Call) -> Response:
        """The 公示 for the unit's region (or ``?region=``) on ``?on=`` (default today), for A4 paper."""
        unit, year = self._key(call)
        head = self._store().head(unit, year)
        region = call.query.get("region") or head.unit.get("region") or ""
        error = None
        try:
            day = parse_date(call.query.get("on") or self.today().isoformat(), field="on")
            notice = notice_for(self.policy, region, day, self.registry)
        except ShuangyongError as refused:
            error, day, notice = refused, self.today(), None
        body = None
        if notice is not None:  # the notice's own layout, as `shuangyong notice` prints it
            page = notice_html(notice, call.lang)
            body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
        return self._render(call, "notice.html", 422 if error else 200, head=head, region=region, day=day,
                            notice_body=body, notice_style=NOTICE_STYLE,
                            error=error.message.in_(call.lang) if error else None,
                            error_field=error.field if error else None)

    def month(self, call: Call) -> Response:
        """The ledger's month: totals by rule, by item kind and by payer, in yuan."""
        today = self.today()
        given = call.query.get("month") or f"{today.year:04d}-{today.month:02d}"
        try:
            year, month = parse_month(given)
        except ShuangyongError as error:
            return self._render(call, "ledger.html", 422, report=None, month=given,
                                error=error.message.in_(call.lang), configured=self.ledger is not None)
        if self.ledger is None:
            return self._render(call, "ledger.html", 503, report=None, month=given, error=None, configured=False)
        with self.ledger() as ledger:
            report = month_report(ledger.postings(), year, month)
        before = dt.date(year, month, 1) - dt.timedelta(days=1)
        after = report.last + dt.timedelta(days=1)
        return self._render(call, "ledger.html", report=report, month=given, error=None, configured=True,
                            tables=views.ledger_tables(report, self.policy, self.registry, call.lang),
                            previous=f"{before.year:04d}-{before.month:02d}",
                            following=f"{after.year:04d}-{after.month:02d}")


def office_router(store_factory: Callable[[], DossierStore], authenticate: Authenticate,
                  standards: StandardsSet, policy: PolicySet, **options: Any) -> APIRouter:
    """The office's pages as a router to include in the server's app.

    ``store_factory()`` gives the :class:`~shuangyong_server.office.dossiers.DossierStore`;
    ``authenticate(token)`` gives ``(name, role)`` for a valid bearer token, or ``(name, role, unit)``
    for one kept to a unit's dossiers (``unit`` None: every unit), else None;
    ``standards`` are the standards packs reports use, ``policy`` the packs the 公示 shows.
    Options: ``ledger`` (a callable opening the ledger for one request; it is closed after),
    ``registry`` (labels; default ``plugins.registry()``), ``secret`` (bytes signing the session
    cookie; default random, so a restart logs everyone out), ``prefix`` (``/office``), ``today``.
    """
    return OfficePages(store_factory, authenticate, standards, policy, **options).router()
