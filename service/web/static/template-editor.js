// The template editor: a teacher's blank pages with their answer regions drawn over them.
// Regions live in page points (the blank's own coordinates), drawn by an SVG whose viewBox
// is the page, laid over the image, so they scale with it. A region can be selected (on the
// page or in the side list), moved, resized by its corners and edges, deleted, or drawn by
// dragging on an empty part of the page; the side list numbers the answer regions in
// reading order (across the pages) and holds each answer. Keyboard: Tab goes through the
// list, Delete removes the selected region, Enter in an answer goes to the next one, Escape
// drops the selection. A template has up to 8 pages: "add a page" uploads the next blank
// (its places found by the server), the page tabs switch between them, each keeping its own
// regions. A school's OMRChecker template.json, chosen for the page shown, places its bubble
// rows and bubbled student number (the server reads it). On save every page's regions go,
// as JSON, into the form's hidden "state" field; the server builds the template from it
// (service/web/templates_body.py).
(function () {
  "use strict";
  const root = document.querySelector("[data-testid=template-editor]");
  const dataNode = document.getElementById("template-data");
  if (!root || !dataNode) { return; }
  document.documentElement.classList.add("js");
  const data = JSON.parse(dataNode.textContent);
  const T = data.text;
  let W = data.pages[0].width_pt;
  let H = data.pages[0].height_pt;
  const MIN_SIDE = 3 * 72 / 25.4;  // the service's smallest region: 3 mm a side
  const ANSWER = { written: true, bubbles: true };
  const LETTERS = "ABCDEFGH";
  const SVG = "http://www.w3.org/2000/svg";

  const form = document.getElementById("tpl-form");
  const image = document.getElementById("tpl-image");
  const tabs = document.getElementById("tpl-tabs");
  const addPageButton = document.getElementById("tpl-add-page");
  const pageFile = document.getElementById("tpl-page-file");
  const removePageButton = document.getElementById("tpl-remove-page");
  const pageStatus = document.getElementById("tpl-page-status");
  const omrFile = document.getElementById("tpl-omr-file");
  const omrError = document.getElementById("tpl-omr-error");
  const omrStatus = document.getElementById("tpl-omr-status");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const stateField = document.getElementById("tpl-state");
  const stage = document.getElementById("tpl-stage");
  const list = document.getElementById("tpl-list");
  const live = document.getElementById("tpl-live");
  const count = document.getElementById("tpl-count");
  const drawButton = document.getElementById("tpl-draw");
  const classSelect = document.getElementById("tpl-class");
  const kpDefault = document.getElementById("tpl-kp-default");
  const detail = {
    none: document.getElementById("tpl-detail-none"),
    fields: document.getElementById("tpl-detail-fields"),
    kind: document.getElementById("tpl-kind"),
    keyKind: document.getElementById("tpl-key-kind"),
    options: document.getElementById("tpl-options"),
    kp: document.getElementById("tpl-kp"),
    score: document.getElementById("tpl-score"),
    alternatives: document.getElementById("tpl-alternatives"),
    digits: document.getElementById("tpl-digits"),
    remove: document.getElementById("tpl-delete"),
  };

  let serial = 0;
  let selected = null;
  let drawMode = false;
  let drag = null;
  let defaultKp = "";
  let lastKeyKind = "numeric";
  let dirty = false;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }

  function announce(text) { if (live) { live.textContent = text; } }

  function classDigits() {
    const option = classSelect && classSelect.selectedOptions[0];
    return option ? Number(option.dataset.digits) || data.digits : data.digits;
  }

  // ---- the pages and their regions ---------------------------------------------------
  function makeRegion(r, problems) {
    return {
      uid: "r" + (serial++), kind: r.kind, box: r.box.slice(), bubbles: (r.bubbles || []).map(function (b) { return b.slice(); }),
      grid: (r.grid || []).map(function (g) { return { place: g.place, digit: g.digit, box: g.box.slice() }; }),
      label: r.label || "", sheet_number: r.sheet_number || null, key_kind: r.key_kind || "numeric", answer: r.answer || "", alternatives: r.alternatives || "",
      kp: r.kp || "", score: r.score || 1,
      digits: r.digits || (r.kind === "student_number" ? classDigits() : null), origin: r.origin || "drawn",
      problems: problems || [],
    };
  }

  const pages = data.pages.map(function (p, pi) {
    const state = data.state.pages[pi] || { regions: [] };
    return {
      blank_id: p.blank_id, W: p.width_pt, H: p.height_pt, image: p.image,
      regions: state.regions.map(function (r, i) {
        return makeRegion(r, data.problems.filter(function (q) { return q.page === pi && q.index === i; })
          .map(function (q) { return q.message; }));
      }),
    };
  });
  // The server's problem links name the posted order of each page.
  const byIndex = pages.map(function (p) { return p.regions.slice(); });
  let current = 0;
  let regions = pages[0].regions;

  function byUid(uid) { return regions.find(function (r) { return r.uid === uid; }) || null; }

  function pageOf(r) { return pages.findIndex(function (p) { return p.regions.indexOf(r) >= 0; }); }

  function labels(r) {
    if (r.key_kind === "true_false" && r.bubbles.length === 2) { return ["T", "F"]; }
    return LETTERS.slice(0, r.bubbles.length).split("");
  }

  function spread(box, n) {
    const w = (box[2] - box[0]) / n;
    const d = Math.min((box[3] - box[1]) * 0.8, w * 0.7);
    const cy = (box[1] + box[3]) / 2;
    const out = [];
    for (let i = 0; i < n; i++) {
      const cx = box[0] + w * (i + 0.5);
      out.push([cx - d / 2, cy - d / 2, cx + d / 2, cy + d / 2]);
    }
    return out;
  }

  // Reading order: rows top to bottom (a region joins a row it shares at least half its
  // height with), left to right in a row.
  function order() {
    const byTop = regions.slice().sort(function (a, b) { return (a.box[1] + a.box[3]) - (b.box[1] + b.box[3]); });
    const rows = [];
    byTop.forEach(function (r) {
      const row = rows[rows.length - 1];
      const h = r.box[3] - r.box[1];
      if (row) {
        const shared = Math.min(row.y1, r.box[3]) - Math.max(row.y0, r.box[1]);
        if (shared >= 0.5 * Math.min(h, row.y1 - row.y0)) { row.items.push(r); return; }
      }
      rows.push({ y0: r.box[1], y1: r.box[3], items: [r] });
    });
    regions = [];
    rows.forEach(function (row) {
      row.items.sort(function (a, b) { return a.box[0] - b.box[0]; });
      regions = regions.concat(row.items);
    });
    // An imported answer sheet's rows keep the sheet's own order (its columns run down
    // q1-q10, then q11-q20) in the places they take among the page's regions.
    const sheet = regions.filter(function (r) { return r.sheet_number; });
    if (sheet.length > 1) {
      const sorted = sheet.slice().sort(function (a, b) { return a.sheet_number - b.sheet_number; });
      let k = 0;
      regions = regions.map(function (r) { return r.sheet_number ? sorted[k++] : r; });
    }
    pages[current].regions = regions;
  }

  // Questions are numbered across the pages, as the template numbers them.
  function numbers() {
    const out = {};
    let n = 0;
    pages.forEach(function (p) { p.regions.forEach(function (r) { if (ANSWER[r.kind]) { out[r.uid] = ++n; } }); });
    return out;
  }

  function caption(r, n) {
    if (ANSWER[r.kind]) { return fill(T.question, { number: n[r.uid] }); }
    return T["region_" + r.kind];
  }

  // ---- drawing on the page -----------------------------------------------------------
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "tpl-overlay");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("data-testid", "template-overlay");
  stage.appendChild(svg);

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function scale() {
    const width = svg.getBoundingClientRect().width;
    return width > 0 ? width / W : 1;
  }

  function drawSvg() {
    const s = scale();
    const coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    const font = (s >= 1 ? 13 : 10) / s;  // labels a little smaller on a narrow page
    const handle = (coarse ? 22 : 11) / s;
    const n = numbers();
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    svg.classList.toggle("tpl-grab", drawMode || selected !== null);
    regions.forEach(function (r) {
      const cls = ["tpl-region", "kind-" + r.kind];
      if (r === selected) { cls.push("is-selected"); }
      if (r.problems.length) { cls.push("has-problem"); }
      const g = el("g", { "class": cls.join(" "), "data-uid": r.uid }, svg);
      const [x0, y0, x1, y1] = r.box;
      el("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, "class": "tpl-box" }, g);
      if (r.kind === "bubbles") {
        const names = labels(r);
        r.bubbles.forEach(function (b, i) {
          el("ellipse", { cx: (b[0] + b[2]) / 2, cy: (b[1] + b[3]) / 2, rx: (b[2] - b[0]) / 2, ry: (b[3] - b[1]) / 2, "class": "tpl-bubble" }, g);
          const t = el("text", { x: (b[0] + b[2]) / 2, y: (b[1] + b[3]) / 2, "font-size": font * 0.8, "class": "tpl-bubble-label" }, g);
          t.textContent = names[i] || "";
        });
      }
      if (r.kind === "number_grid") {
        r.grid.forEach(function (c) {
          const b = c.box;
          el("ellipse", { cx: (b[0] + b[2]) / 2, cy: (b[1] + b[3]) / 2, rx: (b[2] - b[0]) / 2, ry: (b[3] - b[1]) / 2, "class": "tpl-bubble" }, g);
        });
      }
      if (r.kind === "student_number" && r.digits > 1) {
        const w = (x1 - x0) / r.digits;
        for (let i = 1; i < r.digits; i++) {
          el("line", { x1: x0 + w * i, y1: y0, x2: x0 + w * i, y2: y1, "class": "tpl-cell" }, g);
        }
      }
      const inside = y1 - y0 >= font * 1.3;
      const label = el("text", { x: x0 + 2 / s, y: inside ? y0 + font : y0 - 2 / s, "font-size": font, "class": "tpl-label" }, g);
      label.textContent = ANSWER[r.kind] ? String(n[r.uid]) : T["kind." + r.kind];
    });
    if (selected) {
      const [x0, y0, x1, y1] = selected.box;
      const xm = (x0 + x1) / 2;
      const ym = (y0 + y1) / 2;
      const spots = { nw: [x0, y0], n: [xm, y0], ne: [x1, y0], e: [x1, ym], se: [x1, y1], s: [xm, y1], sw: [x0, y1], w: [x0, ym] };
      Object.keys(spots).forEach(function (k) {
        el("rect", { x: spots[k][0] - handle / 2, y: spots[k][1] - handle / 2, width: handle, height: handle,
                     "class": "tpl-handle h-" + k, "data-handle": k }, svg);
      });
    }
    if (drag && drag.mode === "draw") {
      const b = drag.box;
      el("rect", { x: Math.min(b[0], b[2]), y: Math.min(b[1], b[3]), width: Math.abs(b[2] - b[0]),
                   height: Math.abs(b[3] - b[1]), "class": "tpl-drawing" }, svg);
    }
  }

  // ---- the side list -----------------------------------------------------------------
  function answerControl(r, n) {
    let control;
    if (r.key_kind === "true_false" || r.key_kind === "choice") {
      control = document.createElement("select");
      const choices = r.key_kind === "true_false" ? [["true", T["true"]], ["false", T["false"]]]
        : (r.kind === "bubbles" ? labels(r) : LETTERS.split("")).map(function (l) { return [l, l]; });
      [["", "—"]].concat(choices).forEach(function (c) {
        const o = document.createElement("option");
        o.value = c[0];
        o.textContent = c[1];
        control.appendChild(o);
      });
      control.value = r.answer;
      if (control.value !== r.answer) { r.answer = ""; control.value = ""; }
    } else {
      control = document.createElement("input");
      control.type = "text";
      control.maxLength = 200;
      control.placeholder = T.answer;
      control.value = r.answer;
      control.autocomplete = "off";
    }
    control.className = "tpl-answer";
    control.setAttribute("aria-label", fill(T.answer_for, { number: n[r.uid] }));
    control.setAttribute("data-testid", "template-answer");
    return control;
  }

  function places(r) {
    const seen = {};
    r.grid.forEach(function (c) { seen[c.place] = true; });
    return Object.keys(seen).length;
  }

  function rowText(r) {
    const kind = T["kind." + r.kind];
    const label = r.label ? "（" + r.label + "）" : "";
    if (ANSWER[r.kind]) { return kind + " · " + T["key." + r.key_kind] + label; }
    if (r.kind === "student_number") { return kind + " · " + fill(T.digits_value, { digits: r.digits || "?" }); }
    if (r.kind === "number_grid") { return kind + " · " + fill(T.grid_value, { places: places(r) }) + label; }
    return r.kind === "skip" ? T.region_skip : kind;
  }

  function row(r, n) {
    const li = document.createElement("li");
    li.className = "tpl-item kind-" + r.kind + (r === selected ? " is-selected" : "") + (r.problems.length ? " has-problem" : "");
    li.tabIndex = 0;
    li.dataset.uid = r.uid;
    li.setAttribute("data-testid", "template-region");
    if (r === selected) { li.setAttribute("aria-current", "true"); }
    const badge = document.createElement("span");
    badge.className = "tpl-badge";
    badge.textContent = ANSWER[r.kind] ? String(n[r.uid]) : "·";
    const what = document.createElement("span");
    what.className = "tpl-item-kind";
    what.textContent = (ANSWER[r.kind] ? fill(T.question, { number: n[r.uid] }) + " " : "") + rowText(r);
    li.append(badge, what);
    if (ANSWER[r.kind]) { li.appendChild(answerControl(r, n)); }
    const x = document.createElement("button");
    x.type = "button";
    x.className = "tpl-x";
    x.tabIndex = -1;
    x.textContent = "×";
    x.setAttribute("aria-label", T["delete"] + " " + caption(r, n));
    x.title = T.delete_region;
    li.appendChild(x);
    r.problems.forEach(function (p) {
      const note = document.createElement("p");
      note.className = "tpl-item-problem";
      note.textContent = p;
      li.appendChild(note);
    });
    return li;
  }

  function renderList() {
    const focused = document.activeElement;
    const keep = focused && list.contains(focused) ? focused.closest("li").dataset.uid : null;
    const wasAnswer = focused && focused.classList && focused.classList.contains("tpl-answer");
    const n = numbers();
    list.replaceChildren.apply(list, regions.map(function (r) { return row(r, n); }));
    if (!regions.length) {
      const empty = document.createElement("li");
      empty.className = "tpl-empty hint";
      empty.textContent = T.no_regions;
      list.appendChild(empty);
    }
    if (count) { count.textContent = fill(count.dataset.text, { count: regions.length }); }
    if (keep) {
      const li = list.querySelector('[data-uid="' + keep + '"]');
      const target = li && (wasAnswer ? li.querySelector(".tpl-answer") : li);
      if (target) { target.focus({ preventScroll: true }); }
    }
  }

  function rowOf(r) { return r ? list.querySelector('[data-uid="' + r.uid + '"]') : null; }

  function refreshRow(r) {
    const old = rowOf(r);
    if (!old) { return; }
    const fresh = row(r, numbers());
    old.replaceWith(fresh);
  }

  function showDetail() {
    const r = selected;
    detail.none.hidden = r !== null;
    detail.fields.hidden = r === null;
    if (!r) { return; }
    Array.from(detail.kind.options).forEach(function (o) {
      o.disabled = o.value === "number_grid" && !r.grid.length;  // only an imported grid
    });
    detail.kind.value = r.kind;
    const answer = !!ANSWER[r.kind];
    Array.from(detail.keyKind.options).forEach(function (o) {
      o.disabled = r.kind === "bubbles" && o.value !== "choice" && o.value !== "true_false";
    });
    detail.keyKind.value = r.key_kind;
    detail.options.value = String(r.bubbles.length);
    detail.kp.value = r.kp;
    detail.score.value = String(r.score);
    detail.alternatives.value = r.alternatives;
    detail.digits.value = r.digits ? String(r.digits) : "";
    detail.fields.querySelectorAll("[data-for]").forEach(function (div) {
      const f = div.dataset.for;
      div.hidden = !(f === "answer" ? answer
        : f === "bubbles" ? r.kind === "bubbles"
        : f === "alternatives" ? r.kind === "written" && (r.key_kind === "numeric" || r.key_kind === "text")
        : r.kind === "student_number");
    });
  }

  function select(r, opts) {
    opts = opts || {};
    selected = r;
    list.querySelectorAll(".tpl-item").forEach(function (li) {
      const on = r !== null && li.dataset.uid === r.uid;
      li.classList.toggle("is-selected", on);
      if (on) { li.setAttribute("aria-current", "true"); } else { li.removeAttribute("aria-current"); }
    });
    drawSvg();
    showDetail();
    if (!r) { return; }
    if (opts.scrollList) {
      const li = rowOf(r);
      if (li) { li.scrollIntoView({ block: "nearest" }); }
    }
    if (opts.scrollPage) {
      const g = svg.querySelector('[data-uid="' + r.uid + '"]');
      if (g) { g.scrollIntoView({ block: "nearest" }); }
    }
    if (opts.focusRow) { const li = rowOf(r); if (li) { li.focus(); } }
  }

  // The refused save's summary: a region fixed since drops out of it, and the summary
  // goes once nothing in it is left.
  function refreshSummary() {
    const summary = document.querySelector("[data-testid=template-problems]");
    if (!summary) { return; }
    summary.querySelectorAll(".tpl-goto[data-region]").forEach(function (button) {
      const r = (byIndex[Number(button.dataset.page)] || [])[Number(button.dataset.region)];
      button.hidden = !r || pageOf(r) < 0 || !r.problems.length;
    });
    let open = 0;
    summary.querySelectorAll("li").forEach(function (li) {
      const links = li.querySelectorAll(".tpl-goto");
      const left = li.querySelector("strong") || Array.from(links).some(function (b) { return !b.hidden; });
      li.hidden = !left;
      if (left) { open++; }
    });
    summary.hidden = open === 0;
  }

  function changed(r) {
    dirty = true;
    if (r.problems.length) { r.problems = []; announce(T.problem_cleared); refreshSummary(); renderTabs(); }
  }

  function remove(r) {
    const i = regions.indexOf(r);
    if (i < 0) { return; }
    regions.splice(i, 1);
    selected = null;
    dirty = true;
    refreshSummary();
    renderList();
    const next = regions[i] || regions[i - 1] || null;
    select(next, { focusRow: true });
    announce(T.deleted);
  }

  function add(box) {
    const r = makeRegion({ kind: "written", box: box, key_kind: lastKeyKind, kp: defaultKp });
    regions.push(r);
    dirty = true;
    order();
    renderList();
    select(r, { scrollList: true });
    announce(T.added);
  }

  function setKind(r, kind) {
    if (r.kind === "number_grid" && kind !== "number_grid") { r.grid = []; }
    r.kind = kind;
    if (kind === "bubbles") {
      if (r.key_kind !== "choice" && r.key_kind !== "true_false") { r.key_kind = "choice"; r.answer = ""; }
      if (r.bubbles.length < 2) { r.bubbles = spread(r.box, r.key_kind === "true_false" ? 2 : 4); }
    }
    if (kind === "student_number" && !r.digits) { r.digits = classDigits(); }
    if (ANSWER[kind] && !r.kp) { r.kp = defaultKp; }
    changed(r);
    renderList();
    select(r);
  }

  // ---- pointer: select, move, resize, draw -------------------------------------------
  function toPt(ev) {
    const box = svg.getBoundingClientRect();
    return { x: Math.max(0, Math.min(W, (ev.clientX - box.left) * W / box.width)),
             y: Math.max(0, Math.min(H, (ev.clientY - box.top) * H / box.height)) };
  }

  function setGrid(r, boxes) {
    r.grid.forEach(function (c, i) { c.box = boxes[i]; });
  }

  function mapBubbles(from, to, bubbles) {
    const sx = (to[2] - to[0]) / Math.max(1e-6, from[2] - from[0]);
    const sy = (to[3] - to[1]) / Math.max(1e-6, from[3] - from[1]);
    return bubbles.map(function (b) {
      return [to[0] + (b[0] - from[0]) * sx, to[1] + (b[1] - from[1]) * sy,
              to[0] + (b[2] - from[0]) * sx, to[1] + (b[3] - from[1]) * sy];
    });
  }

  svg.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) { return; }
    const p = toPt(ev);
    const handle = ev.target.closest("[data-handle]");
    const g = ev.target.closest("[data-uid]");
    if (handle && selected) {
      drag = { mode: "resize", handle: handle.dataset.handle, r: selected };
    } else if (g) {
      const r = byUid(g.dataset.uid);
      select(r, { scrollList: true });
      drag = { mode: "move", r: r };
    } else if (ev.pointerType !== "touch" || drawMode) {
      drag = { mode: "draw", box: [p.x, p.y, p.x, p.y] };
    } else {
      select(null);
      return;
    }
    drag.start = p;
    drag.moved = false;
    if (drag.r) {
      drag.box0 = drag.r.box.slice();
      drag.bubbles0 = drag.r.bubbles.map(function (b) { return b.slice(); });
      drag.grid0 = drag.r.grid.map(function (c) { return c.box.slice(); });
    }
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });

  svg.addEventListener("pointermove", function (ev) {
    if (!drag) { return; }
    const p = toPt(ev);
    const dx = p.x - drag.start.x;
    const dy = p.y - drag.start.y;
    if (Math.abs(dx) + Math.abs(dy) > 1) { drag.moved = true; }
    if (drag.mode === "draw") {
      drag.box[2] = p.x;
      drag.box[3] = p.y;
    } else if (drag.mode === "move") {
      const b = drag.box0;
      const mx = Math.max(-b[0], Math.min(W - b[2], dx));
      const my = Math.max(-b[1], Math.min(H - b[3], dy));
      drag.r.box = [b[0] + mx, b[1] + my, b[2] + mx, b[3] + my];
      drag.r.bubbles = drag.bubbles0.map(function (q) { return [q[0] + mx, q[1] + my, q[2] + mx, q[3] + my]; });
      setGrid(drag.r, drag.grid0.map(function (q) { return [q[0] + mx, q[1] + my, q[2] + mx, q[3] + my]; }));
    } else {
      const b = drag.box0.slice();
      const h = drag.handle;
      if (h.indexOf("w") >= 0) { b[0] = Math.min(p.x, b[2] - MIN_SIDE); }
      if (h.indexOf("e") >= 0) { b[2] = Math.max(p.x, b[0] + MIN_SIDE); }
      if (h.indexOf("n") >= 0) { b[1] = Math.min(p.y, b[3] - MIN_SIDE); }
      if (h.indexOf("s") >= 0) { b[3] = Math.max(p.y, b[1] + MIN_SIDE); }
      drag.r.box = b;
      drag.r.bubbles = mapBubbles(drag.box0, b, drag.bubbles0);
      setGrid(drag.r, mapBubbles(drag.box0, b, drag.grid0));
    }
    drawSvg();
  });

  function endDrag(ev, cancelled) {
    if (!drag) { return; }
    const d = drag;
    drag = null;
    if (svg.hasPointerCapture(ev.pointerId)) { svg.releasePointerCapture(ev.pointerId); }
    if (d.mode === "draw") {
      const box = [Math.min(d.box[0], d.box[2]), Math.min(d.box[1], d.box[3]),
                   Math.max(d.box[0], d.box[2]), Math.max(d.box[1], d.box[3])];
      if (!cancelled && box[2] - box[0] >= MIN_SIDE && box[3] - box[1] >= MIN_SIDE) {
        add(box);
        setDrawMode(false);
      } else {
        select(null);
      }
      return;
    }
    if (cancelled) {
      d.r.box = d.box0;
      d.r.bubbles = d.bubbles0;
      setGrid(d.r, d.grid0);
    } else if (d.moved) {
      changed(d.r);
      order();
      renderList();
    }
    select(d.r);
  }

  svg.addEventListener("pointerup", function (ev) { endDrag(ev, false); });
  svg.addEventListener("pointercancel", function (ev) { endDrag(ev, true); });

  function setDrawMode(on) {
    drawMode = on;
    drawButton.setAttribute("aria-pressed", on ? "true" : "false");
    stage.classList.toggle("is-drawing", on);
    drawSvg();
  }

  drawButton.addEventListener("click", function () { setDrawMode(!drawMode); });

  // ---- the list and the keyboard -----------------------------------------------------
  const STEP = 2;  // points per key press
  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  // Shift+arrow moves the region; Ctrl+Shift+arrow resizes it (right and down grow it).
  function nudge(r, d, resize) {
    const b = r.box.slice();
    const from = r.box.slice();
    if (resize) {
      b[2] = Math.max(b[0] + MIN_SIDE, Math.min(W, b[2] + d[0] * STEP));
      b[3] = Math.max(b[1] + MIN_SIDE, Math.min(H, b[3] + d[1] * STEP));
    } else {
      const dx = Math.max(-b[0], Math.min(W - b[2], d[0] * STEP));
      const dy = Math.max(-b[1], Math.min(H - b[3], d[1] * STEP));
      b[0] += dx; b[2] += dx; b[1] += dy; b[3] += dy;
    }
    r.box = b;
    r.bubbles = mapBubbles(from, b, r.bubbles);
    setGrid(r, mapBubbles(from, b, r.grid.map(function (c) { return c.box; })));
    changed(r);
    order();
    renderList();  // keeps the focus on this region's row
    select(r);
  }

  list.addEventListener("focusin", function (ev) {
    const li = ev.target.closest(".tpl-item");
    if (!li) { return; }
    const r = byUid(li.dataset.uid);
    if (r && r !== selected) { select(r, { scrollPage: true }); }
  });

  list.addEventListener("click", function (ev) {
    const li = ev.target.closest(".tpl-item");
    if (!li) { return; }
    const r = byUid(li.dataset.uid);
    if (ev.target.closest(".tpl-x")) { remove(r); return; }
    if (r !== selected) { select(r, { scrollPage: true }); }
  });

  list.addEventListener("input", function (ev) {
    if (!ev.target.classList.contains("tpl-answer")) { return; }
    const r = byUid(ev.target.closest(".tpl-item").dataset.uid);
    r.answer = ev.target.value.trim();
    dirty = true;
    if (r.problems.length) {
      changed(r);
      const li = ev.target.closest(".tpl-item");
      li.classList.remove("has-problem");
      li.querySelectorAll(".tpl-item-problem").forEach(function (p) { p.remove(); });
      drawSvg();
    }
  });

  list.addEventListener("keydown", function (ev) {
    const li = ev.target.closest(".tpl-item");
    if (!li) { return; }
    const r = byUid(li.dataset.uid);
    if (ev.target.classList.contains("tpl-answer")) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        const i = regions.indexOf(r);
        const next = regions.slice(i + 1).find(function (q) { return ANSWER[q.kind]; });
        const target = next && rowOf(next).querySelector(".tpl-answer");
        if (target) { target.focus(); }
      } else if (ev.key === "Escape") {
        li.focus();
      }
      return;
    }
    if (ev.target !== li) { return; }
    if (ev.shiftKey && ARROWS[ev.key]) {
      ev.preventDefault();
      nudge(r, ARROWS[ev.key], ev.ctrlKey || ev.metaKey);
      return;
    }
    if (ev.key === "Delete" || ev.key === "Backspace") {
      ev.preventDefault();
      remove(r);
    } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const sibling = ev.key === "ArrowDown" ? li.nextElementSibling : li.previousElementSibling;
      if (sibling && sibling.classList.contains("tpl-item")) { sibling.focus(); }
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      const answer = li.querySelector(".tpl-answer");
      if (answer) { answer.focus(); }
    }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented) { return; }  // the list handled it (its row may be gone now)
    const typing = ev.target.closest && ev.target.closest("input, select, textarea, [contenteditable]");
    if (ev.key === "Escape") {
      if (drag) { return; }
      if (drawMode) { setDrawMode(false); } else if (!typing) { select(null); }
      return;
    }
    if (typing || list.contains(ev.target)) { return; }
    if ((ev.key === "Delete" || ev.key === "Backspace") && selected) {
      ev.preventDefault();
      remove(selected);
    }
  });

  // ---- the selected region's details -------------------------------------------------
  detail.kind.addEventListener("change", function () { if (selected) { setKind(selected, detail.kind.value); } });

  detail.keyKind.addEventListener("change", function () {
    const r = selected;
    if (!r) { return; }
    r.key_kind = detail.keyKind.value;
    lastKeyKind = r.key_kind;
    r.answer = "";
    if (r.kind === "bubbles" && r.key_kind === "true_false" && r.bubbles.length !== 2) {
      r.bubbles = spread(r.box, 2);
      announce(T.options_regenerated);
    }
    changed(r);
    refreshRow(r);
    select(r);
  });

  detail.options.addEventListener("change", function () {
    const r = selected;
    const n = Math.max(2, Math.min(8, Math.round(Number(detail.options.value)) || 2));
    if (!r || n === r.bubbles.length) { return; }
    r.bubbles = spread(r.box, n);
    if (r.key_kind === "true_false" && n !== 2) { r.key_kind = "choice"; }
    changed(r);
    refreshRow(r);
    select(r);
    announce(T.options_regenerated);
  });

  detail.kp.addEventListener("change", function () { if (selected) { selected.kp = detail.kp.value; changed(selected); refreshRow(selected); drawSvg(); } });
  detail.score.addEventListener("change", function () { if (selected) { selected.score = Number(detail.score.value) || 1; changed(selected); } });
  detail.alternatives.addEventListener("input", function () { if (selected) { selected.alternatives = detail.alternatives.value; } });
  detail.digits.addEventListener("change", function () {
    if (!selected) { return; }
    selected.digits = Math.round(Number(detail.digits.value)) || null;
    changed(selected);
    refreshRow(selected);
    drawSvg();
  });
  detail.remove.addEventListener("click", function () { if (selected) { remove(selected); } });

  if (kpDefault) {
    kpDefault.addEventListener("change", function () {
      defaultKp = kpDefault.value;
      pages.forEach(function (p) { p.regions.forEach(function (r) { if (ANSWER[r.kind] && !r.kp) { r.kp = defaultKp; } }); });
      showDetail();
    });
    // After a refused save, the page's most used knowledge point is the default again.
    const used = {};
    pages.forEach(function (p) { p.regions.forEach(function (r) { if (r.kp) { used[r.kp] = (used[r.kp] || 0) + 1; } }); });
    const top = Object.keys(used).sort(function (a, b) { return used[b] - used[a]; })[0];
    if (top) { kpDefault.value = top; defaultKp = kpDefault.value; }
  }

  if (classSelect) {
    let digits = classDigits();
    classSelect.addEventListener("change", function () {
      const now = classDigits();
      pages.forEach(function (p) { p.regions.forEach(function (r) { if (r.kind === "student_number" && r.digits === digits) { r.digits = now; } }); });
      digits = now;
      renderList();
      select(selected);
    });
  }

  document.querySelectorAll(".tpl-goto[data-page]").forEach(function (button) {
    button.addEventListener("click", function () {
      const p = Number(button.dataset.page);
      if (!button.dataset.region) { if (pages[p]) { showPage(p); } return; }
      const r = (byIndex[p] || [])[Number(button.dataset.region)];
      const at = r ? pageOf(r) : -1;
      if (at < 0) { return; }
      if (at !== current) { showPage(at); }
      select(r, { scrollList: true, scrollPage: true, focusRow: true });
    });
  });

  // ---- pages: switch, add (upload the next blank), remove ------------------------------
  function pageHasProblems(p) {
    return p.regions.some(function (r) { return r.problems.length > 0; });
  }

  function renderTabs() {
    const focusedTab = document.activeElement && tabs.contains(document.activeElement);
    tabs.replaceChildren.apply(tabs, pages.map(function (p, i) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tpl-tab" + (i === current ? " is-current" : "") + (pageHasProblems(p) ? " has-problem" : "");
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", i === current ? "true" : "false");
      b.dataset.page = String(i);
      b.textContent = fill(T.page_n, { page: i + 1 });
      if (pageHasProblems(p)) {
        b.title = T.page_problems;
        b.setAttribute("aria-label", fill(T.page_n, { page: i + 1 }) + "（" + T.page_problems + "）");
      }
      return b;
    }));
    if (focusedTab) { const b = tabs.querySelector(".is-current"); if (b) { b.focus(); } }
    const full = pages.length >= data.max_pages;
    addPageButton.disabled = full;
    addPageButton.title = full ? fill(T.page_full, { count: data.max_pages }) : "";
    removePageButton.hidden = pages.length < 2;
  }

  function showPage(k) {
    pages[current].regions = regions;
    current = k;
    const p = pages[k];
    regions = p.regions;
    W = p.W;
    H = p.H;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    image.src = p.image;
    image.width = Math.round(W);
    image.height = Math.round(H);
    selected = null;
    if (drawMode) { setDrawMode(false); }
    if (omrError) { omrError.hidden = true; omrFile.removeAttribute("aria-invalid"); }
    if (omrStatus) { omrStatus.textContent = ""; }
    order();
    renderTabs();
    renderList();
    select(null);
    announce(fill(T.page_shown, { page: k + 1 }));
  }

  tabs.addEventListener("click", function (ev) {
    const b = ev.target.closest(".tpl-tab");
    if (b && Number(b.dataset.page) !== current) { showPage(Number(b.dataset.page)); }
  });

  tabs.addEventListener("keydown", function (ev) {
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") { return; }
    ev.preventDefault();
    const k = current + (ev.key === "ArrowRight" ? 1 : -1);
    if (k >= 0 && k < pages.length) { showPage(k); tabs.querySelector(".is-current").focus(); }
  });

  function failure(body, status) {
    const message = (body && body.message) || T.network_error;
    const code = (body && body.error) || (status ? "http_" + status : "network");
    return { message: message, code: code, detail: (body && body.detail) || "" };
  }

  function post(url, formData) {
    return fetch(url, { method: "POST", body: formData, credentials: "same-origin",
                        headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok || !body) { throw failure(body, response.status); }
          return body;
        });
      }, function () { throw failure(null, 0); });
  }

  // A refusal shown where it happened: the words for the teacher, the code and the
  // server's own text kept small beneath (for whoever helps them).
  function showError(node, f) {
    node.replaceChildren();
    const p = document.createElement("p");
    p.textContent = f.message;
    node.appendChild(p);
    const small = document.createElement("p");
    small.className = "tpl-detail";
    small.textContent = f.code + (f.detail ? "：" + f.detail : "");
    small.setAttribute("data-testid", "template-error-code");
    node.appendChild(small);
    node.hidden = false;
  }

  addPageButton.addEventListener("click", function () {
    if (pages.length < data.max_pages) { pageFile.click(); }
  });

  pageFile.addEventListener("change", function () {
    const file = pageFile.files && pageFile.files[0];
    if (!file) { return; }
    const body = new FormData();
    body.append("csrf_token", csrf);
    body.append("file", file, file.name);
    // A photo's paper is taken to be the first page's.
    body.append("page_size", Math.abs(pages[0].W - 612) < Math.abs(pages[0].W - 595) ? "Letter" : "A4");
    pageStatus.className = "tpl-page-status";
    pageStatus.textContent = T.page_uploading;
    addPageButton.disabled = true;
    post("/worksheets/templates/" + data.blank_id + "/pages", body).then(function (out) {
      pageFile.value = "";
      pages.push({ blank_id: out.page.blank_id, W: out.page.width_pt, H: out.page.height_pt, image: out.page.image,
                   regions: out.regions.map(function (r) {
                     const made = makeRegion(r);
                     if (ANSWER[made.kind] && !made.kp) { made.kp = defaultKp; }
                     return made;
                   }) });
      byIndex.push([]);
      dirty = true;
      showPage(pages.length - 1);
      pageStatus.textContent = fill(T.page_added, { page: pages.length, count: out.page.proposed });
    }, function (f) {
      pageFile.value = "";
      pageStatus.className = "tpl-page-status field-error";
      showError(pageStatus, f);
      renderTabs();
    });
  });

  removePageButton.addEventListener("click", function () {
    if (pages.length < 2) { return; }
    if (!window.confirm(fill(T.page_remove_confirm, { page: current + 1 }))) { return; }
    pages.splice(current, 1);
    byIndex.splice(current, 1);
    dirty = true;
    current = Math.min(current, pages.length - 1);
    regions = pages[current].regions;
    showPage(current);
    pageStatus.className = "tpl-page-status";
    pageStatus.textContent = T.page_removed;
    refreshSummary();
  });

  // ---- a school's OMRChecker template.json onto the page shown -------------------------
  function overlap(a, b) {
    const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
    const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
    if (w <= 0 || h <= 0) { return 0; }
    const area = function (x) { return (x[2] - x[0]) * (x[3] - x[1]); };
    return w * h / Math.max(1e-6, Math.min(area(a), area(b)));
  }

  if (omrFile) {
    omrFile.addEventListener("change", function () {
      const file = omrFile.files && omrFile.files[0];
      if (!file) { return; }
      const page = current;
      const body = new FormData();
      body.append("csrf_token", csrf);
      body.append("file", file, file.name);
      omrError.hidden = true;
      omrFile.removeAttribute("aria-invalid");
      omrStatus.textContent = T.omr_reading;
      post("/worksheets/templates/" + pages[page].blank_id + "/omr", body).then(function (out) {
        omrFile.value = "";
        if (page !== current) { showPage(page); }
        const made = out.regions.map(function (r) {
          const m = makeRegion(r);
          if (ANSWER[m.kind] && !m.kp) { m.kp = defaultKp; }
          return m;
        });
        // The layout's rows replace the page's bubble rows and grid, and any box under them.
        regions = regions.filter(function (r) {
          if (r.kind === "bubbles" || r.kind === "number_grid") { return false; }
          return !made.some(function (m) { return overlap(m.box, r.box) > 0.05; });
        }).concat(made);
        dirty = true;
        order();
        renderTabs();
        renderList();
        select(null);
        refreshSummary();
        const rows = made.filter(function (r) { return r.kind === "bubbles"; }).length;
        const grid = made.some(function (r) { return r.kind === "number_grid"; });
        let text = fill(T.omr_done, { rows: rows, grid: grid ? T.omr_grid : "" });
        if (out.skipped && out.skipped.length) {
          text += " " + fill(T.omr_skipped, { count: out.skipped.length,
            fields: out.skipped.map(function (s) { return s.label; }).join("、") });
        }
        omrStatus.textContent = text;
        announce(text);
      }, function (f) {
        omrFile.value = "";
        omrStatus.textContent = "";
        omrFile.setAttribute("aria-invalid", "true");
        showError(omrError, f);
      });
    });
  }

  // Leaving with unsaved regions asks first (the browser's own question).
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });

  form.addEventListener("submit", function () {
    dirty = false;
    const round = function (v) { return Math.round(v * 100) / 100; };
    stateField.value = JSON.stringify({ pages: pages.map(function (p) {
      return { blank_id: p.blank_id, regions: p.regions.map(function (r) {
        return { kind: r.kind, box: r.box.map(round), bubbles: r.bubbles.map(function (b) { return b.map(round); }),
                 grid: r.grid.map(function (c) { return { place: c.place, digit: c.digit, box: c.box.map(round) }; }),
                 label: r.label, sheet_number: r.sheet_number, key_kind: r.key_kind, answer: r.answer, alternatives: r.alternatives, kp: r.kp,
                 score: r.score, digits: r.digits, origin: r.origin };
      }) };
    }) });
  });

  if (window.ResizeObserver) { new ResizeObserver(function () { drawSvg(); }).observe(stage); }
  order();
  renderTabs();
  renderList();
  drawSvg();
  showDetail();
})();
