"""A small HTML status page at `/`: node state, self-preservation, peers and applications."""

from __future__ import annotations

from html import escape
from typing import Any

from eureka.model import Applications

__all__ = ["render_dashboard"]


def render_dashboard(status: dict[str, Any], registry: Applications) -> str:
    sp = status.get("self_preservation", {})
    rows = []
    for application in registry.applications:
        counts: dict[str, int] = {}
        for instance in application:
            counts[instance.status.value] = counts.get(instance.status.value, 0) + 1
        instances = ", ".join(
            f"{escape(i.id)} ({escape(i.status.value)})" for i in list(application)[:20]
        )
        more = len(application) - 20
        rows.append(
            f"<tr><td>{escape(application.name)}</td>"
            f"<td>{' '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}</td>"
            f"<td>{instances}{f' … and {more} more' if more > 0 else ''}</td></tr>"
        )
    peers = "".join(
        f"<tr><td>{escape(str(p.get('url')))}</td><td>{escape(str(p))}</td></tr>"
        for p in status.get("peers", [])
    )
    reason = sp.get("reason") or "lease expiration enabled"
    node = status.get("node", {})
    reg = status.get("registry", {})
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>eureka-py</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><h1>eureka-py {escape(str(status.get("version", "")))}</h1>
<p>Listening on {escape(str(node.get("host")))}:{escape(str(node.get("port")))},
up {int(node.get("uptime_ms", 0)) // 1000} s. Instances: {reg.get("instances")},
registry revision {reg.get("revision")}.</p>
<h2>Self-preservation</h2><p>{escape(str(reason))}</p>
<h2>Peers</h2><table><tr><th>URL</th><th>state</th></tr>{peers}</table>
<h2>Applications</h2><table><tr><th>Application</th><th>Status counts</th><th>Instances</th></tr>
{"".join(rows)}</table></body></html>
"""
