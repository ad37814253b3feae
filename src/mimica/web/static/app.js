// Progressive enhancement only: every page works without this script.
"use strict";

function showError(message) {
  const box = document.getElementById("upload-error");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}

// Upload through the API with a progress bar, then go to the scan's page.
const form = document.getElementById("upload");
if (form) {
  form.addEventListener("submit", (ev) => {
    const input = form.querySelector("input[type=file]");
    if (!input.files.length || !window.FormData) return;
    ev.preventDefault();
    const button = form.querySelector("button");
    const bar = document.getElementById("upload-progress");
    const body = new FormData();
    body.append("file", input.files[0]);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/scans");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
    xhr.onload = () => {
      let reply = {};
      try { reply = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 202 && reply.id) { location.href = "/scans/" + reply.id; return; }
      if (xhr.status === 401) { location.href = "/login?next=/"; return; }
      button.disabled = false; bar.hidden = true;
      showError(typeof reply.detail === "string" ? reply.detail : "upload refused (HTTP " + xhr.status + ")");
    };
    xhr.onerror = () => { button.disabled = false; bar.hidden = true; showError("upload failed: the server could not be reached"); };
    button.disabled = true; bar.hidden = false; bar.value = 0;
    xhr.send(body);
  });
}

// Follow a queued or running scan; reload when it has finished to show the verdict and the report.
const job = document.querySelector("[data-poll]");
if (job) {
  const id = job.dataset.poll;
  const tick = async () => {
    try {
      const r = await fetch("/api/scans/" + id, { headers: { Accept: "application/json" } });
      if (r.ok) {
        const j = await r.json();
        if (j.status === "done" || j.status === "failed") { location.reload(); return; }
        document.getElementById("status").textContent = j.status;
        const p = j.progress;
        document.getElementById("stage").textContent = p.stage + (p.total ? " " + p.done + "/" + p.total : "");
        const bar = document.getElementById("progress");
        bar.max = p.total || 1; bar.value = p.done;
      }
    } catch (_) { /* server restarting: keep polling */ }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 700);
}

for (const f of document.querySelectorAll("form[data-confirm]")) {
  f.addEventListener("submit", (ev) => { if (!confirm(f.dataset.confirm)) ev.preventDefault(); });
}
