/* Sort and filter the claims-ledger table (bmlib.book.ledger_page.ledger_html).
 *
 * Plain script, no dependencies. Without it the table is complete, in the essay's order.
 * Click a column header to sort by it (again to reverse); a cell's data-sort attribute,
 * where present, is its sort key (location: essay order; verdict, basis: their vocabulary's
 * order). The columns whose header carries data-filter get a select box; the count says
 * how many rows are shown.
 */
(function () {
  "use strict";

  function cellKey(row, column) {
    var cell = row.cells[column];
    if (!cell) return "";
    var key = cell.getAttribute("data-sort");
    return key !== null ? key : cell.textContent.trim();
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) return x - y;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function setup(table) {
    var body = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var rows = Array.prototype.slice.call(body.rows);
    var filters = [];  // {column, select}

    var controls = document.createElement("div");
    controls.className = "bmlib-ledger-controls";
    var count = document.createElement("p");
    count.className = "bmlib-ledger-count";
    count.setAttribute("aria-live", "polite");

    function update() {
      var shown = 0;
      rows.forEach(function (row) {
        var keep = filters.every(function (f) {
          return f.select.value === "" || row.cells[f.column].textContent.trim() === f.select.value;
        });
        row.hidden = !keep;
        if (keep) shown += 1;
      });
      count.textContent = shown + " of " + rows.length + " rows shown";
      count.setAttribute("data-shown", String(shown));
    }

    headers.forEach(function (th, column) {
      var label = th.textContent.trim();
      var button = document.createElement("button");
      button.type = "button";
      button.className = "bmlib-ledger-sort";
      button.textContent = label;
      button.title = "sort by " + label;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var keyed = rows.map(function (row, i) { return [cellKey(row, column), i, row]; });
        keyed.sort(function (p, q) {
          var c = compare(p[0], q[0]);
          return (ascending ? c : -c) || p[1] - q[1];  // ties keep the essay's order
        });
        keyed.forEach(function (k) { body.appendChild(k[2]); });
      });

      if (!th.hasAttribute("data-filter")) return;
      var seen = {};
      var options = [];
      rows.forEach(function (row) {
        var text = row.cells[column].textContent.trim();
        if (!(text in seen)) { seen[text] = true; options.push([cellKey(row, column), text]); }
      });
      options.sort(function (p, q) { return compare(p[0], q[0]); });
      var wrap = document.createElement("label");
      wrap.className = "bmlib-ledger-filter";
      wrap.appendChild(document.createTextNode(label + " "));
      var select = document.createElement("select");
      select.name = "filter-" + label;
      select.setAttribute("data-column", label);
      var all = document.createElement("option");
      all.value = "";
      all.textContent = "all";
      select.appendChild(all);
      options.forEach(function (o) {
        var option = document.createElement("option");
        option.value = o[1];
        option.textContent = o[1];
        select.appendChild(option);
      });
      select.addEventListener("change", update);
      wrap.appendChild(select);
      controls.appendChild(wrap);
      filters.push({column: column, select: select});
    });

    // A link to a row (#claim-...) that a filter hides clears the filters, so it shows.
    function reveal() {
      var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
      if (target && target.hidden && rows.indexOf(target) >= 0) {
        filters.forEach(function (f) { f.select.value = ""; });
        update();
        target.scrollIntoView();
      }
    }
    window.addEventListener("hashchange", reveal);

    controls.appendChild(count);
    var anchor = table.closest(".bmlib-ledger-wrap") || table;
    anchor.parentNode.insertBefore(controls, anchor);
    update();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.bmlib-ledger"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
