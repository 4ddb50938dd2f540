// devhost dashboard: a page over the Durable HTTP API (/runtime/webhooks/durabletask/) and devhost's own
// timeline and clock routes (/runtime/devhost/api/). No framework, no CDN; every value is written as text.
"use strict";

const WEBHOOKS = "/runtime/webhooks/durabletask";
const API = "/runtime/devhost/api";
const PAGE_SIZE = 50;
const REFRESH_MS = 2000;
const ENDED = ["Completed", "Failed", "Terminated"];
const key = new URLSearchParams(location.search).get("code");
const view = document.getElementById("view");
const state = { tokens: [""], page: 0, timer: null, filters: null };

function headers(extra = {}) {
  return key ? { "x-functions-key": key, ...extra } : extra;
}

async function call(method, path, body) {
  const options = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) options.body = body;
  const response = await fetch(path, options);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: response.status, ok: response.ok, data, headers: response.headers };
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function shown(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function asJson(value) {
  return value === undefined ? "" : JSON.stringify(value);
}

function when(text) {
  return text ? new Date(text).toLocaleString() : "";
}

function offset(ms) {
  const sign = ms < 0 ? "-" : "+";
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest} ms`;
  rest = rest / 1000;
  if (rest < 60) return `${sign}${rest.toFixed(rest < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(rest / 60);
  if (minutes < 60) return `${sign}${minutes} min ${Math.round(rest % 60)} s`;
  return `${sign}${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function notice(text) {
  const box = document.getElementById("notice");
  box.textContent = text;
  setTimeout(() => { if (box.textContent === text) box.textContent = ""; }, 6000);
}

function message(result) {
  if (result.data && typeof result.data === "object" && result.data.Message) return result.data.Message;
  return typeof result.data === "string" && result.data ? result.data : `HTTP ${result.status}`;
}

function link(instanceId) {
  return `#/instance/${encodeURIComponent(instanceId)}`;
}

// Re-renders `root` (auto-refresh) without taking the keyboard focus away: a focused link that the
// render replaced is found again by its address and focused.
function keepingFocus(root, render) {
  const active = document.activeElement;
  const href = active && root.contains(active) && active.matches("a[href]") ? active.getAttribute("href") : null;
  render();
  if (href && !root.contains(active)) {
    const again = [...root.querySelectorAll("a[href]")].find((a) => a.getAttribute("href") === href);
    if (again) again.focus();
  }
}

function stopRefresh() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

// ---- instance list ----------------------------------------------------------------------------------

function localToIso(value) {
  return value ? new Date(value).toISOString() : "";
}

function readFilters(form) {
  const data = new FormData(form);
  return {
    name: (data.get("name") || "").trim(),
    status: data.get("status") || "",
    prefix: (data.get("prefix") || "").trim(),
    from: localToIso(data.get("from")),
    to: localToIso(data.get("to")),
    sort: data.get("sort") || "created",
    refresh: data.get("refresh") === "on",
  };
}

async function loadPage(root) {
  const f = state.filters;
  // devhost's own list route: newest first and a name filter, paged by the store (listing.py).
  const query = new URLSearchParams({ top: String(PAGE_SIZE), sort: f.sort });
  if (f.name) query.set("name", f.name);
  if (f.status) query.set("runtimeStatus", f.status);
  if (f.prefix) query.set("instanceIdPrefix", f.prefix);
  if (f.from) query.set("createdTimeFrom", f.from);
  if (f.to) query.set("createdTimeTo", f.to);
  const token = state.tokens[state.page];
  if (token) query.set("continuationToken", token);
  const result = await call("GET", `${API}/instances?${query}`);
  if (!result.ok) {
    notice(`Listing failed: ${message(result)}`);
    return;
  }
  const rows = result.data.instances;
  const next = result.data.continuationToken || "";
  state.tokens.length = state.page + 1;
  if (next) state.tokens.push(next);
  // A store without time order lists by id; then only the page itself can be sorted.
  const pageSorted = result.data.order !== f.sort;
  if (pageSorted) {
    const field = f.sort === "updated" ? "lastUpdatedTime" : "createdTime";
    rows.sort((a, b) => b[field].localeCompare(a[field]));
  }
  // Auto-refresh: nothing to do when the page is what it was.
  const seen = JSON.stringify([f, state.page, next, rows]);
  if (seen === state.shown) return;
  state.shown = seen;
  const body = root.querySelector("#instances tbody");
  keepingFocus(body, () => body.replaceChildren(...rows.map((r) => el("tr", { "data-instance": r.instanceId },
    el("td", { class: "mono" }, el("a", { href: link(r.instanceId), text: r.instanceId })),
    el("td", { text: r.name }),
    el("td", { class: `status status-${r.runtimeStatus}`, text: r.runtimeStatus }),
    el("td", { class: "mono", text: r.customStatus === null ? "" : asJson(r.customStatus) }),
    el("td", { text: when(r.createdTime) }),
    el("td", { text: when(r.lastUpdatedTime) })))));
  root.querySelector("#empty").hidden = rows.length > 0;
  root.querySelector("#next-page").disabled = !next;
  root.querySelector("#first-page").disabled = state.page === 0;
  root.querySelector("#page-note").textContent =
    `Page ${state.page + 1}, ${rows.length} shown` + (pageSorted ? " (this store lists by id: sorted within the page)" : "");
}

// ---- the clock: devhost's virtual time, moved on demand -------------------------------------------------

async function showClock(root) {
  const result = await call("GET", `${API}/time`);
  const line = root.querySelector("#clock-now");
  if (!result.ok) { line.textContent = ""; return; }
  const ahead = result.data.aheadBySeconds;
  line.textContent = `Clock: ${when(result.data.now)}` +
    (ahead > 0 ? ` (virtual, ${offset(Math.round(ahead * 1000))} ahead of the wall clock)` : "");
}

async function fastForward(event, root, reload) {
  event.preventDefault();
  const error = root.querySelector("#clock-error");
  const by = (new FormData(event.target).get("by") || "").trim();
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    const result = await call("POST", `${API}/time/advance`, JSON.stringify({ by }));
    if (!result.ok) { error.textContent = message(result); return; }
    error.textContent = "";
    notice(`Fast-forwarded ${result.data.advancedBy}: ${result.data.dueTimesPassed} due time(s) passed`);
  } finally {
    button.disabled = false;
  }
  await showClock(root);
  reload();
}

async function fillOrchestrators(root) {
  const result = await call("GET", `${API}/orchestrators`);
  if (!result.ok) return;
  root.querySelector("#orchestrator-names").replaceChildren(...result.data.map((n) => el("option", { value: n })));
  root.querySelector("#start-form select").replaceChildren(...result.data.map((n) => el("option", { text: n })));
}

function listView() {
  const root = document.getElementById("list-template").content.cloneNode(true).firstElementChild;
  view.replaceChildren(root);
  const form = root.querySelector("#filters");
  state.tokens = [""];
  state.page = 0;
  state.shown = "";
  state.filters = readFilters(form);
  const reload = () => Promise.all([loadPage(root), showClock(root)]).catch((error) => notice(String(error)));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.filters = readFilters(form);
    state.tokens = [""];
    state.page = 0;
    schedule(reload, state.filters.refresh);
    reload();
  });
  root.querySelector("#next-page").addEventListener("click", () => { state.page += 1; reload(); });
  root.querySelector("#first-page").addEventListener("click", () => { state.page = 0; reload(); });
  root.querySelector("#start-form").addEventListener("submit", (event) => startOrchestration(event, root));
  root.querySelector("#clock-form").addEventListener("submit", (event) => fastForward(event, root, reload));
  fillOrchestrators(root);
  schedule(reload, state.filters.refresh);
  reload();
}

