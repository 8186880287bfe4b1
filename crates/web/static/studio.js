// Studio page behaviour, progressive: every page works without it.
"use strict";

// Live progress over server-sent events; the page reloads once the creation ends.
document.querySelectorAll("[data-events]").forEach((box) => {
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  const events = new EventSource(box.dataset.events);
  events.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data).progress;
    if (bar) bar.value = p;
    if (text) text.textContent = p + "%";
  });
  events.addEventListener("done", () => { events.close(); location.reload(); });
  events.addEventListener("error", () => { events.close(); setTimeout(() => location.reload(), 3000); });
});

// Batches have many creations: reload the page until all have ended.
document.querySelectorAll("[data-refresh]").forEach((el) => {
  setTimeout(() => location.reload(), Number(el.dataset.refresh) || 3000);
});

// Before/after: the range input uncovers the original photo from the left.
document.querySelectorAll("[data-compare]").forEach((box) => {
  const range = box.querySelector("input[type=range]");
  const set = () => box.style.setProperty("--pos", range.value + "%");
  range.addEventListener("input", set);
  set();
});

// Drag and drop onto the upload area.
document.querySelectorAll("[data-dropzone]").forEach((form) => {
  const input = form.querySelector("input[type=file]");
  const label = form.querySelector("[data-drop-label]");
  const zone = form.querySelector(".drop");
  const show = () => {
    const n = input.files.length;
    if (label && n) label.textContent = n === 1 ? input.files[0].name : n + " photos chosen";
  };
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => { e.preventDefault(); input.files = e.dataTransfer.files; show(); });
  input.addEventListener("change", show);
});

// The cost before confirming: images per photo × photos × tokens per image.
document.querySelectorAll("[data-quote]").forEach((form) => {
  const total = form.querySelector("[data-total]");
  const per = Number(form.dataset.cost), photos = Number(form.dataset.photos);
  const update = () => {
    const n = form.querySelectorAll("input[name=presets]:checked").length * photos * per;
    total.textContent = n + (n === 1 ? " token" : " tokens");
  };
  form.addEventListener("change", update);
  update();
});

// Invoices: print (or save as PDF from the print dialog).
document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
