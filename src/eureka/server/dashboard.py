"""A small HTML status page at `/`: node state, self-preservation, peers and applications.

Rendered from the registry's stored holders without copying them, so that opening the page on a
100k-instance registry does not stall the event loop for the other requests.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from eureka.registry import Registry

__all__ = ["render_dashboard"]

# Instances listed per application; the rest is summarised as a count.
SHOWN_PER_APP = 20


def _application_rows(registry: Registry) -> list[str]:
    rows = []
    for name, _revision in registry.app_revisions():
        leases = registry.app_leases(name)
        counts = Counter(lease.holder.status.value for lease in leases)
        shown = []
        for index, lease in enumerate(leases):
            if index == SHOWN_PER_APP:
                break
            shown.append(f"{escape(lease.holder.id)} ({escape(lease.holder.status.value)})")
        more = len(leases) - SHOWN_PER_APP
        rows.append(
            f"<tr><td>{escape(name)}</td>"
            f"<td>{' '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}</td>"
            f"<td>{', '.join(shown)}{f' … and {more} more' if more > 0 else ''}</td></tr>"
        )
    return rows


def render_dashboard(status: dict[str, Any], registry: Registry) -> str:
    sp = status.get("self_preservation", {})
    peers = "".join(
        f"<tr><td>{escape(str(p.get('url')))}</td><td>{p.get('pending', '')}</td>"
        f"<td>{p.get('replication_lag_ms', '')}</td><td>{p.get('consecutive_failures', '')}</td>"
        f"<td>{escape(str(p.get('last_error') or ''))}</td></tr>"
        for p in status.get("peers", [])
    )
    reason = sp.get("reason") or "Lease expiration is enabled."
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
<h2>Peers</h2><table><tr><th>URL</th><th>pending</th><th>lag (ms)</th>
<th>consecutive failures</th><th>last error</th></tr>{peers}</table>
<h2>Applications</h2><table><tr><th>Application</th><th>Status counts</th><th>Instances</th></tr>
{"".join(_application_rows(registry))}</table></body></html>
"""
