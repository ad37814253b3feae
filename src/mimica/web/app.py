"""The FastAPI app: a REST API (OpenAPI at /docs) and a few server-rendered pages over the same store and
workers. Nothing here runs a scan itself; `Runner` does, through `mimica.scan.Scanner` like every front end.

    from mimica.web.app import create_app
    from mimica.web.settings import Settings
    app = create_app(Settings(data_dir="data"))   # then: uvicorn.run(app)

API contract (tools rely on it): GET /healthz (no auth) -> 200; POST /api/scans (multipart field `file`) ->
202 {"id"}; GET /api/scans/{id} -> {"status": queued|running|done|failed, "result": <scan --json object>,
"error"}; GET /api/scans/{id}/report -> the HTML report. Everything but /healthz and the sign-in page needs
`Authorization: Bearer <token>` or a browser session opened with a token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mimica import __version__
from mimica.errors import MimicaError
from mimica.models.registry import card_path_of, load_card
from mimica.models.reliability import Reliability
from mimica.scan import Scanner
from mimica.scan.aggregate import unmeasured_kinds, verdict_text
from mimica.scan.result import ScanResult, Verdict
from mimica.web.schemas import Health, Problem, ScanCreated, ScanList, ScanOut, ScanSummary, Status
from mimica.web.settings import Settings
from mimica.web.store import Job, Store
from mimica.web.uploads import FORMATS, SLACK, UploadRejected, check, receive
from mimica.web.worker import Runner

HERE = Path(__file__).parent
SESSION_COOKIE = "mimica_session"
_ID = re.compile(r"^[0-9a-f]{32}$")
#: pages: everything from here, pictures inline; the report iframe is same-origin
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
#: the report: nothing outside itself, no script at all (its JSON block is data, not code)
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no or bad credentials"},
    404: {"model": Problem, "description": "no such scan"},
}


class _LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class _SecurityHeaders:
    """Adds the headers every response carries (a pure ASGI middleware: uploads stream through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] == "/docs"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", b"referrer-policy": b"no-referrer",
                         b"x-frame-options": b"SAMEORIGIN"}
                if not docs:  # Swagger UI (served from /swagger-ui) starts itself with an inline script
                    extra[b"content-security-policy"] = PAGE_CSP.encode()
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, scanner_factory: Callable[[], Scanner] | None = None) -> FastAPI:
    """The app over `settings.data_dir`. The workers (and their models) start with the app's lifespan;
    `scanner_factory` replaces the Scanner made from the settings (tests)."""
    store = Store(settings.data_dir)
    runner = Runner(store, settings, scanner_factory)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    bearer = HTTPBearer(auto_error=False, description="an API token from `mimica tokens create`")

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        await run_in_threadpool(runner.start)
        yield
        await run_in_threadpool(runner.stop)

    app = FastAPI(
        title="mimica", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
        description="Scan images and videos for manipulated faces. Upload with `POST /api/scans`, poll "
                    "`GET /api/scans/{id}`, fetch the HTML report from `GET /api/scans/{id}/report`. "
                    "Authenticate with `Authorization: Bearer <token>` (`mimica tokens create`).",
    )
    app.state.settings, app.state.store, app.state.runner = settings, store, runner
    app.add_middleware(SessionMiddleware, secret_key=store.session_secret(), session_cookie=SESSION_COOKIE,
                       max_age=settings.session_max_age_s, same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(_SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Swagger UI's scripts from the swagger-ui-bundle wheel, so /docs works without network (FastAPI's default
    # loads them from a CDN)
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/swagger-ui", StaticFiles(directory=swagger_ui_path), name="swagger")

    # --- authentication --------------------------------------------------------------------------------------

    def session_ok(request: Request) -> bool:
        token_id = request.session.get("token_id")
        if token_id is None:
            return False
        if not store.token_active(int(token_id), str(request.session.get("check", ""))):
            request.session.clear()
            return False
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            _same_origin(request)
        return True

    # a default, not Annotated: annotations are strings here and `bearer` is local to this function
    def api_auth(request: Request, creds: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:  # noqa: B008
        if not settings.auth:
            return
        if creds is not None:
            if store.verify_token(creds.credentials) is not None:
                return
            raise HTTPException(401, "invalid or revoked token",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if session_ok(request):
            return
        raise HTTPException(401, "authentication required: send 'Authorization: Bearer <token>' "
                                 "(mimica tokens create) or sign in at /login",
                            headers={"WWW-Authenticate": "Bearer"})

    def page_auth(request: Request) -> None:
        if not settings.auth or session_ok(request):
            return
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer " and store.verify_token(header[7:].strip()) is not None:
            return
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise _LoginRequired(path)

    Api = Depends(api_auth)
    Page = Depends(page_auth)

    @app.exception_handler(_LoginRequired)
    async def to_login(request: Request, exc: _LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(UploadRejected)
    async def rejected(request: Request, exc: UploadRejected) -> Response:
        headers = {"Retry-After": "30"} if exc.status == 503 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    # --- shared steps ----------------------------------------------------------------------------------------

    async def accept_upload(request: Request) -> Job:
        if store.count("queued") >= settings.max_queue:
            raise UploadRejected(503, f"{settings.max_queue} scans are waiting already; try again later")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_upload_bytes + SLACK:
            raise UploadRejected(413, f"file is larger than the {settings.max_upload_bytes / (1 << 20):g} MB limit")
        settings.uploads.mkdir(parents=True, exist_ok=True)
        job_id = uuid.uuid4().hex
        part = settings.uploads / f"{job_id}.part"
        got = await receive(request.stream(), request.headers.get("content-type", ""), part,
                            settings.max_upload_bytes)
        try:
            checked = await run_in_threadpool(check, part, got.filename, settings.max_duration_s,
                                              settings.max_pixels)
            final = part.with_name(f"{job_id}.{checked.ext}")
            part.replace(final)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        job = store.create_job(job_id, got.filename, f"uploads/{final.name}", checked.info.kind, got.size)
        runner.submit(job_id)
        return job

    def get_job(scan_id: str) -> Job:
        job = store.get(scan_id) if _ID.match(scan_id) else None
        if job is None:
            raise HTTPException(404, f"no scan {scan_id!r}")
        return job

    def delete_job(job: Job) -> None:
        if job.status == "running":
            runner.cancel(job.id)
        store.delete(job.id)
        for rel in (job.media_path, job.report_path):
            if rel:
                (settings.data_dir / rel).unlink(missing_ok=True)

    def report_response(job: Job, download: bool) -> Response:
        if job.status in ("queued", "running"):
            raise HTTPException(409, f"no report yet: the scan is {job.status}")
        path = settings.data_dir / job.report_path if job.report_path else None
        if path is None or not path.is_file():
            raise HTTPException(404, f"this scan has no report ({job.error or 'it failed'})")
        headers = {"Content-Security-Policy": REPORT_CSP, "Cache-Control": "private, no-cache"}
        if download:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(job.filename).stem)[:80] or "scan"
            headers["Content-Disposition"] = f'attachment; filename="{stem}-mimica-report.html"'
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)

    # --- API -------------------------------------------------------------------------------------------------

    @app.get("/healthz", response_model=Health, tags=["service"], summary="Liveness (no authentication)")
    def healthz() -> Health:
        return Health()

    upload_body = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": FORMATS}}}}}}}

    @app.post("/api/scans", status_code=202, response_model=ScanCreated, tags=["scans"], dependencies=[Api],
              summary="Upload an image or video to scan", openapi_extra=upload_body,
              responses={**ERRORS, 413: {"model": Problem, "description": "file, duration or resolution too large"},
                         415: {"model": Problem, "description": "not an image or video mimica scans"},
                         422: {"model": Problem, "description": "unreadable or empty file, no `file` field"},
                         503: {"model": Problem, "description": "too many scans waiting"}})
    async def create_scan(request: Request) -> JSONResponse:
        job = await accept_upload(request)
        url = f"/api/scans/{job.id}"
        body = ScanCreated(id=job.id, status="queued", url=url).model_dump()
        return JSONResponse(body, status_code=202, headers={"Location": url})

    @app.get("/api/scans", response_model=ScanList, tags=["scans"], dependencies=[Api], responses=ERRORS,
             summary="History, newest first, searchable by file name and verdict")
    def list_scans(q: Annotated[str, Query(max_length=200, description="part of the file name")] = "",
                   verdict: Verdict | None = None, status: Status | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0)] = 0) -> ScanList:
        jobs, total = store.search(q, verdict, status, limit, offset)
        return ScanList(items=[ScanSummary.of(j) for j in jobs], total=total, limit=limit, offset=offset)

    @app.get("/api/scans/{scan_id}", response_model=ScanOut, tags=["scans"], dependencies=[Api], responses=ERRORS,
             summary="A scan's status, progress and result")
    def read_scan(scan_id: str) -> ScanOut:
        return ScanOut.of(get_job(scan_id))

    @app.get("/api/scans/{scan_id}/report", response_class=HTMLResponse, tags=["scans"], dependencies=[Api],
             responses={**ERRORS, 409: {"model": Problem, "description": "the scan has not finished"}},
             summary="The self-contained HTML report of a finished scan")
    def read_report(scan_id: str, download: bool = False) -> Response:
        return report_response(get_job(scan_id), download)

    @app.delete("/api/scans/{scan_id}", status_code=204, tags=["scans"], dependencies=[Api], responses=ERRORS,
                summary="Delete a scan, its upload and its report (a running scan is stopped)")
    def remove_scan(scan_id: str) -> Response:
        delete_job(get_job(scan_id))
        return Response(status_code=204)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Api])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Page])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="mimica API",
                                   swagger_js_url="/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/swagger-ui/favicon-32x32.png")

    # --- pages -----------------------------------------------------------------------------------------------

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("signed_in", bool(request.session.get("token_id")) or not settings.auth)
        context.setdefault("auth", settings.auth)
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def reliability() -> Reliability:
        if runner.reliability is not None:
            return runner.reliability
        try:
            return load_card(card_path_of(settings.model)).reliability()
        except MimicaError:
            return Reliability()

    def history(request: Request, q: str, verdict: str, status: str, offset: int, **extra: Any) -> dict[str, Any]:
        jobs, total = store.search(q, verdict or None, status or None, 50, offset)
        rel = reliability()
        # the filter's choices in the words the model may use: "leans fake", never a bare "fake" from a weak one
        choices = [(v, verdict_text(v, rel)) for v in ("fake", "uncertain", "real", "no-face")]
        return {"jobs": jobs, "total": total, "q": q, "verdict": verdict, "status": status, "offset": offset,
                "choices": choices,
                "limit_mb": settings.max_upload_bytes / (1 << 20), "formats": FORMATS, **extra}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=[Page])
    def index(request: Request, q: str = "", verdict: str = "", status: str = "",
              offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
        return page(request, "index.html.j2", **history(request, q[:200], verdict, status, offset))

    @app.post("/scans", include_in_schema=False, dependencies=[Page])
    async def upload_page(request: Request) -> Response:
        try:
            job = await accept_upload(request)
        except UploadRejected as exc:
            return page(request, "index.html.j2", exc.status, **history(request, "", "", "", 0, error=exc.message))
        return RedirectResponse(f"/scans/{job.id}", status_code=303)

    @app.get("/scans/{scan_id}", response_class=HTMLResponse, include_in_schema=False, dependencies=[Page])
    def scan_page(request: Request, scan_id: str) -> HTMLResponse:
        job = get_job(scan_id)
        result = job.result_dict()
        blind = ""
        if result and result.get("verdict"):
            try:
                r = ScanResult.model_validate(result)
                blind = unmeasured_kinds(r.verdict, r.reliability,
                                         bool((r.provenance.get("watermark") or {}).get("detected")))
            except ValueError:
                blind = ""
        return page(request, "scan.html.j2", job=job, result=result, blind=blind)

    @app.get("/scans/{scan_id}/report", include_in_schema=False, dependencies=[Page])
    def report_page(scan_id: str, download: bool = False) -> Response:
        return report_response(get_job(scan_id), download)

    @app.post("/scans/{scan_id}/delete", include_in_schema=False, dependencies=[Page])
    def delete_page(scan_id: str) -> Response:
        delete_job(get_job(scan_id))
        return RedirectResponse("/", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "login.html.j2", next=_safe_next(next), error=None)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
        token_id = store.verify_token(token.strip())
        if token_id is None:
            return page(request, "login.html.j2", 401, next=_safe_next(next),
                        error="That token is not valid (or was revoked).")
        request.session.clear()
        request.session["token_id"] = token_id
        request.session["check"] = store.session_check(token_id)
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    return app


def _safe_next(url: str) -> str:
    """Only paths on this site: an open redirect to another host would help phishing."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def _same_origin(request: Request) -> None:
    """Cookie-authenticated writes must come from our own pages (SameSite=Lax already keeps the cookie off
    cross-site POSTs; this also covers old browsers)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "cross-site request refused")
