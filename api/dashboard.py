"""The operators' dashboard page: three static files, no data in them.

The page, its script and its style are served without a key (a browser cannot send
a header when it opens a page); they hold nothing but the login form and the code.
Every figure comes from the keyed JSON routes (/sms/analytics, /sms/conversations),
which the script calls with the key typed into the form, kept in the tab's
sessionStorage and never put in a URL. The Content-Security-Policy lets the page
reach this server only: no CDN, no external request at run time.
"""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

HERE = Path(__file__).resolve().parents[1] / "analytics" / "dashboard"
PAGE = "/sms/dashboard"
#: path -> (file, content type); the only paths under /sms/ that need no key.
FILES = {
    PAGE: ("index.html", "text/html; charset=utf-8"),
    PAGE + "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    PAGE + "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def add_dashboard(bp: Blueprint) -> None:
    """Read once at start: the files are part of the release, not data."""
    bodies = {path: (HERE / name).read_bytes() for path, (name, _) in FILES.items()}
    for path, (_, content_type) in FILES.items():

        async def serve(
            _request: Request, body: bytes = bodies[path], kind: str = content_type
        ) -> HTTPResponse:
            return HTTPResponse(body, content_type=kind, headers=HEADERS)

        serve.__name__ = "dashboard_" + path.rsplit("/", 1)[-1].replace(".", "_")
        bp.route(path, methods=["GET"])(serve)
