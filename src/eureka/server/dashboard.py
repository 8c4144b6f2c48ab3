"""The dashboard at `/`, its JSON feeds under `<prefix>/summary/`, and `/lastn`.

The page is a small shell (server/static/dashboard.html) that carries the first `NodeStatus`
and application summaries as an inert JSON block, plus one script and one stylesheet served
from server/static/ — no external asset, so it works offline and behind a strict
Content-Security-Policy. The script renders everything with `textContent` (never HTML built
from registry strings: instance ids and metadata are whatever a client sent), then polls
`<prefix>/status` and `<prefix>/summary/apps` and re-renders without reloading. Instance lists
come a page at a time from `<prefix>/summary/apps/{app}`, so every instance is reachable
however large an application is, and the page stays small however large the registry is.

`/lastn` (Spring's "last 1000 since startup") is rendered here, escaped, with no script.

Pure: registry reads and `NodeStatus` values in, strings and bytes out.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources

import msgspec

from eureka.errors import BadInput
from eureka.model import InstanceStatus
from eureka.registry import AppSummary, InstancePage, Registry
from eureka.registry.summary import RecentLease
from eureka.server.status import NodeStatus

__all__ = [
    "CSP",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "StaticAsset",
    "applications_body",
    "instance_page_body",
    "render_dashboard",
    "render_lastn",
    "static_asset",
]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_MAX_QUERY = 200

# Only our own script, style and requests; nothing inline may run, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}


class StaticAsset(msgspec.Struct, frozen=True):
    body: bytes
    content_type: str
    # A content hash: links carry it (`?v=`), so a new version is a new URL and the old one
    # may be cached for long.
    version: str


def _load_assets() -> dict[str, StaticAsset]:
    assets = {}
    for entry in resources.files("eureka.server").joinpath("static").iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file() and suffix in _CONTENT_TYPES:
            body = entry.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            assets[entry.name] = StaticAsset(body, _CONTENT_TYPES[suffix], version)
    return assets


_ASSETS = _load_assets()


def static_asset(name: str) -> StaticAsset | None:
    return _ASSETS.get(name)


def _inert_json(value: object) -> str:
    """JSON safe inside a `<script type="application/json">`: `<`, `>` and `&` only occur in
    strings in JSON, where their \\u escapes mean the same, so `</script>` cannot close it."""
    raw = msgspec.json.encode(value)
    raw = raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    return raw.decode()


def _applications(apps: Sequence[AppSummary], matched: Mapping[str, int] | None) -> list[object]:
    rows: list[object] = []
    for app in apps:
        if matched is not None and app.name not in matched:
            continue
        row = msgspec.to_builtins(app)
        if matched is not None:
            row["matched"] = matched[app.name]
        rows.append(row)
    return rows


def applications_document(registry: Registry, query: str | None = None) -> dict[str, object]:
    """`<prefix>/summary/apps[?q=]`: every application (or those matching `q`), sorted."""
    if query is not None and len(query) > _MAX_QUERY:
        raise BadInput(f"q must be at most {_MAX_QUERY} characters")
    matched = registry.find_applications(query) if query else None
    return {
        "revision": registry.revision,
        "instances": registry.instance_count(),
        "query": query or "",
        "applications": _applications(registry.application_summaries(), matched),
    }


def applications_body(registry: Registry, query: str | None = None) -> bytes:
    return msgspec.json.encode(applications_document(registry, query))


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise BadInput(f"{name} must be between {low} and {high}")
    return value


def instance_page(registry: Registry, app: str, params: Mapping[str, str]) -> InstancePage | None:
    """`<prefix>/summary/apps/{app}?offset=&limit=&status=&q=`: one page of instances."""
    offset = _int_param(params, "offset", 0, 0, 10**9)
    limit = _int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    status = None
    if params.get("status"):
        try:
            status = InstanceStatus(params["status"])
        except ValueError:
            raise BadInput(
                "status must be one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN"
            ) from None
    query = params.get("q") or None
    if query is not None and len(query) > _MAX_QUERY:
        raise BadInput(f"q must be at most {_MAX_QUERY} characters")
    return registry.instances_of(app, offset, limit, status=status, contains=query)


def instance_page_body(registry: Registry, app: str, params: Mapping[str, str]) -> bytes | None:
    page = instance_page(registry, app, params)
    return None if page is None else msgspec.json.encode(page)


def _asset_url(name: str) -> str:
    asset = _ASSETS[name]
    return f"static/{name}?v={asset.version}"


def render_dashboard(
    status: NodeStatus, apps: Sequence[AppSummary], *, api: str, refresh_ms: int = 3000
) -> str:
    """The page at `/`: the shell with the first snapshot; the script does the rest.

    `api` is the API prefix relative to the page ("eureka"), so the page also works when the
    node is mounted under a path of another application.
    """
    initial = {
        "status": msgspec.to_builtins(status),
        "apps": {
            "revision": status.registry.revision,
            "instances": status.registry.instances,
            "query": "",
            "applications": _applications(apps, None),
        },
    }
    template = _ASSETS["dashboard.html"].body.decode()
    return (
        template.replace("{{title}}", html.escape(f"eureka-py · {status.node.hostname}"))
        .replace("{{api}}", html.escape(api, quote=True))
        .replace("{{refresh_ms}}", str(int(refresh_ms)))
        .replace("{{css}}", _asset_url("dashboard.css"))
        .replace("{{js}}", _asset_url("dashboard.js"))
        .replace("{{initial}}", _inert_json(initial))
    )


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _rows(entries: Iterable[RecentLease]) -> str:
    rows = [
        f"<tr><td>{_time(e.time_ms)}</td><td>{html.escape(e.app)}</td>"
        f"<td>{html.escape(e.id)}</td></tr>"
        for e in reversed(list(entries))
    ]
    if not rows:
        return '<tr><td colspan="3" class="empty">None since the node started.</td></tr>'
    return "".join(rows)


def render_lastn(registry: Registry, *, now_ms: int, hostname: str) -> str:
    """`/lastn`: the last `recent-list-size` registrations and cancellations, newest first."""
    registered = list(registry.recently_registered)
    cancelled = list(registry.recently_cancelled)
    size = registry.config.recent_list_size
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(f"eureka-py · {hostname} · last {size}")}</title>
<link rel="stylesheet" href="{_asset_url("dashboard.css")}"><link rel="icon" href="data:,">
</head>
<body class="lastn"><header class="bar"><a class="brand" href="./">eureka-py</a>
<nav><a href="./">Dashboard</a><a href="lastn" aria-current="page">Last {size}</a></nav>
<span class="clock">{_time(now_ms)}</span></header>
<main>
<h2>Last {size} cancelled leases <small>({len(cancelled)})</small></h2>
<table id="cancelled" class="grid"><thead><tr><th>Time</th><th>Application</th>
<th>Instance</th></tr></thead><tbody>{_rows(cancelled)}</tbody></table>
<h2>Last {size} newly registered leases <small>({len(registered)})</small></h2>
<table id="registered" class="grid"><thead><tr><th>Time</th><th>Application</th>
<th>Instance</th></tr></thead><tbody>{_rows(registered)}</tbody></table>
</main></body></html>
"""
