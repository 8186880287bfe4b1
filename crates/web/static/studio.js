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

// Create with AI: the cost of what is ticked, at the chosen tier, before confirming.
document.querySelectorAll("[data-ai-quote]").forEach((form) => {
  const prices = JSON.parse(form.dataset.prices);
  const total = form.querySelector("[data-ai-total]");
  const update = () => {
    const tier = ["standard", "pro", "ultra"].indexOf((form.querySelector("input[name=tier]:checked") || {}).value);
    const i = Math.max(tier, 0);
    const kind = form.dataset.kind;
    let text;
    if (kind === "image") {
      const shots = form.querySelectorAll("input[name=shots]:checked").length;
      text = `Chosen shots: ${shots * prices.image[i]} tokens · pack: ${prices.pack * prices.image[i]} tokens`;
    } else if (kind === "model") {
      const poses = form.querySelectorAll("input[name=poses]:checked").length;
      text = `Cost: ${poses * prices.model[i]} tokens (${prices.model[i]} per pose)`;
    } else {
      text = `Cost: ${(kind === "recolour" ? prices.recolour : prices.model)[i]} tokens`;
    }
    total.textContent = text + "; charged only for images that keep your design.";
  };
  form.addEventListener("change", update);
  update();
});

// Free previews: the trial token stays with this device, so the daily free preview
// is one per device rather than one per page load.
document.querySelectorAll("[data-trial]").forEach((form) => {
  try {
    const kept = localStorage.getItem("sp_trial");
    if (kept) form.querySelector("input[name=trial_token]").value = kept;
  } catch (_) { /* storage disabled: the server issues a token with the preview */ }
});
document.querySelectorAll("[data-trial-token]").forEach((el) => {
  try { localStorage.setItem("sp_trial", el.dataset.trialToken); } catch (_) { /* nothing kept */ }
});

// New listings: tick every photo at once, and the cost of what is ticked.
document.querySelectorAll("[data-listing-quote]").forEach((form) => {
  const total = form.querySelector("[data-listing-total]");
  const price = Number(form.dataset.price);
  const update = () => {
    const n = form.querySelectorAll("input[name=upload]:checked").length;
    total.textContent = `${n} listing${n === 1 ? "" : "s"}: ${n * price} tokens; charged only for listings that are written.`;
  };
  form.querySelector("[data-tick-all]")?.addEventListener("click", () => {
    form.querySelectorAll("input[name=upload]").forEach((box, i) => { box.checked = i < 200; });
    update();
  });
  form.addEventListener("change", update);
  update();
});
