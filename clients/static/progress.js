// The progress page: starts a scenario or opens an instance, then follows its custom status.
//
// Everything shown comes from GET progress/status/{id}, polled with backoff (250 ms doubling to
// 2 s, or to 500 ms until the instance is first seen; back to 250 ms whenever something changes)
// until the instance ends. An id that stays unknown gets "not found" and nothing else. A function key given
// to the page as ?code= is sent with every call as the x-functions-key header and shown nowhere.

const TERMINAL = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 2000;
const LOOKUP_DELAY_MS = 500;
// An instance can answer 404 for a moment after it was started (the SDK reports Pending instances
// as not found); keep asking this long before saying so, longer for one this page just started.
const NOT_FOUND_GRACE_MS = 2000;
const NEW_INSTANCE_GRACE_MS = 10000;

const config = JSON.parse(document.getElementById("progress-config").textContent);
const scenariosByKey = new Map(config.scenarios.map((s) => [s.key, s]));
const scenariosByName = new Map(config.scenarios.map((s) => [s.orchestrator, s]));
// This script is served from .../progress/static/progress.js; the API lives under .../progress/.
const apiBase = new URL("../", import.meta.url);
const query = new URLSearchParams(location.search);
const functionKey = query.get("code");

const $ = (id) => document.getElementById(id);

// The state of the instance being followed.
let state = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function pageHref(params) {
  const next = new URLSearchParams(params);
  if (functionKey) next.set("code", functionKey);
  const text = next.toString();
  return text ? `${location.pathname}?${text}` : location.pathname;
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (functionKey) headers["x-functions-key"] = functionKey;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(new URL(path, apiBase), init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, data };
}

function problemText(result) {
  if (result.status === 401 || result.status === 403) {
    return `The app refused the request (HTTP ${result.status}). On Azure, open this page with ?code= and a function key.`;
  }
  const detail = result.data && typeof result.data.error === "string" ? result.data.error : "";
  return detail || `The app answered HTTP ${result.status}.`;
}

let lastAnnouncement = "";
function announce(text) {
  if (text && text !== lastAnnouncement) {
    lastAnnouncement = text;
    $("live").textContent = text;
  }
}

function showProblem(text) {
  const box = $("problem");
  box.textContent = text;
  box.hidden = false;
}

function clearProblem() {
  $("problem").hidden = true;
  $("problem").textContent = "";
}

function json(value) {
  return JSON.stringify(value === undefined ? null : value, null, 2);
}

function formatTime(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return el("time", { datetime: iso, text: Number.isNaN(date.getTime()) ? iso : date.toLocaleString() });
}

