// The search of the public directory: every word of the query must begin a
// word of the row (name, title, agency, unit or address), in any order,
// ignoring case and diacritics ("so khoa hoc" finds "Sở Khoa học").
(function () {
  "use strict";
  var fold = function (s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase();
  };
  var alnum = /[a-z0-9]/;
  var entries = JSON.parse(document.getElementById("data").textContent);
  var rows = document.getElementById("list").tBodies[0].rows;
  var keys = entries.map(function (e) {
    return fold([e.n, e.t || "", e.a, e.u || "", e.e].join(" | "));
  });
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var count = document.getElementById("count");
  var total = rows.length;

  // `term` begins a word of `key` (a term starting with punctuation, such
  // as "@sonla", may start anywhere).
  var begins = function (key, term) {
    for (var i = key.indexOf(term); i >= 0; i = key.indexOf(term, i + 1)) {
      if (i === 0 || !alnum.test(term[0]) || !alnum.test(key[i - 1])) return true;
    }
    return false;
  };

  var search = function () {
    var terms = fold(input.value).split(/\s+/).filter(Boolean);
    var shown = 0;
    for (var i = 0; i < total; i++) {
      var hit = terms.every(function (t) { return begins(keys[i], t); });
      rows[i].hidden = !hit;
      if (hit) shown++;
    }
    if (terms.length === 0) {
      count.textContent = total + " hộp thư";
    } else if (shown === 0) {
      count.textContent = "Không tìm thấy hộp thư nào khớp với “" + input.value.trim() + "”";
    } else {
      count.textContent = "Tìm thấy " + shown + " / " + total + " hộp thư";
    }
  };

  var remember = function () {
    try {
      var url = new URL(location.href);
      if (input.value.trim()) url.searchParams.set("q", input.value.trim());
      else url.searchParams.delete("q");
      history.replaceState(null, "", url.href);
    } catch (e) { /* file:// pages may not change their address */ }
  };

  form.hidden = false;
  input.value = new URLSearchParams(location.search).get("q") || "";
  input.addEventListener("input", function () { search(); remember(); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && input.value) {
      input.value = "";
      search();
      remember();
    }
  });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  search();
})();
