// otpgate demo page: the user's side of the evaluation API's OTP flow.
//
// Every call below sends the evaluation API's own request body. The page talks to
// /demo/api/..., a thin backend that adds the sandbox key and forwards to
// /api/evaluation; in your app, that is your own backend. Routing follows the guide:
//   ON_HOLD · Pending OTP Code        → code entry
//   ON_HOLD · More information needed → details form
//   CLOSED  · Max attempts reached    → lockout countdown
//   CLOSED  · Decline + "OTP Expired" → expired screen
//   CLOSED  · anything else           → result (Approve = success)
"use strict";

const STORE = "otpgate-demo";
const PENDING = "Pending OTP Code";
const MORE_INFO = "More information needed";
const POLL_MS = 2500;

const $ = (id) => document.getElementById(id);
let config = { code_length: 6, ttl_seconds: 600, max_attempts: 5, lockout_seconds: 600 };
let state = {}; // persisted: eval_id, workflow
let current = null; // the evaluation as last seen
let expiresAt = null;
let lockUntil = null;
let busy = false;
let expiryChecked = false;
let inboxShown = "";
let serverOffset = 0; // ms to add to this device's clock to get the server's

// Countdowns compare the server's expires_at with the local clock; correct a device
// clock that is off by more than the Date header's one-second resolution.
function now() {
  return Date.now() + serverOffset;
}

function learnServerTime(res) {
  const server = Date.parse(res.headers.get("Date") || "");
  if (Number.isNaN(server)) return;
  const skew = server - Date.now();
  serverOffset = Math.abs(skew) > 2000 ? skew : 0;
}

// ---- helpers ---------------------------------------------------------------

function requestId(kind) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes); // works outside secure contexts, unlike randomUUID
  return `demo-${kind}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function mmss(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function save() {
  localStorage.setItem(STORE, JSON.stringify(state));
}

function load() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || "{}") || {};
  } catch {
    return {};
  }
}

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/demo/api${path}`, init);
  } catch {
    return { status: 0, body: { msg: "Network error. Check your connection and try again." } };
  }
  let data;
  try {
    data = await res.json();
  } catch {
    data = { msg: `Unexpected answer from the server (HTTP ${res.status}).` };
  }
  learnServerTime(res);
  const retry = Number(res.headers.get("Retry-After")) || data.retry_after || 0;
  showCall(method, path, body, res.status, data);
  return { status: res.status, body: data, retryAfter: retry };
}

function showCall(method, path, body, status, data) {
  const shown = path.startsWith("/evaluation") ? `/api${path}` : `/demo/api${path}`;
  $("api-request").textContent = `${method} ${shown}\n${body ? JSON.stringify(body, null, 2) : ""}`;
  $("api-response").textContent = `HTTP ${status}\n${JSON.stringify(data, null, 2)}`;
}

function say(text) {
  $("notice").textContent = text || "";
}

// Controls are disabled while a request runs, and a disabled control cannot take focus:
// remember where focus should go and move it once they are enabled again.
let pendingFocus = null;
function moveFocus(el) {
  if (busy) pendingFocus = el;
  else el.focus();
}

function fail(text, input) {
  $("error").textContent = text || "";
  for (const el of document.querySelectorAll("[aria-invalid=true]")) el.removeAttribute("aria-invalid");
  if (input && text) {
    input.setAttribute("aria-invalid", "true");
    moveFocus(input);
  }
}

function clearMessages() {
  say("");
  fail("");
}

function show(name, focusOn) {
  for (const section of document.querySelectorAll("section[data-screen]")) {
    section.hidden = section.dataset.screen !== name;
  }
  document.body.dataset.view = name;
  const target = focusOn || document.querySelector(`[data-screen="${name}"] h1`);
  if (target) moveFocus(target);
}