function formatSeconds(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

function list(items, className) {
  return el("ul", { class: className }, ...items.map((item) => el("li", { text: String(item) })));
}

// ---------------------------------------------------------------------------------------------
// Starting a scenario and opening an instance.

function readSeconds(data, name) {
  const text = String(data.get(name) ?? "").trim();
  return text ? Number(text) : undefined;
}

function scenarioInput(key, form) {
  const data = new FormData(form);
  if (key === "hello") {
    const cities = String(data.get("cities") ?? "")
      .split(",")
      .map((city) => city.trim())
      .filter(Boolean);
    return cities.length ? cities : undefined;
  }
  if (key === "city") {
    const input = { choice: Number(data.get("choice")) };
    const seconds = readSeconds(data, "timeout");
    if (seconds !== undefined) input.selectionTimeout = seconds;
    return input;
  }
  if (key === "ticket") {
    const input = { userId: String(data.get("userId") ?? "").trim() };
    const seconds = readSeconds(data, "timeout");
    if (seconds !== undefined) input.discountTimeout = seconds;
    return input;
  }
  const seconds = readSeconds(data, "timeout");
  return seconds === undefined ? undefined : { timeout: seconds };
}

async function onStart(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const scenario = scenariosByKey.get(form.dataset.scenario);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  clearProblem();
  announce(`Starting the ${scenario.title.toLowerCase()}…`);
  let result;
  try {
    result = await api("POST", `start/${encodeURIComponent(scenario.key)}`, scenarioInput(scenario.key, form));
  } catch (error) {
    showProblem(`The app could not be reached: ${error.message}`);
    button.disabled = false;
    return;
  }
  if (result.status !== 202) {
    showProblem(problemText(result));
    button.disabled = false;
    return;
  }
  // The instance gets its own address: reloading follows it instead of starting another one.
  history.pushState(null, "", pageHref({ instance: result.data.instanceId }));
  openInstance(result.data.instanceId, scenario, NEW_INSTANCE_GRACE_MS);
}

function onOpen(event) {
  event.preventDefault();
  const id = new FormData(event.currentTarget).get("instance").trim();
  if (id) location.assign(pageHref({ instance: id }));
}

function showStart(scenarioKey) {
  const single = scenariosByKey.has(scenarioKey);
  if (scenarioKey && !single) {
    showProblem(`There is no scenario named “${scenarioKey}”. Pick one below.`);
  }
  const select = $("city-choice");
  // Each choice named by the cities it recommends: "Choice 2: Seattle or London".
  select.replaceChildren(
    ...config.choices.map((c) => el("option", { value: c.choice, text: `Choice ${c.choice}: ${c.cities.join(" or ")}` })),
  );
  $("hello-cities").placeholder = config.defaultCities.join(", ");
  for (const form of document.querySelectorAll("#start form[data-scenario]")) {
    form.hidden = single && form.dataset.scenario !== scenarioKey;
    form.addEventListener("submit", onStart);
  }
  $("open-form").hidden = single;
  $("open-form").addEventListener("submit", onOpen);
  $("start").hidden = false;
  document.title = single
    ? `${scenariosByKey.get(scenarioKey).title} · Progress`
    : "Progress · Durable Functions custom status";
}

// ---------------------------------------------------------------------------------------------
// Raising the events the scenarios wait for.

async function raiseEvent(eventName, data, buttons, sentText) {
  for (const button of buttons) button.disabled = true;
  clearProblem();
  announce(`Sending ${eventName}…`);
  let result;
  try {
    result = await api(
      "POST",
      `events/${encodeURIComponent(state.id)}/${encodeURIComponent(eventName)}`,
      data,
    );
  } catch (error) {
    showProblem(`The app could not be reached: ${error.message}`);
    for (const button of buttons) button.disabled = false;
    return;
  }
  if (result.status !== 202) {
    showProblem(problemText(result));
    // 409: the instance ended or does not wait for this; the next status shows why.
    if (result.status !== 409) for (const button of buttons) button.disabled = false;
  } else {
    announce(sentText);
  }
  pollSoon();
}

// ---------------------------------------------------------------------------------------------
// One view per scenario. Each renders the status into the container and returns a one-line
// summary for the live region.

// Before the status says anything: a waiting line while the instance runs, nothing once it ended.
function waiting(container, running, text) {
  container.replaceChildren(...(running ? [el("p", { class: "waiting", text })] : []));
  return running ? text : null;
}

function helloView(status, container, view) {
  const cities = Array.isArray(status.input) ? status.input.map(String) : config.defaultCities;
  const running = !TERMINAL.has(status.runtimeStatus);
  let done = view.done ?? 0;
  if (status.runtimeStatus === "Completed") {
    done = cities.length;
  } else if (typeof status.customStatus === "string") {
    // Search from the step last seen: the status only names a city, and a city may come twice.
    const found = cities.indexOf(status.customStatus, Math.max(done - 1, 0));
    if (found >= 0) done = Math.max(done, found + 1);
  }
  view.done = done;

  const steps = cities.map((city, index) => {
    let step = "pending";
    if (index < done) step = "done";
    else if (index === done) step = running ? "current" : status.runtimeStatus === "Completed" ? "done" : "stopped";
    const label = { done: "greeted", current: "greeting now", pending: "pending", stopped: "not greeted" }[step];
    const marker = { done: "✓", current: "●", pending: "○", stopped: "✕" }[step];
    return el(
      "li",
      { class: `step ${step}`, "aria-current": step === "current" ? "step" : null },
      el("span", { class: "marker", "aria-hidden": "true", text: marker }),
      el("span", { class: "step-name", text: city }),
      el("span", { class: "step-state", text: label }),
    );
  });
  container.replaceChildren(
    el("h3", { id: "steps-title", text: "Cities" }),
    el("ol", { class: "steps", "aria-labelledby": "steps-title" }, ...steps),
  );
  if (Array.isArray(status.output)) {
    container.append(el("h3", { text: "Greetings" }), list(status.output, "greetings"));
  }
  if (status.runtimeStatus === "Completed") return `Completed: ${cities.length} of ${cities.length} cities greeted.`;
  if (!running) return null;
  if (done === 0) return `Running: greeting ${cities[0]}, 1 of ${cities.length}.`;
  return `Running: greeted ${cities[done - 1]}, ${done} of ${cities.length}.`;
}

function cityView(status, container) {
  const custom = status.customStatus && typeof status.customStatus === "object" ? status.customStatus : {};
  const running = !TERMINAL.has(status.runtimeStatus);
  if ("selectedCity" in custom) {
    const nodes = [];
    if (custom.selectedCity) {
      nodes.push(
        el("p", { class: "result ok" }, "You picked ", el("strong", { text: custom.selectedCity }), "."),
        el("h3", { text: "Best seasons" }),
        list(custom.recommendedSeasons ?? [], "chips"),
      );
    }
    nodes.push(el("p", { class: custom.selectedCity ? "message" : "result warn", text: custom.message ?? "" }));
    container.replaceChildren(...nodes);
    return custom.message ?? "The recommendation is final.";
  }
  if (!Array.isArray(custom.recommendedCities)) {
    return waiting(container, running, "Waiting for the recommendation…");
  }
  const seasons = custom.recommendedSeasons ?? [];
  const nodes = [
    el("h3", { text: "Recommended cities" }),
    list(custom.recommendedCities, "chips"),
    el("h3", { text: "Recommended seasons" }),
    list(seasons, "chips"),
  ];
  if (custom.message) nodes.push(el("p", { class: "message", text: custom.message }));
  if (running) {
    const buttons = custom.recommendedCities.map((city) =>
      el("button", { type: "button", class: "primary", text: `Pick ${city}` }),
    );
    for (const [index, button] of buttons.entries()) {
      const city = custom.recommendedCities[index];
      button.addEventListener("click", () =>
        raiseEvent("CitySelected", { city }, buttons, `Picked ${city}; waiting for the refined recommendation…`),
      );
    }
    nodes.push(
      el(
        "fieldset",
        { class: "actions" },
        el("legend", { text: "Pick a city to refine the recommendation" }),
        ...buttons,
      ),
    );
  }
  container.replaceChildren(...nodes);
  const cities = custom.recommendedCities.join(" or ");
  return `Recommended: ${cities}, in ${seasons.join(" or ")}. Pick a city.`;
}

function remainingSeconds(offer) {
  const now = Date.now() + (state.clockOffset ?? 0);
  const left = Math.min(Math.max(offer.deadline - now, 0), offer.seconds * 1000);
  return Math.ceil(left / 1000);
}

function stopCountdown() {
  if (state && state.countdown) {
    clearInterval(state.countdown);
    state.countdown = 0;
  }
}

function ticketView(status, container, view) {
  const custom = status.customStatus && typeof status.customStatus === "object" ? status.customStatus : {};
  stopCountdown();
  if (typeof custom.message === "string") {
    const ok = status.output === true;
    container.replaceChildren(el("p", { class: `result ${ok ? "ok" : "warn"}`, text: custom.message }));
    return custom.message;
  }
  if (typeof custom.discountTimeout !== "number") {
    return waiting(container, !TERMINAL.has(status.runtimeStatus), "Calculating your discount…");
  }
  // The deadline runs from when the offer appeared: the update time of the first status carrying it.
  const key = JSON.stringify(custom);
  if (!view.offer || view.offer.key !== key) {
    view.offer = {
      key,
      seconds: custom.discountTimeout,
      deadline: Date.parse(status.lastUpdatedTime) + custom.discountTimeout * 1000,
    };
  }
  const offer = view.offer;
  const timer = el("span", { class: "countdown", role: "timer", id: "countdown" });
  const bar = el("progress", { max: offer.seconds, value: offer.seconds, "aria-labelledby": "countdown-label" });
  const confirm = el("button", { type: "button", class: "primary", text: "Confirm booking" });
  const decline = el("button", { type: "button", text: "Decline" });
  const buttons = [confirm, decline];
  confirm.addEventListener("click", () =>
    raiseEvent("BookingConfirmed", true, buttons, "Confirmation sent; waiting for the booking…"),
  );
  decline.addEventListener("click", () =>
    raiseEvent("BookingConfirmed", false, buttons, "Decline sent; waiting for the booking…"),
  );
  const nodes = [
    el("p", { class: "discount" }, el("strong", { text: `${custom.discount}%` }), " discount for you"),
    el("p", { class: "deadline" }, el("span", { id: "countdown-label", text: "Offer ends in " }), timer),
    bar,
    el("div", { class: "actions" }, ...buttons),
  ];
  if (typeof custom.bookingUrl === "string" && /^https?:\/\//.test(custom.bookingUrl)) {
    nodes.push(
      el("p", {}, el("a", { href: custom.bookingUrl, rel: "noreferrer noopener", target: "_blank", text: "Booking site" })),
    );
  }
  container.replaceChildren(...nodes);

  const running = !TERMINAL.has(status.runtimeStatus);
  const tick = () => {
    const left = remainingSeconds(offer);
    timer.textContent = formatSeconds(left);
    bar.value = left;
    if (left <= 0 || !running) {
      for (const button of buttons) button.disabled = true;
      stopCountdown();
      if (left <= 0) {
        timer.textContent = "0:00 (expired)";
        announce("The offer has expired.");
      }
    }
  };
  tick();
  if (running && remainingSeconds(offer) > 0) state.countdown = setInterval(tick, 250);
  return `Offer: ${custom.discount}% discount, ${offer.seconds} seconds to confirm.`;
}

function setStatusView(status, container) {
  const custom = status.customStatus && typeof status.customStatus === "object" ? status.customStatus : {};
  const running = !TERMINAL.has(status.runtimeStatus);
  const actions = Array.isArray(custom.nextActions) ? custom.nextActions : null;
  if (!actions) {
    return waiting(container, running, "Waiting for the next actions…");
  }
  const nodes = [el("h3", { text: "Next actions" })];
  nodes.push(actions.length ? list(actions, "chips") : el("p", { text: "None left." }));
  if (running && actions.length) {
    const proceed = el("button", { type: "button", class: "primary", text: "Proceed" });
    proceed.addEventListener("click", () => raiseEvent("Proceed", {}, [proceed], "Proceed sent…"));
    nodes.push(el("div", { class: "actions" }, proceed));
  }
  const output = status.output && typeof status.output === "object" ? status.output : null;
  if (output) {
    const text = output.proceeded ? "Proceeded." : (output.message ?? "Did not proceed.");
    nodes.push(el("p", { class: `result ${output.proceeded ? "ok" : "warn"}`, text }));
  }
  container.replaceChildren(...nodes);
  if (output) return `Completed: ${output.proceeded ? "proceeded" : "did not proceed"}.`;
  return actions.length ? `Next actions: ${actions.join(", ")}.` : "No next actions.";
}

function genericView(status, container) {
  container.replaceChildren(el("p", { text: "This orchestrator has no view of its own; its status is below." }));
  return null;
}

const VIEWS = { hello: helloView, city: cityView, ticket: ticketView, "set-status": setStatusView };

// ---------------------------------------------------------------------------------------------
// Following an instance.

function render(status) {
  const scenario = scenariosByName.get(status.name) ?? state.scenario;
  const title = scenario ? scenario.title : (status.name ?? "Instance");
  $("instance-title").textContent = title;
  document.title = `${title} · ${status.runtimeStatus} · Progress`;
  const badge = $("runtime-badge");
  badge.textContent = status.runtimeStatus;
  badge.dataset.status = status.runtimeStatus;
  $("fact-name").textContent = status.name ?? "–";
  $("fact-runtime").textContent = status.runtimeStatus;
  $("fact-created").replaceChildren(formatTime(status.createdTime) ?? "–");
  $("fact-updated").replaceChildren(formatTime(status.lastUpdatedTime) ?? "–");
  $("custom-status").textContent = json(status.customStatus);
  $("input").textContent = json(status.input);
  $("output").textContent = json(status.output);

  const container = $("view");
  const hadFocus = container.contains(document.activeElement);
  const renderView = scenario ? VIEWS[scenario.key] : genericView;
  let summary = renderView(status, container, state.view);
  if (status.runtimeStatus === "Failed" || status.runtimeStatus === "Terminated") {
    const reason = typeof status.output === "string" ? status.output : json(status.output);
    container.append(el("p", { class: "result fail", text: `${status.runtimeStatus}: ${reason}` }));
    summary = `${status.runtimeStatus}: ${reason}`;
  }
  if (hadFocus) container.focus();
  $("details").hidden = false;
  $("live").classList.toggle("ended", TERMINAL.has(status.runtimeStatus));
  announce(summary ?? `${title}: ${status.runtimeStatus}.`);
}

// An id with no instance behind it: the page says so and shows nothing of an instance.
function notFound(text) {
  $("instance").hidden = true;
  $("live").textContent = "";
  lastAnnouncement = "";
  showProblem(text);
  document.title = "Instance not found · Progress";
}

function stop() {
  state.stopped = true;
  clearTimeout(state.timer);
  $("instance").dataset.polling = "stopped";
}

function schedule() {
  if (!state.stopped) state.timer = setTimeout(poll, state.delay);
}

function pollSoon() {
  if (state.stopped) return;
  state.delay = MIN_DELAY_MS;
  if (state.inFlight) {
    state.soon = true;
    return;
  }
  clearTimeout(state.timer);
  poll();
}

async function poll() {
  state.inFlight = true;
  let result = null;
  try {
    result = await api("GET", `status/${encodeURIComponent(state.id)}`);
  } catch {
    showProblem("The app does not answer; retrying…");
  }
  state.inFlight = false;
  let changed = false;
  if (result && result.status === 200) {
    clearProblem();
    state.seen = true;
    $("instance").hidden = false;
    const status = result.data;
    state.clockOffset = Date.parse(status.serverTime) - Date.now();
    const key = JSON.stringify([status.runtimeStatus, status.customStatus, status.output, status.lastUpdatedTime]);
    if (key !== state.lastKey) {
      state.lastKey = key;
      changed = true;
      render(status);
    }
    if (TERMINAL.has(status.runtimeStatus)) {
      stop();
      return;
    }
  } else if (result && result.status === 404 && !state.seen && Date.now() - state.openedAt < state.graceMs) {
    // Only an instance this page just started is known to exist; any other id is being looked up.
    if (state.started) {
      $("runtime-badge").textContent = "Pending";
      $("runtime-badge").dataset.status = "Pending";
      announce("Waiting for the instance to start…");
    }
  } else if (result && result.status === 404 && !state.seen) {
    notFound(`No instance with id ${state.id} was found.`);
    stop();
    return;
  } else if (result && [400, 401, 403, 404].includes(result.status)) {
    if (state.seen) $("runtime-badge").textContent = "Unknown";
    else $("instance").hidden = true;
    showProblem(problemText(result));
    stop();
    return;
  } else if (result) {
    showProblem(`${problemText(result)} Retrying…`);
  }
  // Until the instance is seen, a new one is due any moment (and an unknown id is told soon).
  const ceiling = state.seen ? MAX_DELAY_MS : LOOKUP_DELAY_MS;
  state.delay = changed || state.soon ? MIN_DELAY_MS : Math.min(state.delay * 2, ceiling);
  state.soon = false;
  schedule();
}

function openInstance(id, scenario, graceMs) {
  $("start").hidden = true;
  // An instance this page started is shown at once; any other once its first status arrives.
  $("instance").hidden = !scenario;
  $("instance").dataset.polling = "active";
  $("instance-id").textContent = id;
  if (scenario) $("instance-title").textContent = scenario.title;
  $("again-link").href = pageHref(scenario ? { scenario: scenario.key } : {});
  state = {
    id,
    scenario: scenario ?? null,
    view: {},
    openedAt: Date.now(),
    graceMs,
    delay: MIN_DELAY_MS,
    lastKey: "",
    timer: 0,
    countdown: 0,
    stopped: false,
    inFlight: false,
    soon: false,
    seen: false,
    started: Boolean(scenario),
    clockOffset: 0,
  };
  if (!scenario) announce(`Looking up instance ${id}…`);
  poll();
}

function main() {
  $("home-link").href = pageHref({});
  $("view").tabIndex = -1;
  // Back and forward move between the form and an instance: show what the address says.
  addEventListener("popstate", () => location.reload());
  const instance = query.get("instance");
  if (instance) openInstance(instance, null, NOT_FOUND_GRACE_MS);
  else showStart(query.get("scenario"));
}

main();
