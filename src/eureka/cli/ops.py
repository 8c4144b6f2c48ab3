"""The operator commands: read and steer any Eureka server over its REST API (protocol.md §2).

They speak the plain Eureka API, so they work against eureka-py and the Java server alike;
`status` shows more against eureka-py (its `/eureka/status`), and `watch` long-polls when the
server advertises it (`X-Eureka-Features: watch`, docs/design/propagation.md), polling deltas
otherwise. Payloads are decoded with `eureka.codec.json`; no registry is built.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import click

from eureka.cli.remote import Remote, server_urls
from eureka.cli.root import OpsError
from eureka.client.messages import Response
from eureka.errors import BadInput
from eureka.model import Application, Applications, InstanceInfo, InstanceStatus, LeaseInfo

__all__ = [
    "apps",
    "deregister",
    "in_service",
    "metadata",
    "out_of_service",
    "register",
    "status",
    "watch",
]

_F = Callable[..., Any]
_NO_LEASE = LeaseInfo()
_JSON_HEADERS = {"Content-Type": "application/json"}


def _server_option(command: _F) -> _F:
    return click.option(
        "--server",
        "servers",
        multiple=True,
        metavar="URL",
        help="Eureka service URL, e.g. http://user:pass@host:8761/eureka/ (repeatable or "
        "comma-separated: tried in turn). Default: $EUREKA_CLIENT_SERVICEURL_DEFAULTZONE, "
        "else http://127.0.0.1:8761/eureka/.",
    )(command)


def _json_option(command: _F) -> _F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(command)


def _remote(servers: tuple[str, ...], **kwargs: Any) -> Remote:
    return Remote(server_urls(servers), **kwargs)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _registry(body: bytes, server: str) -> Applications:
    from eureka.codec import json as json_codec  # noqa: PLC0415

    try:
        return json_codec.decode_applications(body)
    except BadInput as exc:
        raise OpsError(f"{server} did not answer with a registry: {exc.reason}") from None


def _unexpected(what: str, server: str, status: int, body: bytes) -> OpsError:
    detail = body[:200].decode("utf-8", "replace").strip().splitlines()
    return OpsError(f"{what}: {server} answered {status}{': ' + detail[0] if detail else ''}")


# ---- apps -----------------------------------------------------------------------------------


def instance_document(info: InstanceInfo, now_ms: int) -> dict[str, Any]:
    """What `eureka apps --json` prints for one instance (documented in docs/cli.md)."""
    lease = info.lease_info or _NO_LEASE
    return {
        "app": info.app,
        "instance_id": info.id,
        "status": str(info.status),
        "overridden_status": str(info.overridden_status),
        "host_name": info.host_name,
        "ip_addr": info.ip_addr,
        "port": info.port if info.port_enabled else None,
        "secure_port": info.secure_port if info.secure_port_enabled else None,
        "vip_address": info.vip_address,
        "secure_vip_address": info.secure_vip_address,
        "home_page_url": info.home_page_url,
        "status_page_url": info.status_page_url,
        "health_check_url": info.health_check_url,
        "metadata": dict(info.metadata),
        "registration_ms": lease.registration_timestamp or None,
        "last_renewal_ms": lease.last_renewal_timestamp or None,
        "service_up_ms": lease.service_up_timestamp or None,
        "lease_duration_s": lease.duration_in_secs,
        "renewed_ago_s": _ago_s(lease.last_renewal_timestamp, now_ms),
        "last_updated_ms": info.last_updated_timestamp or None,
    }


def _ago_s(stamp_ms: int, now_ms: int) -> float | None:
    return round(max(0, now_ms - stamp_ms) / 1000, 1) if stamp_ms else None


def _address(info: InstanceInfo) -> str:
    host = info.host_name or info.ip_addr or "?"
    port = info.port if info.port_enabled else info.secure_port
    address = f"{host}:{port}"
    if info.ip_addr and info.ip_addr != host:
        address += f" ({info.ip_addr})"
    return address


@click.command()
@click.argument("app", required=False)
@_server_option
@_json_option
def apps(app: str | None, servers: tuple[str, ...], as_json: bool) -> int:
    """List applications and their instances: status, address, lease age.

    With APP, only that application.
    """
    from eureka.codec import json as json_codec  # noqa: PLC0415

    with _remote(servers) as remote:
        reply = remote.request("GET", f"apps/{app}" if app else "apps/")
        server = remote.server
    if app and reply.status == 404:
        raise OpsError(f"{server} has no application {app.upper()}")
    if reply.status != 200:
        raise _unexpected("listing applications", server, reply.status, reply.body)
    if app:
        try:
            registry = Applications.of(json_codec.decode_application(reply.body))
        except BadInput as exc:
            raise OpsError(f"{server} did not answer with an application: {exc.reason}") from None
    else:
        registry = _registry(reply.body, server)
    now = _now_ms()
    applications = sorted(registry.applications, key=lambda a: a.name)
    if as_json:
        from eureka.cli import output  # noqa: PLC0415

        output.print_json(
            {
                "server": server,
                "apps_hashcode": registry.apps_hashcode,
                "applications": [
                    {
                        "name": a.name,
                        "instances": [
                            instance_document(i, now) for i in sorted(a, key=lambda i: i.id)
                        ],
                    }
                    for a in applications
                ],
            }
        )
        return 0
    _print_apps(applications, server, now)
    return 0


def _print_apps(applications: list[Application], server: str, now: int) -> None:
    from eureka.cli import output  # noqa: PLC0415

    console = output.console()
    instances = [i for a in applications for i in a]
    if not instances:
        console.print(f"no instances registered on {server}")
        return
    table = output.table("APPLICATION", "INSTANCE", "STATUS", "ADDRESS", "RENEWED", "UP FOR")
    for application in applications:
        for n, info in enumerate(sorted(application, key=lambda i: i.id)):
            lease = info.lease_info or _NO_LEASE
            up_since = lease.service_up_timestamp or lease.registration_timestamp
            table.add_row(
                application.name if n == 0 else "",
                info.id,
                output.status_text(str(info.status), str(info.overridden_status)),
                _address(info),
                f"{output.age(now - lease.last_renewal_timestamp)} ago"
                if lease.last_renewal_timestamp
                else "-",
                output.age(now - up_since) if up_since else "-",
            )
    console.print(table)
    counts: dict[str, int] = {}
    for info in instances:
        counts[str(info.status)] = counts.get(str(info.status), 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console.print(
        f"{len(applications)} application(s), {len(instances)} instance(s) ({summary}) on {server}",
        style="dim",
        highlight=False,
    )


# ---- status ---------------------------------------------------------------------------------


@click.command()
@_server_option
@_json_option
def status(servers: tuple[str, ...], as_json: bool) -> int:
    """Show a node's state: readiness, registry revision, self-preservation, peers.

    Against eureka-py this is its /eureka/status; against another Eureka server, what its
    registry and delta show (applications, instances by status, hash, delta version).
    """
    with _remote(servers) as remote:
        reply = remote.request("GET", "status", headers={"Accept": "application/json"})
        server = remote.server
        document = _json_object(reply.body) if reply.status == 200 else None
        if document is not None and "registry" in document and "node" in document:
            if as_json:
                from eureka.cli import output  # noqa: PLC0415

                output.print_json(document)
            else:
                _print_node_status(document, server)
            return 0
        summary = _registry_summary(remote, server)
    summary["status_info"] = document
    if as_json:
        from eureka.cli import output  # noqa: PLC0415

        output.print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _registry_summary(remote: Remote, server: str) -> dict[str, Any]:
    """What any Eureka server's API tells: its registry and its delta."""
    reply = remote.request("GET", "apps/")
    if reply.status == 403:
        raise OpsError(f"{server} refuses reads (403): it is starting or not yet synced")
    if reply.status != 200:
        raise _unexpected("reading the registry", server, reply.status, reply.body)
    registry = _registry(reply.body, server)
    counts: dict[str, int] = {}
    for info in registry.iter_instances():
        counts[str(info.status)] = counts.get(str(info.status), 0) + 1
    delta = remote.request("GET", "apps/delta")
    delta_doc = _registry(delta.body, server) if delta.status == 200 else None
    return {
        "server": server,
        "kind": "eureka",
        "applications": len(registry.applications),
        "instances": registry.instance_count(),
        "status_counts": dict(sorted(counts.items())),
        "apps_hashcode": registry.apps_hashcode,
        "delta_version": delta_doc.version if delta_doc is not None else None,
        "recent_changes": delta_doc.instance_count() if delta_doc is not None else None,
    }


