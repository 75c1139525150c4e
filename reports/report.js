"use strict";
// mlcc-ci report: sort and filter the table; on the dashboard, follow running stages live.
(function () {
  const body = document.querySelector("#configs tbody");
  if (!body) return;
  const rows = () => Array.from(body.rows);
  const filters = {
    group: document.getElementById("f-status"),
    arch: document.getElementById("f-arch"),
    owner: document.getElementById("f-owner"),
  };
  const text = document.getElementById("f-text");
  // a large table (ondemand.js) sorts and filters its rows itself, over all of them
  const onDemand = window.mlccTable || null;

  function applyFilters() {
    const needle = text.value.trim().toLowerCase();
    let shown = 0;
    const all = rows();
    for (const row of all) {
      let ok = !needle || row.dataset.config.toLowerCase().includes(needle);
      for (const [key, select] of Object.entries(filters)) {
        if (select.value && row.dataset[key] !== select.value) ok = false;
      }
      row.hidden = !ok;
      if (ok) shown += 1;
    }
    document.getElementById("shown").textContent = shown + " of " + all.length + " shown";
  }
  if (!onDemand) {
    for (const el of [...Object.values(filters), text]) el.addEventListener("input", applyFilters);
  }

  let sortKey = null;
  let direction = 1;
  for (const button of onDemand ? [] : document.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      direction = sortKey === key ? -direction : 1;
      sortKey = key;
      const numeric = button.dataset.type === "number";
      const value = (row) => {
        const raw = row.dataset[key] || "";
        if (!numeric) return raw;
        const n = parseFloat(raw);
        return Number.isNaN(n) ? -Infinity : n;
      };
      const sorted = rows().sort((a, b) => {
        const x = value(a);
        const y = value(b);
        return (numeric ? (x > y) - (x < y) : String(x).localeCompare(String(y))) * direction;
      });
      for (const row of sorted) body.appendChild(row);
      for (const th of document.querySelectorAll("th")) th.removeAttribute("aria-sort");
      button.parentElement.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
    });
  }

  // Elapsed time of running stages, ticking every second from when the stage began.
  function duration(seconds) {
    if (seconds < 60) return Math.floor(seconds) + "s";
    const m = Math.floor(seconds / 60);
    if (m < 60) return m + "m " + String(Math.floor(seconds % 60)).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
  }
  function tick() {
    for (const el of document.querySelectorAll(".live[data-since]")) {
      const since = Date.parse(el.dataset.since);
      if (!Number.isNaN(since)) {
        el.querySelector(".elapsed").textContent = duration(Math.max(0, (Date.now() - since) / 1000));
      }
    }
  }
  window.mlccTick = tick;
  tick();
  setInterval(tick, 1000);

  if (document.body.dataset.live !== "yes") return;
  // The dashboard: ask what is running every 2 s. A running row gets its stage, its start
  // and its timeline; a row whose status changed (a run began or ended) reloads the page.
  async function poll() {
    try {
      const response = await fetch("api/live", { cache: "no-store" });
      if (!response.ok) return;
      const live = await response.json();
      const known = onDemand && onDemand.ready ? onDemand.rows.map((e) => e.k) : rows().map((r) => r.dataset);
      for (const row of known) {
        const now = live.statuses[row.config];
        if (now !== undefined && now !== row.status) {
          window.location.reload();
          return;
        }
      }
      for (const row of rows()) {
        const run = live.running[row.dataset.config];
        if (!run) continue;
        const cell = row.querySelector(".live");
        if (cell) {
          cell.dataset.since = run.since;
          cell.querySelector(".stage").textContent = run.stage;
        }
        const timeline = row.querySelector(".tl svg");
        if (timeline && run.timeline) timeline.outerHTML = run.timeline;
      }
      tick();
    } catch (err) {
      // the dashboard went away: keep what is shown, try again later
    }
  }
  setInterval(poll, 2000);
})();