function schedule(action, on) {
  stopRefresh();
  if (on) state.timer = setInterval(action, REFRESH_MS);
}

async function startOrchestration(event, root) {
  event.preventDefault();
  const data = new FormData(event.target);
  const error = root.querySelector("#start-error");
  const input = (data.get("input") || "").trim();
  if (input) {
    try { JSON.parse(input); } catch (e) { error.textContent = `The input is not JSON: ${e.message}`; return; }
  }
  const id = (data.get("instanceId") || "").trim();
  const path = `${WEBHOOKS}/orchestrators/${encodeURIComponent(data.get("orchestrator"))}` +
    (id ? `/${encodeURIComponent(id)}` : "");
  // Sent as the SDK's client.start_new sends an input (JSON text inside a JSON string), so the
  // orchestrator's context.get_input() returns the value typed here.
  const result = await call("POST", path, input ? JSON.stringify(input) : undefined);
  if (!result.ok) { error.textContent = message(result); return; }
  error.textContent = "";
  location.hash = link(result.data.id);
}

// ---- one instance -----------------------------------------------------------------------------------

function summaryRow(list, label, value, pre = false) {
  list.append(el("dt", { text: label }), el("dd", {}, pre ? el("pre", { text: value }) : value));
}

function renderSummary(root, status) {
  const list = root.querySelector("#summary");
  list.replaceChildren();
  summaryRow(list, "Name", status.name);
  summaryRow(list, "Status", el("span", { class: `status status-${status.runtimeStatus}`, text: status.runtimeStatus }));
  summaryRow(list, "Created", when(status.createdTime));
  summaryRow(list, "Updated", when(status.lastUpdatedTime));
  summaryRow(list, "Input", JSON.stringify(status.input, null, 2) ?? "null", true);
  summaryRow(list, "Custom status", JSON.stringify(status.customStatus, null, 2) ?? "null", true);
  summaryRow(list, "Output", JSON.stringify(status.output, null, 2) ?? "null", true);
  const active = ["Pending", "Running", "Suspended", "ContinuedAsNew"].includes(status.runtimeStatus);
  const enable = {
    raise: active, terminate: active, suspend: status.runtimeStatus === "Running",
    resume: status.runtimeStatus === "Suspended", restart: true, rewind: status.runtimeStatus === "Failed",
    purge: !active,
  };
  for (const button of root.querySelectorAll("#actions button")) button.disabled = !enable[button.dataset.action];
}

