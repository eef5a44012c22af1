// The Communities pages: the organization's communities of practice (GET /api/v1/communities,
// a Watercooler extension), and one community with its timeline. A community is a Group account:
// joining follows it, leaving unfollows it, posting to it mentions it, and its timeline is the
// group's boosts of what members sent it.

import { api, session, ApiError } from "./api.js";
import { h, setHTML, avatar, displayName, announce, showError } from "./dom.js";
import { renderStatus, followButton, countText } from "./status.js";
import { Feed } from "./feed.js";

function heading(text) {
  return h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, text));
}

function communityPath(c) {
  return "/web/communities/" + encodeURIComponent(c.acct);
}

// resolveGroup finds the group's account on this server, through WebFinger when it lives on
// another department.
async function resolveGroup(acct) {
  const [user, host] = acct.split("@");
  const local = host && host.toLowerCase() === location.host.toLowerCase() ? user : acct;
  try {
    return (await api("/api/v1/accounts/lookup", { query: { acct: local } })).data;
  } catch (err) {
    if (err.status !== 404 || !session.token) throw err;
  }
  const { data } = await api("/api/v2/search", { query: { q: acct, type: "accounts", resolve: true, limit: 1 } });
  if (!data.accounts.length) throw new ApiError(404, "No community @" + acct + " was found.");
  return data.accounts[0];
}

// communitiesView lists every department's communities, and offers to start one.
export async function communitiesView() {
  const { data } = await api("/api/v1/communities", { query: { scope: "organization" } });
  const list = h("ul", { class: "panel communities", "aria-label": "Communities" });
  const row = (c) => h("li", { class: "account-row", "data-acct": c.acct },
    c.account ? avatar(c.account, 40) : h("span", {}),
    h("div", { class: "who" },
      h("a", { href: communityPath(c), class: "name" }, h("bdi", {}, c.display_name || c.name)),
      h("span", { class: "acct" }, "@" + c.acct + " · " + countText(c.members_count, "member", "members"))),
    h("a", { href: communityPath(c), class: "button secondary small" }, "Open", h("span", { class: "visually-hidden" }, " " + (c.display_name || c.name))));
  list.append(...data.map(row));
  const empty = h("p", { class: "empty" }, "No department has a community yet.");
  empty.hidden = data.length > 0;
  const nodes = [heading("Communities"),
    h("p", {}, "Communities of practice cut across departments: join one to see what its members share, and mention it in a post to share with all of them."),
    empty, list];
  if (session.token) nodes.push(createForm((c) => { list.append(row(c)); empty.hidden = true; }));
  return { title: "Communities", node: h("div", {}, ...nodes) };
}

// createForm starts a community on this department, where the instance lets people do so.
function createForm(onCreated) {
  const name = h("input", { id: "community-name", type: "text", maxlength: 30, required: true, autocomplete: "off", pattern: "[A-Za-z0-9_][A-Za-z0-9_.\\-]*" });
  const display = h("input", { id: "community-display-name", type: "text", maxlength: 30, autocomplete: "off" });
  const form = h("form", { class: "panel inline-form" },
    h("h2", { class: "section-title" }, "Start a community"),
    h("label", { for: "community-name" }, "Name (people mention @name)"), name,
    h("label", { for: "community-display-name" }, "Display name"), display,
    h("p", {}, h("button", { type: "submit", class: "button" }, "Create community")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const { data: c } = await api("/api/v1/communities", { method: "POST", body: { name: name.value.trim(), display_name: display.value.trim() } });
      onCreated(c);
      name.value = display.value = "";
      announce(`Community ${c.display_name} created`);
    } catch (err) {
      showError(err.message);
    }
  });
  return form;
}

// communityView shows one community: join or leave, post to it, and its timeline.
export async function communityView({ acct }) {
  acct = decodeURIComponent(acct).replace(/^@/, "");
  const group = await resolveGroup(acct);
  let rel = null;
  if (session.token) {
    try {
      rel = (await api("/api/v1/accounts/relationships", { query: { id: [group.id] } })).data[0];
    } catch { /* shown without the join button */ }
  }
  // Moderators see a remove button on the community's posts; the hosting department decides.
  let moderating = false;
  if (session.me && !group.acct.includes("@")) {
    try {
      const { data } = await api("/api/v1/communities");
      const c = data.find((x) => x.name === group.username);
      moderating = !!c && c.moderators.includes(session.me.acct + "@" + c.domain);
    } catch { /* no remove buttons */ }
  }
  // The follow button, worded for a community: following is joining.
  const join = rel ? followButton(group, rel) : null;
  if (join) {
    const relabel = () => {
      const span = join.querySelector("span");
      const want = { none: "Join", requested: "Cancel join request" }[join.dataset.state] || "Leave";
      if (span.textContent !== want) span.textContent = want;
    };
    relabel();
    new MutationObserver(relabel).observe(join, { attributes: true, attributeFilter: ["data-state"] });
  }
  const fullAcct = group.acct.includes("@") ? group.acct : group.acct + "@" + location.host;
  const card = h("section", { class: "profile panel", "aria-labelledby": "community-name" },
    h("div", { class: "profile-top" },
      avatar(group, 88),
      h("div", { class: "profile-names" },
        h("h1", { id: "community-name", tabindex: "-1" }, h("bdi", {}, displayName(group))),
        h("p", { class: "acct" }, "@" + fullAcct),
        h("p", { class: "tag-badge" }, "Community · " + countText(group.followers_count, "member", "members"))),
      join),
    setHTML(h("div", { class: "note" }), group.note));
  const feed = new Feed({
    path: `/api/v1/accounts/${encodeURIComponent(group.id)}/statuses`, label: "Posts in " + displayName(group),
    render: (s) => moderating ? withRemove(group, s) : renderStatus(s),
    empty: "Nothing shared in this community yet. Mention @" + fullAcct + " in a public post to share with its members.",
  });
  await feed.load();
  const nodes = [card];
  if (session.token) nodes.push(postForm(fullAcct));
  nodes.push(h("h2", { class: "section-title" }, "Shared in this community"), feed.node);
  return { title: displayName(group) + " (@" + fullAcct + ")", node: h("div", {}, ...nodes) };
}

// postForm posts to the community: a public post that mentions it, which the group announces.
function postForm(acct) {
  const text = h("textarea", { id: "community-post", maxlength: 500, required: true });
  const form = h("form", { class: "panel" },
    h("label", { for: "community-post" }, "Share with the community"), text,
    h("p", {}, h("button", { type: "submit", class: "button" }, "Post")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    try {
      await api("/api/v1/statuses", { method: "POST", body: { status: "@" + acct + " " + text.value.trim(), visibility: "public" } });
      text.value = "";
      announce("Posted to @" + acct + "; it appears here once the community shares it.");
    } catch (err) {
      showError(err.message);
    }
  });
  return form;
}

// withRemove adds a moderator's remove button under one of the group's boosts.
function withRemove(group, boost) {
  const original = boost.reblog || boost;
  const wrap = h("div", { class: "community-item" }, renderStatus(boost));
  wrap.append(h("button", {
    type: "button", class: "button secondary small", onclick: async () => {
      if (!confirm("Remove this post from the community?")) return;
      try {
        await api(`/api/v1/communities/${encodeURIComponent(group.id)}/statuses/${encodeURIComponent(original.id)}`, { method: "DELETE" });
        wrap.remove();
        announce("Post removed from the community");
      } catch (err) {
        showError(err.message);
      }
    },
  }, "Remove from community"));
  return wrap;
}
