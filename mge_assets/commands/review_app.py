"""`mge review serve`: the reviewer's web page, a small Starlette app over one `ReviewDesk`.

Server-rendered HTML with plain forms (POST, then a redirect), no script: the queue across requests
sorted by confidence with filters and the review SLA; an item with its confidence and inputs, trace,
requirements and tests, validation history, the diff and code highlighted by pygments, the AI
suggestion, and the four actions. `/api/items` and `/api/items/{id}` serve the same as JSON.

Model output and reviewers' text are hostile: templates autoescape, and only pygments' own (escaped)
HTML is marked safe. Who may use the page:

- it binds to loopback by default; without a token it answers only requests whose Host is a loopback
  name (a page elsewhere cannot reach it by DNS rebinding);
- a host other than loopback needs `MGE_REVIEW_TOKEN`; with a token set every request must carry it,
  as `Authorization: Bearer <token>` or the cookie that visiting `/?token=<token>` once sets;
- a POST whose Origin (or, lacking one, Referer) is not the page itself is refused (cross-site forms).

The desk's blocking reads (instance, SQL, Dagster) run in worker threads.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mge_assets.commands.review_desk import ReviewDesk, decision_line, reviewer_name
from mge_assets.errors import MgeError
from mge_assets.review.decide import RefusedEdit, refuse_stale
from mge_assets.review.items import FACTORS, STATUSES, ReviewItem
from mge_assets.review.stats import age_text
from mge_assets.review.store import Decision, Suggestion
from mge_assets.scoring.review import CONFIDENCE_WEIGHTS

if TYPE_CHECKING:
    import uvicorn

TOKEN_ENV = "MGE_REVIEW_TOKEN"
TOKEN_COOKIE = "mge_review_session"
REVIEWER_COOKIE = "mge_reviewer"
MAX_FORM_BYTES = 1_000_000  # an atom is ~10 lines; this is room for a pasted file, not for abuse
_FORMATTER = HtmlFormatter(cssclass="hl", style="friendly")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("mge_assets", "templates/review"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


# -- who may use the page ---------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (a Host header's port and IPv6 brackets allowed)."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve off loopback without a token."""
    if not is_loopback(host) and not token:
        raise MgeError(
            f"the review page would answer anyone who can reach {host}: set {TOKEN_ENV} to a secret first "
            f"(every request must then carry it), or serve on loopback (--host 127.0.0.1, the default)"
        )


def _session(token: str) -> str:
    """The cookie's value: derived from the token, so the cookie is not the token itself."""
    return hmac.new(token.encode(), b"mge-review-session", hashlib.sha256).hexdigest()


class Guard:
    """ASGI middleware: the token, the loopback Host rule and the cross-site check of POSTs."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = self.refusal(request) or self.login(request)
        await (response or self.app)(scope, receive, send)

    def refusal(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        if self.token is None and not is_loopback(host):
            return PlainTextResponse("this review page answers on loopback names only\n", 403)
        if self.token is not None and not self.authorized(request):
            return PlainTextResponse(
                f"unauthorized: send Authorization: Bearer <{TOKEN_ENV}>, or open /?token=<{TOKEN_ENV}> once\n",
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.method not in ("GET", "HEAD") and not same_origin(request):
            return PlainTextResponse("refused: this form was not sent from the review page\n", 403)
        return None

    def authorized(self, request: Request) -> bool:
        assert self.token is not None
        header = request.headers.get("authorization", "")
        offered = [
            header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else "",
            request.query_params.get("token", ""),
        ]
        if any(o and hmac.compare_digest(o.encode(), self.token.encode()) for o in offered):
            return True
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), _session(self.token).encode())

    def login(self, request: Request) -> Response | None:
        """`?token=` (already checked): set the session cookie and drop the token from the address."""
        if self.token is None or "token" not in request.query_params:
            return None
        rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        path = "/" + request.url.path.lstrip("/")  # never `//host`: that would leave the page
        response = RedirectResponse(path + (f"?{rest}" if rest else ""), 303)
        response.set_cookie(TOKEN_COOKIE, _session(self.token), httponly=True, samesite="strict")
        return response


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from a page of this server (its Origin or Referer host)."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    return bool(source) and source != "null" and urlsplit(source).netloc == request.headers.get("host")


# -- rendering -----------------------------------------------------------------------------------------


def _lexer(file: str) -> Lexer:
    try:
        return get_lexer_for_filename(file, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


def highlighted(code: str, file: str, first_line: int | None = None) -> Markup:
    """Code as pygments' HTML (it escapes the text itself), with line numbers from `first_line`."""
    formatter = _FORMATTER if first_line is None else HtmlFormatter(**_formatter_options(first_line))
    return Markup(highlight(code, _lexer(file), formatter))


