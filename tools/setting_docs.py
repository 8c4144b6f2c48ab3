"""What each setting does, in a sentence, for docs/reference/settings.md.

Keyed by setting path (a `ServerConfig` field, `registry.<field>`, `client.<field>`,
`instance.<field>`). A setting missing here is still listed, with the comment written on its
field in the source as its description; add a line here when that comment is not for users.
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    # -- listening and identity
    "host": "Address to listen on; `0.0.0.0` for every interface (in a container).",
    "port": "Port to listen on.",
    "prefix": "Path under which the API lives; `/eureka/apps`, `/eureka/v2/apps` both work.",
    "my_url": "The URL under which the peers reach this node; lets it find itself in the peer "
    "list when host names or addresses alone do not.",
    "peers": "Peer nodes' service URLs, comma-separated (`--peer` on the command line, "
    "repeatable). This node may be in the list: it recognises itself.",
    "max_body_bytes": "Largest request body accepted (413 above it).",
    "gzip_level": "gzip level of cached payloads (0–9); 1 is a third of the CPU of 6 for "
    "bodies ~15 % larger.",
    "backpressure": "Most requests the HTTP server processes at once.",
    "log_level": "`debug`, `info`, `warning`, `error` or `critical`.",
    "log_format": "`text` (one line per event, fields as `key=value`) or `json` (one object "
    "per line, the same fields).",
    "environment": "Environment name shown on the dashboard (`eureka.environment`).",
    "datacenter": "Data center name shown on the dashboard (`eureka.datacenter`).",
    "metrics_enabled": "Serve `GET /metrics` (Prometheus) and keep the request tallies behind it.",
    # -- TLS
    "ssl_certificate": "PEM certificate chain to serve HTTPS with (the certificate first, then "
    "intermediates); with it the node serves HTTPS only, TLS 1.2 or later.",
    "ssl_certificate_private_key": "PEM private key of that certificate (unencrypted).",
    "tls_trust_store": "PEM bundle of the CAs that peers, the start-up sync, anti-entropy and "
    "remote-region fetches verify https servers with; unset: the system's trusted CAs.",
    # -- peers
    "peer_node_connect_timeout_ms": "Connect timeout of replication and start-up sync requests.",
    "peer_node_read_timeout_ms": "Read timeout of replication requests; a timeout counts as "
    "congestion and pauses that peer briefly.",
    "max_elements_in_peer_replication_pool": "Tasks queued per peer before the oldest are dropped.",
    "max_threads_for_peer_replication": "Batches in flight per peer.",
    "max_time_for_replication": "How long a cancel or status change waits for a peer before it "
    "is dropped (registrations and heartbeats expire after their renewal interval).",
    "max_batching_delay_ms": "How long a task may wait for others to share its batch (Java: "
    "500 ms).",
    "batch_size": "Most tasks in one replication batch.",
    "peer_eureka_nodes_update_interval_ms": "How often the peer list is re-read (peers added or "
    "removed, names re-resolved).",
    "number_registry_sync_retries": "Start-up sync attempts while no peer answers at all.",
    "registry_sync_retry_wait_ms": "Pause between start-up sync attempts.",
    "anti_entropy_interval_ms": "How often each peer's registry digests are compared and "
    "differing applications repaired (0: off); a random quarter of it is taken off each round.",
    "anti_entropy_settle_ms": "A difference younger than this is left to replication in flight "
    "(at most half the interval).",
    "anti_entropy_max_apps_per_round": "Most applications repaired from one peer in one round.",
    "heap_trim_interval_ms": "How often freed memory is handed back to the OS (glibc "
    "`malloc_trim`), when the registry changed since the last time (0: never).",
    "rate_limiter_enabled": "Java's rate limiter: registry fetches beyond the rates below answer "
    "503 (registrations and heartbeats are never limited).",
    "rate_limiter_throttle_standard_clients": "Limit standard clients too (`DiscoveryIdentity-Name"
    "` `DefaultClient` or `DefaultServer`), which are otherwise exempt.",
    "rate_limiter_privileged_clients": "Client identities never limited, comma-separated.",
    "rate_limiter_burst_size": "Fetches allowed in a burst before the rates apply.",
    "rate_limiter_registry_fetch_average_rate": "Registry fetches per second, on average.",
    "rate_limiter_full_fetch_average_rate": "Full registry fetches per second, on average.",
    "registration_max_metadata_entries": "Most metadata entries one instance may register "
    "(400 above; 0: no limit).",
    "registration_max_metadata_bytes": "Most bytes of metadata keys and values one instance may "
    "register, UTF-8 (0: no limit).",
    "registration_max_field_length": "Longest id, name, address, URL or metadata key accepted "
    "(0: no limit).",
    "auth.enabled": "Require credentials (on by itself when users are configured); on without "
    "users stops the node at start.",
    "auth.read_access": "`open`: anyone may read the registry; `authenticated`: any user.",
    "auth.realm": "The realm of the `WWW-Authenticate` challenge.",
    "auth.max_verifications_per_second": "New credentials verified per second at most (each "
    "verification costs 0.1–0.6 s of CPU by design).",
    "auth.users.password": "The user's password in Spring's encoded form (`{bcrypt}…`, "
    "`{pbkdf2}…`, `{noop}…`; plain text without a prefix, with a warning).",
    "auth.users.password-file": "A file holding the password (a container secret).",
    "auth.users.password-env": "An environment variable holding the password.",
    "auth.users.roles": "`CLIENT`, `ADMIN` and/or `PEER` (`ROLE_ADMIN` works too).",
    "auth.spring.name": "Spring Boot's single user, who may do everything.",
    "auth.spring.password": "That user's password (encoded or plain text, as above).",
    "auth.spring.roles": "That user's roles (default: all).",
    # -- remote regions
    "remote_region_urls_with_name": "Other regions' registries, one key per region "
    "(`…remote-region-urls-with-name.us-west-2: http://west:8761/eureka/`), or "
    "`region;url,region;url`.",
    "remote_region_registry_fetch_interval": "Seconds between fetches of each remote region.",
    "disable_transparent_fallback_to_other_region": "Serve remote regions only to requests that "
    "name them (`?regions=`); by default every region is merged in.",
    "remote_region_app_whitelist": "Only these applications come over from a region "
    "(`…remote-region-app-whitelist.us-west-2: APP1,APP2`; region `global` applies to regions "
    "without their own list).",
    "remote_region_connect_timeout_ms": "Connect timeout of remote-region fetches.",
    "remote_region_read_timeout_ms": "Read timeout of remote-region fetches.",
    "disable_delta_for_remote_regions": "Always fetch remote regions in full.",
    "remote_region_legacy_fallback_delta": "Serve Java's older delta under transparent fallback "
    "(its hash mismatches whenever an application lives in two regions); off serves the delta "
    "of the full payload's view.",
    # -- registry
    "registry.enable_self_preservation": "Stop evicting when fewer renewals arrive than "
    "expected (a network partition looks like every client dying at once).",
    "registry.renewal_percent_threshold": "Share of the expected renewals below which "
    "self-preservation engages.",
    "registry.renewal_threshold_update_interval_ms": "How often the expected renewal count is "
    "recomputed from the registered instances.",
    "registry.expected_client_renewal_interval_seconds": "The clients' renewal interval the "
    "threshold assumes (≤ 0 means 30).",
    "registry.expected_number_of_clients_sending_renews": "Expected renewing clients at start "
    "(Spring Cloud's value; Netflix uses 0).",
    "registry.default_open_for_traffic_count": "Expected clients assumed by a node that synced "
    "nothing at start (Spring Cloud's value; Netflix uses 0).",
    "registry.eviction_interval_timer_in_ms": "How often expired leases are evicted.",
    "registry.lease_expiry_double_count": "Restore Java's quirk: a lease lives about twice its "
    "duration after its last renewal. Off: it expires `durationInSecs` after it.",
    "registry.retention_time_in_ms_in_delta_queue": "How long a change stays in the delta "
    "(`GET /apps/delta`).",
    "registry.delta_retention_timer_interval_in_ms": "How often old changes are pruned from the "
    "delta.",
    "registry.disable_delta": "Answer `GET /apps/delta` with 403: clients fetch in full.",
    "registry.response_cache_auto_expiration_in_seconds": "Cached payloads are rebuilt at least "
    "this often.",
    "registry.response_cache_update_interval_ms": "Refresh interval of the read-only cache "
    "tier, when it is on.",
    "registry.use_read_only_response_cache": "Java's 30-second read-only cache tier (identical "
    "timing to a Java server). Off: a change is visible on the next read.",
    "registry.sync_when_timestamp_differs": "Answer a heartbeat whose `lastDirtyTimestamp` "
    "differs with 404 (client: re-register) or 409 (peer: take our copy).",
    "registry.wait_time_in_ms_when_sync_empty": "How long a node that copied nothing at start "
    "refuses reads (403) before serving its empty registry.",
    "registry.validate_data_center_info_id": "Reject Amazon registrations whose instance id does "
    "not match their data-center metadata.",
    "registry.override_map_ttl_ms": "A status override not touched for this long is forgotten.",
    "registry.cancellation_retention_ms": "How long client cancellations are remembered, so "
    "that anti-entropy can apply a cancel a peer missed.",
    "registry.cancellation_max_entries": "Most cancellations remembered.",
    "registry.recent_list_size": "Registrations and cancellations kept for the dashboard and "
    "`/lastn`.",
    # -- client
    "client.service_url": "Eureka servers by zone; `defaultZone: http://a:8761/eureka/,"
    "http://b:8761/eureka/` (credentials in the URL become basic auth).",
    "client.region": "The client's region (picks the zones of `availability-zones`).",
    "client.availability_zones": "Zones per region, comma-separated (`us-east-1: zone-a,zone-b`).",
    "client.prefer_same_zone_eureka": "Try the servers of the client's own zone first.",
    "client.registry_fetch_interval_seconds": "How often the registry is fetched (delta) when "
    "not watching.",
    "client.instance_info_replication_interval_seconds": "How often changes to the client's own "
    "instance (status, metadata) are published, at most.",
    "client.initial_instance_info_replication_interval_seconds": "Delay of the first periodic "
    "publication.",
    "client.cache_refresh_executor_exponential_back_off_bound": "Most a slow fetch backs off, "
    "in multiples of its interval.",
    "client.heartbeat_executor_exponential_back_off_bound": "Most a slow heartbeat backs off, "
    "in multiples of its interval.",
    "client.disable_delta": "Always fetch the whole registry.",
    "client.log_delta_diff": "Log what differs when a delta's hash does not match.",
    "client.filter_only_up_instances": "Queries return UP instances only.",
    "client.registry_refresh_single_vip_address": "Fetch only this VIP's instances.",
    "client.fetch_remote_regions_registry": "Also fetch these regions (comma-separated).",
    "client.fetch_registry": "Fetch the registry at all (off for a client that only registers).",
    "client.register_with_eureka": "Register this instance (off for a client that only reads).",
    "client.should_unregister_on_shutdown": "Cancel the registration when the client stops.",
    "client.should_enforce_registration_at_init": "Fail start-up if the first registration fails.",
    "client.should_enforce_fetch_registry_at_init": "Fail start-up if the first fetch fails.",
    "client.on_demand_update_status_change": "Publish a status change at once (rate-limited) "
    "instead of at the next periodic run.",
    "client.eureka_server_connect_timeout_seconds": "Connect timeout towards the servers.",
    "client.eureka_server_read_timeout_seconds": "Read timeout towards the servers.",
    "client.eureka_server_total_connections": "Connection pool size.",
    "client.eureka_server_total_connections_per_host": "Kept-alive connections per server.",
    "client.eureka_connection_idle_timeout_seconds": "Idle connections are closed after this.",
    "client.eureka_service_url_poll_interval_seconds": "How often the service URLs are re-read.",
    "client.allow_redirects": "Ask servers to redirect (`X-Discovery-AllowRedirect`).",
    "client.tls_trust_store": "PEM bundle of the CAs https Eureka servers are verified with "
    "(also written `eureka.client.tls.trust-store`, Spring Cloud's key); unset: the system's CAs.",
    "client.client_data_accept": "`full`, or `compact` for smaller payloads (no watch then).",
    "client.sessioned_client_reconnect_interval_seconds": "Move to another server after this "
    "long, to spread clients.",
    "client.retryable_client_quarantine_refresh_percentage": "Share of quarantined servers at "
    "which the quarantine is cleared.",
    "client.watch_enabled": "Watch the registry (long-poll) on servers that offer it; off: poll "
    "deltas as a Java client does.",
    "client.watch_wait_seconds": "How long the server holds a watch (it caps at 60).",
    "client.watch_applications": "Watch only these applications (plus the client's own).",
    "client.watch_subset": "Watch only the applications asked for so far (`watch_application`).",
    "client.watch_full_fetch_share": "After a server switch, fetch in full when more than this "
    "share of applications differ; else repair only those.",
    "client.watch_fallback_after_failures": "Failed watch rounds before polling deltas instead.",
    # -- instance
    "instance.appname": "Application name (upper-cased on the wire).",
    "instance.instance_id": "Instance id; default `host:app:port`.",
    "instance.hostname": "Host name registered; detected when unset.",
    "instance.ip_address": "IP address registered; a non-loopback address is detected when unset.",
    "instance.prefer_ip_address": "Register the IP address as the host name, so that callers "
    "connect by address.",
    "instance.non_secure_port": "HTTP port.",
    "instance.non_secure_port_enabled": "Whether the HTTP port is in service.",
    "instance.secure_port": "HTTPS port.",
    "instance.secure_port_enabled": "Whether the HTTPS port is in service.",
    "instance.virtual_host_name": "VIP address; default the app name.",
    "instance.secure_virtual_host_name": "Secure VIP address; default the app name.",
    "instance.initial_status": "Status registered at start (`UP`, or `STARTING` until you set it).",
    "instance.lease_renewal_interval_in_seconds": "Seconds between heartbeats (a whole number).",
    "instance.lease_expiration_duration_in_seconds": "Seconds the server keeps the lease without "
    "a heartbeat.",
    "instance.status_page_url_path": "Path of the status page.",
    "instance.health_check_url_path": "Path of the health check.",
    "instance.home_page_url_path": "Path of the home page.",
    "instance.status_page_url": "Full status page URL (overrides the path).",
    "instance.health_check_url": "Full health check URL (overrides the path).",
    "instance.secure_health_check_url": "Full HTTPS health check URL.",
    "instance.home_page_url": "Full home page URL (overrides the path).",
    "instance.metadata_map": "Metadata published with the instance (`zone: zone-a`).",
    "instance.app_group_name": "Application group name.",
    "instance.data_center_name": "Data center (`MyOwn`, or `Amazon` with its metadata).",
    "instance.asg_name": "AWS auto-scaling group name.",
}
