// The admin page, for people with the administrator role: how federation with each peer
// department is going (backlog now, and deliveries, failures, retries and dead letters hour by
// hour, drawn as small SVG charts), the deliveries that ran out of chances with a retry button,
// the domain policy, open reports, and suspending accounts. It speaks Mastodon's admin API and
// Watercooler's /api/v1/admin/federation and /api/v1/admin/dead_letters.

import { api, session } from "./api.js";
import { h, announce, showError, timeEl, plural, act } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// isAdmin reads the role verify_credentials gives: bit 1 of its permissions is Mastodon's
// "administrator", which grants everything.
export function isAdmin(me) {
  return !!(me && me.role && (Number(me.role.permissions || 0) & 1) === 1);
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

// SERIES are what a peer's chart shows, in the order of the legend.
const SERIES = [
  { key: "delivered", label: "Delivered", cls: "ok" },
  { key: "failed", label: "Failed", cls: "bad" },
  { key: "retried", label: "Retried", cls: "retry" },
  { key: "dead", label: "Dead letters", cls: "dead" },
];

// chart draws a peer's hours: delivered and failed as stacked bars, retries as a line, and
// dead letters as dots. A table with the same figures is there for screen readers.
function chart(peer) {
  const W = 480, H = 150, pad = 22, n = peer.hours.length;
  const top = Math.max(1, ...peer.hours.map((x) => Math.max(x.delivered + x.failed, x.retried, x.dead)));
  const bw = (W - pad) / n;
  const y = (v) => H - pad - (v / top) * (H - 2 * pad);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", "aria-hidden": "true", "data-host": peer.host, focusable: "false" });
  root.append(svg("line", { x1: pad, y1: H - pad, x2: W, y2: H - pad, class: "axis" }));
  root.append(svg("text", { x: 0, y: pad, class: "tick" }, document.createTextNode(String(top))));
  root.append(svg("text", { x: 0, y: H - pad, class: "tick" }, document.createTextNode("0")));
  const points = [];
  peer.hours.forEach((x, i) => {
    const x0 = pad + i * bw + 1, w = Math.max(1, bw - 2);
    if (x.delivered) root.append(svg("rect", { x: x0, y: y(x.delivered), width: w, height: H - pad - y(x.delivered), class: "ok" }));
    if (x.failed) root.append(svg("rect", { x: x0, y: y(x.delivered + x.failed), width: w, height: y(x.delivered) - y(x.delivered + x.failed), class: "bad" }));
    if (x.dead) root.append(svg("circle", { cx: x0 + w / 2, cy: y(x.dead), r: 3, class: "dead" }));
    points.push(`${x0 + w / 2},${y(x.retried)}`);
    if (i % 6 === 0) root.append(svg("text", { x: x0, y: H - 6, class: "tick" }, document.createTextNode(new Date(x.hour).getHours() + "h")));
  });
  root.append(svg("polyline", { points: points.join(" "), class: "retry" }));
  // A table cannot shrink below its content, so the hidden one sits in a box that can.
  const table = h("div", { class: "visually-hidden" }, h("table", {},
    h("caption", {}, `Deliveries to ${peer.host} per hour`),
    h("tr", {}, h("th", { scope: "col" }, "Hour"), SERIES.map((s) => h("th", { scope: "col" }, s.label))),
    peer.hours.filter((x) => x.delivered || x.failed || x.retried || x.dead).map((x) =>
      h("tr", {}, h("th", { scope: "row" }, new Date(x.hour).toLocaleString()), SERIES.map((s) => h("td", {}, String(x[s.key])))))));
  return h("div", {}, root, table);
}

function totals(peer) {
  const t = { delivered: 0, failed: 0, retried: 0, dead: 0 };
  for (const x of peer.hours) for (const k in t) t[k] += x[k];
  return t;
}

async function fillFederation(box) {
  const { data: peers } = await api("/api/v1/admin/federation");
  if (!peers.length) return box.replaceChildren(h("p", { class: "empty" }, "No deliveries to other departments in the last 24 hours."));
  box.replaceChildren(
    h("ul", { class: "chart-legend", "aria-hidden": "true" }, SERIES.map((s) => h("li", { class: s.cls }, s.label))),
    ...peers.map((p) => {
      const t = totals(p);
      return h("figure", { class: "panel peer", "data-host": p.host },
        h("figcaption", {},
          h("h3", {}, p.host),
          h("p", {}, `${p.queued} queued, ${p.retrying} waiting to retry`,
            p.failing_since ? [" · failing since ", timeEl(p.failing_since)] : " · healthy"),
          h("p", { class: "peer-totals" }, `Last 24 h: ${t.delivered} delivered, ${t.failed} failed, ${t.retried} retried, ${t.dead} dead letters`)),
        chart(p));
    }));
}

async function fillDeadLetters(box) {
  const { data: letters } = await api("/api/v1/admin/dead_letters", { query: { limit: 50 } });
  if (!letters.length) return box.replaceChildren(h("p", { class: "empty" }, "No dead letters."));
  box.replaceChildren(h("ul", { class: "admin-list" }, letters.map((d) => {
    const retry = h("button", { type: "button", class: "button small", "aria-label": `Retry ${d.activity_type || "delivery"} to ${d.inbox}` }, "Retry");
    const row = h("li", { class: "dead-letter", "data-id": d.id },
      h("div", { class: "admin-item" },
        h("strong", {}, d.activity_type || "Activity"), " to ", h("span", { class: "inbox" }, d.inbox),
        h("p", { class: "error-text" }, d.error),
        d.failed_at ? h("p", {}, "Failed ", timeEl(d.failed_at)) : null),
      retry);
    retry.addEventListener("click", () => act(retry, async () => {
      await api(`/api/v1/admin/dead_letters/${encodeURIComponent(d.id)}/retry`, { method: "POST" });
      row.remove();
      announce("Delivery queued again");
    }));
    return row;
  })));
}

function domainList(box, kind, title, verb) {
  const id = "add-" + kind;
  const input = h("input", { id, name: "domain", type: "text", autocomplete: "off", placeholder: "sales.example.com", required: true });
  const form = h("form", { class: "search-row" }, input, h("button", { type: "submit", class: "button small" }, verb));
  const list = h("ul", { class: "admin-list" });
  const load = async () => {
    const { data } = await api("/api/v1/admin/" + kind);
    list.replaceChildren(...(data.length ? data.map((d) => {
      const remove = h("button", { type: "button", class: "button small secondary", "aria-label": `Remove ${d.domain} from ${title.toLowerCase()}` }, "Remove");
      remove.addEventListener("click", () => act(remove, async () => {
        await api(`/api/v1/admin/${kind}/${encodeURIComponent(d.id)}`, { method: "DELETE" });
        announce(`${d.domain} removed`);
        await load();
      }));
      return h("li", { "data-domain": d.domain }, h("span", { class: "admin-item" }, d.domain), remove);
    }) : [h("li", { class: "empty" }, "None.")]));
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(form.querySelector("button"), async () => {
      await api("/api/v1/admin/" + kind, { method: "POST", body: { domain: input.value.trim() } });
      announce(`${input.value.trim()} added to ${title.toLowerCase()}`);
      input.value = "";
      await load();
    });
  });
  box.append(h("div", { class: "domain-policy" }, h("h3", {}, title), h("label", { for: id }, `${verb}: a department's domain`), form, list));
  return load();
}

