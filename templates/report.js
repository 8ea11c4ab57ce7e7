// Filtering, sorting and expanding the check table. The view is kept in the address's fragment
// (e.g. #status=fail&sort=-severity-rank) so that a link opens the same view.
(function () {
  "use strict";
  var table = document.getElementById("checks");
  if (!table) { return; }
  var body = table.tBodies[0];
  var filters = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-key]"));
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr.check"));
  var sort = { key: "", descending: false };

  function detail(row) { return row.nextElementSibling; }

  function matches(row) {
    return filters.every(function (f) {
      var want = f.value.trim().toLowerCase();
      if (!want) { return true; }
      if (f.getAttribute("data-filter") === "text") {
        return row.cells[1].textContent.toLowerCase().indexOf(want) >= 0;
      }
      return row.getAttribute("data-" + f.getAttribute("data-filter")) === want;
    });
  }

  function key(row) {
    var value = row.getAttribute("data-" + sort.key) || "";
    var header = table.querySelector('th[data-key="' + sort.key + '"]');
    return header && header.getAttribute("data-type") === "number" ? parseFloat(value) : value;
  }

  function compare(a, b) {
    var x = key(a), y = key(b);
    var order = x < y ? -1 : x > y ? 1 : 0;
    return sort.descending ? -order : order;
  }

  function remember() {
    var parts = filters.filter(function (f) { return f.value; }).map(function (f) {
      return f.getAttribute("data-filter") + "=" + encodeURIComponent(f.value);
    });
    if (sort.key) { parts.push("sort=" + (sort.descending ? "-" : "") + sort.key); }
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  }

  function apply() {
    var visible = 0;
    if (sort.key) { rows.sort(compare); }
    rows.forEach(function (row) {
      var more = detail(row);
      row.hidden = !matches(row);
      more.hidden = row.hidden;
      if (!row.hidden) { visible += 1; }
      body.appendChild(row);
      body.appendChild(more);
    });
    headers.forEach(function (h) {
      if (h.getAttribute("data-key") === sort.key) {
        h.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
      } else {
        h.removeAttribute("aria-sort");
      }
    });
    shown.textContent = visible + " of " + rows.length + " checks";
  }

  function restore() {
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var pair = part.split("=");
      var value = decodeURIComponent(pair[1] || "");
      if (pair[0] === "sort") {
        sort.descending = value.charAt(0) === "-";
        sort.key = value.replace(/^-/, "");
      }
      filters.forEach(function (f) {
        if (f.getAttribute("data-filter") === pair[0]) { f.value = value; }
      });
    });
  }

  filters.forEach(function (f) {
    f.addEventListener("input", function () { apply(); remember(); });
  });
  headers.forEach(function (h) {
    h.tabIndex = 0;
    function activate() {
      var key = h.getAttribute("data-key");
      sort.descending = sort.key === key ? !sort.descending : false;
      sort.key = key;
      apply();
      remember();
    }
    h.addEventListener("click", activate);
    h.addEventListener("keydown", function (e) { if (e.key === "Enter") { activate(); } });
  });
  body.addEventListener("click", function (e) {
    var button = e.target.closest("button.toggle");
    if (!button) { return; }
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    detail(button.closest("tr")).classList.toggle("open", open);
  });
  restore();
  apply();
  table.setAttribute("data-sortable", "ready");
}());
