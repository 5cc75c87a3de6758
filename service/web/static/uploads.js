// Upload page and job page, enhanced: a drop zone; the photos of one choice (or drop) in
// one request, which the server makes one job (pages in file-name order), and each other
// file (PDF, TIFF, ZIP) in a request of its own, each request with its progress bar; live
// job progress from the page's server-sent events (/jobs/{id}/events). Without this script
// the form posts every file at once (the server groups the photos the same way) and the
// pages reload themselves while a job runs.
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
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/heic", "image/heif"];
  const PHOTO_NAME = /\.(jpe?g|png|hei[cf])$/i;

  function isPhoto(file) {
    return PHOTO_TYPES.includes(file.type) || PHOTO_NAME.test(file.name);
  }

  // How a request's files are listed until the server names the job ("IMG_1.jpg +11").
  function label(files) {
    const names = files.map((f) => f.name);
    const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
    names.sort(collator.compare);
    return names.length > 1 ? names[0] + " +" + (names.length - 1) : names[0];
  }

  function item(name) {
    const li = document.createElement("li");
    li.className = "file-item";
    li.setAttribute("data-testid", "file-item");
    li.setAttribute("data-filename", name);
    const strong = document.createElement("strong");
    strong.textContent = name;
    const bar = document.createElement("progress");
    bar.setAttribute("data-role", "upload-bar");
    bar.max = 100;
    bar.value = 0;
    const message = document.createElement("span");
    message.className = "message";
    message.setAttribute("data-testid", "file-message");
    message.textContent = form.getAttribute("data-msg-sending");
    li.append(strong, " ", bar, " ", message);
    list.append(li);
    return { li, bar, message };
  }

  function done(view, status, body) {
    const outcomes = (body && body.files) || [];
    show1(view, status, outcomes[0]);
    // A request can end in more than one job or refusal (a photo too large to send, a
    // file that is not a scan): each gets a line of its own.
    for (const more of outcomes.slice(1)) {
      const extra = item(more.filename);
      show1(extra, status, more);
    }
  }

  function show1(view, status, file) {
    view.bar.remove();
    if (!file) {
      view.li.classList.add("refused");
      view.li.setAttribute("data-ok", "false");
      view.message.textContent = fill(form.getAttribute("data-msg-failed"), { status });
      return;
    }
    view.li.setAttribute("data-filename", file.filename);
    view.li.querySelector("strong").textContent = file.filename;
    view.li.setAttribute("data-files", file.files);
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

  function send(files) {
    const view = item(label(files));
    const data = new FormData();
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    data.append("worksheet_id", form.querySelector("[name=worksheet_id]").value);
    for (const file of files) data.append("files", file, file.name);
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

  // One choice: its photos are the pages of one stack (one request, one job); every
  // other file is sent alone.
  function add(files) {
    const photos = files.filter(isPhoto);
    if (photos.length) queue.push(photos);
    for (const f of files) if (!isPhoto(f)) queue.push([f]);
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