async function fillReports(box) {
  const { data: reports } = await api("/api/v1/admin/reports");
  if (!reports.length) return box.replaceChildren(h("p", { class: "empty" }, "No open reports."));
  box.replaceChildren(h("ul", { class: "admin-list" }, reports.map((r) => {
    const resolve = h("button", { type: "button", class: "button small", "aria-label": `Resolve the report on ${r.target_account.account.acct}` }, "Resolve");
    const row = h("li", { "data-report-id": r.id },
      h("div", { class: "admin-item" },
        h("strong", {}, "@" + r.target_account.account.acct), ` reported by @${r.account.account.acct} (${r.category}) `, timeEl(r.created_at),
        r.comment ? h("p", {}, r.comment) : null,
        r.statuses.length ? h("p", {}, `${r.statuses.length} ${plural(r.statuses.length, "post", "posts")} attached`) : null),
      resolve);
    resolve.addEventListener("click", () => act(resolve, async () => {
      await api(`/api/v1/admin/reports/${encodeURIComponent(r.id)}/resolve`, { method: "POST" });
      row.remove();
      announce("Report resolved");
    }));
    return row;
  })));
}

async function fillAccounts(list, q) {
  const { data: accounts } = await api("/api/v1/admin/accounts", { query: { username: q || null, limit: 50 } });
  list.replaceChildren(...(accounts.length ? accounts.map((a) => accountRow(a, list, q)) : [h("li", { class: "empty" }, "No accounts found.")]));
}

