// Smart-Support drift panel: GET /drift every 5 s, one line per score over time against its
// threshold (inline SVG, no dependencies). Separate from app.js; the API key is the one the
// key form keeps in sessionStorage. Server text only ever goes in via textContent.
"use strict";
(() => {
  const KEY_STORE = "smart-support-api-key";
  const REFRESH_MS = 5000;
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = { category: "#4f7cff", confidence: "#f59e0b", language: "#10b981", length: "#8b5cf6", embedding: "#ef4444" };
  const $ = (id) => document.getElementById(id);
  let last = "";

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text != null) node.textContent = String(text);
    return node;
  }

  function p(cls, text) {
    const node = document.createElement("p");
    node.className = cls;
    node.textContent = text;
    return node;
  }

  async function fetchDrift() {
    const key = sessionStorage.getItem(KEY_STORE);
    const res = await fetch(window.location.origin + "/drift", {
      cache: "no-store", headers: key ? { Authorization: `Bearer ${key}` } : {},
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  // Each feature's score relative to its threshold (1 = the threshold line) on a log axis, so
  // PSI and the centroid shift share one axis and a large shift does not flatten the rest.
  function chart(data) {
    const W = 600, H = 160, L = 40, T = 8, B = 6;
    const history = data.history || [];
    const thresholds = data.threshold || {};
    const limit = (f) => (f === "embedding" ? thresholds.embedding : thresholds.psi) || 1;
    const features = (data.features || Object.keys(COLORS)).filter((f) => history.some((h) => f in (h.scores || {})));
    const ratios = history.flatMap((h) => features.map((f) => (h.scores[f] ?? 0) / limit(f)));
    const lo = -2, hi = Math.max(1, Math.ceil(Math.log10(Math.max(2, ...ratios))));
    const x = (i) => L + (history.length > 1 ? (i / (history.length - 1)) * (W - L - 8) : (W - L) / 2);
    const y = (r) => T + H - ((Math.min(Math.max(Math.log10(Math.max(r, 1e-9)), lo), hi) - lo) / (hi - lo)) * H;
    const root = svg("svg", { viewBox: `0 0 ${W} ${T + H + B}`, role: "img", class: "drift-chart",
      "aria-label": "Drift scores over time relative to their thresholds (log scale)" });
    for (let e = lo; e <= hi; e++) {
      const r = 10 ** e;
      root.append(svg("line", { x1: L, x2: W, y1: y(r), y2: y(r), class: e === 0 ? "drift-threshold" : "drift-grid" }));
      root.append(svg("text", { x: L - 4, y: y(r) + 4, "text-anchor": "end", class: "hist-axis" }, e === 0 ? "limit" : `${r}x`));
    }
    for (const f of features) {
      const at = history.map((h, i) => [x(i), y((h.scores[f] ?? 0) / limit(f))]);
      const line = svg("polyline", { points: at.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" "),
        fill: "none", stroke: COLORS[f] || "#666", "stroke-width": 2, "data-feature": f });
      line.append(svg("title", {}, `${f} (threshold ${limit(f)})`));
      root.append(line);
      const [lx, ly] = at[at.length - 1];
      root.append(svg("circle", { cx: lx, cy: ly, r: 3.5, fill: COLORS[f] || "#666" }));
    }
    return root;
  }

  function legend(data) {
    const box = document.createElement("div");
    box.className = "drift-legend";
    const thresholds = data.threshold || {};
    for (const [f, score] of Object.entries(data.scores || {})) {
      const limit = f === "embedding" ? thresholds.embedding : thresholds.psi;
      const item = document.createElement("span");
      item.className = score > limit ? "drift-item over" : "drift-item";
      item.dataset.feature = f;
      item.style.borderColor = COLORS[f] || "#666";
      item.textContent = `${f} ${Number(score).toFixed(3)} / ${limit}`;
      box.append(item);
    }
    return box;
  }

  function render(data) {
    const state = $("drift-state");
    state.textContent = data.status || "unknown";
    state.className = `pill drift-${String(data.status || "unknown").replace(/[^a-z_]/g, "")}`;
    const node = $("drift-chart");
    const w = data.window || {};
    const children = [];
    if (data.status === "disabled") children.push(p("empty", "No training reference loaded: drift monitoring is off."));
    else if (!(data.history || []).length) children.push(p("empty", `Warming up: ${w.tickets ?? 0} of ${w.min_tickets ?? "?"} tickets.`));
    else children.push(chart(data), legend(data));
    if (data.status !== "disabled") children.push(p("muted small", `window: last ${w.tickets ?? 0} of ${w.size ?? "?"} tickets routed by this worker`));
    node.replaceChildren(...children);
  }

  async function loop() {
    try {
      const data = await fetchDrift();
      const json = JSON.stringify(data);
      if (json !== last) { render(data); last = json; }
    } catch (e) {
      $("drift-state").textContent = "unavailable";
    }
    setTimeout(loop, REFRESH_MS);
  }

  if ($("drift-chart")) loop();
})();
