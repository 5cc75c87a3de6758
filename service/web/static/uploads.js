// Upload page and job page, enhanced: a drop zone, one request per file with its own
// progress bar, and live job progress from the page's server-sent events
// (/jobs/{id}/events). Without this script the form posts every file at once and the pages
// reload themselves while a job runs.
"use strict";

(function () {
  const MAX_STREAMS = 4; // browsers allow ~6 connections per host: leave room for pages
  const TERMINAL = ["done", "failed", "partially_done"];
  let streams = 0;
  const waiting = [];
  const followed = new Set();
  // The element holding the translated labels (the upload form, or the job card).
  const labels = document.querySelector("[data-msg-pages]");

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  }

  // Show a job's state wherever the page shows that job (a table row, an uploaded file, the
  // job card): in its [data-role=status|bar|pages|problems] elements.
  function show(job) {
    for (const block of document.querySelectorAll('[data-job-id="' + job.id + '"]')) {
      const status = block.querySelector("[data-role=status]");
      if (status) {
        status.textContent = labels.getAttribute("data-status-" + job.status) || job.status;
        status.className = "status status-" + job.status;
      }
      const bar = block.querySelector("[data-role=bar]");
      if (bar) {
        bar.max = Math.max(job.pages_total, 1);
        bar.value = job.pages_done;
      }
      const pages = block.querySelector("[data-role=pages]");
      if (pages) {
        pages.textContent = fill(labels.getAttribute("data-msg-pages"),
          { done: job.pages_done, total: job.pages_total });
      }
      const problems = block.querySelector("[data-role=problems]");
      if (problems && job.problems.length && labels.getAttribute("data-msg-problems")) {
        const link = document.createElement("a");
        link.href = "/jobs/" + job.id;
        link.textContent = fill(labels.getAttribute("data-msg-problems"),
          { count: job.problems.length });
        problems.replaceChildren(link);
      }
      block.setAttribute("data-status", job.status);
    }
  }

  function follow(jobId, onEnd) {
    jobId = String(jobId);
    if (followed.has(jobId)) return;
    followed.add(jobId);
    if (streams >= MAX_STREAMS) {
      waiting.push(() => { followed.delete(jobId); follow(jobId, onEnd); });
      return;
    }
    streams += 1;
    const source = new EventSource("/jobs/" + jobId + "/events");
    let last = null;
    const close = () => {
      source.close();
      streams -= 1;
      const next = waiting.shift();
      if (next) next();
    };
    source.addEventListener("progress", (e) => {
      last = JSON.parse(e.data);
      show(last);
    });
    source.addEventListener("end", () => {
      close();
      if (onEnd) onEnd(last);
    });
    source.onerror = () => {
      // The server went away or the session ended: stop; a reload shows the state.
      if (source.readyState === EventSource.CLOSED) close();
    };
  }

  // ------------------------------------------------------------------ the job page
  const card = document.querySelector("[data-testid=job-progress][data-live]");
  if (card) {
    follow(card.getAttribute("data-job-id"), (job) => {
      if (job && TERMINAL.includes(job.status)) window.location.reload();
    });
  }

  // ------------------------------------------------------------------ the upload page
  const form = document.querySelector("form.upload-form");
  if (!form) return;
  const table = document.querySelector("[data-testid=jobs]");
  function followRows() {
    for (const row of document.querySelectorAll("tr[data-job-id][data-live]")) {
      follow(row.getAttribute("data-job-id"), null);
    }
  }
  followRows();

  // After a batch: the recent jobs, as the server lists them now (same page, fetched).
  async function refreshJobs() {
    if (!table) return;
    try {
      const r = await fetch(window.location.href, { headers: { Accept: "text/html" } });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.querySelector("[data-testid=jobs]");
      if (!fresh) return;
      table.replaceChildren(...Array.from(fresh.childNodes));
      followRows();
    } catch (err) {
      // Offline for a moment: the list stays as it was; the file list is still right.
    }
  }

  const list = document.querySelector("[data-testid=file-list]");
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector(".drop-zone");
  const queue = [];
  let busy = false;

  function item(file) {
    const li = document.createElement("li");
    li.className = "file-item";
    li.setAttribute("data-testid", "file-item");
    li.setAttribute("data-filename", file.name);
    const name = document.createElement("strong");
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.setAttribute("data-role", "upload-bar");
    bar.max = 100;
    bar.value = 0;
    const message = document.createElement("span");
    message.className = "message";
    message.setAttribute("data-testid", "file-message");
    message.textContent = form.getAttribute("data-msg-sending");
    li.append(name, " ", bar, " ", message);
    list.append(li);
    return { li, bar, message };
  }

  function done(view, status, body) {
    view.bar.remove();
    const file = body && body.files && body.files[0];
    if (!file) {
      view.li.classList.add("refused");
      view.li.setAttribute("data-ok", "false");
      view.message.textContent = fill(form.getAttribute("data-msg-failed"), { status });
      return;
    }
    view.li.classList.add(file.ok ? "ok" : "refused");
    view.li.setAttribute("data-ok", file.ok ? "true" : "false");
    view.message.textContent = file.message;
    if (!file.job_url) return;
    view.li.setAttribute("data-job-id", file.job_id);
    const link = document.createElement("a");
    link.href = file.job_url;
    link.setAttribute("data-testid", "result-job-link");
    link.textContent = form.getAttribute("data-msg-open");
    const status2 = document.createElement("span");
    status2.setAttribute("data-role", "status");
    const bar = document.createElement("progress");
    bar.setAttribute("data-role", "bar");
    const pages = document.createElement("span");
    pages.className = "pages";
    pages.setAttribute("data-role", "pages");
    view.li.append(" ", link, " ", status2, " ", bar, " ", pages);
    follow(file.job_id, null);
  }

  function send(file) {
    const view = item(file);
    const data = new FormData();
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    data.append("worksheet_id", form.querySelector("[name=worksheet_id]").value);
    data.append("files", file, file.name);
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) view.bar.value = Math.round((100 * e.loaded) / e.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (err) {
          body = null; // an HTML error page (signed out, refused form): say so generically
        }
        done(view, xhr.status, body);
        resolve();
      });
      xhr.addEventListener("error", () => {
        done(view, 0, null);
        resolve();
      });
      xhr.send(data);
    });
  }

  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) await send(queue.shift());
    busy = false;
    refreshJobs();
  }

  function add(files) {
    for (const f of files) queue.push(f);
    pump();
  }

  form.addEventListener("submit", (e) => {
    if (!input.files || input.files.length === 0) return; // let the server say "no files"
    e.preventDefault();
    add(Array.from(input.files));
    input.value = "";
  });

  if (zone) {
    zone.classList.add("enhanced");
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (e) => {
        e.preventDefault();
        zone.classList.add("over");
      });
    }
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer && e.dataTransfer.files.length) add(Array.from(e.dataTransfer.files));
    });
  }
})();
