// Smart-Support mission control. Plain JS, no dependencies, no build step.
// All server text goes into the DOM via textContent / text nodes, never innerHTML.
"use strict";
(() => {
  const API = window.location.origin;
  const REFRESH_MS = 2000;
  const REFRESH_TIMEOUT_MS = 10000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#4f7cff", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16"];
  const $ = (id) => document.getElementById(id);
  const health = { unreachable: false, degraded: false, breaker: "unknown", failing: [], models: {} };
  const lastSeen = {}; // path -> JSON of the last rendered answer (skip identical re-renders)
  // The API key lives in sessionStorage: this tab only, gone when it closes, never in the URL.
  const KEY_STORE = "smart-support-api-key";
  let needsKey = false;
  const labels = { categories: [], urgency_levels: [] }; // what a correction may name (/stats)

  // ---------- DOM helpers ----------
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "class") node.className = v;
      else if (k === "testid") node.dataset.testid = v;
      else if (k === "style") Object.assign(node.style, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    node.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map(toNode));
    return node;
  }
  const toNode = (c) => (c instanceof Node ? c : document.createTextNode(String(c)));

  function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    node.append(...children.flat().map(toNode));
    return node;
  }

  const fill = (node, ...children) => node.replaceChildren(...children.flat(Infinity).filter(Boolean));
  const empty = (msg) => el("p", { class: "empty", text: msg });

  // ---------- formatting ----------
  const pct = (x) => (typeof x === "number" ? `${Math.round(x * 100)}%` : "–");
  const num = (x, d = 2) => (typeof x === "number" ? x.toFixed(d) : "–");
  const clamp01 = (x) => Math.max(0, Math.min(1, Number(x) || 0));
  const safeClass = (s) => String(s).toLowerCase().replace(/[^a-z0-9_-]/g, "");

  function colorFor(name) {
    let h = 0;
    for (const ch of String(name)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }
  // Skills and languages arrive as {name: weight} maps (/agents); plain name lists are accepted too.
  const weighted = (x) => (Array.isArray(x) ? x.map((k) => [k, null])
    : Object.entries(x || {}).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)));
  const chip = (cls, [name, w]) => el("span", { class: cls, title: w == null ? name : `${name}: ${num(w, 1)}` },
    name, w == null ? null : el("span", { class: "chip-weight", text: num(w, 1) }));
  const heat = (u) => `hsl(${Math.round(120 - 120 * clamp01(u))}, 65%, 45%)`;

  function fmtUptime(s) {
    if (typeof s !== "number") return "–";
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
    return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
  }

  function fmtTime(t) {
    if (t == null) return "";
    const date = typeof t === "number" ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
    return isNaN(date) ? String(t) : date.toLocaleString();
  }

  function bar(fraction, color, label) {
    const f = clamp01(fraction);
    return el("div", { class: "bar", role: "img", "aria-label": label },
      el("div", { class: "bar-fill", style: { width: `${(f * 100).toFixed(1)}%`, background: color } }));
  }

  // ---------- API ----------
  // timeoutMs: the refresh loop gives up on a hung service (it then counts as unreachable).
  async function api(path, options = {}, timeoutMs = 0) {
    let res;
    const signal = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
    try {
      const key = sessionStorage.getItem(KEY_STORE);
      const headers = { ...(options.headers || {}), ...(key ? { Authorization: `Bearer ${key}` } : {}) };
      res = await fetch(API + path, { cache: "no-store", signal, ...options, headers });
    } catch {
      throw Object.assign(new Error("Service unreachable"), { status: 0 });
    }
    let data = null;
    try { data = await res.json(); } catch { /* body was not JSON */ }
    // A degraded /health may answer 503 with its normal body: render it rather than fail.
    if (res.status === 401) needsKey = true;
    if (!res.ok && data?.status !== "degraded") throw Object.assign(new Error(data?.error || `HTTP ${res.status} ${res.statusText}`.trim()), { status: res.status });
    return data ?? {};
  }

  // ---------- banner ----------
  function updateBanner() {
    const msgs = [];
    let kind = "warn";
    if (health.unreachable) { msgs.push("Service unreachable — retrying…"); kind = "error"; }
    if (needsKey) { msgs.push("This service needs an API key: enter yours at the top right."); kind = "error"; }
    if (health.breaker === "open") msgs.push("Fallback model active — circuit breaker is open.");
    if (health.breaker === "half_open") msgs.push("Circuit breaker half-open — probing the champion model.");
    if (health.degraded && !health.unreachable) msgs.push("Service degraded.");
    if (health.failing.length && !health.unreachable) msgs.push(`Refresh failed: ${health.failing.join("; ")}`);
    if (health.models.champion?.behaviour_floor_passed === false) msgs.push("Champion is below the behavioural floor (obvious tickets misrouted): review its routes.");
    const banner = $("error-banner");
    banner.hidden = msgs.length === 0;
    banner.className = `banner ${kind}`;
    banner.dataset.kind = msgs.length ? kind : "";
    banner.textContent = msgs.join("  ·  ");
  }

  // ---------- panels ----------
  function renderBarChart(node, counts) {
    const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
    if (!entries.length) return fill(node, empty("No tickets yet"));
    const max = Math.max(1, ...entries.map((e) => e[1]));
    fill(node, entries.map(([name, n]) => el("div", { class: "bar-row", "data-key": name },
      el("span", { class: "bar-label", title: name, text: name }),
      bar(n / max, colorFor(name), `${name}: ${n}`),
      el("span", { class: "bar-value", text: n }))));
  }

  function renderHistogram(hist) {
    const node = $("urgency-histogram");
    const counts = hist?.counts || [];
    if (!counts.some((c) => c > 0)) return fill(node, empty("No tickets yet"));
    const n = counts.length;
    const edges = hist.bins?.length === n + 1 ? hist.bins : [...Array(n + 1).keys()].map((i) => i / n);
    const W = 600, H = 150, TOP = 18, AXIS = 18, bw = W / n, max = Math.max(...counts);
    const bins = counts.map((c, i) => {
      const h = (c / max) * H, x = i * bw, label = `${num(edges[i], 1)}–${num(edges[i + 1], 1)}`;
      return svg("g", { "data-testid": "histogram-bin", "data-count": c },
        svg("rect", { x: x + 3, y: TOP + H - h, width: bw - 6, height: Math.max(h, 0.5), rx: 3, fill: heat((edges[i] + edges[i + 1]) / 2) },
          svg("title", {}, `urgency ${label}: ${c} tickets`)),
        svg("text", { x: x + bw / 2, y: TOP + H - h - 4, "text-anchor": "middle", class: "hist-count" }, c),
        svg("text", { x: x + bw / 2, y: TOP + H + AXIS - 4, "text-anchor": "middle", class: "hist-axis" }, num(edges[i], 1)));
    });
    fill(node, svg("svg", { viewBox: `0 0 ${W} ${TOP + H + AXIS}`, role: "img", class: "histogram",
      "aria-label": `Urgency histogram, 10 bins from 0 to 1: ${counts.join(", ")}` }, bins));
  }

  function renderBreaker(breaker) {
    if (!breaker) return;
    const state = safeClass(breaker.state || "unknown");
    const pill = $("breaker-state");
    pill.textContent = state.replace("_", "-");
    pill.className = `pill state-${state}`;
    pill.dataset.state = state;
    if (breaker.trips != null) $("breaker-trips").textContent = breaker.trips;
    health.breaker = state;
  }

  function renderStats(s) {
    const values = { "stats-total": s.total_tickets, "stats-needs-review": s.needs_review, "stats-incidents": s.incidents,
      "webhook-fires": s.webhook?.fires, "webhook-failures": s.webhook?.failures };
    for (const [id, v] of Object.entries(values)) $(id).textContent = v ?? "–";
    $("webhook-failures").classList.toggle("bad", (s.webhook?.failures || 0) > 0);
    renderBarChart($("stats-by-category"), s.by_category);
    renderBarChart($("stats-by-model"), s.by_model);
    renderHistogram(s.urgency_histogram);
    renderBreaker(s.breaker);
    renderQuality(s.quality);
  }

  // ---------- live quality: agreement with agents' corrections ----------
  function agreementTable(groups, testid) {
    const entries = Object.entries(groups || {});
    if (!entries.length) return empty("No corrections yet");
    return el("table", { class: "quality-table", testid },
      el("tr", {}, el("th", { text: "" }), el("th", { text: "corrected" }), el("th", { text: "agreed" })),
      entries.map(([name, g]) => el("tr", { "data-key": name },
        el("td", { text: name }), el("td", { text: g.corrected }),
        el("td", {}, bar(g.agreement, heat(1 - (g.agreement ?? 0)), `${name}: ${pct(g.agreement)} agreed`), pct(g.agreement)))));
  }

  function renderShares(shares) {
    const buckets = shares?.buckets || [];
    if (!buckets.length) return empty("No tickets in the last 24 h");
    const W = 600, H = 90, AXIS = 16, bw = W / Math.max(buckets.length, 1);
    return svg("svg", { viewBox: `0 0 ${W} ${H + AXIS}`, role: "img", class: "histogram",
      "aria-label": `Category shares over ${buckets.length} hours` },
      buckets.map((b, i) => {
        let y = 0;
        return svg("g", { "data-testid": "share-bucket", "data-tickets": b.tickets },
          Object.entries(b.share).map(([cat, share]) => {
            const h = share * H, rect = svg("rect", { x: i * bw + 1, y, width: Math.max(bw - 2, 1), height: h, fill: colorFor(cat) },
              svg("title", {}, `${fmtTime(b.start)} · ${cat}: ${pct(share)} of ${b.tickets}`));
            y += h;
            return rect;
          }));
      }),
      svg("text", { x: 0, y: H + AXIS - 3, class: "hist-axis" }, fmtTime(buckets[0].start)));
  }

  function renderQuality(q) {
    if (!q) return;
    labels.categories = q.categories || [];
    labels.urgency_levels = q.urgency_levels || [];
    $("quality-agreement").textContent = pct(q.agreement);
    $("quality-corrected").textContent = `${q.corrected_tickets ?? 0} (${q.corrections ?? 0} corrections · ${pct(q.corrected_share)} of tickets)`;
    $("quality-review-rate").textContent = pct(q.review_rate);
    $("quality-urgency").textContent = pct(q.urgency_agreement);
    fill($("quality-by-category"), agreementTable(q.by_predicted_category, "quality-by-category"));
    fill($("quality-by-model"), agreementTable(q.by_model_version, "quality-by-model"));
    fill($("quality-shares"), renderShares(q.category_share));
  }

  // ---------- correcting a ticket (POST /tickets/{id}/feedback) ----------
  function correctionControl(ticketId, current, noteId) {
    const category = el("select", { "aria-label": `Right category for ticket ${ticketId}`, testid: "correct-category" },
      labels.categories.map((c) => el("option", { value: c, selected: c === current, text: c })));
    const level = el("select", { "aria-label": `Right urgency level for ticket ${ticketId}`, testid: "correct-urgency" },
      el("option", { value: "", text: "urgency as predicted" }),
      labels.urgency_levels.map((l) => el("option", { value: l, text: l })));
    const button = el("button", { type: "button", class: "secondary", testid: "correct-submit" }, "Correct");
    button.addEventListener("click", () => sendCorrection(ticketId, category.value, level.value, button, noteId));
    return el("span", { class: "correction", testid: "correction" }, category, level, button);
  }

  async function sendCorrection(id, category, level, button, noteId) {
    button.disabled = true;
    const note = $(noteId);
    const payload = { category, ...(level ? { urgency_level: level } : {}) };
    try {
      const r = await api(`/tickets/${encodeURIComponent(id)}/feedback`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
      note.className = "note ok";
      note.textContent = `Corrected ${r.ticket_id}: ${r.predicted_category} → ${r.category}` +
        (r.rerouted ? (r.agent ? ` · moved to ${r.agent}` : " · waiting for a free agent") : " · stays with its agent") +
        (r.corrections > 1 ? ` · correction ${r.corrections} (the latest counts)` : "");
      delete lastSeen["/triage"];
      delete lastSeen["/stats"];
      refresh();
    } catch (e) {
      note.className = "note bad";
      note.textContent = `Could not correct ${id}: ${e.message}`;
    }
    button.disabled = false;
    note.hidden = false;
  }

  function renderHealth(h) {
    health.degraded = h.status === "degraded";
    health.models = h.models || {};
    $("uptime").textContent = fmtUptime(h.uptime_s);
    renderBreaker(h.breaker);
    const active = health.breaker === "open" ? "fallback" : "champion";
    const rows = Object.entries(health.models).map(([role, m]) => el("li", { class: role === active ? "model active" : "model", "data-role": role },
      el("span", { class: "model-role", text: role }),
      // /health names a model by its milestone (m1/m2/m3) and BentoML tag (source).
      el("strong", { text: m?.name ?? m?.milestone ?? "?" }),
      el("span", { class: "muted small", text: [m?.version && `v${m.version}`, m?.name && m?.milestone, m?.source].filter(Boolean).join(" · ") }),
      role === active ? el("span", { class: "badge ok", text: "active" }) : null,
      m?.behaviour_floor_passed === false ? el("span", { class: "badge warn", "data-testid": "below-floor", text: "below behavioural floor" }) : null));
    fill($("model-versions"), rows.length ? el("ul", { class: "models" }, rows) : empty("No model information"));
  }

  // ---------- incidents: list, size over time, members (paged), resolve ----------
  const INCIDENT_PAGE = 20;
  const incidentPages = {}; // incident id -> { tickets, next } members loaded so far (kept across refreshes)

  function incidentView(inc, isOpen) {
    const resolved = inc.status === "resolved";
    const owner = resolved ? `resolved ${fmtTime(inc.resolved_at)}`
      : inc.owner_agent ? `worked by ${inc.owner_agent}` : inc.owner_ticket_id ? "waiting for an agent" : "";
    const body = el("div", { class: "incident-body", testid: "incident-body" }, empty("Loading…"));
    const details = el("details", { class: `incident ${resolved ? "resolved" : "open"}`, testid: "incident", "data-id": inc.id,
      "data-status": inc.status, open: isOpen, ontoggle: (ev) => ev.currentTarget.open && !body.dataset.loaded && loadIncident(inc.id, body) },
      el("summary", {},
        el("span", { class: "incident-title", text: inc.title || `Incident ${inc.id}` }),
        el("span", { class: `pill state-${resolved ? "closed" : "open"}`, testid: "incident-status", text: inc.status || "open" }),
        el("span", { class: "count", testid: "incident-size", title: "tickets in this incident", text: inc.size ?? 0 }),
        el("span", { class: "muted small", text: `${inc.open_members ?? 0} open · ${owner} · opened ${fmtTime(inc.created_at)}` }),
        resolved ? null : el("button", { type: "button", class: "secondary", testid: "incident-resolve",
          "aria-label": `Resolve incident ${inc.id}`, onclick: (ev) => { ev.preventDefault(); resolveIncident(inc.id, ev.currentTarget); } },
        "Resolve")),
      body);
    if (isOpen) loadIncident(inc.id, body);
    return details;
  }

  // First page again on a refresh (as many members as were shown, up to 200), the next page on "Load more".
  async function loadIncident(id, body, more = false) {
    body.dataset.loaded = "1";
    const page = more ? incidentPages[id] : null;
    const shown = Math.min(200, Math.max(INCIDENT_PAGE, incidentPages[id]?.tickets.length || 0));
    const query = more ? `limit=${INCIDENT_PAGE}&cursor=${encodeURIComponent(page?.next || "")}` : `limit=${shown}`;
    try {
      const d = await api(`/incidents/${encodeURIComponent(id)}?${query}`);
      const tickets = [...(page?.tickets || []), ...(d.tickets || [])];
      incidentPages[id] = { tickets, next: d.next_cursor };
      fill(body, incidentTimeline(d.timeline, d.size), incidentMembers(id, body, tickets, d.size, d.next_cursor));
    } catch (e) {
      fill(body, el("p", { class: "note bad", text: `Could not load incident ${id}: ${e.message}` }));
    }
  }

  // Size over time: arrivals per bucket as bars, the running size as a line.
  function incidentTimeline(t, size) {
    const counts = t?.counts || [];
    if (!counts.length) return empty("No arrivals recorded");
    const W = 600, H = 80, TOP = 8, AXIS = 16, bw = W / counts.length;
    const maxBar = Math.max(1, ...counts), total = Math.max(1, counts.reduce((a, b) => a + b, 0));
    let running = 0;
    const line = counts.map((c, i) => { running += c; return `${(i + 1) * bw},${TOP + H - (running / total) * H}`; });
    const minutes = ((counts.length * (t.bucket_s || 0)) / 60).toFixed(1);
    return el("figure", { class: "incident-timeline", testid: "incident-timeline" },
      svg("svg", { viewBox: `0 0 ${W} ${TOP + H + AXIS}`, role: "img", "aria-label": `Incident size over time: ${counts.join(", ")} arrivals per ${t.bucket_s} s` },
        counts.map((c, i) => svg("rect", { x: i * bw + 1, y: TOP + H - (c / maxBar) * H * 0.6, width: Math.max(bw - 2, 1), height: (c / maxBar) * H * 0.6, class: "arrivals", "data-count": c },
          svg("title", {}, `${fmtTime(t.start + i * t.bucket_s)}: ${c} new`))),
        svg("polyline", { points: `0,${TOP + H} ${line.join(" ")}`, class: "size-line", fill: "none" }),
        svg("text", { x: 0, y: TOP + H + AXIS - 3, class: "hist-axis" }, fmtTime(t.start)),
        svg("text", { x: W, y: TOP + H + AXIS - 3, "text-anchor": "end", class: "hist-axis" }, `+${minutes} min`)),
      el("figcaption", { class: "muted small", text: `${size} tickets; arrivals per ${t.bucket_s} s (bars) and size so far (line)` }));
  }

  function incidentMembers(id, body, tickets, size, next) {
    return el("div", {},
      el("ul", { class: "members" }, tickets.map((t) => el("li", { testid: "incident-member", "data-status": t.status },
        el("code", { text: t.ticket_id }), el("span", { text: t.subject }),
        el("span", { class: "chip small", text: t.status }), el("span", { class: "muted small", text: fmtTime(t.created_at) })))),
      el("p", { class: "muted small" }, `${tickets.length} of ${size} members shown `,
        next ? el("button", { type: "button", class: "secondary", testid: "incident-more", onclick: () => loadIncident(id, body, true) }, "Load more") : null));
  }

  async function resolveIncident(id, button) {
    button.disabled = true;
    const note = $("incident-note");
    try {
      const r = await api(`/incidents/${encodeURIComponent(id)}/resolve`, { method: "POST" });
      note.className = "note ok";
      note.textContent = `Resolved incident ${r.incident_id} · ${r.resolved_tickets} tickets closed` +
        (r.freed_agents?.length ? ` · freed ${r.freed_agents.join(", ")}` : "") +
        (r.next_assigned?.length ? ` · next assigned ${r.next_assigned.join(", ")}` : "");
      delete incidentPages[id];
      delete lastSeen[INCIDENTS_PATH]; // re-render even if the list did not change
      refresh();
    } catch (e) {
      note.className = "note bad";
      note.textContent = `Could not resolve incident ${id}: ${e.message}`;
      button.disabled = false;
    }
    note.hidden = false;
  }

  function renderIncidents(data) {
    const node = $("incidents");
    const list = [...(data.incidents || [])].sort((a, b) =>
      (a.status === "resolved") - (b.status === "resolved") || (b.size || 0) - (a.size || 0));
    if (!list.length) return fill(node, empty("No master incidents yet"));
    const open = new Set([...node.querySelectorAll("details[open]")].map((d) => d.dataset.id));
    for (const id of Object.keys(incidentPages)) if (!open.has(id)) delete incidentPages[id];
    fill(node, list.map((inc) => incidentView(inc, open.has(String(inc.id)))));
  }

  function agentView(a) {
    const util = a.capacity ? a.load / a.capacity : clamp01(a.utilisation);
    return el("li", { class: "agent", testid: "agent", "data-id": a.id },
      el("div", { class: "agent-head" },
        el("strong", { text: a.name || a.id }),
        el("span", { class: "small", text: `${a.load ?? "?"}/${a.capacity ?? "?"} · ${pct(util)}` })),
      bar(util, heat(util), `${a.name || a.id}: load ${a.load} of ${a.capacity}`),
      el("div", { class: "chips" },
        weighted(a.skills).map((s) => chip("chip", s)),
        weighted(a.languages).map((l) => chip("chip lang", l))));
  }

  function renderAgents(data) {
    const agents = data.agents || [];
    $("agents-waiting").textContent = data.waiting ? `· ${data.waiting} waiting for a free agent` : "";
    fill($("agents"), agents.length ? el("ul", { class: "agent-list" }, agents.map(agentView)) : empty("No agents registered"));
    const langs = [...new Set(agents.flatMap((a) => weighted(a.languages).map(([l]) => l)))].sort();
    fill($("language-options"), langs.map((l) => el("option", { value: l })));
  }

  function triageView(t) {
    return el("li", { class: "triage-item", testid: "triage-ticket", "data-id": t.ticket_id },
      el("div", { class: "triage-main" },
        el("strong", { text: t.subject }),
        el("span", { class: "muted small", text: `${t.ticket_id} · ${fmtTime(t.created_at)}` })),
      el("span", { class: "tag", style: { background: colorFor(t.category) }, text: t.category }),
      el("span", { class: "small", title: "confidence", text: `conf ${pct(t.confidence)}` }),
      el("span", { class: "small urg", style: { color: heat(t.urgency_score) }, title: "urgency score", text: `urg ${num(t.urgency_score)}` }),
      el("button", { type: "button", class: "secondary", "aria-label": `Resolve ticket ${t.ticket_id}`, onclick: (ev) => resolveTicket(t.ticket_id, ev.currentTarget) }, "Resolve"),
      correctionControl(t.ticket_id, t.category, "triage-note"));
  }

  function renderTriage(data) {
    const list = [...(data.tickets || [])].sort((a, b) => (b.urgency_score || 0) - (a.urgency_score || 0));
    fill($("triage"), list.length ? el("ul", { class: "triage-list" }, list.map(triageView)) : empty("Nothing needs review"));
  }

  async function resolveTicket(id, button) {
    button.disabled = true;
    const note = $("triage-note");
    try {
      const r = await api(`/tickets/${encodeURIComponent(id)}/resolve`, { method: "POST" });
      note.className = "note ok";
      note.textContent = `Resolved ${r.ticket_id}` + (r.freed_agent ? ` · freed ${r.freed_agent}` : "") +
        (r.next_assigned ? ` · next assigned ${r.next_assigned}` : "");
      delete lastSeen["/triage"]; // re-render even if the list did not change
      refresh();
    } catch (e) {
      note.className = "note bad";
      note.textContent = `Could not resolve ${id}: ${e.message}`;
      button.disabled = false;
    }
    note.hidden = false;
  }

  // ---------- routing result ----------
  function field(label, testid, ...value) {
    return [el("dt", { text: label }), el("dd", { testid }, value)];
  }

  function modelLabel(used) {
    const fb = health.models.fallback;
    const isFallback = fb && [fb.name, fb.milestone, fb.version].includes(used);
    return [el("code", { text: used ?? "?" }), isFallback ? el("span", { class: "badge warn", text: "fallback" }) : null];
  }

  function renderResult(r) {
    const d = r.dedup || {};
    const color = colorFor(r.category);
    const agent = r.agent != null
      ? ["Assigned to ", el("strong", { text: r.agent })]
      : el("span", { class: "badge warn", text: `Queued · position ${r.queue_position ?? "?"}` });
    const dedup = d.is_duplicate
      ? [el("span", { class: "badge warn", text: "duplicate" }), ` of incident ${d.master_incident_id ?? "?"} · similarity ${num(d.similarity)}`]
      : [el("span", { class: "badge ok", text: "new" }), d.master_incident_id ? ` · incident ${d.master_incident_id}` : "",
        ` · closest similarity ${num(d.similarity)}`];
    fill($("result"), el("dl", { class: "result-grid" },
      field("Category", "result-category", el("span", { class: "tag", style: { background: color }, text: r.category }),
        r.needs_review
          ? el("span", { class: "badge warn", testid: "result-needs-review", text: "needs review" })
          : el("span", { class: "badge ok", testid: "result-needs-review", text: "auto-routed" })),
      field("Confidence", "result-confidence", bar(r.confidence, color, `confidence ${pct(r.confidence)}`), el("span", { text: pct(r.confidence) })),
      field("Urgency", "result-urgency", bar(r.urgency_score, heat(r.urgency_score), `urgency ${num(r.urgency_score)}`),
        el("span", { text: num(r.urgency_score) }), el("span", { class: `badge level-${safeClass(r.urgency_level)}`, text: r.urgency_level ?? "?" })),
      field("Agent", "result-agent", agent),
      field("Dedup", "result-dedup", dedup),
      field("Model", "result-model", modelLabel(r.model_used)),
      field("Latency", "result-latency", `${num(r.latency_ms, 1)} ms`)),
    el("p", { class: "muted small" }, `Ticket ${r.ticket_id} · wrong? `, correctionControl(r.ticket_id, r.category, "result-note")),
    el("p", { id: "result-note", class: "note", role: "status", hidden: true }));
  }

  function showFormError(msg) {
    Object.assign($("form-error"), { hidden: !msg, textContent: msg || "" });
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    const payload = { subject: $("subject").value.trim(), body: $("body").value.trim() };
    for (const key of ["language", "customer_id"]) {
      const v = $(key).value.trim();
      if (v) payload[key] = v;
    }
    const button = $("submit");
    button.disabled = true;
    button.textContent = "Routing…";
    showFormError(null);
    try {
      renderResult(await api("/route", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
      }));
      refresh();
    } catch (e) {
      showFormError(e.status === 0 ? "Service unreachable — the ticket was not routed. Please retry." : `Rejected (${e.status}): ${e.message}`);
    } finally {
      button.disabled = false;
      button.textContent = "Route ticket";
    }
  }

  // ---------- refresh loop ----------
  const INCIDENTS_PATH = "/incidents?limit=20";
  const PANELS = [["/stats", renderStats], ["/health", renderHealth], [INCIDENTS_PATH, renderIncidents],
    ["/agents", renderAgents], ["/triage", renderTriage]];

  async function refresh() {
    needsKey = false;
    const results = await Promise.allSettled(PANELS.map(([path]) => api(path, {}, REFRESH_TIMEOUT_MS)));
    health.unreachable = false;
    health.failing = [];
    results.forEach((r, i) => {
      const [path, render] = PANELS[i];
      if (r.status === "rejected") {
        if (r.reason.status === 0) health.unreachable = true;
        else health.failing.push(`${path} (${r.reason.message})`);
        return;
      }
      const json = JSON.stringify(r.value);
      if (lastSeen[path] === json) return;
      try { render(r.value); lastSeen[path] = json; } catch (e) { console.error(path, e); health.failing.push(`${path} (bad data)`); }
    });
    document.body.classList.toggle("stale", health.unreachable);
    if (!health.unreachable && health.failing.length < PANELS.length) $("last-update").textContent = `updated ${new Date().toLocaleTimeString()}`;
    updateBanner();
  }

  async function loop() {
    await refresh();
    setTimeout(loop, REFRESH_MS);
  }

  function onKey(ev) {
    ev.preventDefault();
    const key = $("api-key").value.trim();
    if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
    $("api-key").value = "";
    $("api-key").placeholder = key ? "key set for this tab" : "kept for this browser tab";
    Object.keys(lastSeen).forEach((k) => delete lastSeen[k]);
    refresh();
  }

  if (sessionStorage.getItem(KEY_STORE)) $("api-key").placeholder = "key set for this tab";
  $("key-form").addEventListener("submit", onKey);
  $("ticket-form").addEventListener("submit", onSubmit);
  loop();
})();