def _formatter_options(first_line: int) -> dict[str, Any]:
    return {"cssclass": "hl", "style": "friendly", "linenos": "inline", "linenostart": first_line}


def highlighted_diff(diff: str) -> Markup:
    return Markup(highlight(diff, DiffLexer(stripnl=False), _FORMATTER))


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC") if timestamp else ""


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = _TEMPLATES.get_template(name).render(pygments_css=Markup(_FORMATTER.get_style_defs(".hl")), **context)
    return HTMLResponse(page, status_code=status)


# -- what a page shows ---------------------------------------------------------------------------------


class Missing(MgeError):
    """No such item (404)."""


class Stale(MgeError):
    """The item changed since it was queued or shown (409)."""


@dataclass
class ItemView:
    """Everything the item page needs, read in a worker thread."""

    item: ReviewItem
    draft: dict[str, Any] | None  # the latest refused edit made after the atom's last decision
    done: Decision | None  # the decision the page was redirected to after

    @property
    def first_line(self) -> int:
        return int(self.item.lines.split("-")[0] or 1)


def _find(desk: ReviewDesk, item_id: str) -> ReviewItem:
    try:
        return desk.item(item_id)
    except MgeError as error:
        raise Missing(str(error)) from None


def read_item(desk: ReviewDesk, item_id: str, decision_id: int | None) -> ItemView:
    """The item, its newest refused draft (if newer than its last decision) and the decision just taken."""
    item = _find(desk, item_id)
    draft = desk.store.latest_draft(item.request, item.atom)
    last = max((d.created_at for d in item.decisions), default=0.0)
    if draft is not None and draft["created_at"] <= last:
        draft = None
    done = None
    if decision_id is not None:
        done = next((d for d in item.decisions if d.id == decision_id), None)
    return ItemView(item, draft, done)


def take_decision(desk: ReviewDesk, item_id: str, action: str, reviewer: str, form: dict[str, str]) -> Decision:
    """The desk's decision, after telling a stale item (409) from other refusals (400)."""
    item = _find(desk, item_id)
    seen = form.get("seen_sha") or None
    try:
        refuse_stale(item, seen)
    except MgeError as error:
        raise Stale(str(error)) from None
    code = _unix_lines(form.get("code", "")) if action == "edit" else None
    return desk.decide(item.id, action, reviewer, form.get("comment", ""), code, seen, _int(form.get("suggestion_id")))


async def suggestion_for(desk: ReviewDesk, item: ReviewItem) -> Suggestion:
    """The AI suggestion, or an unavailable one saying why: never an error page."""
    try:
        return await desk.suggestion(item)
    except MgeError as error:
        return Suggestion(0, item.request, item.atom, item.current_sha, "-", False, error=str(error)[:500])


def _unix_lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")  # browsers send a textarea's lines as CRLF


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


