// The People page: find colleagues in every department by name or by what they know, filter by
// department, and follow them. It reads the organization's directory (GET /api/v1/directory,
// which lists every department's discoverable people) and the account search.

import { api, session } from "./api.js";
import { h, announce } from "./dom.js";
import { renderAccountRow, followButton } from "./status.js";
import { loadDepartments, departmentOf } from "./departments.js";

export async function peopleView({ query, navigate }) {
  const q = (query.get("q") || "").trim();
  const dept = query.get("department") || "";
  const departments = await loadDepartments();

  const input = h("input", { id: "people-q", type: "search", name: "q", autocomplete: "off", placeholder: "A name, or what they know: kubernetes, billing…" });
  input.value = q;
  const select = h("select", { id: "people-department", name: "department" },
    h("option", { value: "" }, "All departments"),
    departments.map((d) => h("option", { value: d.domain }, d.title || d.domain)));
  select.value = dept;
  const form = h("form", { class: "search-form panel people-form", role: "search", action: "/web/people" },
    h("label", { for: "people-q" }, "Find people"),
    h("div", { class: "search-row" }, input, h("button", { type: "submit", class: "button" }, "Search")),
    h("label", { for: "people-department" }, "Department"), select);
  const go = () => {
    const params = new URLSearchParams();
    if (input.value.trim()) params.set("q", input.value.trim());
    if (select.value) params.set("department", select.value);
    navigate("/web/people" + (params.size ? "?" + params : ""));
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); go(); });
  select.addEventListener("change", go);

  let people;
  if (q) {
    ({ data: people } = await api("/api/v1/accounts/search", { query: { q, limit: 40 } }));
  } else {
    ({ data: people } = await api("/api/v1/directory", { query: { local: "false", limit: 80, domain: dept || null } }));
  }
  if (dept) people = people.filter((a) => (departmentOf(a) || {}).domain === dept);

  let rels = new Map();
  if (session.token && people.length) {
    try {
      const r = await api("/api/v1/accounts/relationships", { query: { id: people.map((a) => a.id) } });
      rels = new Map(r.data.map((x) => [x.id, x]));
    } catch { /* rows show without follow buttons */ }
  }
  const rows = people.map((a) => {
    const rel = rels.get(a.id);
    const mine = session.me && session.me.id === a.id;
    const row = renderAccountRow(a, rel && !mine ? followButton(a, rel) : null);
    const note = (a.note || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    const fields = (a.fields || []).map((f) => f.name + ": " + f.value.replace(/<[^>]*>/g, " ").trim()).join(" · ");
    if (note || fields) row.querySelector(".who").append(h("span", { class: "people-note" }, [note, fields].filter(Boolean).join(" — ")));
    return row;
  });
  const what = q ? `“${q}”` : "the directory";
  const list = rows.length
    ? h("section", { class: "panel results people-results", "aria-label": "People" }, rows)
    : h("p", { class: "empty" }, q ? `Nobody found for ${what}.` : "Nobody is listed yet. People appear here when they choose to be discoverable.");
  announce(`${rows.length} ${rows.length === 1 ? "person" : "people"} in ${what}`);
  return {
    title: q ? `People: ${q}` : "People",
    node: h("div", {}, h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "People")), form, list),
    focus: q ? null : input,
  };
}
