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
// Never while the full-size viewer is open: the seller is looking at a finished image.
document.querySelectorAll("[data-refresh]").forEach((el) => {
  const wait = Number(el.dataset.refresh) || 3000;
  const reload = () => (document.querySelector("dialog.viewer[open]") ? setTimeout(reload, wait) : location.reload());
  setTimeout(reload, wait);
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

// The colour picker shows only while "Your own colour…" is chosen.
document.querySelectorAll("[data-background]").forEach((select) => {
  const own = select.form.querySelector("[data-own-colour]");
  const show = () => { own.hidden = select.value !== "custom"; };
  select.addEventListener("change", show);
  show();
});

// Invoices: print (or save as PDF from the print dialog).
document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));

// "Copy": the field's text to the clipboard (the field stays selectable without script).
document.querySelectorAll("[data-copy]").forEach((b) => {
  const field = document.getElementById(b.dataset.copy);
  if (!field || !navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener("click", async () => {
    await navigator.clipboard.writeText(field.value);
    b.textContent = "Copied";
  });
});

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

// Full-size viewer: every [data-view] link on the page opens in it, in page order. Zoom with
// the buttons, the wheel, a pinch or a double tap; drag to pan; swipe, the arrow keys or the
// buttons for the next image; "Before" lays the photo exactly under the image.
(() => {
  const links = [...document.querySelectorAll("[data-view]")];
  if (!links.length || !window.HTMLDialogElement) return;
  const dialog = document.createElement("dialog");
  dialog.className = "viewer";
  dialog.setAttribute("aria-label", "Image viewer");
  dialog.innerHTML = `<div class="viewer-bar">
      <p class="viewer-title" data-v-title></p>
      <button type="button" class="btn btn-small btn-ghost" data-v-close>Close</button>
    </div>
    <div class="viewer-stage" data-v-stage><div class="viewer-layer" data-v-layer>
      <img alt="" draggable="false" data-v-after><img alt="" draggable="false" class="before" data-v-beforeimg hidden></div></div>
    <div class="viewer-bar viewer-nav">
      <button type="button" class="btn btn-small btn-ghost" data-v-prev aria-label="Previous">‹</button>
      <button type="button" class="btn btn-small btn-ghost" data-v-before aria-pressed="false">Before</button>
      <button type="button" class="btn btn-small btn-ghost" data-v-out aria-label="Zoom out">−</button>
      <button type="button" class="btn btn-small btn-ghost" data-v-in aria-label="Zoom in">+</button>
      <span class="muted small" data-v-count></span>
      <button type="button" class="btn btn-small btn-ghost" data-v-next aria-label="Next">›</button>
    </div>`;
  document.body.append(dialog);
  const settle = () => { beforeButton.removeAttribute("aria-busy"); beforeButton.textContent = "Before"; };
  const $ = (s) => dialog.querySelector(s);
  const stage = $("[data-v-stage]"), layer = $("[data-v-layer]"), after = $("[data-v-after]"), under = $("[data-v-beforeimg]");
  const beforeButton = $("[data-v-before]");
  under.addEventListener("load", () => settle());
  // A photo deleted since, or the hour's limit reached: no Before for this image.
  under.addEventListener("error", () => { settle(); if (under.getAttribute("src")) { showBefore(false); beforeButton.hidden = true; } });
  let index = 0, scale = 1, tx = 0, ty = 0;
  const apply = () => {
    layer.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
    layer.dataset.scale = scale.toFixed(2);
  };
  const zoom = (factor, cx = 0, cy = 0) => {
    const next = Math.min(8, Math.max(1, scale * factor));
    // Keep the point under (cx, cy), measured from the stage's centre, where it was.
    tx = cx - ((cx - tx) * next) / scale;
    ty = cy - ((cy - ty) * next) / scale;
    scale = next;
    if (scale === 1) tx = ty = 0;
    apply();
  };
  // The photo under the image is made on request: fetched the first time it is asked for.
  const showBefore = (on) => {
    const wanted = links[index]?.dataset.before;
    if (on && wanted && !under.getAttribute("src")) {
      // Made on request (about a second): the button says so until the photo is in.
      beforeButton.setAttribute("aria-busy", "true");
      beforeButton.textContent = "Loading…";
      under.src = wanted;
      under.alt = "Your photo, framed as the image";
    }
    under.hidden = !on;
    beforeButton.setAttribute("aria-pressed", String(on));
  };
  const open = (i) => {
    index = (i + links.length) % links.length;
    const link = links[index];
    scale = 1; tx = ty = 0; apply();
    after.src = link.href;
    after.alt = link.dataset.title || "Image";
    after.classList.toggle("checker", link.dataset.format === "png");
    showBefore(false);
    beforeButton.hidden = !link.dataset.before;
    under.removeAttribute("src");
    $("[data-v-title]").textContent = link.dataset.title || "";
    $("[data-v-count]").textContent = `${index + 1} of ${links.length}`;
    $("[data-v-prev]").hidden = $("[data-v-next]").hidden = links.length < 2;
    if (!dialog.open) dialog.showModal();
  };
  links.forEach((link, i) => link.addEventListener("click", (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    open(i);
  }));
  $("[data-v-close]").addEventListener("click", () => dialog.close());
  $("[data-v-prev]").addEventListener("click", () => open(index - 1));
  $("[data-v-next]").addEventListener("click", () => open(index + 1));
  $("[data-v-in]").addEventListener("click", () => zoom(1.6));
  $("[data-v-out]").addEventListener("click", () => zoom(1 / 1.6));
  beforeButton.addEventListener("click", () => showBefore(under.hidden));
  dialog.addEventListener("keydown", (e) => {
    const keys = { ArrowRight: () => open(index + 1), ArrowLeft: () => open(index - 1), "+": () => zoom(1.6), "=": () => zoom(1.6),
      "-": () => zoom(1 / 1.6), "0": () => zoom(1 / scale), b: () => beforeButton.hidden || showBefore(under.hidden) };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  const centre = (x, y) => {
    const r = stage.getBoundingClientRect();
    return [x - r.left - r.width / 2, y - r.top - r.height / 2];
  };
  // A notch of a mouse wheel is about 100: one notch zooms by 1.25; a trackpad's small
  // deltas zoom smoothly; sideways scrolling does nothing.
  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.deltaY) zoom(Math.min(1.25, Math.max(0.8, Math.exp(-e.deltaY * 0.00223))), ...centre(e.clientX, e.clientY));
  }, { passive: false });
  stage.addEventListener("dblclick", (e) => zoom(scale > 1 ? 1 / scale : 2.5, ...centre(e.clientX, e.clientY)));
  // Pointers: one drags (or swipes when not zoomed), two pinch.
  const pointers = new Map();
  let start = null;
  stage.addEventListener("pointerdown", (e) => {
    stage.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    start = { x: e.clientX, y: e.clientY, tx, ty, scale, gap: null };
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      start.gap = Math.hypot(a[0] - b[0], a[1] - b[1]);
      start.mid = centre((a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
    }
  });
  stage.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId) || !start) return;
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (pointers.size === 2 && start.gap) {
      const [a, b] = [...pointers.values()];
      zoom((start.scale * Math.hypot(a[0] - b[0], a[1] - b[1])) / start.gap / scale, ...start.mid);
    } else if (pointers.size === 1 && scale > 1) {
      tx = start.tx + e.clientX - start.x;
      ty = start.ty + e.clientY - start.y;
      apply();
    }
  });
  const lift = (e) => {
    if (pointers.size === 1 && start && !start.gap && scale === 1) {
      const dx = e.clientX - start.x;
      if (Math.abs(dx) > 60 && Math.abs(dx) > Math.abs(e.clientY - start.y)) open(index + (dx < 0 ? 1 : -1));
    }
    pointers.delete(e.pointerId);
    // After a pinch the finger left behind pans on from where it is, without a jump.
    const [rest] = [...pointers.values()];
    start = rest ? { x: rest[0], y: rest[1], tx, ty, scale, gap: null } : null;
  };
  stage.addEventListener("pointerup", lift);
  stage.addEventListener("pointercancel", lift);
})();
