// The organization's departments (GET /api/v1/organization, a Watercooler extension), so that
// people show with their department's name beside their address, not a bare host.

import { api } from "./api.js";
import { h } from "./dom.js";

let byHost = new Map();
let loading = null;

// loadDepartments reads the departments once; a failure leaves addresses as they are.
export function loadDepartments() {
  if (!loading) {
    loading = api("/api/v1/organization").then(({ data }) => {
      byHost = new Map((data || []).map((d) => [d.domain.toLowerCase(), d]));
      return data || [];
    }).catch(() => {
      loading = null;
      return [];
    });
  }
  return loading;
}

// departmentOf is the department of an account (by its acct), or null outside the organization.
export function departmentOf(account) {
  const host = account.acct.includes("@") ? account.acct.split("@")[1] : location.host;
  return byHost.get(host.toLowerCase()) || null;
}

// departmentBadge names an account's department, or is null for a server outside the
// organization (its address already says where it is).
export function departmentBadge(account) {
  const d = departmentOf(account);
  if (!d || byHost.size < 2) return null;
  return h("span", { class: "department", title: d.description || d.domain }, d.title || d.domain);
}