function renderStatusTimeline(root, timeline) {
  const list = root.querySelector("#status-timeline");
  const changes = timeline.customStatus.changes;
  const items = changes.map((c) => el("li", {},
    el("span", { class: "offset", text: offset(c.offsetMs) }),
    el("code", { class: "value", text: "value" in c ? asJson(c.value) : `${c.text}… (${c.length} characters)` })));
  if (timeline.customStatus.dropped) {
    items.unshift(el("li", { text: `${timeline.customStatus.dropped} earlier values not kept` }));
  }
  if (!items.length) items.push(el("li", { text: "The custom status has not been set." }));
  list.replaceChildren(...items);
}

function renderTasks(root, timeline) {
  const box = root.querySelector("#tasks");
  const ended = ENDED.includes(timeline.runtimeStatus);
  const now = (timeline.now ? new Date(timeline.now).getTime() : Date.now()) - new Date(timeline.createdTime).getTime();
  const last = new Date(timeline.lastUpdatedTime).getTime() - new Date(timeline.createdTime).getTime();
  const span = Math.max(1, ...timeline.tasks.map((t) => t.end ?? (ended ? last : now)), ended ? last : now);
  const rows = timeline.tasks.map((t) => {
    const end = t.end ?? (ended ? last : now);
    const bar = el("div", { class: `bar ${t.outcome}`, title: `${t.kind} ${t.name}: ${t.outcome}` });
    bar.style.left = `${(100 * t.start) / span}%`;
    bar.style.width = `${Math.max(0.4, (100 * (end - t.start)) / span)}%`;
    const label = `${t.kind} ${t.name} (${t.outcome}, ${offset(t.start)}` +
      (t.end !== null && t.end !== t.start ? ` to ${offset(t.end)})` : ")");
    return el("div", { class: "task", role: "listitem" }, el("span", { text: label }), el("div", { class: "track" }, bar));
  });
  if (!rows.length) rows.push(el("p", { text: "No task yet." }));
  box.replaceChildren(...rows);
  const links = root.querySelector("#links");
  const items = [];
  if (timeline.parent && timeline.parent.instanceId) {
    items.push(el("li", {}, "Parent: ", el("a", { href: link(timeline.parent.instanceId), text: timeline.parent.instanceId })));
  }
  for (const t of timeline.tasks) {
    if (t.kind === "sub-orchestration" && t.instanceId) {
      items.push(el("li", {}, `Child ${t.name}: `, el("a", { href: link(t.instanceId), text: t.instanceId })));
    }
  }
  if (!items.length) items.push(el("li", { text: "No parent or child instance." }));
  links.replaceChildren(...items);
}

