// Studio page behaviour, progressive: every page works without it.
"use strict";

// Times arrive in UTC; show them in the reader's own time zone.
const localTime = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
});
document.querySelectorAll("time[datetime]").forEach((t) => {
  const at = new Date(t.getAttribute("datetime"));
  if (!Number.isNaN(at.getTime())) {
    t.title = t.textContent;
    t.textContent = localTime.format(at);
  }
});

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

// The header's menu is a button on a phone and a row of links on a wider screen.
document.documentElement.classList.add("js");
document.querySelectorAll("[data-menu]").forEach((menu) => {
  const wide = window.matchMedia("(min-width: 760px)");
  const fit = () => { menu.open = wide.matches; };
  fit();
  wide.addEventListener("change", fit);
  // On a phone it closes on Escape or a tap elsewhere.
  document.addEventListener("click", (e) => { if (!wide.matches && !menu.contains(e.target)) menu.open = false; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !wide.matches) menu.open = false; });
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
  // A photo just taken with the camera goes up at once.
  const camera = form.querySelector("[data-camera]");
  camera?.addEventListener("change", () => { if (camera.files.length) form.submit(); });
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
// The colour picker shows only while "Your own colour…" is chosen.
document.querySelectorAll("[data-background]").forEach((select) => {
  const own = select.form.querySelector("[data-own-colour]");
  const show = () => { own.hidden = select.value !== "custom"; };
  select.addEventListener("change", show);
  show();
});

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

// The brush: keep/remove strokes painted over the photo, in the photo's own pixels. After
// each stroke the server re-solves the cutout (free) and it is shown over a faint copy of
// the photo; saving makes the creation's images again with the strokes, free.
document.querySelectorAll("[data-fix]").forEach((page) => {
  const W = Number(page.dataset.width), H = Number(page.dataset.height);
  const canvas = page.querySelector("[data-canvas]");
  const cutout = page.querySelector("[data-cutout]");
  const status = page.querySelector("[data-fix-status]");
  const error = page.querySelector("[data-fix-error]");
  const undo = page.querySelector("[data-undo]");
  const save = page.querySelector("[data-save]");
  const size = page.querySelector("input[name=size]");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrf-token"] || "";
  const key = "fix-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  const headers = { "content-type": "application/json", "x-csrf-token": csrf };
  const ctx = canvas.getContext("2d");
  // A fix of a fix goes on from the strokes it was made with.
  const strokes = JSON.parse(page.dataset.strokes || "[]");
  let current = null, shown = null, asked = 0;

  const fail = (message) => { error.hidden = false; error.textContent = message; status.textContent = ""; };
  const problem = async (r, fallback) => {
    try { return (await r.json()).error.message || fallback; } catch { return fallback; }
  };
  const draw = () => {
    canvas.width = canvas.clientWidth * devicePixelRatio;
    canvas.height = canvas.clientHeight * devicePixelRatio;
    if (!current) return;
    const k = canvas.width / W;
    ctx.strokeStyle = ctx.fillStyle = current.brush === "keep" ? "rgba(46,160,67,.5)" : "rgba(207,34,46,.5)";
    ctx.lineWidth = 2 * current.radius * k;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    const [x0, y0] = current.points[0];
    ctx.arc(x0 * k, y0 * k, current.radius * k, 0, 2 * Math.PI);
    ctx.fill();
    ctx.beginPath();
    current.points.forEach(([x, y], i) => (i ? ctx.lineTo(x * k, y * k) : ctx.moveTo(x * k, y * k)));
    ctx.stroke();
  };
  const preview = () => {
    const mine = ++asked;
    status.textContent = "Updating the cutout…";
    error.hidden = true;
    fetch(`/api/v1/creations/${page.dataset.creation}/corrections/preview`, { method: "POST", headers, body: JSON.stringify({ strokes, size: 1024 }) })
      .then(async (r) => { if (!r.ok) throw new Error(await problem(r, "The cutout could not be updated.")); return r.blob(); })
      .then((blob) => {
        if (mine !== asked) return;
        if (shown) URL.revokeObjectURL(shown);
        shown = URL.createObjectURL(blob);
        cutout.src = shown;
        current = null;
        draw();
        const n = strokes.length;
        status.textContent = n ? `${n} stroke${n === 1 ? "" : "s"}. Save when it looks right.` : "Paint where the cutout is wrong.";
        save.disabled = undo.disabled = n === 0;
      })
      .catch((e) => {
        if (mine !== asked) return;
        fail(e.message);
        // The stroke stays: Undo takes it back.
        undo.disabled = strokes.length === 0;
      });
  };
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.min(Math.max(((e.clientX - r.left) / r.width) * W, 0), W);
    const y = Math.min(Math.max(((e.clientY - r.top) / r.height) * H, 0), H);
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (!e.isPrimary) return; // a second finger does not start another stroke
    canvas.setPointerCapture(e.pointerId);
    const brush = page.querySelector("input[name=brush]:checked").value;
    const radius = Math.min(512, Math.max(1, ((Number(size.value) / 2) * W) / canvas.getBoundingClientRect().width));
    current = { brush, radius: Math.round(radius * 10) / 10, points: [at(e)] };
    draw();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!current || !e.isPrimary || current.points.length >= 2000) return;
    const p = at(e), last = current.points[current.points.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) * (canvas.clientWidth / W) >= 2) { current.points.push(p); draw(); }
  });
  const finish = () => {
    if (!current || !current.points.length) return;
    strokes.push(current);
    preview();
  };
  canvas.addEventListener("pointerup", (e) => { if (e.isPrimary) finish(); });
  canvas.addEventListener("pointercancel", () => { current = null; draw(); });
  undo.addEventListener("click", () => { strokes.pop(); preview(); });
  save.addEventListener("click", () => {
    save.disabled = true;
    status.textContent = "Saving…";
    fetch(`/api/v1/creations/${page.dataset.creation}/corrections`, {
      method: "POST", headers: { ...headers, "idempotency-key": key }, body: JSON.stringify({ strokes }),
    })
      .then(async (r) => { if (!r.ok) throw new Error(await problem(r, "The fix could not be saved.")); return r.json(); })
      .then((made) => { location.href = "/creations/" + made.id; })
      .catch((e) => { save.disabled = false; fail(e.message); });
  });
  addEventListener("resize", draw);
  preview();
});
