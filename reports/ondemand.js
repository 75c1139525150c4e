"use strict";
// Tables at scale (mlcc_ci/report/ondemand.py): every row as data, in a deflated, base64'd
// block; search, filters and sorting over all of them; rows built a page at a time as they
// are shown, histories when asked for. Values go in as text (textContent, setAttribute of
// a fixed few attributes), never as markup.
(function () {
  const source = document.getElementById("report-data");
  if (!source) return;
  const table = document.getElementById(source.dataset.table);
  const body = table && table.tBodies[0];
  if (!body) return;
  const PAGE = 100;
  const SVG = "http://www.w3.org/2000/svg";
  const TAGS = new Set(["span", "div", "b", "time", "pre", "code"]);
  const ATTRS = { title: "title", datetime: "datetime", since: "data-since" };
  const state = { rows: [], matched: [], shown: 0, data: null, ready: false };
  window.mlccTable = state;
  const filters = Array.from(document.querySelectorAll("select[data-filter]"));
  const search = document.querySelector("input[data-search]");
  const count = document.getElementById("shown");
  const more = document.createElement("button");
  more.type = "button";
  more.id = "more-rows";
  more.hidden = true;
  table.after(more);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }
  function titled(node, text) {
    const t = svg("title", {});
    t.textContent = text;
    node.prepend(t);
    return node;
  }
  function duration(seconds) {
    if (seconds < 9.95) return Math.max(seconds, 0).toFixed(1) + "s";
    const s = Math.round(seconds);
    if (s < 60) return s + "s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m " + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
  }
  const plural = (n) => n + " run" + (n === 1 ? "" : "s");
  const colour = (kind, name) => {
    const charts = state.data.charts || {};
    return (charts[kind] || {})[name] || (charts.status || {}).none || "#d0d7de";
  };

  // -- charts: as mlcc_ci/report/charts.py draws them ----------------------------------
  function timeline(stages) {
    if (!stages.length) return svg("svg", { class: "timeline empty", width: 0, height: 0, "aria-hidden": "true" });
    const width = 180;
    const spent = stages.reduce((a, s) => a + s[2], 0) || 1;
    const room = (width - 3 * stages.length) * 10;
    const s = svg("svg", { class: "timeline", width, height: 12, viewBox: `0 0 ${width * 10} 120`, role: "img", "aria-label": "stage timeline" });
    let x = 0;
    for (const [name, status, seconds, said] of stages) {
      const w = 30 + Math.trunc((seconds / spent) * room);
      const rect = svg("rect", { x, y: 0, width: Math.max(w - 10, 20), height: 120, fill: colour("status", status), "data-stage": name });
      s.appendChild(titled(rect, `${name}: ${status} ${said}`));
      x += w;
    }
    return s;
  }
  function trend(runs, rate) {
    const passes = runs.filter((r) => r[0] !== "n").map((r) => r[0] === "p");
    if (!passes.length) return null;
    const span = state.data.charts.window || 10;
    const step = 8, height = 24, width = Math.max(step * passes.length, 48);
    const points = [], ok = [], bad = [];
    let passed = 0, first = 0;
    passes.forEach((p, i) => {
      passed += p - (i >= span ? passes[i - span] : 0);
      const at = passed / Math.min(i + 1, span);
      if (i === 0) first = at;
      const x = 30 + i * step * 10, y = 30 + Math.trunc((1 - at) * (height - 6) * 10);
      points.push(x + "," + y);
      (p ? ok : bad).push(`M${x - 20} ${y - 20}h40v40h-40z`);
    });
    const s = svg("svg", { class: "trend", width, height, viewBox: `0 0 ${width * 10} ${height * 10}`, role: "img" });
    s.append(
      svg("polyline", { points: points.join(" "), fill: "none", stroke: "#8c959f", "stroke-width": 10 }),
      svg("path", { d: ok.join(""), fill: colour("status", "pass") }),
      svg("path", { d: bad.join(""), fill: colour("status", "fail") }),
    );
    const label = `pass rate over the last ${plural(passes.length)}: ${Math.round(first * 100)}% at first, ${rate} now`;
    return titled(s, label);
  }
  function durations(runs) {
    const stages = Object.keys(state.data.charts.stage || {});
    const longest = Math.max(0, ...runs.map((r) => r.slice(1).reduce((a, b) => a + b, 0)));
    if (longest <= 0) return null;
    const step = 8, height = 30, width = Math.max(step * runs.length, 48);
    const scale = (height * 10) / longest;
    const tops = runs.map(() => height * 10);
    const s = svg("svg", { class: "durations", width, height, viewBox: `0 0 ${width * 10} ${height * 10}`, role: "img" });
    const mean = [];
    stages.forEach((stage, j) => {
      const column = runs.map((r) => r[j + 1] || 0);
      const total = column.reduce((a, b) => a + b, 0);
      if (total <= 0) return;
      mean.push(stage + " " + duration(total / runs.length));
      let d = "";
      column.forEach((v, i) => {
        const h = Math.trunc(v * scale);
        tops[i] -= h;
        if (h) d += `M${35 + i * 80} ${tops[i]}v${h}`;
      });
      s.appendChild(svg("path", { d, stroke: colour("stage", stage), "stroke-width": 70 }));
    });
    const label = `stage durations of the last ${plural(runs.length)} (longest ${duration(longest)}); mean ${mean.join(", ")}`;
    return titled(s, label);
  }
  function safeLink(link) {
    return typeof link === "string" && (/^https?:\/\//i.test(link) || !/^[a-z][a-z0-9+.-]*:/i.test(link));
  }
  function stageList(stages) {
    const d = el("details", "stagelist");
    d.appendChild(el("summary", "", "stages"));
    const t = el("table");
    const head = el("tr");
    for (const h of ["stage", "status", "time", "log", "note"]) head.appendChild(el("th", "", h));
    t.appendChild(head);
    for (const [name, status, time, link, pointer, note] of stages) {
      const tr = el("tr");
      const log = el("td");
      if (link && safeLink(link)) {
        const a = el("a", "", "log");
        a.setAttribute("href", link);
        log.appendChild(a);
      } else log.textContent = pointer || "";
      tr.append(el("td", "", name), el("td", "s-" + status, status), el("td", "", time), log, el("td", "", note));
      t.appendChild(tr);
    }
    d.appendChild(t);
    return d;
  }
  function drawHistory(place, h) {
    // the trend where the button was, the durations in the next cell when it is empty
    const box = el("div", "history");
    const cell = place.closest("td");
    const next = cell && cell.nextElementSibling;
    const bars = durations(h.runs);
    for (const chart of [trend(h.runs, h.rate), next && !next.firstChild ? null : bars]) {
      if (chart) box.appendChild(chart);
    }
    if (bars && next && !next.firstChild) next.appendChild(bars);
    if (h.stages && h.stages.length) box.appendChild(stageList(h.stages));
    place.replaceWith(box);
  }
  async function openHistory(entry, button) {
    button.disabled = true;
    try {
      let h = null;
      if (state.data.histories && entry.h !== undefined) h = state.data.histories[entry.h];
      else if (state.data.historyUrl && entry.id) {
        const response = await fetch(state.data.historyUrl + encodeURIComponent(entry.id), { cache: "no-store" });
        if (!response.ok) throw new Error(String(response.status));
        h = (await response.json()).view;
      }
      if (h) drawHistory(button, h);
    } catch (err) {
      button.disabled = false;
      button.textContent = "history (could not be read: try again)";
    }
  }

  // -- rows --------------------------------------------------------------------------
  function part(p, entry) {
    switch (p[0]) {
      case "t":
        return document.createTextNode(p[1]);
      case "e": {
        const e = el(TAGS.has(p[1]) ? p[1] : "span", p[2], p[3]);
        for (const [k, v] of Object.entries(p[4] || {})) if (ATTRS[k]) e.setAttribute(ATTRS[k], v);
        return e;
      }
      case "d": {
        const d = el("details", p[1]);
        d.appendChild(el("summary", "", p[2]));
        for (const q of p[3]) d.appendChild(part(q, entry));
        return d;
      }
      case "ul": {
        const u = el("ul");
        for (const t of p[1]) u.appendChild(el("li", "", t));
        return u;
      }
      case "tl":
        return timeline(p[1]);
      case "live": {
        const d = el("div", "live");
        d.setAttribute("data-since", p[1]);
        d.append(el("span", "stage", p[2]), " · ", el("span", "elapsed", "-"));
        return d;
      }
      case "h": {
        const f = document.createDocumentFragment();
        const b = el("button", "history-button", "history");
        b.type = "button";
        b.addEventListener("click", () => openHistory(entry, b));
        f.append(b, el("div", "", p[1]));
        return f;
      }
    }
    return document.createTextNode("");
  }
  function build(entry) {
    const tr = document.createElement("tr");
    for (const [k, v] of Object.entries(entry.k)) tr.setAttribute("data-" + k, v);
    const classes = state.data.cellClasses || [];
    entry.c.forEach((cell, i) => {
      const td = el("td", classes[i] || "");
      for (const p of cell) td.appendChild(part(p, entry));
      tr.appendChild(td);
    });
    return tr;
  }
  function showMore() {
    const next = state.matched.slice(state.shown, state.shown + PAGE);
    for (const entry of next) body.appendChild(entry.el || (entry.el = build(entry)));
    state.shown += next.length;
    const left = state.matched.length - state.shown;
    more.hidden = left <= 0;
    more.textContent = `show ${Math.min(left, PAGE)} more (${left} not shown yet)`;
    if (window.mlccTick) window.mlccTick();
  }
  function apply() {
    if (!state.ready) return;
    const needle = search ? search.value.trim().toLowerCase() : "";
    const key = search ? search.dataset.search : "";
    state.matched = state.rows.filter(
      (e) =>
        (!needle || String(e.k[key] || "").toLowerCase().includes(needle)) &&
        filters.every((f) => !f.value || e.k[f.dataset.filter] === f.value),
    );
    body.replaceChildren();
    state.shown = 0;
    showMore();
    if (count) count.textContent = state.matched.length + " of " + state.rows.length + " shown";
  }
  for (const f of [...filters, search]) if (f) f.addEventListener("input", apply);
  more.addEventListener("click", showMore);
  new IntersectionObserver((seen) => {
    if (seen.some((s) => s.isIntersecting) && !more.hidden) showMore();
  }).observe(more);

  let sortKey = null;
  let direction = 1;
  for (const button of table.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      if (!state.ready) return;
      const key = button.dataset.sort;
      direction = sortKey === key ? -direction : 1;
      sortKey = key;
      const numeric = button.dataset.type === "number";
      const value = (e) => {
        const raw = e.k[key] || "";
        if (!numeric) return raw;
        const n = parseFloat(raw);
        return Number.isNaN(n) ? -Infinity : n;
      };
      state.rows.sort((a, b) => {
        const x = value(a);
        const y = value(b);
        return (numeric ? (x > y) - (x < y) : String(x).localeCompare(String(y))) * direction;
      });
      for (const th of table.querySelectorAll("th")) th.removeAttribute("aria-sort");
      button.parentElement.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
      apply();
    });
  }

  async function load() {
    const bytes = Uint8Array.from(atob(source.textContent.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    state.data = await new Response(stream).json();
    const html = Array.from(body.rows);
    state.rows = state.data.rows.map((entry, i) => {
      if (i < state.data.first && html[i]) entry.el = html[i];
      return entry;
    });
    state.ready = true;
    apply();
    table.dataset.ready = "yes";
  }
  load().catch((err) => {
    if (count) count.textContent = "the rows beyond the first could not be read: " + err;
  });
})();