function renderHistory(root, events) {
  root.querySelector("#history tbody").replaceChildren(...(events || []).map((e) => el("tr", {},
    el("td", { text: when(e.Timestamp) }),
    el("td", { text: e.EventType }),
    el("td", { text: e.FunctionName || e.Name || "" }),
    el("td", { class: "mono", text: shown(e.Result ?? e.Reason ?? e.Input ?? e.FireAt ?? "") }))));
}

function confirmAction(text, withReason) {
  const dialog = document.getElementById("confirm");
  dialog.querySelector("#confirm-text").textContent = text;
  dialog.querySelector("#reason-label").hidden = !withReason;
  dialog.querySelector("input[name=reason]").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"
      ? { reason: dialog.querySelector("input[name=reason]").value } : null), { once: true });
  });
}

async function act(root, instanceId, action, reload) {
  const base = `${WEBHOOKS}/instances/${encodeURIComponent(instanceId)}`;
  if (action === "raise") {
    root.querySelector("#raise-form").hidden = false;
    root.querySelector("#raise-form input[name=event]").focus();
    return;
  }
  const reasoned = ["terminate", "suspend", "resume", "rewind"].includes(action);
  const answer = await confirmAction(`${action[0].toUpperCase()}${action.slice(1)} instance ${instanceId}?`, reasoned);
  if (!answer) return;
  const query = answer.reason ? `?reason=${encodeURIComponent(answer.reason)}` : "";
  const result = action === "purge" ? await call("DELETE", base) : await call("POST", `${base}/${action}${query}`);
  if (!result.ok) { notice(`${action} failed: ${message(result)}`); return; }
  notice(`${action}: done`);
  if (action === "purge") { location.hash = "#/"; return; }
  if (action === "restart" && result.data && result.data.id && result.data.id !== instanceId) {
    location.hash = link(result.data.id);
    return;
  }
  reload();
}

async function raiseEvent(event, root, instanceId, reload) {
  event.preventDefault();
  const data = new FormData(event.target);
  const error = root.querySelector("#raise-error");
  const text = (data.get("data") || "").trim() || "null";
  try { JSON.parse(text); } catch (e) { error.textContent = `The event data is not JSON: ${e.message}`; return; }
  const name = (data.get("event") || "").trim();
  const result = await call("POST",
    `${WEBHOOKS}/instances/${encodeURIComponent(instanceId)}/raiseEvent/${encodeURIComponent(name)}`,
    JSON.stringify(text)); // as the SDK's client.raise_event sends event data
  if (!result.ok) { error.textContent = message(result); return; }
  error.textContent = "";
  event.target.hidden = true;
  notice(`Event ${name} sent`);
  reload();
}

function instanceView(instanceId) {
  const root = document.getElementById("instance-template").content.cloneNode(true).firstElementChild;
  view.replaceChildren(root);
  root.querySelector("#instance-title").textContent = instanceId;
  document.title = `${instanceId} - devhost dashboard`;
  let shown = "";
  const reload = async () => {
    const id = encodeURIComponent(instanceId);
    const [status, timeline] = await Promise.all([
      call("GET", `${WEBHOOKS}/instances/${id}?showHistory=true&showHistoryOutput=true&showInput=true`),
      call("GET", `${API}/instances/${id}/timeline`),
    ]);
    if (status.status === 404) {
      stopRefresh();
      root.querySelector("#summary").replaceChildren(el("p", { text: "No instance with this id." }));
      // Nothing else: no actions, no empty timelines or history of an instance that is not there.
      for (const part of root.querySelectorAll("#actions, #raise-form, h2, ol, #tasks, ul, .table-wrap")) part.hidden = true;
      return;
    }
    if (!status.ok || !timeline.ok) { notice(`Reading the instance failed: ${message(status.ok ? timeline : status)}`); return; }
    // Auto-refresh: an active instance's open bars grow with the clock; an ended one's stay as they are.
    const seen = JSON.stringify([status.data, timeline.data]);
    if (seen === shown && ENDED.includes(timeline.data.runtimeStatus)) return;
    shown = seen;
    keepingFocus(root, () => {
      renderSummary(root, status.data);
      renderStatusTimeline(root, timeline.data);
      renderTasks(root, timeline.data);
      renderHistory(root, status.data.historyEvents);
    });
  };
  for (const button of root.querySelectorAll("#actions button")) {
    button.addEventListener("click", () => act(root, instanceId, button.dataset.action, reload));
  }
  root.querySelector("#raise-form").addEventListener("submit", (event) => raiseEvent(event, root, instanceId, reload));
  root.querySelector("#raise-cancel").addEventListener("click", () => { root.querySelector("#raise-form").hidden = true; });
  schedule(() => reload().catch((error) => notice(String(error))), true);
  reload().catch((error) => notice(String(error)));
}

