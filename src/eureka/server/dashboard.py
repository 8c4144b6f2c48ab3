"""A small HTML status page at `/`: node state, self-preservation, peers and applications.

Rendered from the typed `NodeStatus` and the registry's copy-free application summaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from eureka.registry.summary import AppSummary
from eureka.server.status import NodeStatus

__all__ = ["render_dashboard"]


def _application_rows(apps: Sequence[AppSummary]) -> list[str]:
    rows = []
    for app in apps:
        counts = " ".join(f"{escape(s.value)}: {n}" for s, n in app.status_counts)
        rows.append(
            f"<tr><td>{escape(app.name)}</td><td>{app.instances}</td><td>{counts}</td></tr>"
        )
    return rows


def render_dashboard(status: NodeStatus, apps: Sequence[AppSummary]) -> str:
    sp = status.self_preservation
    peers = "".join(
        f"<tr><td>{escape(p.url)}</td><td>{escape(p.state.name)}</td><td>{p.pending}</td>"
        f"<td>{p.replication_lag_ms}</td><td>{p.consecutive_failures}</td>"
        f"<td>{escape(p.last_error or '')}</td></tr>"
        for p in status.peers
    )
    reason = sp.reason or "Lease expiration is enabled."
    node = status.node
    reg = status.registry
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>eureka-py</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><h1>eureka-py {escape(status.version)}</h1>
<p>Listening on {escape(node.host)}:{node.port}, up {node.uptime_ms // 1000} s.
Instances: {reg.instances}, registry revision {reg.revision}.</p>
<h2>Self-preservation</h2><p>{escape(reason)}</p>
<h2>Peers</h2><table><tr><th>URL</th><th>state</th><th>pending</th><th>lag (ms)</th>
<th>consecutive failures</th><th>last error</th></tr>{peers}</table>
<h2>Applications</h2><table><tr><th>Application</th><th>Instances</th><th>Status counts</th></tr>
{"".join(_application_rows(apps))}</table></body></html>
"""
