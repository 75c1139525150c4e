"use strict";
// The published index (mlcc-ci publish): search by name, filter by level. Rows are in the
// page already; this only hides and shows them, and keeps the choice in the address's
// #fragment so a link can carry it (#level=failing&q=vllm).
(function () {
  const table = document.getElementById("configs");
  if (!table) return;
  const rows = Array.from(table.tBodies[0].rows);
  const names = rows.map((row) => row.cells[0].textContent.toLowerCase());
  const search = document.getElementById("search");
  const level = document.getElementById("level");
  const shown = document.getElementById("shown");
  function apply() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const wanted = level.value;
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const ok =
        (!wanted || rows[i].dataset.level === wanted) &&
        words.every((w) => names[i].includes(w));
      rows[i].hidden = !ok;
      if (ok) n++;
    }
    shown.textContent = n + " of " + rows.length + " shown";
    const parts = [];
    if (wanted) parts.push("level=" + encodeURIComponent(wanted));
    if (search.value) parts.push("q=" + encodeURIComponent(search.value));
    try {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
    } catch (e) {
      // a browser that keeps file:// pages from changing their address: the choice stays
    }
  }
  const asked = new URLSearchParams(location.hash.slice(1));
  if (asked.has("q")) search.value = asked.get("q");
  if (asked.has("level")) level.value = asked.get("level");
  search.addEventListener("input", apply);
  level.addEventListener("change", apply);
  apply();
})();