// Disable every control of the flow while a request is in flight, so a double click
// or a second Enter cannot send the same action twice (and burn an attempt).
async function guarded(fn) {
  if (busy) return;
  busy = true;
  const flow = $("flow");
  flow.setAttribute("aria-busy", "true");
  const controls = flow.querySelectorAll("button, input");
  const before = Array.from(controls, (c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  try {
    await fn();
  } finally {
    controls.forEach((c, i) => { c.disabled = before[i]; });
    flow.setAttribute("aria-busy", "false");
    busy = false;
    if (pendingFocus) {
      pendingFocus.focus();
      pendingFocus = null;
    }
  }
}

// ---- routing -----------------------------------------------------------------

function deliveryOf(ev) {
  const sends = (ev.data_enrichments || []).filter((e) => e.enrichment_name.startsWith("Deliver OTP"));
  return sends.length ? sends[sends.length - 1] : null;
}

function route(ev) {
  current = ev;
  state.eval_id = ev.eval_id;
  state.workflow = ev.workflow;
  save();
  expiresAt = null;
  lockUntil = null;
  const tags = ev.tags || [];
  if (ev.status === "ON_HOLD" && ev.sub_status === PENDING) return showCode(ev);
  if (ev.status === "ON_HOLD" && ev.sub_status === MORE_INFO) return show("pii", $("given_name"));
  if (ev.sub_status === "Max attempts reached") {
    const until = Date.parse(ev.decision_at || ev.eval_end_time) + config.lockout_seconds * 1000;
    return showLocked(until, "Too many incorrect codes",
      "For your security, new codes to this destination are paused.");
  }
  if (ev.status === "CLOSED" && tags.includes("OTP Expired")) return show("expired");
  return showDone(ev);
}

function showCode(ev) {
  const delivery = deliveryOf(ev);
  const channel = delivery ? delivery.request.channel : "sms";
  $("sent-channel").textContent = channel === "email" ? "email" : channel === "voice" ? "voice call" : "SMS";
  $("sent-dest").textContent = delivery ? delivery.request.destination : "you";
  $("switch-btn").textContent = channel === "email" ? "Send it by SMS instead" : "Send it by email instead";
  $("switch-btn").dataset.to = channel === "email" ? "sms" : "email";
  $("switch-form").hidden = true;
  $("attempts").textContent = `${plural(ev.attempts_remaining ?? config.max_attempts, "attempt")} left`;
  expiresAt = ev.expires_at ? Date.parse(ev.expires_at) : null;
  expiryChecked = false;
  $("expires-at").textContent = expiresAt ? clockTime(expiresAt) : "--:--";
  tick();
  const code = $("code");
  code.value = "";
  show("code", code);
  refreshInbox();
}

function showLocked(until, title, text) {
  lockUntil = until;
  $("locked-title").textContent = title;
  $("locked-text").textContent = text;
  tick();
  show("locked");
}

function showDone(ev) {
  const tags = ev.tags || [];
  let icon = "✓";
  let title = "You're verified";
  let text = "Thanks. Your possession of this phone or email is confirmed.";
  if (tags.includes("OTP Delivery Failed")) {
    [icon, title, text] = ["!", "We couldn't deliver the code", "Check the phone number or email and try again."];
  } else if (ev.decision === "REVIEW") {
    [icon, title, text] = ["…", "Thanks, we're reviewing this", "Your verification needs a manual review."];
  } else if (ev.decision === "REJECT") {
    [icon, title, text] = ["!", "We couldn't verify you", "The verification failed. You can start again."];
  }
  document.body.dataset.decision = ev.decision;
  $("done-icon").textContent = icon;
  $("done-title").textContent = title;
  $("done-text").textContent = text;
  $("done-decision").textContent = ev.decision;
  $("done-status").textContent = `${ev.status} · ${ev.sub_status}`;
  $("done-tags").textContent = tags.join(", ") || "none";
  show("done");
}

function restart() {
  state = {};
  current = null;
  localStorage.removeItem(STORE);
  expiresAt = null;
  lockUntil = null;
  renderInbox([]);
  clearMessages();
  show("start", $("destination"));
}

// ---- timers ------------------------------------------------------------------

function tick() {
  const t = now();
  if (expiresAt !== null) {
    $("countdown").textContent = mmss(expiresAt - t);
    if (t >= expiresAt && !expiryChecked && !busy && document.body.dataset.view === "code") {
      expiryChecked = true; // ask the server: it closes the evaluation as expired
      guarded(async () => {
        const r = await api("GET", `/evaluation/${state.eval_id}`);
        if (r.status === 200) route(r.body);
      });
    }
  }
  if (lockUntil !== null) {
    const left = lockUntil - t;
    $("lock-countdown").textContent = mmss(left);
    $("lock-over").hidden = left > 0;
  }
}

// ---- actions -----------------------------------------------------------------

function individualFor(destination, channel) {
  const individual = destination.includes("@") ? { email: destination } : { phone_number: destination };
  if (channel) individual.otp = { channel };
  return individual;
}

async function startEvaluation(destination, workflow, channel, input) {
  const r = await api("POST", "/evaluation", {
    id: requestId("start"),
    timestamp: new Date().toISOString(),
    workflow,
    data: { individual: individualFor(destination, channel) },
  });
  if (r.status === 200) {
    clearMessages();
    route(r.body);
    return true;
  }
  if (r.status === 429) {
    showLocked(now() + r.retryAfter * 1000, "Please wait before trying again", r.body.msg);
    return false;
  }
  fail(r.body.msg || "Something went wrong. Try again.", input);
  return false;
}

async function onStart(event) {
  event.preventDefault();
  const input = $("destination");
  const destination = input.value.trim();
  if (!destination) return fail("Enter a phone number or an email address.", input);
  const workflow = $("onboarding").checked ? "individual_onboarding" : "otp_verification";
  await guarded(() => startEvaluation(destination, workflow, null, input));
}

async function onVerify(event) {
  event.preventDefault();
  const input = $("code");
  const code = input.value.replace(/\D/g, "");
  if (code.length !== config.code_length) {
    return fail(`Enter all ${config.code_length} digits of the code.`, input);
  }
  await guarded(async () => {
    const r = await api("PATCH", `/evaluation/${state.eval_id}`, {
      id: requestId("verify"),
      timestamp: new Date().toISOString(),
      workflow: state.workflow,
      data: { individual: { otp: { code } } },
    });
    if (r.status === 200) {
      clearMessages();
      return route(r.body);
    }
    if (r.body.eval_id && r.body.status === "ON_HOLD" && r.body.sub_status === PENDING) {
      current = r.body;
      const left = r.body.attempts_remaining;
      $("attempts").textContent = `${plural(left, "attempt")} left`;
      say("");
      input.value = "";
      return fail(`Incorrect code, ${plural(left, "attempt")} left.`, input);
    }
    if (r.body.eval_id) {
      clearMessages();
      return route(r.body); // closed: max attempts, expired, or already done
    }
    if (r.status === 429) return fail(`Too many tries. Wait ${r.retryAfter} seconds.`, input);
    if (r.status === 404) {
      restart();
      return fail("That verification no longer exists. Start again.");
    }
    return fail(r.body.msg || "Something went wrong. Try again.", input);
  });
}

async function onResend() {
  await guarded(async () => {
    const r = await api("PATCH", `/evaluation/${state.eval_id}`, {
      id: requestId("resend"),
      timestamp: new Date().toISOString(),
      workflow: state.workflow,
      data: { individual: { otp: { resend: true } } },
    });
    if (r.status === 200 && r.body.sub_status === PENDING) {
      clearMessages();
      route(r.body);
      say(`A new message was sent. The code still expires at ${clockTime(expiresAt)}.`);
      return;
    }
    if (r.status === 429) {
      return fail(`Too many messages to this destination. You can resend in ${r.retryAfter} seconds.`);
    }
    if (r.body.eval_id) return route(r.body);
    return fail(r.body.msg || "Could not resend the code.");
  });
}

function onSwitchOpen() {
  const toEmail = $("switch-btn").dataset.to === "email";
  const input = $("switch-destination");
  $("switch-label").textContent = toEmail ? "Email address" : "Phone number";
  input.type = toEmail ? "email" : "tel";
  input.autocomplete = toEmail ? "email" : "tel";
  input.inputMode = toEmail ? "email" : "tel";
  input.value = "";
  $("switch-form").hidden = false;
  moveFocus(input);
}

async function onSwitch(event) {
  event.preventDefault();
  const to = $("switch-btn").dataset.to;
  const input = $("switch-destination");
  const destination = input.value.trim();
  if (to === "email" && !destination.includes("@")) return fail("Enter an email address.", input);
  if (to === "sms" && (destination.includes("@") || !/\d/.test(destination))) {
    return fail("Enter a phone number.", input);
  }
  await guarded(async () => {
    // The guide's channel switch: resume (clears the hold, kills the old code), then a new POST.
    const r = await api("PATCH", `/evaluation/${state.eval_id}`, {
      id: requestId("resume"),
      timestamp: new Date().toISOString(),
      workflow: state.workflow,
      actions: { resume: true },
    });
    if (r.status !== 200 && r.status !== 409) return fail(r.body.msg || "Could not switch.", input);
    const workflow = state.workflow;
    if (await startEvaluation(destination, workflow, to, null)) {
      say(`We sent a new code by ${to === "email" ? "email" : "SMS"}. The earlier code no longer works.`);
    } else if (document.body.dataset.view === "code") {
      // The old evaluation is closed now: go back to the start with what the user typed.
      const message = $("error").textContent;
      restart();
      $("destination").value = destination;
      fail(message, $("destination"));
    }
  });
}

function piiBody() {
  const individual = { address: {} };
  for (const input of $("pii-form").querySelectorAll("input")) {
    const value = input.value.trim();
    if (!value) continue;
    if (input.name.startsWith("address.")) {
      individual.address[input.name.slice(8)] = input.name === "address.country" ? value.toUpperCase() : value;
    } else {
      individual[input.name] = value;
    }
  }
  return individual;
}

async function onDetails(event) {
  event.preventDefault();
  const missing = Array.from($("pii-form").querySelectorAll("input[required]")).find((i) => !i.value.trim());
  if (missing) {
    const label = document.querySelector(`label[for="${CSS.escape(missing.id)}"]`);
    return fail(`${label ? label.textContent.trim() : missing.name} is required.`, missing);
  }
  await guarded(async () => {
    const r = await api("PATCH", `/evaluation/${state.eval_id}`, {
      id: requestId("details"),
      timestamp: new Date().toISOString(),
      workflow: state.workflow,
      data: { individual: piiBody() },
    });
    if (r.status === 200) {
      clearMessages();
      return route(r.body);
    }
    const field = r.body.field ? r.body.field.replace("data.individual.", "") : null;
    return fail(r.body.msg || "Could not send your details.", field ? $(field) : null);
  });
}

async function onSkipDetails() {
  await guarded(async () => {
    const r = await api("PATCH", `/evaluation/${state.eval_id}`, {
      id: requestId("skip"),
      timestamp: new Date().toISOString(),
      workflow: state.workflow,
      actions: { resume: true },
    });
    if (r.body.eval_id) return route(r.body);
    return fail(r.body.msg || "Something went wrong.");
  });
}

// A pasted message ("Your code is 123 456") becomes just its digits.
function onCodePaste(event) {
  const text = (event.clipboardData || window.clipboardData).getData("text");
  const digits = text.replace(/\D/g, "");
  if (!digits) return;
  event.preventDefault();
  const found = text.match(new RegExp(`(?<!\\d)\\d{${config.code_length}}(?!\\d)`));
  event.target.value = (found ? found[0] : digits).slice(0, config.code_length);
}

function onCodeInput(event) {
  const clean = event.target.value.replace(/\D/g, "").slice(0, config.code_length);
  if (clean !== event.target.value) event.target.value = clean;
}

// ---- sandbox inbox -------------------------------------------------------------

const CHANNEL_LABEL = { sms: "SMS", voice: "Voice", email: "Email" };

function renderInbox(messages) {
  const key = `${current ? current.eval_id : ""}:${messages.map((m) => m.id).join(",")}`;
  if (key === inboxShown) return;
  inboxShown = key;
  const list = $("inbox-list");
  list.replaceChildren();
  $("inbox-empty").hidden = messages.length > 0;
  $("inbox-dest").textContent = messages.length ? messages[0].destination : "the phone or email being verified";
  for (const m of messages) {
    const item = document.createElement("li");
    item.className = "inbox-message";
    const meta = document.createElement("div");
    meta.className = "meta";
    const chan = document.createElement("span");
    chan.className = "chan";
    chan.textContent = CHANNEL_LABEL[m.channel] || m.channel;
    const when = document.createElement("time");
    when.dateTime = m.created_at;
    when.textContent = clockTime(Date.parse(m.created_at));
    meta.append(chan, " ", when);
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = m.subject ? `${m.subject}: ${m.body}` : m.body;
    item.append(meta, body);
    // Messages sent before this evaluation started belong to an earlier session.
    const earlier = current && Date.parse(m.created_at) < Date.parse(current.eval_start_time) - 1000;
    if (earlier) {
      item.classList.add("earlier");
      chan.textContent += " · earlier session";
    }
    const found = m.body.match(new RegExp(`(?<!\\d)\\d{${config.code_length}}(?!\\d)`));
    if (found && !earlier) {
      const use = document.createElement("button");
      use.type = "button";
      use.className = "secondary small use-code";
      use.textContent = `Use code ${found[0]}`;
      use.addEventListener("click", () => {
        if (document.body.dataset.view !== "code") return;
        $("code").value = found[0];
        moveFocus($("code"));
      });
      item.append(use);
    }
    list.append(item);
  }
}

async function refreshInbox() {
  if (!state.eval_id) return;
  try {
    const res = await fetch(`/demo/api/inbox/${state.eval_id}`, { headers: { Accept: "application/json" } });
    if (res.ok) renderInbox((await res.json()).messages || []);
  } catch {
    // the inbox is a convenience; the flow goes on without it
  }
}

// ---- start-up --------------------------------------------------------------------

async function init() {
  $("start-form").addEventListener("submit", onStart);
  $("code-form").addEventListener("submit", onVerify);
  $("code").addEventListener("paste", onCodePaste);
  $("code").addEventListener("input", onCodeInput);
  $("resend-btn").addEventListener("click", onResend);
  $("switch-btn").addEventListener("click", onSwitchOpen);
  $("switch-form").addEventListener("submit", onSwitch);
  $("switch-cancel").addEventListener("click", () => { $("switch-form").hidden = true; $("switch-btn").focus(); });
  $("pii-form").addEventListener("submit", onDetails);
  $("pii-skip").addEventListener("click", onSkipDetails);
  for (const b of document.querySelectorAll("[data-action=restart]")) b.addEventListener("click", restart);
  // A field being corrected is no longer marked invalid.
  $("flow").addEventListener("input", (e) => e.target.removeAttribute("aria-invalid"));

  try {
    const res = await fetch("/demo/api/config");
    if (res.ok) config = await res.json();
  } catch {
    // keep the defaults
  }
  for (const el of document.querySelectorAll("[data-bind=code-length]")) el.textContent = config.code_length;
  $("code").maxLength = config.code_length;
  $("failing-phone").textContent = config.failing_phone || "+11234567890";
  $("invalid-code").textContent = config.invalid_code || "000000";
  $("ttl-minutes").textContent = Math.round(config.ttl_seconds / 60);

  setInterval(tick, 1000);
  setInterval(() => {
    if (!document.hidden && document.body.dataset.view === "code") refreshInbox();
  }, POLL_MS);

  state = load();
  if (!state.eval_id) return restart();
  // A refreshed page resumes the same evaluation: read it, send nothing.
  const r = await api("GET", `/evaluation/${state.eval_id}`);
  if (r.status === 200) {
    route(r.body);
    refreshInbox();
    if (r.body.sub_status === PENDING) say("Welcome back. Your code is still valid; enter it below.");
  } else {
    restart();
  }
}

document.addEventListener("DOMContentLoaded", init);
