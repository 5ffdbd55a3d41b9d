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

  // Each feature's score relative to its threshold (1.0 = the threshold line), so PSI and the
  // centroid shift share one axis.
  function chart(data) {
    const W = 600, H = 160, L = 34, T = 10, B = 18;
    const history = data.history || [];
    const thresholds = data.threshold || {};
    const limit = (f) => (f === "embedding" ? thresholds.embedding : thresholds.psi) || 1;
    const features = (data.features || Object.keys(COLORS)).filter((f) => history.some((h) => f in (h.scores || {})));
    const ratios = history.flatMap((h) => features.map((f) => (h.scores[f] ?? 0) / limit(f)));
    const top = Math.max(1.5, ...ratios) * 1.05;
    const x = (i) => L + (history.length > 1 ? (i / (history.length - 1)) * (W - L - 4) : (W - L) / 2);
    const y = (r) => T + H - (Math.min(r, top) / top) * H;
    const root = svg("svg", { viewBox: `0 0 ${W} ${T + H + B}`, role: "img", class: "drift-chart",
      "aria-label": "Drift scores over time relative to their thresholds" });
    for (const r of [0, 0.5, 1, Math.floor(top)]) {
      root.append(svg("line", { x1: L, x2: W, y1: y(r), y2: y(r), class: r === 1 ? "drift-threshold" : "drift-grid" }));
      root.append(svg("text", { x: L - 4, y: y(r) + 4, "text-anchor": "end", class: "hist-axis" }, r === 1 ? "limit" : r));
    }
    for (const f of features) {
      const points = history.map((h, i) => `${x(i).toFixed(1)},${y((h.scores[f] ?? 0) / limit(f)).toFixed(1)}`).join(" ");
      const line = svg("polyline", { points, fill: "none", stroke: COLORS[f] || "#666", "stroke-width": 2, "data-feature": f });
      line.append(svg("title", {}, `${f} (threshold ${limit(f)})`));
      root.append(line);
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
