/* The review page's script (inlined by aligner.review; no network, no libraries).
   Data: the JSON in #review-data, parsed once. Rows of the current document are built
   one page (D.pageSize rows) at a time; the document list is virtual (only the items in
   view exist). Text is only ever written with textContent. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("review-data").textContent);
  var docs = D.docs, PAGE = D.pageSize || 200, BANDS = D.bands, QUALITY = D.metric === "quality";
  var ITEM_H = 48, OVERSCAN = 8;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function fmt2(v) { return v == null ? "–" : v.toFixed(2); }
  function fmt4(v) { return v == null ? "none" : String(Math.round(v * 10000) / 10000); }
  function band(v) {
    if (v == null) return "qn";
    for (var b = 0; b < BANDS.length; b++) if (v >= BANDS[b]) return "q" + (BANDS.length - b);
    return "q0";
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function isNull(r) { return r[0].length === 0 || r[1].length === 0; }
  function isMerged(r) { return r[0].length > 1 || r[1].length > 1; }

  // ---------------------------------------------------------------- state
  var state = { doc: docs.length ? 0 : -1, page: 0 };
  var filt = { q: "", under: null, nul: false, merged: false };
  var listDocs = [];      // indices of the documents in the list (those with matching rows)
  var listPos = {};       // doc index -> position in listDocs
  var visible = [];       // per document: matching row indices, or null for all rows
  var normText = null;    // per document, per row: normalised "en\nar" (built on the first search)
  var DIACRITICS = /[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]/g;  // Arabic marks and tatweel
  function normalize(s) { return s.toLowerCase().replace(DIACRITICS, ""); }

  function filtering() { return filt.q !== "" || filt.under !== null || filt.nul || filt.merged; }
  function rowMatches(r, d, i) {
    if (filt.nul && !isNull(r)) return false;
    if (filt.merged && !isMerged(r)) return false;
    if (filt.under !== null && !(r[4] != null && r[4] < filt.under)) return false;
    if (filt.q !== "" && normText[d][i].indexOf(filt.q) < 0) return false;
    return true;
  }

  function applyFilters() {
    var on = filtering(), shown = 0, total = 0;
    if (filt.q !== "" && !normText) {
      normText = docs.map(function (doc) {
        return doc.rows.map(function (r) { return normalize(r[2]) + "\n" + normalize(r[3]); });
      });
    }
    listDocs = []; listPos = {}; visible = new Array(docs.length);
    for (var d = 0; d < docs.length; d++) {
      var rows = docs[d].rows;
      total += rows.length;
      if (!on) { visible[d] = null; listPos[d] = listDocs.length; listDocs.push(d); continue; }
      var v = [];
      for (var i = 0; i < rows.length; i++) if (rowMatches(rows[i], d, i)) v.push(i);
      visible[d] = v;
      shown += v.length;
      if (v.length) { listPos[d] = listDocs.length; listDocs.push(d); }
    }
    $("matches").textContent = on
      ? shown + " of " + plural(total, "row") + " match, in " + listDocs.length + " of " + plural(docs.length, "document")
      : "";
    if (!(state.doc in listPos)) state.doc = listDocs.length ? listDocs[0] : -1;
    state.page = 0;
  }

  // ---------------------------------------------------------------- document list (virtual)
  var scroller = $("doc-scroller"), spacer = $("doc-spacer"), ul = $("doc-list");

  function docInfo(d) {
    var doc = docs[d], parts = [];
    if (filtering()) parts.push(visible[d].length + " match");
    parts.push(plural(doc.pairs, "pair"));
    if (doc.unEn || doc.unAr) parts.push((doc.unEn + doc.unAr) + " unaligned");
    if (doc.merged) parts.push(doc.merged + " merged");
    if (doc.moved.length) parts.push(doc.moved.length + " moved");
    parts.push("mean " + fmt2(doc.mean));
    return parts.join(" · ");
  }

  function renderList() {
    spacer.style.height = listDocs.length * ITEM_H + "px";
    var h = scroller.clientHeight || 800;
    var first = Math.max(0, Math.floor(scroller.scrollTop / ITEM_H) - OVERSCAN);
    var last = Math.min(listDocs.length, Math.ceil((scroller.scrollTop + h) / ITEM_H) + OVERSCAN);
    ul.style.top = first * ITEM_H + "px";
    var frag = document.createDocumentFragment();
    for (var p = first; p < last; p++) {
      var d = listDocs[p], doc = docs[d], li = el("li", band(doc.mean));
      li.dataset.index = d;
      li.dataset.doc = doc.id;
      li.title = doc.id + "\nEnglish: " + doc.enFile + "\nArabic: " + doc.arFile +
        "\nmean " + D.metric + " " + fmt4(doc.mean);
      if (d === state.doc) { li.classList.add("current"); li.setAttribute("aria-current", "true"); }
      li.appendChild(el("span", "doc-id", doc.id));
      li.appendChild(el("span", "doc-info", docInfo(d)));
      frag.appendChild(li);
    }
    ul.replaceChildren(frag);
    $("doc-count").textContent = filtering()
      ? listDocs.length + " of " + plural(docs.length, "document")
      : plural(docs.length, "document");
  }

  function scrollListTo(d) {
    if (!(d in listPos)) return;
    var top = listPos[d] * ITEM_H, h = scroller.clientHeight;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ITEM_H > scroller.scrollTop + h) scroller.scrollTop = top + ITEM_H - h;
  }

  var listFrame = 0;
  scroller.addEventListener("scroll", function () {
    if (!listFrame) listFrame = requestAnimationFrame(function () { listFrame = 0; renderList(); });
  });
  ul.addEventListener("click", function (e) {
    var li = e.target.closest("li");
    if (li) select(Number(li.dataset.index));
  });

  // ---------------------------------------------------------------- rows
  function highlighted(text) {
    var span = el("span", "t");
    var q = filt.q, lower = text.toLowerCase();
    if (!q || lower.length !== text.length || lower.indexOf(q) < 0) { span.textContent = text; return span; }
    var at = 0, k;
    while ((k = lower.indexOf(q, at)) >= 0) {
      if (k > at) span.appendChild(document.createTextNode(text.slice(at, k)));
      span.appendChild(el("mark", null, text.slice(k, k + q.length)));
      at = k + q.length;
    }
    if (at < text.length) span.appendChild(document.createTextNode(text.slice(at)));
    return span;
  }

  function cell(lang, idx, text, otherLang) {
    var td = el("td", lang);
    td.lang = lang;
    td.dir = lang === "ar" ? "rtl" : "ltr";
    if (!idx.length) {
      td.classList.add("empty");
      var note = el("span", "none", "no " + (lang === "ar" ? "Arabic" : "English") + " sentence: the " +
        (otherLang === "ar" ? "Arabic" : "English") + " sentence is unaligned");
      note.lang = "en"; note.dir = "ltr";
      td.appendChild(note);
      return td;
    }
    var n = el("span", "n", idx.join(", "));
    n.dir = "ltr";
    td.appendChild(n);
    td.appendChild(highlighted(text));
    return td;
  }

  function rowTitle(r, type) {
    if (isNull(r)) {
      return "unaligned " + (r[0].length ? "English sentence " + r[0][0] : "Arabic sentence " + r[1][0]) +
        " (no score)";
    }
    var t = D.metric + " " + fmt4(r[4]);
    if (QUALITY) t += " (score " + fmt4(r[5]) + ")";
    return t + " · " + type + " · English " + r[0].join(", ") + " · Arabic " + r[1].join(", ");
  }

  function movedFrom(doc, i) {
    for (var k = 0; k < doc.moved.length; k++) if (doc.moved[k][0] === i) return doc.moved[k][1];
    return null;
  }

  function makeRow(r, i, doc) {
    var type = r[0].length + "-" + r[1].length, tr = el("tr", "bead");
    tr.classList.add(isNull(r) ? "null" : band(r[4]));
    if (isNull(r)) tr.classList.add(r[0].length ? "null-en" : "null-ar");
    if (isMerged(r)) tr.classList.add("merged");
    tr.dataset.row = i;
    tr.dataset.en = r[0].join(",");
    tr.dataset.ar = r[1].join(",");
    tr.dataset.type = type;
    tr.title = rowTitle(r, type);
    var meta = el("td", "meta");
    meta.appendChild(el("span", "num", "#" + (i + 1)));
    meta.appendChild(el("span", "type", isNull(r) ? "unaligned" : type));
    if (!isNull(r)) meta.appendChild(el("span", "score", fmt2(r[4])));
    var after = movedFrom(doc, i);
    if (after !== null) {
      // A passage the report moved: say where it stands in the source's order.
      tr.classList.add("moved");
      var where = after < 0 ? "before English sentence 0" : "after English sentence " + after;
      var mark = el("span", "moved", "↷ moved");
      mark.title = "The report moved this passage: in the Arabic source it comes " + where + ".";
      meta.appendChild(mark);
      tr.title += " · moved (in the source " + where + ")";
    }
    tr.appendChild(meta);
    tr.appendChild(cell("en", r[0], r[2], "ar"));
    tr.appendChild(cell("ar", r[1], r[3], "en"));
    return tr;
  }

  function pager(box, pages, n, start, end) {
    box.hidden = pages <= 1;
    if (pages <= 1) { box.replaceChildren(); return; }
    var prev = el("button", "prev", "◀ previous page"), next = el("button", "next", "next page ▶");
    prev.type = next.type = "button";
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    prev.addEventListener("click", function () { turn(-1); });
    next.addEventListener("click", function () { turn(1); });
    box.replaceChildren(prev, el("span", "where", "page " + (state.page + 1) + " of " + pages +
      " (rows " + (start + 1) + "–" + end + " of " + n + ")"), next);
  }

  function renderDoc() {
    var tbody = $("tbody");
    if (state.doc < 0) {
      tbody.replaceChildren();
      $("doc-title").textContent = docs.length ? "No rows match" : "The corpus is empty";
      $("doc-meta").textContent = "";
      $("empty").hidden = !docs.length;
      pager($("pager-top"), 0); pager($("pager-bottom"), 0);
      markFirstRender();
      return;
    }
    var doc = docs[state.doc], idx = visible[state.doc], n = idx ? idx.length : doc.rows.length;
    var pages = Math.max(1, Math.ceil(n / PAGE));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    var start = state.page * PAGE, end = Math.min(n, start + PAGE);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) {
      var i = idx ? idx[k] : k;
      frag.appendChild(makeRow(doc.rows[i], i, doc));
    }
    tbody.replaceChildren(frag);
    $("empty").hidden = n > 0;
    $("doc-title").textContent = doc.id;
    $("doc-meta").textContent = "English " + doc.enFile + " · Arabic " + doc.arFile + " · " +
      plural(doc.rows.length, "bead") + ": " + plural(doc.pairs, "pair") + ", " + doc.merged + " merged, " +
      (doc.moved.length ? doc.moved.length + " moved, " : "") +
      doc.unEn + " English and " + doc.unAr + " Arabic unaligned · mean " + D.metric + " " + fmt4(doc.mean) +
      (idx ? " · " + n + " matching" : "");
    pager($("pager-top"), pages, n, start, end);
    pager($("pager-bottom"), pages, n, start, end);
    markFirstRender();
  }

  function markFirstRender() {
    if (window.__firstRender) return;
    window.__firstRender = performance.now();
    requestAnimationFrame(function () { setTimeout(function () { window.__firstPaint = performance.now(); }, 0); });
  }

  // ---------------------------------------------------------------- navigation
  function select(d) {
    if (d == null || d < 0 || d >= docs.length) return;
    state.doc = d; state.page = 0;
    renderDoc();
    scrollListTo(d);
    renderList();
    $("main").scrollTop = 0;
    try { history.replaceState(null, "", "#doc=" + encodeURIComponent(docs[d].id)); } catch (e) { /* file: quirks */ }
  }
  function step(delta) {
    if (!listDocs.length) return;
    var p = state.doc in listPos ? listPos[state.doc] + delta : 0;
    select(listDocs[Math.min(Math.max(0, p), listDocs.length - 1)]);
  }
  function turn(delta) {
    state.page += delta;
    renderDoc();
    $("main").scrollTop = 0;
  }
  function refilter() { applyFilters(); renderDoc(); scrollListTo(state.doc); renderList(); }

  document.addEventListener("keydown", function (e) {
    var t = e.target, typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
    if (typing) { if (e.key === "Escape") t.blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j") step(1);
    else if (e.key === "k") step(-1);
    else if (e.key === "n") turn(1);
    else if (e.key === "p") turn(-1);
    else if (e.key === "/") { e.preventDefault(); $("search").focus(); }
    else return;
  });

  var searchTimer = 0;
  $("search").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { filt.q = normalize($("search").value.trim()); refilter(); }, 120);
  });
  function readUnder() {
    var v = parseFloat($("f-threshold").value);
    filt.under = $("f-under").checked && isFinite(v) ? v : null;
  }
  $("f-under").addEventListener("change", function () { readUnder(); refilter(); });
  $("f-threshold").addEventListener("input", function () { readUnder(); if ($("f-under").checked) refilter(); });
  $("f-null").addEventListener("change", function () { filt.nul = this.checked; refilter(); });
  $("f-merged").addEventListener("change", function () { filt.merged = this.checked; refilter(); });

  // ---------------------------------------------------------------- header, start
  function header() {
    var T = D.totals, parts = [plural(T.docs, "document"), plural(T.pairs, "pair"),
      T.unEn + " English and " + T.unAr + " Arabic sentences unaligned", T.merged + " merged beads",
      "mean " + D.metric + " " + fmt4(T.mean)];
    if (T.moved) parts.splice(4, 0, T.moved + " moved");
    if (D.run) parts.push("aligner " + (D.run.version || "?") + ", encoder " + (D.run.encoder || "?"));
    $("summary").textContent = parts.join(" · ");
    $("metric-label").textContent = D.metric;
    if (D.failed.length) {
      var box = $("failed"), list = box.querySelector("ul");
      box.querySelector("summary").textContent = plural(D.failed.length, "document") + " could not be aligned";
      D.failed.forEach(function (f) { list.appendChild(el("li", null, f.doc_id + ": " + f.error)); });
      box.hidden = false;
    }
    var legend = $("legend"), names = ["poor", "weak", "fair", "good", "very good"];
    legend.appendChild(el("span", null, D.metric + ":"));
    for (var b = 0; b <= BANDS.length; b++) {
      var lo = b === 0 ? null : BANDS[BANDS.length - b], hi = b === BANDS.length ? null : BANDS[BANDS.length - b - 1];
      var item = el("span"), sw = el("span", "sw");
      sw.style.background = "var(--q" + b + "s)";
      item.appendChild(sw);
      item.appendChild(document.createTextNode(names[b] + " " +
        (lo == null ? "< " + hi : hi == null ? "≥ " + lo : lo + "–" + hi)));
      legend.appendChild(item);
    }
    var un = el("span"), sw2 = el("span", "sw");
    sw2.style.background = "var(--qns)";
    un.appendChild(sw2);
    un.appendChild(document.createTextNode("unaligned"));
    legend.appendChild(un);
  }

  header();
  applyFilters();
  var m = /^#doc=(.*)$/.exec(location.hash);
  if (m) {
    // A malformed fragment (#doc=%E0%A4) makes decodeURIComponent throw: ignore it, show the first document.
    var wanted = null;
    try { wanted = decodeURIComponent(m[1]); } catch (e) { wanted = null; }
    for (var d = 0; wanted !== null && d < docs.length; d++) if (docs[d].id === wanted) { state.doc = d; break; }
  }
  renderDoc();
  scrollListTo(state.doc);
  renderList();
  window.__review = { docs: docs.length, rowsPerPage: PAGE };
})();