async def read_form(request: Request) -> dict[str, str]:
    """A url-encoded form body (the only kind the page sends)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise MgeError(f"the form is larger than {MAX_FORM_BYTES} bytes")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def current_reviewer(request: Request) -> str:
    return unquote(request.cookies.get(REVIEWER_COOKIE, "")) or reviewer_name(None)


# -- the app ---------------------------------------------------------------------------------------------


def create_app(desk: ReviewDesk | None = None, token: str | None = None) -> Starlette:
    """The review page over `desk` (one per app); `token`, when given, is required on every request."""
    desk = desk or ReviewDesk()
    pages = _Pages(desk)
    routes = [
        Route("/", pages.queue),
        Route("/items/{item_id}", pages.item),
        Route("/items/{item_id}/decide", pages.decide, methods=["POST"]),
        Route("/reviewer", pages.set_reviewer, methods=["POST"]),
        Route("/api/items", pages.api_items),
        Route("/api/items/{item_id}", pages.api_item),
        Route("/health", pages.health),
    ]
    app = Starlette(routes=routes, exception_handlers={MgeError: pages.error})
    app.add_middleware(Guard, token=token or None)  # type: ignore[arg-type]
    return app


class _Pages:
    """The endpoints, over one desk."""

    def __init__(self, desk: ReviewDesk) -> None:
        self.desk = desk

    async def queue(self, request: Request) -> Response:
        name = request.query_params.get("request") or None
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise MgeError(f"unknown status '{status}'; choose one of {', '.join(STATUSES)}")
        everything, items, stats = await run_in_threadpool(self._queue, name, status)
        return render(
            "queue.html",
            **self._common(request),
            items=items,
            requests=sorted({i.request for i in everything}),
            statuses=STATUSES,
            chosen={"request": name or "", "status": status or ""},
            stats=stats.lines(),
            oldest=age_text(stats.oldest_pending_age_s),
        )

    def _queue(self, name: str | None, status: str | None) -> tuple[list[ReviewItem], list[ReviewItem], Any]:
        return self.desk.items(), self.desk.items(name, status), self.desk.stats(name)

    async def item(
        self, request: Request, status: int = 200, notice: str = "", refused: list[str] | None = None
    ) -> Response:
        item_id = request.path_params["item_id"]
        view = await run_in_threadpool(read_item, self.desk, item_id, _int(request.query_params.get("decision")))
        suggestion = await suggestion_for(self.desk, view.item)
        kept = getattr(request.state, "form", None)
        return render(
            "item.html",
            status,
            **self._common(request),
            view=view,
            item=view.item,
            suggestion=suggestion,
            edit_code=self._edit_code(view, suggestion, kept, request.query_params.get("fill") == "suggestion"),
            kept=kept or {},
            notice=notice,
            refused=refused or [],
            done=decision_line(view.done) if view.done else "",
            factors=[(name, view.item.factors.get(name, 0.0), CONFIDENCE_WEIGHTS[name]) for name in FACTORS],
            diff=highlighted_diff(view.item.diff()) if view.item.diff() else None,
            code=highlighted(view.item.code, view.item.file, view.first_line),
            fix=highlighted(suggestion.fix, view.item.file) if suggestion.available and suggestion.fix else None,
            highlighted=highlighted,
            when=_when,
        )

    @staticmethod
    def _edit_code(view: ItemView, suggestion: Suggestion, kept: dict[str, str] | None, fill: bool) -> str:
        """What the edit box holds: the refused text, else the fix asked for, else the draft, else the code."""
        if kept and kept.get("action") == "edit":
            return _unix_lines(kept.get("code", ""))
        if fill and suggestion.available and suggestion.fix:
            return suggestion.fix
        return str(view.draft["code"]) if view.draft else view.item.code

    async def decide(self, request: Request) -> Response:
        form = await read_form(request)
        request.state.form = form
        action = form.get("action", "")
        try:
            decision = await run_in_threadpool(
                take_decision, self.desk, request.path_params["item_id"], action, current_reviewer(request), form
            )
        except RefusedEdit as refused:
            return await self.item(request, 400, "Your edit was refused; fix it and submit again.", refused.problems)
        except Stale as error:
            return await self.item(request, 409, str(error))
        except Missing:
            raise
        except MgeError as error:
            return await self.item(request, 400, str(error))
        target = f"/items/{quote(decision.trace_id)}?decision={decision.id}"
        return RedirectResponse(target, 303)

    async def set_reviewer(self, request: Request) -> Response:
        form = await read_form(request)
        name = " ".join(form.get("reviewer", "").split())[:128]
        back = form.get("next", "/")
        back = back if back.startswith("/") and not back.startswith(("//", "/\\")) else "/"
        response = RedirectResponse(back, 303)
        if name:
            response.set_cookie(REVIEWER_COOKIE, quote(name), max_age=365 * 86400, samesite="strict")
        else:
            response.delete_cookie(REVIEWER_COOKIE)
        return response

    async def api_items(self, request: Request) -> Response:
        name = request.query_params.get("request") or None
        status = request.query_params.get("status") or None
        items = await run_in_threadpool(self.desk.items, name, status)
        return JSONResponse([i.summary() for i in items])

    async def api_item(self, request: Request) -> Response:
        item = await run_in_threadpool(_find, self.desk, request.path_params["item_id"])
        suggestion = await suggestion_for(self.desk, item)
        return JSONResponse(_jsonable({**item.as_dict(), "suggestion": suggestion.as_dict()}))

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def error(self, request: Request, error: Exception) -> Response:
        status = 404 if isinstance(error, Missing) else 409 if isinstance(error, Stale) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(error)}, status)
        return render("message.html", status, **self._common(request), message=str(error))

    def _common(self, request: Request) -> dict[str, Any]:
        """What the header needs: who reviews, and the page to come back to after changing it."""
        here = request.url.path.removesuffix("/decide")  # a refused decision's page is its item's
        if request.method == "GET" and request.url.query:
            here += f"?{request.url.query}"
        return {"reviewer": current_reviewer(request), "here": here}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# -- serving ---------------------------------------------------------------------------------------------


def review_server(host: str, port: int, token: str | None = None) -> uvicorn.Server:
    """The page's uvicorn server, refused off loopback without a token."""
    import uvicorn

    check_exposure(host, token)
    app = create_app(token=token)
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))


def serve(host: str = "127.0.0.1", port: int = 8766) -> None:
    """Serve the review page until interrupted; MGE_REVIEW_TOKEN, when set, is required of every request."""
    token = os.environ.get(TOKEN_ENV) or None
    server = review_server(host, port, token)
    shown = f"[{host}]" if ":" in host else host
    print(f"the review page: http://{shown}:{port}/", flush=True)
    if token:
        print(f"  every request needs {TOKEN_ENV}: open http://{shown}:{port}/?token=<it> once", flush=True)
    server.run()