function accountRow(a, list, q) {
  const acct = a.account.acct;
  const state = h("span", { class: "state" }, a.suspended ? "suspended" : "active");
  const row = h("li", { "data-acct": acct, "data-state": a.suspended ? "suspended" : "active" },
    h("div", { class: "admin-item" }, h("strong", {}, "@" + acct), " ", a.email ? h("span", {}, a.email + " ") : null, state));
  if (!isAdmin(a)) { // the API refuses to suspend an administrator
    const button = h("button", { type: "button", class: "button small" + (a.suspended ? " secondary" : ""), "aria-label": `${a.suspended ? "Unsuspend" : "Suspend"} @${acct}` },
      a.suspended ? "Unsuspend" : "Suspend");
    button.addEventListener("click", () => act(button, async () => {
      if (a.suspended) await api(`/api/v1/admin/accounts/${encodeURIComponent(a.id)}/unsuspend`, { method: "POST" });
      else await api(`/api/v1/admin/accounts/${encodeURIComponent(a.id)}/action`, { method: "POST", body: { type: "suspend" } });
      announce(`@${acct} is ${a.suspended ? "active again" : "suspended"}`);
      await fillAccounts(list, q);
    }));
    row.append(button);
  }
  return row;
}

function section(id, title, ...content) {
  return h("section", { class: "panel admin-section", id, "aria-labelledby": id + "-h" }, h("h2", { id: id + "-h" }, title), ...content);
}

export async function adminView() {
  const head = h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Admin"));
  if (!isAdmin(session.me)) {
    return { title: "Admin", node: h("div", {}, head, h("p", { class: "empty" }, "This page is for the department's administrators.")) };
  }
  const fed = h("div", { class: "peers" });
  const dead = h("div", {});
  const policy = h("div", { class: "policy" });
  const reports = h("div", {});
  const accountsList = h("ul", { class: "admin-list accounts" });
  const q = h("input", { id: "admin-account-q", type: "search", name: "q", autocomplete: "off" });
  const search = h("form", { role: "search", class: "search-row" }, q, h("button", { type: "submit", class: "button small" }, "Search"));
  search.addEventListener("submit", (e) => { e.preventDefault(); fillAccounts(accountsList, q.value.trim()).catch((err) => showError(err.message)); });
  await Promise.all([
    fillFederation(fed), fillDeadLetters(dead), fillReports(reports), fillAccounts(accountsList, ""),
    domainList(policy, "domain_blocks", "Blocked domains", "Block"),
    domainList(policy, "domain_allows", "Allowed domains", "Allow"),
  ]);
  announce("Admin page loaded");
  return {
    title: "Admin",
    node: h("div", { class: "admin" }, head,
      section("admin-federation", "Federation health", h("p", {}, "Deliveries to each department over the last 24 hours."), fed),
      section("admin-dead", "Dead letters", dead),
      section("admin-policy", "Domain policy", policy),
      section("admin-reports", "Reports", reports),
      section("admin-accounts", "Accounts", h("label", { for: "admin-account-q" }, "Find accounts by name"), search, accountsList)),
  };
}