// Entities: the Durable HTTP API's entities/ routes, a page at a time, and a signal form.
function entitiesView() {
  const root = document.getElementById("entities-template").content.cloneNode(true).firstElementChild;
  view.replaceChildren(root);
  document.title = "Entities - devhost dashboard";
  const pages = { tokens: [""], page: 0, name: "" };
  const reload = async () => {
    const path = pages.name ? `${WEBHOOKS}/entities/${encodeURIComponent(pages.name)}` : `${WEBHOOKS}/entities`;
    const token = pages.tokens[pages.page] || "";
    const result = await fetch(`${path}?fetchState=true&top=${PAGE_SIZE}`,
      { headers: headers(token ? { "x-ms-continuation-token": token } : {}) });
    const data = await result.json().catch(() => null);
    if (!result.ok) { notice(`Reading the entities failed: ${data && data.Message ? data.Message : result.status}`); return; }
    const next = result.headers.get("x-ms-continuation-token") || "";
    pages.tokens[pages.page + 1] = next;
    keepingFocus(root, () => {
      root.querySelector("#entities tbody").replaceChildren(...data.map((entity) => el("tr",
        { "data-entity": `${entity.entityId.name}@${entity.entityId.key}` },
        el("td", { text: entity.entityId.name }), el("td", { text: entity.entityId.key }),
        el("td", { class: "mono", text: asJson(entity.state) }), el("td", { text: when(entity.lastOperationTime) }))));
      root.querySelector("#entities-empty").hidden = data.length > 0;
      root.querySelector("#entities-next").disabled = !next;
      root.querySelector("#entities-first").disabled = pages.page === 0;
    });
  };
  root.querySelector("#entity-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    pages.name = (new FormData(event.target).get("name") || "").trim();
    pages.tokens = [""];
    pages.page = 0;
    reload();
  });
  root.querySelector("#entities-next").addEventListener("click", () => { pages.page += 1; reload(); });
  root.querySelector("#entities-first").addEventListener("click", () => { pages.page = 0; reload(); });
  root.querySelector("#signal-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const error = root.querySelector("#signal-error");
    const input = (data.get("input") || "").trim();
    if (input) {
      try { JSON.parse(input); } catch (e) { error.textContent = `The input is not JSON: ${e.message}`; return; }
    }
    const name = (data.get("name") || "").trim();
    const entityKey = (data.get("key") || "").trim();
    const op = (data.get("op") || "").trim();
    const result = await call("POST",
      `${WEBHOOKS}/entities/${encodeURIComponent(name)}/${encodeURIComponent(entityKey)}?op=${encodeURIComponent(op)}`,
      input ? JSON.stringify(input) : undefined); // JSON text as a JSON string, as the SDK's client.signal_entity sends it
    if (!result.ok) { error.textContent = message(result); return; }
    error.textContent = "";
    notice(`Signal ${op} sent to ${name}@${entityKey}`);
    setTimeout(() => reload().catch((e) => notice(String(e))), 300);
  });
  schedule(() => reload().catch((error) => notice(String(error))), true);
  reload().catch((error) => notice(String(error)));
}

function route() {
  stopRefresh();
  const match = location.hash.match(/^#\/instance\/(.+)$/);
  if (match) instanceView(decodeURIComponent(match[1]));
  else if (location.hash === "#/entities") entitiesView();
  else { document.title = "devhost dashboard"; listView(); }
  view.focus();
}

window.addEventListener("hashchange", route);
route();
