// The review queue's keys, and forms that move to the next item without a full page load.
//
// Keys (the page's legend lists them): Enter confirms the reading, 1 / 2 / 3 set right /
// half / wrong, E opens the reading field (type the correction, Enter regrades it, Esc
// leaves it), arrows or j / k move between items, U reopens the last decision, G opens the
// question's answer groups. On the groups page j / k (or the up / down arrows) move between
// groups and 1 / 2 / 3 grade the focused group. On a page without a student, type a name
// or 学号 to filter the roster, arrows pick, Enter assigns (Esc leaves the filter). On any
// page item D clears the page from review (it is kept), and U then puts it back.
//
// Every form also works without this script (a plain post, then a redirect to the next
// item). With it, a form is posted with fetch, the redirect is followed, and the new page's
// <main> replaces this one; one request at a time, keys pressed meanwhile are ignored.
(function () {
  "use strict";

  let busy = false;

  function root() { return document.querySelector("[data-review]"); }

  function focusItem() {
    const r = root();
    if (!r) return;
    const filter = r.querySelector(".review-assign-filter");
    if (filter) { filter.focus(); return; }
    const error = r.querySelector(".review-error");
    const typed = r.querySelector(".review-reading-input");
    if (error && typed && typed.value) { typed.focus(); typed.select(); return; }
    const group = r.querySelector("[data-testid=review-group]");
    if (group) { group.focus(); return; }
    const item = r.querySelector("[data-testid=review-item]");
    if (item) item.focus({ preventScroll: false });
  }

  function swap(html, url, push) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.querySelector("main");
    const main = document.querySelector("main");
    if (!fresh || !main) { window.location.href = url; return; }
    main.replaceWith(fresh);
    document.title = doc.title;
    if (push) window.history.pushState({}, "", url);
    else window.history.replaceState({}, "", url);
    focusItem();
  }

  async function load(url, init, push) {
    if (busy) return;
    busy = true;
    const main = document.querySelector("main");
    if (main) main.classList.add("review-busy");
    try {
      const response = await fetch(url, Object.assign({ credentials: "same-origin" }, init));
      const type = response.headers.get("content-type") || "";
      if (!type.startsWith("text/html")) { window.location.href = response.url; return; }
      swap(await response.text(), response.url, push);
    } catch (err) {
      window.location.href = url;  // offline or aborted: let the browser show it
    } finally {
      busy = false;
      const now = document.querySelector("main");
      if (now) now.classList.remove("review-busy");
    }
  }

  function go(url) { if (url) load(url, { method: "GET" }, true); }

  function submit(form, submitter) {
    if (busy) return;
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    // getAttribute: the forms have a field named "action", which form.action would return.
    const url = new URL(form.getAttribute("action") || "", window.location.href).href;
    load(url, { method: "POST", body: new URLSearchParams(data) }, false);
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-review-form")) return;
    event.preventDefault();
    submit(form, event.submitter);
  });

  document.addEventListener("click", function (event) {
    const link = event.target instanceof Element ? event.target.closest("a") : null;
    if (!link || !root() || event.defaultPrevented || event.button !== 0 ||
        event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin === window.location.origin && url.pathname === "/review" &&
        window.location.pathname === "/review") {
      event.preventDefault();
      go(url.href);
    }
  });

  window.addEventListener("popstate", function () {
    if (root()) load(window.location.href, { method: "GET" }, false);
  });

  function button(selector) {
    const r = root();
    const b = r ? r.querySelector(selector) : null;
    return b && !b.disabled ? b : null;
  }

  function press(selector) {
    const b = button(selector);
    if (b && b.form) submit(b.form, b);
    return !!b;
  }

  function editReading() {
    const input = root() && root().querySelector(".review-reading-input");
    if (input) { input.focus(); input.select(); }
  }

  // ------------------------------------------------------------------ the roster picker

  function visibleOptions(select) {
    return Array.from(select.options).filter(function (o) { return !o.hidden; });
  }

  function filterRoster(input) {
    const select = root().querySelector("#review-assign-select");
    if (!select) return;
    const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let first = null;
    for (const option of select.options) {
      const text = (option.getAttribute("data-search") || option.text).toLowerCase();
      const match = words.every(function (w) { return text.includes(w); });
      option.hidden = !match;
      if (match && !first) first = option;
    }
    if (select.selectedOptions.length === 0 || select.selectedOptions[0].hidden) {
      select.value = first ? first.value : "";
    }
  }

  function moveRoster(step) {
    const select = root().querySelector("#review-assign-select");
    if (!select) return;
    const options = visibleOptions(select);
    if (!options.length) return;
    let i = options.findIndex(function (o) { return o.selected; });
    i = i < 0 ? 0 : Math.min(options.length - 1, Math.max(0, i + step));
    select.value = options[i].value;
    options[i].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("input", function (event) {
    const t = event.target;
    if (t instanceof HTMLInputElement && t.classList.contains("review-assign-filter")) {
      filterRoster(t);
    }
  });

  // ------------------------------------------------------------------ groups page

  function moveGroup(step) {
    const groups = Array.from(root().querySelectorAll("[data-testid=review-group]"));
    if (!groups.length) return;
    let i = groups.indexOf(document.activeElement.closest("[data-testid=review-group]"));
    i = i < 0 ? 0 : Math.min(groups.length - 1, Math.max(0, i + step));
    groups[i].focus();
  }

  function gradeGroup(key) {
    const group = document.activeElement.closest("[data-testid=review-group]");
    if (!group) return false;
    const b = group.querySelector('button[data-key="' + key + '"]');
    if (b && b.form) submit(b.form, b);
    return !!b;
  }

  // ------------------------------------------------------------------ keys

  document.addEventListener("keydown", function (event) {
    const r = root();
    if (!r || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const t = event.target;
    if (t instanceof HTMLInputElement && t.classList.contains("review-assign-filter")) {
      if (event.key === "ArrowDown") { moveRoster(1); event.preventDefault(); }
      else if (event.key === "ArrowUp") { moveRoster(-1); event.preventDefault(); }
      else if (event.key === "Enter") {
        event.preventDefault();
        const form = t.form;
        if (form && form.querySelector("select").value) submit(form, null);
      }
      else if (event.key === "Escape") {
        // Leave the filter for the page's other keys (D); a click puts it back.
        event.preventDefault();
        t.blur();
        const item = r.querySelector("[data-testid=review-item]");
        if (item) item.focus();
      }
      return;
    }
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement ||
        t instanceof HTMLSelectElement) {
      if (event.key === "Escape") { t.blur(); focusItem(); event.preventDefault(); }
      return;  // typing, and Enter submits the field's own form
    }
    if (busy) { event.preventDefault(); return; }
    const groupsPage = r.hasAttribute("data-groups-page");
    const k = event.key;
    let handled = true;
    if (groupsPage && (k === "j" || k === "ArrowDown")) moveGroup(1);
    else if (groupsPage && (k === "k" || k === "ArrowUp")) moveGroup(-1);
    else if (groupsPage && (k === "1" || k === "2" || k === "3")) handled = gradeGroup(k);
    else if (k === "Enter" && t instanceof HTMLElement && t.matches("a, button")) handled = false;
    else if (k === "Enter") {
      if (!press("[data-testid=review-confirm]")) editReading();
    }
    else if (k === "1") handled = press("[data-testid=review-set-correct]");
    else if (k === "2") handled = press("[data-testid=review-set-half]");
    else if (k === "3") handled = press("[data-testid=review-set-wrong]");
    else if (k === "e" || k === "E" || k === "F2") editReading();
    else if (k === "ArrowRight" || k === "j") go(r.getAttribute("data-next"));
    else if (k === "ArrowLeft" || k === "k") go(r.getAttribute("data-prev"));
    else if (k === "d" || k === "D") handled = press("[data-testid=review-dismiss]");
    else if (k === "u" || k === "U") {
      if (!press("[data-testid=review-reopen]")) go(r.getAttribute("data-undo"));
    }
    else if (k === "g" || k === "G") go(r.getAttribute("data-groups"));
    else handled = false;
    if (handled) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", focusItem);
})();
