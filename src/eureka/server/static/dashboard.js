// eureka-py dashboard. Renders the node's status and its applications from JSON and keeps them
// current by polling, without reloading the page; where the server offers the long-poll watch
// (docs/design/propagation.md), a registry change refreshes the page at once.
//
// Every registry-provided string (application names, instance ids, host names, metadata, URLs)
// is attacker-controlled: it only ever reaches the page through textContent or an attribute
// set with setAttribute, and a URL becomes a link only if it is http(s). Nothing here builds
// HTML from strings.
"use strict";

(() => {
  const body = document.body;
  const api = (body.dataset.api || "").replace(/^\/+|\/+$/g, "");
  const apiBase = api ? api + "/" : "";
  const params = new URLSearchParams(location.search);
  const refreshMs = Math.max(200, Number(params.get("refresh")) || Number(body.dataset.refreshMs) || 3000);
  const pageSize = Math.min(500, Math.max(1, Number(params.get("page")) || 50));
  const initial = JSON.parse(document.getElementById("initial").textContent);

  const state = {
    status: initial.status,
    apps: initial.apps,
    expanded: new Set(),
    pages: new Map(), // application → {offset, data}
    filter: "",
    onlyProblems: false,
    failingSince: null,
    lastError: null,
    renders: 0,
  };

  // -- small helpers ----------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // Only absolute http(s) URLs become links: a registered "javascript:" or "data:" URL stays
  // text. (A regular expression, not `new URL`: it runs for every instance row.)
  const HTTP_URL = /^https?:\/\/[^\s"<>\\]+$/i;

  function safeUrl(value) {
    return value && HTTP_URL.test(value) ? value : null;
  }

  function link(href, text, attrs) {
    const url = safeUrl(href);
    return url ? el("a", { href: url, rel: "noopener noreferrer", ...attrs }, text) : el("span", attrs, text);
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function time(ms) {
    if (ms === null || ms === undefined) return "—";
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }

  function duration(ms) {
    if (ms === null || ms === undefined || ms < 0) return "—";
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${s % 60} s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h} h ${m % 60} min`;
    const d = Math.floor(h / 24);
    return `${d} d ${h % 24} h`;
  }

  function ago(ms) {
    if (!ms) return "—";
    return `${duration(state.status.time_ms - ms)} ago`;
  }

  // A "… ago" that stays current without re-rendering what holds it (see refreshAgo).
  function agoCell(ms, suffix) {
    return el("td", { "data-ago": ms || "", "data-suffix": suffix || "" }, ago(ms) + (suffix || ""));
  }

  function refreshAgo() {
    for (const cell of document.querySelectorAll("[data-ago]")) {
      const ms = Number(cell.dataset.ago);
      const text = ago(ms) + (cell.dataset.suffix || "");
      if (cell.textContent !== text) cell.textContent = text;
    }
  }

  function bytes(n) {
    if (n === null || n === undefined) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
  }

  function facts(table, rows) {
    table.replaceChildren(
      ...rows.map(([name, value, attrs]) => el("tr", attrs, el("th", { scope: "row" }, name), el("td", null, value))),
    );
  }

  function badge(status, count, extra) {
    const kind = status === "UP" ? "up" : "bad";
    return el("span", { class: `badge ${kind}`, "data-status": status, ...extra }, `${status} (${count})`);
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  // -- banners ------------------------------------------------------------------------------

  function banner(id, kind, title, ...lines) {
    return el("div", { id, class: `banner ${kind}`, role: kind === "danger" ? "alert" : "status" },
      el("strong", null, title), ...lines.filter(Boolean).map((line) => el("div", null, line)));
  }

  function renderBanners(s) {
    const sp = s.self_preservation;
    const items = [];
    if (state.failingSince !== null) {
      items.push(banner("offline-banner", "warning",
        `Cannot reach this node since ${time(state.failingSince)}: showing the last data received.`,
        state.lastError));
    }
    if (sp.engaged) {
      const percent = Math.round(sp.renewal_percent_threshold * 100);
      items.push(banner("sp-banner", "danger",
        "EMERGENCY: self-preservation is engaged and lease expiration is suspended. " +
          "Instances may be listed as UP that are not.",
        `Renewals in the last minute: ${sp.renews_last_min}; threshold: ${sp.threshold} ` +
          `(${sp.expected_clients} expected clients at ${percent} %).` +
          (sp.expired_leases !== null ? ` Expired leases kept: ${sp.expired_leases}.` : ""),
        sp.reason));
    }
    if (!sp.enabled) {
      items.push(banner("sp-off-banner", "warning",
        "Self-preservation is switched off.",
        "Leases expire whenever instances stop renewing, also when a network partition cuts " +
          "healthy instances off from this node: they can disappear from the registry " +
          "(eureka.server.enable-self-preservation=false)."));
    }
    if (!s.registry.allow_access) {
      items.push(banner("access-banner", "info",
        "This node refuses registry reads for now: clients get 403 and ask another node.",
        s.registry.ready
          ? "The start-up sync reached no peer and copied nothing; reads resume after " +
            "wait-time-in-ms-when-sync-empty."
          : "It is copying its peers' registries (start-up sync)."));
    }
    document.getElementById("banners").replaceChildren(...items);
  }

  // -- system, general and own instance ---------------------------------------------------

  function yesNo(value) {
    return value ? "true" : "false";
  }

  function renderSystem(s) {
    const sp = s.self_preservation;
    facts(document.getElementById("system-left"), [
      ["Environment", s.node.environment],
      ["Data center", s.node.datacenter],
      ["Self-preservation", sp.enabled ? (sp.engaged ? "on, engaged" : "on") : "off"],
      ["Lease expiration enabled", yesNo(sp.expiration_enabled), { id: "lease-expiration" }],
      ["Renewal threshold (per minute)", sp.threshold],
      ["Renewals (last minute)", sp.renews_last_min],
    ]);
    facts(document.getElementById("system-right"), [
      ["Current time", time(s.time_ms)],
      ["Uptime", duration(s.node.uptime_ms)],
      ["Registry revision", s.registry.revision],
      ["Instances", s.registry.instances],
      ["Applications", s.registry.applications],
      ["Reads", s.registry.allow_access ? "served" : "refused (403)"],
    ]);
  }

  function peerGroups(s) {
    const available = s.peers.filter((p) => p.state.name !== "unreachable");
    const unavailable = s.peers.filter((p) => p.state.name === "unreachable");
    return { available, unavailable };
  }

  function urls(peers) {
    return peers.length ? peers.map((p) => p.url).join(", ") : "—";
  }

  function renderGeneral(s) {
    const node = s.node;
    const { available, unavailable } = peerGroups(s);
    const share = node.memory_rss_bytes && node.memory_total_bytes
      ? ` (${((100 * node.memory_rss_bytes) / node.memory_total_bytes).toFixed(1)} %)`
      : "";
    facts(document.getElementById("general"), [
      ["Total available memory", bytes(node.memory_total_bytes)],
      ["Number of CPUs", node.cpus],
      ["Current memory usage", bytes(node.memory_rss_bytes) + share],
      ["Server uptime", duration(node.uptime_ms)],
      ["Registered replicas", urls(s.peers)],
      ["Unavailable replicas", urls(unavailable)],
      ["Available replicas", urls(available)],
      ["Python", node.python],
      ["Version", `eureka-py ${s.version}`],
    ]);
    const own = node.my_url || `http://${node.host}:${node.port}${node.prefix}/`;
    facts(document.getElementById("own-instance"), [
      ["Host name", node.hostname],
      ["Listening on", `${node.host}:${node.port}`],
      ["Service URL", link(own, own)],
      ["Status", s.registry.ready ? "UP" : "STARTING (start-up sync)"],
      ["Process", `pid ${node.pid}, started ${time(node.started_ms)}`],
    ]);
  }

  function renderRecent(s) {
    for (const [id, entries] of [["recent-registered", s.recently_registered], ["recent-cancelled", s.recently_cancelled]]) {
      const tbody = document.querySelector(`#${id} tbody`);
      const rows = entries.slice(-10).reverse().map((e) =>
        el("tr", null, el("td", { class: "muted" }, time(e.time_ms)), el("td", { class: "mono" }, `${e.app} / ${e.id}`)));
      if (!rows.length) rows.push(el("tr", null, el("td", { colspan: 2, class: "empty" }, "None since the node started.")));
      tbody.replaceChildren(...rows);
    }
  }

  // -- peers --------------------------------------------------------------------------------

  function renderPeers(s) {
    const tbody = document.querySelector("#peers tbody");
    const { available, unavailable } = peerGroups(s);
    document.getElementById("peer-summary").textContent =
      `${s.peers.length} registered, ${available.length} available, ${unavailable.length} unavailable`;
    if (!s.peers.length) {
      tbody.replaceChildren(el("tr", null, el("td", { colspan: 9, class: "empty" },
        "No peers: this node runs alone.")));
      return;
    }
    tbody.replaceChildren(...s.peers.map((p) => {
      const name = p.state.name;
      const kind = name === "healthy" ? "up" : name === "lagging" ? "warn" : "bad";
      const stateText = p.state.since_ms ? `${name} since ${time(p.state.since_ms)} (${duration(s.time_ms - p.state.since_ms)})` : name;
      let lastError = el("span", { class: "muted" }, "none");
      if (p.last_error) {
        const when = `${time(p.last_failure_ms)} (${ago(p.last_failure_ms)})`;
        lastError = name === "unreachable"
          ? el("span", null, `${when}: ${p.last_error}`)
          : el("span", { class: "muted" }, `recovered; last error ${when}: ${p.last_error}`);
      }
      const failed = p.batches_congested + p.batches_transient + p.batches_permanent;
      return el("tr", { "data-peer": p.url },
        el("td", null, link(p.dashboard_url, p.url, { class: "mono" })),
        el("td", null, el("span", { class: `badge ${kind}` }, stateText)),
        el("td", { class: "num" }, p.pending),
        el("td", { class: "num" }, p.in_flight),
        el("td", { class: "num" }, `${p.replication_lag_ms} ms`),
        el("td", { class: "num" }, p.consecutive_failures),
        el("td", { class: "num" }, `${p.batches_succeeded} / ${failed}`),
        el("td", null, p.last_success_ms ? ago(p.last_success_ms) : "never"),
        el("td", null, lastError));
    }));
  }

  // -- applications and instances ---------------------------------------------------------

  function matchesByName(name) {
    return !state.filter || name.toLowerCase().includes(state.filter.toLowerCase());
  }

  function visibleApps() {
    let apps = state.apps.applications;
    if (state.onlyProblems) apps = apps.filter((a) => a.status_counts.some(([status]) => status !== "UP"));
    return apps;
  }

  function isOpen(app) {
    // While filtering, an application found through its instances opens on those instances.
    return state.expanded.has(app.name) || (state.filter !== "" && !matchesByName(app.name));
  }

  let appsSignature = null;

  function renderApps() {
    // Rebuilt only when what it shows changed, so that a poll does not replace rows under the
    // reader's pointer (or a test's element references); times are refreshed in place.
    const signature = JSON.stringify([state.apps, [...state.expanded], state.filter, state.onlyProblems,
      [...state.pages].map(([name, page]) => [name, page.offset, page.data])]);
    if (signature === appsSignature) return;
    appsSignature = signature;
    const tbody = document.querySelector("#apps tbody");
    const apps = visibleApps();
    const total = state.apps.instances;
    document.getElementById("instance-summary").textContent = state.filter
      ? `${apps.length} application(s) match “${state.filter}”`
      : `${state.apps.applications.length} application(s), ${total} instance(s)`;
    const rows = [];
    if (!apps.length) {
      const text = state.filter
        ? `No application or instance matches “${state.filter}”.`
        : state.onlyProblems && state.apps.applications.length
          ? "Every application's instances are UP."
          : "No instances available.";
      rows.push(el("tr", { id: "no-instances" }, el("td", { colspan: 4, class: "empty" }, text)));
    }
    for (const app of apps) {
      const open = isOpen(app);
      const problem = app.status_counts.some(([status]) => status !== "UP");
      const count = app.matched !== undefined && app.matched !== app.instances
        ? `${app.matched} of ${app.instances}`
        : String(app.instances);
      const zones = app.zones.length ? app.zones.map(([zone, n]) => `${zone} (${n})`).join(", ") : "—";
      rows.push(el("tr", {
        class: `app-row${problem ? " problem" : ""}`,
        "data-app": app.name,
        "aria-expanded": open ? "true" : "false",
        onclick: () => toggle(app.name),
      },
      el("td", { class: "mono" }, el("span", { class: "toggle" }, open ? "▾" : "▸"), app.name),
      el("td", { class: "num" }, count),
      el("td", null, zones),
      el("td", null, ...app.status_counts.map(([status, n]) => badge(status, n)))));
      if (open) {
        rows.push(el("tr", { class: "detail", "data-detail": app.name },
          el("td", { colspan: 4 }, instancePanel(app))));
      }
    }
    tbody.replaceChildren(...rows);
  }

  function instancePanel(app) {
    const page = state.pages.get(app.name);
    if (!page || !page.data) return el("div", { class: "muted" }, "loading…");
    const data = page.data;
    if (!data.instances.length) return el("div", { class: "empty" }, "No instances.");
    const counts = Object.fromEntries(app.status_counts);
    const rows = [];
    let group = null;
    for (const i of data.instances) {
      if (i.status !== group) {
        group = i.status;
        rows.push(el("tr", { class: "group" }, el("th", { colspan: 8 }, badge(group, counts[group] ?? "?"))));
      }
      const override = i.overridden_status && i.overridden_status !== "UNKNOWN" ? ` (override ${i.overridden_status})` : "";
      const ports = [i.port !== null ? String(i.port) : null, i.secure_port !== null ? `${i.secure_port} (secure)` : null]
        .filter(Boolean).join(", ") || "—";
      rows.push(el("tr", { "data-instance": i.id, class: i.expired ? "expired" : null },
        el("td", null, i.status + override),
        el("td", { class: "mono" }, link(i.status_page_url, i.id, { title: i.status_page_url || "" })),
        el("td", { class: "mono" }, i.host_name === i.ip_addr ? i.ip_addr : `${i.host_name} / ${i.ip_addr}`),
        el("td", { class: "num" }, ports),
        el("td", null, i.zone || "—"),
        agoCell(i.last_renewal_ms, i.expired ? " (expired)" : ""),
        agoCell(i.registration_ms),
        el("td", null, details(i))));
    }
    const cols = ["c-status", "c-id", "c-host", "c-port", "c-zone", "c-time", "c-time", "c-details"];
    const table = el("table", { class: "instances" },
      el("colgroup", null, ...cols.map((c) => el("col", { class: c }))),
      el("thead", null, el("tr", null, ...["Status", "Instance", "Host / IP", "Port", "Zone", "Last renewal", "Registered", "Details"]
        .map((h) => el("th", null, h)))),
      el("tbody", null, ...rows));
    const first = data.offset + 1;
    const last = data.offset + data.instances.length;
    const pages = Math.max(1, Math.ceil(data.total / pageSize));
    const current = Math.floor(data.offset / pageSize) + 1;
    const pager = el("div", { class: "pager" },
      el("button", { type: "button", class: "prev", disabled: data.offset === 0, onclick: (e) => { e.stopPropagation(); turn(app.name, -1); } }, "‹ Previous"),
      el("span", { class: "range" }, `${first}–${last} of ${data.total} (page ${current} of ${pages})`),
      el("button", { type: "button", class: "next", disabled: last >= data.total, onclick: (e) => { e.stopPropagation(); turn(app.name, 1); } }, "Next ›"));
    return el("div", { class: "panel", onclick: (e) => e.stopPropagation() }, table, pager);
  }

  function details(i) {
    // The list is built when first opened: a thousand rows need not carry a thousand lists.
    const node = el("details", { class: "meta" }, el("summary", null, `metadata (${i.metadata.length})`));
    node.addEventListener("toggle", () => {
      if (node.open && node.childElementCount === 1) node.append(detailList(i));
    });
    return node;
  }

  function detailList(i) {
    const items = [
      ["VIP", i.vip_address],
      ["Secure VIP", i.secure_vip_address],
      ["Home page", i.home_page_url && link(i.home_page_url, i.home_page_url)],
      ["Status page", i.status_page_url && link(i.status_page_url, i.status_page_url)],
      ["Health check", i.health_check_url && link(i.health_check_url, i.health_check_url)],
      ["Last dirty timestamp", i.last_dirty_timestamp ? time(i.last_dirty_timestamp) : null],
      ["Service up since", i.service_up_ms ? time(i.service_up_ms) : null],
      ...i.metadata.map(([key, value]) => [key, value]),
    ].filter(([, value]) => value);
    return el("dl", null, ...items.flatMap(([key, value]) => [el("dt", null, key), el("dd", null, value)]));
  }

  async function fetchPage(name) {
    let page = state.pages.get(name);
    if (!page) {
      page = { offset: 0, data: null };
      state.pages.set(name, page);
    }
    const query = new URLSearchParams({ offset: String(page.offset), limit: String(pageSize) });
    if (state.filter && !matchesByName(name)) query.set("q", state.filter);
    const response = await fetch(`${apiBase}summary/apps/${encodeURIComponent(name)}?${query}`,
      { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.status === 404) {
      page.data = { app: name, total: 0, offset: 0, instances: [] };
      return;
    }
    if (!response.ok) throw new Error(`instances of ${name}: HTTP ${response.status}`);
    page.data = await response.json();
    if (page.data.offset > 0 && page.data.offset >= page.data.total) {
      // The application shrank under the current page: go to its last page.
      page.offset = Math.max(0, Math.floor((page.data.total - 1) / pageSize) * pageSize);
      await fetchPage(name);
    }
  }

  async function fetchPages(names) {
    for (let i = 0; i < names.length; i += 6) {
      await Promise.all(names.slice(i, i + 6).map(fetchPage));
    }
  }

  async function toggle(name) {
    if (state.expanded.has(name)) {
      state.expanded.delete(name);
      render();
      return;
    }
    state.expanded.add(name);
    render();
    await guarded(() => fetchPage(name));
    render();
  }

  async function turn(name, direction) {
    const page = state.pages.get(name);
    if (!page) return;
    page.offset = Math.max(0, page.offset + direction * pageSize);
    await guarded(() => fetchPage(name));
    render();
  }

  // -- refresh ------------------------------------------------------------------------------

  function render() {
    const started = performance.now();
    const s = state.status;
    renderBanners(s);
    renderSystem(s);
    renderPeers(s);
    renderApps();
    renderGeneral(s);
    renderRecent(s);
    refreshAgo();
    const clock = document.getElementById("updated");
    clock.textContent = `updated ${time(s.time_ms)}`;
    clock.classList.toggle("stale", state.failingSince !== null);
    state.renders += 1;
    body.dataset.renders = String(state.renders);
    body.dataset.revision = String(s.registry.revision);
    body.dataset.lastRenderMs = (performance.now() - started).toFixed(2);
  }

  async function guarded(work) {
    try {
      await work();
      state.failingSince = null;
      state.lastError = null;
    } catch (error) {
      if (state.failingSince === null) state.failingSince = state.status.time_ms + (Date.now() - state.fetchedAt);
      state.lastError = String(error && error.message ? error.message : error);
    }
  }

  let timer = null;
  let generation = 0;
  let lastRefreshAt = 0;

  async function refresh() {
    clearTimeout(timer);
    lastRefreshAt = Date.now();
    const mine = ++generation;
    await guarded(async () => {
      const appsUrl = `${apiBase}summary/apps` + (state.filter ? `?q=${encodeURIComponent(state.filter)}` : "");
      const [status, apps] = await Promise.all([getJson(`${apiBase}status`), getJson(appsUrl)]);
      if (mine !== generation) return; // a newer refresh (a new filter) has started
      state.status = status;
      state.apps = apps;
      state.fetchedAt = Date.now();
      await fetchPages(visibleApps().filter(isOpen).map((a) => a.name));
    });
    if (mine !== generation) return;
    render();
    timer = setTimeout(refresh, refreshMs);
  }

  // -- the watch -----------------------------------------------------------------------------
  // Against a server that advertises the long-poll watch (`X-Eureka-Features: watch`), a change
  // to the registry refreshes the page at once instead of at the next poll. The poll stays, for
  // what moves without a registry change (time, renewals, peers). At most one watch-driven
  // refresh a second: a churning fleet must not turn the page into a busy loop. A server
  // without the watch (or one that fails) leaves the page to the poll alone.
  const WATCH_WAIT_S = 30;
  const WATCH_MIN_GAP_MS = 1000;

  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, Math.max(0, lastRefreshAt + WATCH_MIN_GAP_MS - Date.now()));
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function watch() {
    const accept = { Accept: "application/json" };
    let epoch = null;
    let revision = null;
    for (;;) {
      let response;
      try {
        if (epoch === null) {
          response = await fetch(`${apiBase}apps/delta`, { headers: accept, cache: "no-store" });
          await response.arrayBuffer();
          const features = (response.headers.get("X-Eureka-Features") || "").split(",");
          if (response.ok && !features.map((f) => f.trim()).includes("watch")) return;
          epoch = response.ok ? response.headers.get("X-Eureka-Epoch") : null;
          revision = response.headers.get("X-Eureka-Revision");
          if (epoch === null || revision === null) {
            epoch = null;
            await pause(refreshMs); // not readable yet (a node still syncing): try again
          }
          continue;
        }
        const query = `since=${encodeURIComponent(revision)}&wait=${WATCH_WAIT_S}`;
        response = await fetch(`${apiBase}apps/delta?${query}`, {
          headers: { ...accept, "X-Eureka-Epoch": epoch },
          cache: "no-store",
        });
        await response.arrayBuffer();
      } catch (error) {
        await pause(refreshMs); // the server is away: the poll shows it; try again
        continue;
      }
      if (response.status === 200 || response.status === 304) {
        revision = response.headers.get("X-Eureka-Revision") || revision;
        if (response.status === 200) {
          body.dataset.watchChanges = String(Number(body.dataset.watchChanges || 0) + 1);
          refreshSoon();
        }
      } else {
        // 410 (a restart, or history beyond the log) or anything else: start over.
        epoch = null;
        refreshSoon();
        if (response.status !== 410) await pause(refreshMs);
      }
    }
  }

  // -- controls -----------------------------------------------------------------------------

  let debounce = null;
  document.getElementById("filter").addEventListener("input", (event) => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      state.filter = event.target.value.trim();
      for (const page of state.pages.values()) page.offset = 0;
      refresh();
    }, 200);
  });
  document.getElementById("only-problems").addEventListener("change", (event) => {
    state.onlyProblems = event.target.checked;
    render();
  });
  document.getElementById("expand-all").addEventListener("click", async () => {
    const names = visibleApps().map((a) => a.name);
    for (const name of names) state.expanded.add(name);
    render();
    await guarded(() => fetchPages(names));
    render();
  });
  document.getElementById("collapse-all").addEventListener("click", () => {
    state.expanded.clear();
    render();
  });
  document.getElementById("link-status").setAttribute("href", `${apiBase}status`);

  state.fetchedAt = Date.now();
  render();
  body.dataset.firstRenderMs = performance.now().toFixed(1);
  timer = setTimeout(refresh, refreshMs);
  watch();
})();
