"""The frame every page shares: one inline stylesheet, the security headers, error pages.

No JavaScript anywhere, and a Content-Security-Policy that forbids it: even if some user text
slipped through escaping, a `<script>` in it could not run.
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse, JSONResponse, Response

from incident.postmortem_render import MENTION, Names, name_of, with_people

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Links carry their token in the query string; never leak it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}

STYLE = """
:root{--fg:#1d1d1f;--muted:#6b6b70;--line:#e2e2e6;--bg:#fff;--accent:#8b1a1a}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1060px;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}
a{color:var(--accent)}.muted{color:var(--muted)}small{color:var(--muted)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:16px 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;
font-size:13px}.SEV1{background:#b3261e}.SEV2{background:#d9730d}.SEV3{background:#b08d00}
.SEV4{background:#6b6b70}.status{font-weight:600}
.body{white-space:pre-wrap;margin:0}.draft{color:var(--muted);font-style:italic;font-size:13px}
.user{font-weight:600}
details.edit{margin-top:6px}details.edit summary{cursor:pointer;color:var(--accent);font-size:13px}
textarea{width:100%;min-height:120px;font:inherit}
button{font:inherit;padding:4px 14px;margin-top:4px}
ol.tl{list-style:none;padding:0;margin:0;content-visibility:auto;contain-intrinsic-size:auto 4000px}
ol.tl li{display:grid;grid-template-columns:150px 110px 1fr;gap:8px;padding:2px 0;
border-bottom:1px solid #f2f2f4}ol.tl time{color:var(--muted);font-variant-numeric:tabular-nums}
.k{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
svg{max-width:100%;height:auto;display:block}
form.filters{display:flex;gap:12px;align-items:end;flex-wrap:wrap;margin:12px 0}
form.filters label{display:flex;flex-direction:column;font-size:13px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:12px 0}
@media print{body{max-width:none;padding:0}details.edit,form,nav{display:none}
ol.tl{content-visibility:visible}a{color:inherit;text-decoration:none}}
"""


def esc(text: object) -> str:
    return escape("" if text is None else str(text), quote=True)


def user_html(user: str | None, names: Names) -> str:
    if not user:
        return '<span class="muted">—</span>'
    return f'<span class="user" title="{esc(user)}">@{esc(name_of(user, names))}</span>'


def rich(text: str | None, names: Names) -> str:
    """User text, escaped, with `<@U…>` shown as names."""
    return with_people(text or "", esc, lambda u: user_html(u, names))


def has_mention(text: str) -> bool:
    return MENTION.search(text) is not None


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        # A data: icon, so the browser does not fetch /favicon.ico (which CSP would refuse).
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def html_response(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def error_page(status: int, message: str) -> HTMLResponse:
    heading = {401: "Sign-in link needed", 403: "Access refused", 404: "Not found"}.get(
        status, "Something went wrong"
    )
    body = f'<h1>{esc(heading)}</h1><p>{esc(message)}</p><p class="muted">warroom</p>'
    return html_response(page(heading, body), status)


def json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": message}, status_code=status, headers=SECURITY_HEADERS
    )


def with_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response
