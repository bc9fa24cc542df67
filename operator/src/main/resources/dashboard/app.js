// The pgcheckpoint dashboard: Databases, their checkpoints and a "Back up now" button, all
// through the operator's HTTP API with the caller's own token (kept in session storage).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("pgck.token"), ns: sessionStorage.getItem("pgck.ns") || "default",
                access: null, open: new Set(), timer: null };

class ApiError extends Error {
  constructor(status, body) { super(body && body.message ? body.message : "HTTP " + status); this.status = status; this.body = body; }
}

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + state.token };
  if (body) headers["Content-Type"] = "application/json";
  const r = await fetch("/api/v1/namespaces/" + encodeURIComponent(state.ns) + path,
                        { method, headers, body: body ? JSON.stringify(body) : undefined });
  let json = null;
  try { json = await r.json(); } catch (e) { /* not JSON: reported below */ }
  if (!r.ok && !(r.status === 422 || r.status === 504)) throw new ApiError(r.status, json);
  return json;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function signedOut(message) {
  sessionStorage.removeItem("pgck.token");
  state.token = null;
  clearTimeout(state.timer);
  $("signin").hidden = false;
  $("databases").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("namespace").value = state.ns;
  showError(message || "");
}

async function signIn(event) {
  event.preventDefault();
  state.token = $("token").value.trim();
  state.ns = $("namespace").value.trim();
  sessionStorage.setItem("pgck.token", state.token);
  sessionStorage.setItem("pgck.ns", state.ns);
  $("token").value = "";
  await start();
}

async function start() {
  showError("");
  try {
    state.access = await api("GET", "/access");
  } catch (e) {
    signedOut(e.status === 401 ? "The cluster did not accept that token: " + e.message : e.message);
    return;
  }
  $("signin").hidden = true;
  $("signout").hidden = false;
  $("who").textContent = state.access.user;
  $("ns-name").textContent = state.ns;
  $("databases").hidden = false;
  await refresh();
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function checkpointRows(c) {
  const id = c.namespace + "/" + c.name;
  const row = el("tr", { class: "checkpoint", "data-name": c.name, onclick: () => {
      state.open.has(id) ? state.open.delete(id) : state.open.add(id); refresh(); } },
    el("td", {}, c.tag, c.commit ? el("div", { class: "muted" }, c.commit) : null),
    el("td", {}, el("span", { class: "phase " + c.phase }, c.phase)),
    el("td", { class: "wide" }, c.size || ""),
    el("td", { class: "wide" }, when(c.sealed_at)),
    el("td", { class: "wide" }, when(c.proven_at)),
    el("td", { class: "message" }, c.phase === "Proven" ? "restore drill proven" : (c.message || "")));
  if (!state.open.has(id)) return [row];
  const facts = [["tag", c.tag], ["commit", c.commit], ["reason", c.reason], ["phase", c.phase],
    ["archive", c.size ? c.size + " (" + c.bytes + " bytes)" : null], ["ledger", c.tables != null ? c.tables + " tables, " + c.rows + " rows" : null],
    ["restore drill", c.restore_drill], ["sealed", when(c.sealed_at)], ["proven", when(c.proven_at)],
    ["locked", c.retain_until ? c.lock_mode + " until " + when(c.retain_until) : null],
    ["failure", c.failure_reason], ["message", c.message]].filter(([, v]) => v);
  const dl = el("dl", {});
  for (const [k, v] of facts) { dl.append(el("dt", {}, k), el("dd", {}, v)); }
  return [row, el("tr", { class: "ledger" }, el("td", { colspan: "6" }, dl))];
}

async function refresh() {
  clearTimeout(state.timer);
  let databases, checkpoints;
  try {
    [databases, checkpoints] = await Promise.all([api("GET", "/databases"), api("GET", "/checkpoints")]);
  } catch (e) {
    if (e.status === 401) { signedOut("Your token expired or was revoked: sign in again."); return; }
    showError(e.message);
    state.timer = setTimeout(refresh, 5000);
    return;
  }
  showError("");
  const list = $("database-list");
  list.replaceChildren();
  if (databases.items.length === 0) list.append(el("p", { class: "muted" }, "No Database in this namespace yet."));
  let running = false;
  for (const db of databases.items) {
    const mine = checkpoints.items.filter((c) => c.database === db.name);
    running = running || mine.some((c) => !["Proven", "Failed"].includes(c.phase));
    const button = el("button", { class: "backup", "data-database": db.name, onclick: () => askBackup(db.name) }, "Back up now");
    if (!state.access.create) { button.disabled = true; button.title = state.access.reason; }
    const table = el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Tag"), el("th", {}, "Phase"), el("th", { class: "wide" }, "Size"),
        el("th", { class: "wide" }, "Sealed"), el("th", { class: "wide" }, "Proven"), el("th", {}, "Drill / message"))),
      el("tbody", {}, ...mine.flatMap(checkpointRows)));
    list.append(el("div", { class: "card database", "data-database": db.name },
      el("div", { class: "db-head" },
        el("h3", {}, db.name, " ", el("span", { class: "muted" }, db.ready ? "ready" : "not ready")),
        button),
      state.access.create ? null : el("p", { class: "why" }, state.access.reason),
      db.store ? el("div", { class: "muted" }, db.store) : null,
      db.ready ? null : el("div", { class: "message" }, db.message || ""),
      mine.length ? table : el("p", { class: "muted" }, "No checkpoint yet.")));
  }
  state.timer = setTimeout(refresh, running ? 2000 : 10000);
}

function askBackup(database) {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-").toLowerCase();
  $("backup-db").textContent = database;
  $("backup-tag").value = "manual-" + database + "-" + stamp;
  $("backup-reason").value = "Back up now, from the dashboard";
  $("backup-dialog").dataset.database = database;
  $("backup-dialog").showModal();
}

async function backUp(event) {
  event.preventDefault();
  const database = $("backup-dialog").dataset.database;
  $("backup-dialog").close();
  try {
    await api("POST", "/checkpoints?wait=0", { database, tag: $("backup-tag").value.trim(), reason: $("backup-reason").value });
  } catch (e) {
    showError(e.message);
  }
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signedOut());
  $("switch-ns").addEventListener("click", () => {
    const ns = prompt("Namespace", state.ns);
    if (ns && ns.trim()) { state.ns = ns.trim(); sessionStorage.setItem("pgck.ns", state.ns); start(); }
  });
  $("backup-form").addEventListener("submit", backUp);
  $("backup-cancel").addEventListener("click", () => $("backup-dialog").close());
  if (state.token) start(); else signedOut();
});
