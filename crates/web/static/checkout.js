// Checkout: opens Razorpay Checkout (or, in dev mode, pays the FAKE Razorpay), then hands
// Checkout's result to our server, which verifies it. The server decides amount and currency.
"use strict";

(() => {
  const box = document.querySelector("[data-checkout]");
  if (!box) return;
  const data = JSON.parse(document.getElementById("checkout-data").textContent);
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrf-token"] || "";
  const errorBox = box.querySelector("[data-checkout-error]");
  const statusBox = box.querySelector("[data-checkout-status]");
  const buttons = box.querySelectorAll("button");

  const say = (el, text) => { el.textContent = text; el.hidden = !text; };
  const busy = (on) => buttons.forEach((b) => { b.disabled = on; });
  const post = async (url, body) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((json.error && json.error.message) || "Something went wrong. Please try again.");
    return json;
  };
  const verify = async (result) => {
    say(errorBox, "");
    say(statusBox, "Confirming your payment…");
    try {
      const done = await post("/api/v1/billing/verify", result);
      say(statusBox, `Paid. ${done.tokens} tokens added.`);
      location.assign("/billing?paid=1");
    } catch (e) {
      say(statusBox, "");
      say(errorBox, e.message);
      busy(false);
    }
  };
  const target = data.kind === "subscription" ? { subscription_id: data.subscription_id } : { order_id: data.order_id };

  box.querySelectorAll("[data-simulate]").forEach((button) => {
    button.addEventListener("click", async () => {
      busy(true);
      say(errorBox, "");
      try {
        const result = await post("/api/v1/billing/simulated-checkout", { ...target, fail: button.dataset.simulate === "fail" });
        await verify(result);
      } catch (e) {
        say(errorBox, e.message);
        busy(false);
      }
    });
  });

  const pay = box.querySelector("[data-pay]");
  if (pay) {
    pay.addEventListener("click", () => {
      if (typeof window.Razorpay !== "function") {
        say(errorBox, "Razorpay's checkout did not load. Check your connection and reload the page.");
        return;
      }
      busy(true);
      const rzp = new window.Razorpay({
        key: data.key_id,
        ...target,
        name: data.name,
        description: data.description,
        prefill: { email: data.prefill_email, contact: data.prefill_contact },
        theme: { color: "#b08a3e" },
        handler: verify,
        modal: { ondismiss: () => busy(false) },
      });
      rzp.on("payment.failed", (r) => { say(errorBox, (r.error && r.error.description) || "The payment failed."); busy(false); });
      rzp.open();
    });
  }
})();
