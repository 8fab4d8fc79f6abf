// The operators' dashboard: plain JavaScript, no library, no request but to this
// server. The API key is kept in sessionStorage (this tab only) and sent in the
// X-API-Key header; it never goes into a URL.
"use strict";

const KEY = "sms-dashboard-key";
const state = { key: sessionStorage.getItem(KEY), days: 7, search: "", page: 1, pages: 1, open: null };
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}

async function api(path) {
  const response = await fetch(path, { headers: { "X-API-Key": state.key || "" }, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("That key was not accepted.");
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const when = (at) => new Date(at * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
const percent = (rate) => (rate === null ? "–" : `${(rate * 100).toFixed(1)} %`);

function money(amount, currency) {
  try {
    return new Intl.NumberFormat([], { style: "currency", currency, maximumFractionDigits: 2 }).format(amount);
  } catch (_) {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

function signedOut(message) {
  sessionStorage.removeItem(KEY);
  state.key = null;
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("key").value = "";
  $("key").focus();
}

async function signIn(event) {
  event.preventDefault();
  state.key = $("key").value.trim();
  $("login-error").textContent = "";
  try {
    await api("/sms/analytics?days=7");
  } catch (error) {
    signedOut(error.message);
    return;
  }
  sessionStorage.setItem(KEY, state.key);
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  await refresh();
}

async function refresh() {
  try {
    await Promise.all([loadAnalytics(), loadConversations()]);
  } catch (error) {
    if (error instanceof Unauthorized) signedOut(error.message);
    else $("period").textContent = error.message;
  }
}

async function loadAnalytics() {
  const report = await api(`/sms/analytics?days=${state.days}`);
  $("period").textContent = `${report.from} to ${report.to} (${report.time_zone})`;
  for (const button of document.querySelectorAll("[data-days]")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.days) === state.days));
  }
  const t = report.totals;
  const cards = [
    ["inbound", "Texts in", t.inbound],
    ["outbound", "Texts out", t.outbound],
    ["delivery-rate", "Delivered", percent(report.delivery_rate)],
    ["failed", "Failed", t.failed + t.undelivered],
    ["sessions", "Sessions", t.sessions],
    ["active", "Active now", report.active_sessions],
    ["unique", "Numbers", t.unique_numbers],
    ["opt-outs", "Opt-outs", t.opt_outs],
    ["handoffs", "Hand-offs", t.handoffs],
    ["cost", "Est. cost", money(report.estimated_cost.total, report.estimated_cost.currency)],
  ];
  $("cards").replaceChildren(
    ...cards.map(([id, label, value]) =>
      el("div", { class: "card", "data-testid": `card-${id}` },
        el("div", { class: "value" }, String(value)),
        el("div", { class: "label" }, label)))
  );
  drawChart(report.daily);
}

function drawChart(daily) {
  const chart = $("chart");
  const width = 900, height = 220, left = 34, bottom = 22, top = 8;
  const series = daily.map((d) => [d.inbound, d.outbound, d.failed + d.undelivered]);
  const most = Math.max(1, ...series.flat());
  const slot = (width - left) / daily.length;
  const bar = Math.max(1, (slot * 0.8) / 3);
  const y = (value) => height - bottom - ((height - bottom - top) * value) / most;
  const nodes = [
    svg("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, stroke: "#e3e6ee" }),
    svg("text", { x: 2, y: top + 10 }, String(most)),
    svg("text", { x: 2, y: height - bottom }, "0"),
  ];
  const labelEvery = Math.ceil(daily.length / 10);
  daily.forEach((day, i) => {
    const x0 = left + i * slot + slot * 0.1;
    ["inbound", "outbound", "failed"].forEach((kind, k) => {
      const value = series[i][k];
      const rect = svg("rect", {
        class: kind, x: x0 + k * bar, y: y(value), width: bar, height: height - bottom - y(value),
        "data-date": day.date, "data-kind": kind, "data-value": value,
      });
      rect.append(svg("title", {}, `${day.date}: ${value} ${kind}`));
      nodes.push(rect);
    });
    if (i % labelEvery === 0) {
      nodes.push(svg("text", { x: x0, y: height - 6 }, day.date.slice(5)));
    }
  });
  chart.replaceChildren(...nodes);
  chart.dataset.days = String(daily.length);
}

async function loadConversations() {
  const query = new URLSearchParams({ page: String(state.page), per_page: "15" });
  if (state.search) query.set("search", state.search);
  const found = await api(`/sms/conversations?${query}`);
  state.pages = found.pages;
  $("page").textContent = `page ${found.page} of ${found.pages} · ${found.total} conversations`;
  $("prev").disabled = found.page <= 1;
  $("next").disabled = found.page >= found.pages;
  $("conversations").replaceChildren(
    ...found.conversations.map((c) => {
      const row = el("tr", { "data-number": c.number, "aria-selected": String(c.number === state.open) },
        el("td", {}, c.number),
        el("td", {}, c.contact_name || ""),
        el("td", {}, el("span", { class: `state ${c.state}` }, c.state.replace("_", " "))),
        el("td", {}, String(c.messages)),
        el("td", {}, when(c.last_activity)));
      row.addEventListener("click", () => openThread(c.number));
      return row;
    })
  );
}

function tick(item) {
  if (item.status === "delivered" || item.status === "read") return el("span", { class: "tick", title: item.status }, "✓✓");
  if (["failed", "undelivered"].includes(item.status)) {
    return el("span", { class: "tick failed", title: item.status }, `✗ ${item.error_code || item.status}`);
  }
  return el("span", { class: "tick", title: item.status }, "✓");
}

const MARKS = {
  session_started: "New session",
  handoff: "Handed to a person",
  resumed: "Back to the assistant",
  inactivity_warning: "Inactivity warning",
};

async function openThread(number) {
  state.open = number;
  for (const row of $("conversations").rows) row.setAttribute("aria-selected", String(row.dataset.number === number));
  let thread;
  try {
    thread = await api(`/sms/conversations/${encodeURIComponent(number)}`);
  } catch (error) {
    if (error instanceof Unauthorized) return signedOut(error.message);
    $("thread-title").textContent = error.message;
    return;
  }
  $("thread-title").textContent = thread.contact_name ? `${thread.contact_name} · ${number}` : number;
  $("thread").replaceChildren(
    ...thread.items.map((item) => {
      if (item.type !== "message") {
        return el("li", { class: "mark", "data-type": item.type }, `${MARKS[item.type] || item.type} · ${when(item.at)}`);
      }
      const meta = el("span", { class: "meta" }, `${when(item.at)}${item.segments > 1 ? ` · ${item.segments} segments` : ""} `);
      if (item.direction === "out") meta.append(tick(item));
      const by = item.by === "staff" ? " staff" : "";
      return el("li", { class: `bubble ${item.direction}${by}`, "data-direction": item.direction, "data-status": item.status || "" }, item.text, meta);
    })
  );
  $("thread").scrollTop = $("thread").scrollHeight;
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signedOut(""));
  for (const button of document.querySelectorAll("[data-days]")) {
    button.addEventListener("click", async () => {
      state.days = Number(button.dataset.days);
      try { await loadAnalytics(); } catch (error) { if (error instanceof Unauthorized) signedOut(error.message); }
    });
  }
  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.search = $("search").value.trim();
    state.page = 1;
    await refresh();
  });
  $("prev").addEventListener("click", async () => { state.page = Math.max(1, state.page - 1); await loadConversations(); });
  $("next").addEventListener("click", async () => { state.page = Math.min(state.pages, state.page + 1); await loadConversations(); });
  if (state.key) {
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    refresh();
  } else {
    $("key").focus();
  }
});