def _print_summary(summary: Mapping[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415

    from eureka.cli import output  # noqa: PLC0415

    grid = Table.grid(padding=(0, 2))
    grid.add_row("server", str(summary["server"]))
    grid.add_row("applications", str(summary["applications"]))
    counts = ", ".join(f"{n} {s}" for s, n in summary["status_counts"].items()) or "none"
    grid.add_row("instances", f"{summary['instances']} ({counts})")
    grid.add_row("apps hash", summary["apps_hashcode"] or "-")
    if summary["delta_version"] is not None:
        grid.add_row(
            "delta",
            f"version {summary['delta_version']}, {summary['recent_changes']} recent change(s)",
        )
    else:
        grid.add_row("delta", "not available")
    info = summary.get("status_info")
    if isinstance(info, Mapping):
        for section in ("generalStats", "applicationStats"):
            values = info.get(section)
            if isinstance(values, Mapping):
                for key, value in values.items():
                    grid.add_row(str(key), str(value))
    console = output.console()
    console.print(grid)
    console.print(
        "not an eureka-py node: node state, self-preservation and peers are not in its API",
        style="dim",
    )


def _print_node_status(doc: Mapping[str, Any], server: str) -> None:
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    from eureka.cli import output  # noqa: PLC0415

    console = output.console()
    node = doc.get("node", {})
    registry = doc.get("registry", {})
    grid = Table.grid(padding=(0, 2))
    grid.add_row(
        "server",
        f"{server} (eureka-py {doc.get('version', '?')}, pid {node.get('pid', '?')}, "
        f"up {output.age(node.get('uptime_ms'))})",
    )
    if registry.get("allow_access"):
        state = Text("serving reads", style="green")
    elif registry.get("ready") is False:
        state = Text("refusing reads: copying the peers' registries (start-up sync)", "yellow")
    else:
        state = Text("refusing reads: not yet open for traffic", style="yellow")
    grid.add_row("state", state)
    grid.add_row(
        "registry",
        f"{registry.get('instances', '?')} instance(s), revision {registry.get('revision', '?')}",
    )
    grid.add_row("self-preservation", _self_preservation_text(doc.get("self_preservation", {})))
    sync = doc.get("startup_sync")
    if isinstance(sync, Mapping):
        unreachable = ", ".join(sync.get("unreachable") or []) or "none"
        grid.add_row(
            "start-up sync",
            f"copied {sync.get('copied')} instance(s) from {sync.get('answered')} peer(s); "
            f"unreachable: {unreachable}",
        )
    console.print(grid)
    peers = doc.get("peers") or []
    if peers:
        console.print()
        table = output.table(
            "PEER", "STATE", "PENDING", "LAG", "FAILURES", "LAST SUCCESS", "LAST ERROR"
        )
        now = _now_ms()
        for peer in peers:
            failures = int(peer.get("consecutive_failures") or 0)
            last = peer.get("last_success_ms")
            table.add_row(
                str(peer.get("url")),
                _peer_state(peer.get("state"), now),
                str(peer.get("pending", 0)),
                output.age(peer.get("replication_lag_ms")),
                Text(str(failures), style="red" if failures else ""),
                f"{output.age(now - last)} ago" if last else "never",
                str(peer.get("last_error") or "-"),
            )
        console.print(table)
    regions = doc.get("remote_regions") or {}
    if regions:
        console.print()
        table = output.table("REGION", "READY", "INSTANCES", "LAST FETCH", "LAST ERROR")
        now = _now_ms()
        for name, region in regions.items():
            fetched = region.get("last_fetch_ms")
            table.add_row(
                str(name),
                Text("yes", style="green") if region.get("ready") else Text("no", style="red"),
                str(region.get("instances", 0)),
                f"{output.age(now - fetched)} ago" if fetched else "never",
                str(region.get("last_error") or "-"),
            )
        console.print(table)


def _peer_state(state: Any, now: int) -> Any:
    from rich.text import Text  # noqa: PLC0415

    from eureka.cli import output  # noqa: PLC0415

    if not isinstance(state, Mapping):
        return "-"
    name = str(state.get("name", "?"))
    since = state.get("since_ms")
    label = f"{name} for {output.age(now - since)}" if since else name
    style = {"healthy": "green", "lagging": "yellow", "unreachable": "red"}.get(name, "")
    return Text(label, style=style)


def _self_preservation_text(sp: Mapping[str, Any]) -> Any:
    from rich.text import Text  # noqa: PLC0415

    numbers = (
        f"threshold {sp.get('threshold')} renewals/min, {sp.get('renews_last_min')} in the last "
        f"minute, {sp.get('expected_clients')} expected client(s)"
    )
    if not sp.get("enabled"):
        return Text(f"off: leases always expire ({numbers})", style="yellow")
    if sp.get("reason"):
        return Text(f"ENGAGED, eviction suspended: {sp['reason']}", style="bold red")
    return Text(f"on, lease expiration enabled ({numbers})")


# ---- watch ----------------------------------------------------------------------------------

_Key = tuple[str, str]


def _fingerprint(info: InstanceInfo) -> tuple[Any, ...]:
    return (
        info.host_name,
        info.ip_addr,
        info.port,
        info.secure_port,
        info.port_enabled,
        info.secure_port_enabled,
        info.overridden_status,
        info.vip_address,
        sorted(info.metadata.items()),
    )


def _change(old: InstanceInfo | None, new: InstanceInfo | None) -> dict[str, Any] | None:
    if old is None and new is None:
        return None
    if old is None:
        kind = "added"
    elif new is None:
        kind = "removed"
    elif old.status != new.status:
        kind = "status"
    elif _fingerprint(old) != _fingerprint(new):
        kind = "modified"
    else:
        return None
    info = new if new is not None else old
    assert info is not None
    change: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "change": kind,
        "app": info.app,
        "instance_id": info.id,
        "status": str(info.status),
        "address": _address(info),
    }
    if kind == "status" and old is not None:
        change["previous_status"] = str(old.status)
    return change


def _index(registry: Applications, wanted: set[str]) -> dict[_Key, InstanceInfo]:
    return {
        (i.app.upper(), i.id): i
        for i in registry.iter_instances()
        if not wanted or i.app.upper() in wanted
    }


def _diff(old: Mapping[_Key, InstanceInfo], new: Mapping[_Key, InstanceInfo]) -> list[Any]:
    changes = [_change(old.get(key), new.get(key)) for key in sorted({*old, *new})]
    return [c for c in changes if c is not None]


def _apply_delta(
    state: dict[_Key, InstanceInfo], delta: Applications, wanted: set[str]
) -> list[dict[str, Any]]:
    changes = []
    for info in delta.iter_instances():
        key = (info.app.upper(), info.id)
        if wanted and key[0] not in wanted:
            continue
        deleted = info.action_type is not None and str(info.action_type) == "DELETED"
        new = None if deleted else info
        change = _change(state.get(key), new)
        if new is None:
            state.pop(key, None)
        else:
            state[key] = new
        if change is not None:
            changes.append(change)
    return changes


class _Printer:
    def __init__(self, as_json: bool, limit: int | None) -> None:
        self.as_json = as_json
        self.limit = limit
        self.printed = 0

    @property
    def done(self) -> bool:
        return self.limit is not None and self.printed >= self.limit

    def emit(self, changes: Iterable[dict[str, Any]]) -> None:
        from rich.text import Text  # noqa: PLC0415

        from eureka.cli import output  # noqa: PLC0415

        for change in changes:
            if self.done:
                return
            if self.as_json:
                sys.stdout.write(json.dumps(change) + "\n")
                sys.stdout.flush()
            else:
                line = Text(f"{change['time'][11:19]}  {change['change'].upper():<8} ")
                line.append(f"{change['app']}  {change['instance_id']}  ")
                line.append_text(output.status_text(change["status"]))
                if previous := change.get("previous_status"):
                    line.append(f" (was {previous})", style="dim")
                line.append(f"  {change['address']}")
                output.console().print(line, highlight=False)
            self.printed += 1


@click.command()
@click.argument("apps_filter", metavar="[APP]...", nargs=-1)
@_server_option
@_json_option
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between delta polls (servers without the long-poll watch).",
)
@click.option(
    "--wait",
    default=30,
    show_default=True,
    type=click.IntRange(1, 60),
    help="Seconds a long-poll may be held by the server.",
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many changes.")
def watch(  # noqa: PLR0917 - click passes every option
    apps_filter: tuple[str, ...],
    servers: tuple[str, ...],
    as_json: bool,
    interval: float,
    wait: int,
    count: int | None,
) -> int:
    """Print registry changes as they happen: instances added, removed, changing status.

    Uses the server's long-poll watch when it offers one (eureka-py), else polls the delta
    every --interval seconds (any Eureka server). With APP names, only those applications.
    """
    wanted = {a.upper() for a in apps_filter}
    printer = _Printer(as_json, count)
    try:
        with _remote(servers, read_timeout_s=wait * 1.1 + 10) as remote:
            _watch(remote, wanted, printer, interval, wait)
    except KeyboardInterrupt:
        pass
    return 0


def _full(remote: Remote) -> tuple[Applications, Mapping[str, str]]:
    reply = remote.request("GET", "apps/")
    if reply.status != 200:
        raise _unexpected("reading the registry", remote.server, reply.status, reply.body)
    return _registry(reply.body, remote.server), reply.headers


def _watch(remote: Remote, wanted: set[str], printer: _Printer, interval: float, wait: int) -> None:
    registry, headers = _full(remote)
    state = _index(registry, wanted)
    features = {f.strip() for f in headers.get("x-eureka-features", "").split(",")}
    long_poll = "watch" in features and "x-eureka-epoch" in headers
    mode = "long-poll watch" if long_poll else f"delta polling every {interval:g} s"
    scope = ", ".join(sorted(wanted)) if wanted else "all applications"
    click.echo(f"watching {scope} on {remote.server} ({len(state)} instance(s), {mode})", err=True)
    epoch = headers.get("x-eureka-epoch", "")
    revision = headers.get("x-eureka-revision", "0")
    while not printer.done:
        if long_poll:
            params = {"since": revision, "wait": str(wait)}
            if wanted and "subset" in features:
                params["apps"] = ",".join(sorted(wanted))
            reply = remote.request(
                "GET", "apps/delta", params=params, headers={"X-Eureka-Epoch": epoch}
            )
            if reply.status == 410 or reply.headers.get("x-eureka-epoch", epoch) != epoch:
                registry, headers = _full(remote)
                fresh = _index(registry, wanted)
                printer.emit(_diff(state, fresh))
                state = fresh
                epoch = headers.get("x-eureka-epoch", epoch)
                revision = headers.get("x-eureka-revision", revision)
                continue
            if reply.status == 304:
                revision = reply.headers.get("x-eureka-revision", revision)
                continue
            if reply.status != 200:
                raise _unexpected("watching", remote.server, reply.status, reply.body)
            delta = _registry(reply.body, remote.server)
            printer.emit(_apply_delta(state, delta, wanted))
            revision = reply.headers.get("x-eureka-revision", str(delta.version))
            continue
        time.sleep(interval)
        reply = remote.request("GET", "apps/delta")
        if reply.status == 200:
            printer.emit(_apply_delta(state, _registry(reply.body, remote.server), wanted))
        elif reply.status in (403, 404):
            # Deltas disabled on that server: compare whole registries instead.
            registry, _ = _full(remote)
            fresh = _index(registry, wanted)
            printer.emit(_diff(state, fresh))
            state = fresh
        else:
            raise _unexpected("polling the delta", remote.server, reply.status, reply.body)


# ---- changes --------------------------------------------------------------------------------


def _instance_path(app: str, instance_id: str) -> str:
    return f"apps/{app.upper()}/{instance_id}"


def _expect_found(reply: Response, what: str, app: str, iid: str, server: str) -> None:
    if reply.status == 404:
        raise OpsError(f"{app.upper()}/{iid} is not registered on {server}")
    if not 200 <= reply.status < 300:
        raise _unexpected(what, server, reply.status, reply.body)


def _parse_pairs(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"{option} expects KEY=VALUE, got {pair!r}")
        values[key.strip()] = value
    return values


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


@click.command()
@click.argument("app")
@click.option("--host", required=True, help="Host name clients connect to.")
@click.option("--port", required=True, type=click.IntRange(1, 65535), help="HTTP port.")
@click.option("--ip", "ip_address", help="IP address (default: the host's address).")
@click.option("--id", "instance_id", help="Instance id (default host:app:port).")
@click.option("--secure-port", type=click.IntRange(1, 65535), help="HTTPS port, if any.")
@click.option("--vip", help="VIP address (default: the app name).")
@click.option(
    "--status",
    "initial_status",
    default="UP",
    show_default=True,
    type=click.Choice([s.value for s in InstanceStatus], case_sensitive=False),
)
@click.option("--metadata", "pairs", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option(
    "--lease-duration",
    default=90,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds the lease lives without a renewal.",
)
@click.option(
    "--renewal-interval",
    default=30,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds between renewals with --keep-alive.",
)
@click.option(
    "--keep-alive",
    is_flag=True,
    help="Stay in the foreground renewing the lease; cancel it on Ctrl-C or SIGTERM.",
)
@_server_option
def register(  # noqa: PLR0917 - click passes every option
    app: str,
    host: str,
    port: int,
    ip_address: str | None,
    instance_id: str | None,
    secure_port: int | None,
    vip: str | None,
    initial_status: str,
    pairs: tuple[str, ...],
    lease_duration: int,
    renewal_interval: int,
    keep_alive: bool,
    servers: tuple[str, ...],
) -> int:
    """Register an instance of APP, e.g. a service that has no Eureka client.

    Without --keep-alive the lease expires after --lease-duration seconds unless something
    renews it.
    """
    from eureka.client.config import InstanceConfig, build_instance_info  # noqa: PLC0415
    from eureka.clock import SystemClock  # noqa: PLC0415
    from eureka.codec import json as json_codec  # noqa: PLC0415

    config = InstanceConfig(
        appname=app,
        instance_id=instance_id,
        hostname=host,
        ip_address=ip_address or _resolve(host),
        non_secure_port=port,
        secure_port=secure_port or 443,
        secure_port_enabled=secure_port is not None,
        virtual_host_name=vip,
        secure_virtual_host_name=vip,
        initial_status=initial_status.upper(),
        lease_renewal_interval_in_seconds=renewal_interval,
        lease_expiration_duration_in_seconds=lease_duration,
        metadata_map=_parse_pairs(pairs, "--metadata"),
    )
    info = build_instance_info(config, SystemClock())
    body = json_codec.encode_instance(info)
    with _remote(servers) as remote:
        reply = remote.request("POST", f"apps/{info.app}", headers=_JSON_HEADERS, body=body)
        if not 200 <= reply.status < 300:
            raise _unexpected("registering", remote.server, reply.status, reply.body)
        click.echo(f"registered {info.app}/{info.id} on {remote.server}")
        if keep_alive:
            _keep_alive(remote, info, body, renewal_interval)
        else:
            click.echo(
                f"the lease expires in {lease_duration} s unless renewed (--keep-alive renews it)",
                err=True,
            )
    return 0


def _keep_alive(remote: Remote, info: InstanceInfo, body: bytes, interval: int) -> None:
    path = _instance_path(info.app, info.id)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(interval)
            reply = remote.request("PUT", path, params={"status": str(info.status)})
            if reply.status == 404:
                # The server lost us (restart, eviction): register again, as a client would.
                remote.request("POST", f"apps/{info.app}", headers=_JSON_HEADERS, body=body)
                click.echo(f"re-registered {info.app}/{info.id}", err=True)
    except KeyboardInterrupt:
        reply = remote.request("DELETE", path)
        click.echo(f"cancelled {info.app}/{info.id} ({reply.status})", err=True)


@click.command()
@click.argument("app")
@click.argument("instance_id")
@_server_option
def deregister(app: str, instance_id: str, servers: tuple[str, ...]) -> int:
    """Cancel the registration of instance INSTANCE_ID of APP."""
    with _remote(servers) as remote:
        reply = remote.request("DELETE", _instance_path(app, instance_id))
        _expect_found(reply, "cancelling", app, instance_id, remote.server)
        click.echo(f"cancelled {app.upper()}/{instance_id} on {remote.server}")
    return 0


@click.command("out-of-service")
@click.argument("app")
@click.argument("instance_id")
@_server_option
def out_of_service(app: str, instance_id: str, servers: tuple[str, ...]) -> int:
    """Take an instance out of traffic: status override OUT_OF_SERVICE.

    The override survives the instance's own status updates until `eureka in-service`.
    """
    with _remote(servers) as remote:
        reply = remote.request(
            "PUT",
            _instance_path(app, instance_id) + "/status",
            params={"value": InstanceStatus.OUT_OF_SERVICE.value},
        )
        _expect_found(reply, "setting the override", app, instance_id, remote.server)
        click.echo(f"{app.upper()}/{instance_id} is OUT_OF_SERVICE on {remote.server}")
    return 0


@click.command("in-service")
@click.argument("app")
@click.argument("instance_id")
@click.option(
    "--status",
    "new_status",
    default="UP",
    show_default=True,
    type=click.Choice([s.value for s in InstanceStatus], case_sensitive=False),
    help="The status the instance gets when the override is removed.",
)
@_server_option
def in_service(app: str, instance_id: str, new_status: str, servers: tuple[str, ...]) -> int:
    """Put an instance back into traffic: remove its status override."""
    with _remote(servers) as remote:
        reply = remote.request(
            "DELETE",
            _instance_path(app, instance_id) + "/status",
            params={"value": new_status.upper()},
        )
        _expect_found(reply, "removing the override", app, instance_id, remote.server)
        click.echo(f"{app.upper()}/{instance_id}: override removed, status {new_status.upper()}")
    return 0


@click.group()
def metadata() -> None:
    """Change an instance's metadata."""


@metadata.command("set")
@click.argument("app")
@click.argument("instance_id")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@_server_option
def metadata_set(
    app: str, instance_id: str, pairs: tuple[str, ...], servers: tuple[str, ...]
) -> int:
    """Set metadata keys of instance INSTANCE_ID of APP (the server replicates the change)."""
    values = _parse_pairs(pairs, "metadata set")
    with _remote(servers) as remote:
        reply = remote.request("PUT", _instance_path(app, instance_id) + "/metadata", params=values)
        _expect_found(reply, "updating metadata", app, instance_id, remote.server)
        click.echo(f"{app.upper()}/{instance_id}: set {', '.join(values)}")
    return 0
