// The views mounted into <main>. A view is an async function of the route's parameters that
// returns {title, node} plus, optionally, onEvent(event, payload) for the user stream, a
// stream of its own ({params, onEvent}), onReconnect() and destroy().

import { api, session, ApiError } from "./api.js";
import { h, setHTML, avatar, displayName, announce, showError, timeEl, icon } from "./dom.js";
import { renderStatus, renderAccountRow, followButton, countText, replaceStatus, removeStatus, remember } from "./status.js";
import { Feed } from "./feed.js";
import { departmentBadge } from "./departments.js";

function heading(text, ...extra) {
  return h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, text), ...extra);
}

// signInPrompt is shown instead of views that only make sense signed in.
export function signInPrompt(title, why) {
  return {
    title,
    node: h("div", {},
      heading(title),
      h("div", { class: "panel" }, h("p", {}, why),
        h("button", { type: "button", class: "button", "data-sign-in": "" }, "Sign in"))),
  };
}

// statusEvents applies a stream's status events to a feed of statuses.
function statusEvents(feed, { acceptUpdate = () => true } = {}) {
  return (event, payload) => {
    if (event === "update" && payload && payload.id && acceptUpdate(payload)) {
      remember(payload);
      feed.prepend(payload);
    } else if (event === "status.update" && payload && payload.id) {
      replaceStatus(payload);
    } else if (event === "delete") {
      removeStatus(String(payload));
    }
  };
}

async function timeline({ title, path, query, label, empty, stream, intro }) {
  const feed = new Feed({ path, query, label: label || title, render: (s) => renderStatus(s), empty });
  await feed.load();
  const onEvent = statusEvents(feed);
  return {
    title,
    node: h("div", {}, heading(title), intro || null, feed.node),
    feed,
    stream: stream && session.token ? { params: stream, onEvent } : null,
    onReconnect: () => feed.catchUp(),
  };
}

export async function homeView() {
  if (!session.token) return signInPrompt("Home", "Sign in to see posts from the people you follow.");
  const v = await timeline({ title: "Home", path: "/api/v1/timelines/home", empty: "Your home timeline is empty. Follow people to fill it: try Search." });
  v.onEvent = statusEvents(v.feed);
  v.onPosted = (s) => v.feed.prepend(s, { immediate: true });
  return v;
}

export function localView() {
  return timeline({
    title: "Local", label: "Local timeline", path: "/api/v1/timelines/public", query: { local: true },
    stream: { stream: "public:local" }, empty: "No public posts on this server yet.",
  });
}

export function federatedView() {
  return timeline({
    title: "Federated", label: "Federated timeline", path: "/api/v1/timelines/public",
    stream: { stream: "public" }, empty: "No public posts known to this server yet.",
  });
}

export async function tagView({ tag }) {
  const name = decodeURIComponent(tag).replace(/^#/, "");
  let control = null;
  if (session.token) {
    try {
      const { data } = await api("/api/v1/tags/" + encodeURIComponent(name));
      control = tagFollowButton(name, !!(data && data.following));
    } catch { /* a tag nobody used yet: no follow button */ }
  }
  const v = await timeline({
    title: "#" + name, label: "Posts tagged #" + name, path: "/api/v1/timelines/tag/" + encodeURIComponent(name),
    stream: { stream: "hashtag", tag: name }, empty: "No posts with this hashtag yet.",
  });
  if (control) v.node.querySelector(".view-head").append(control);
  return v;
}

function tagFollowButton(name, following) {
  const btn = h("button", { type: "button", class: "button small" });
  const paint = () => {
    btn.textContent = following ? "Unfollow hashtag" : "Follow hashtag";
    btn.classList.toggle("secondary", following);
  };
  btn.addEventListener("click", async () => {
    try {
      await api(`/api/v1/tags/${encodeURIComponent(name)}/${following ? "unfollow" : "follow"}`, { method: "POST" });
      following = !following;
      paint();
      announce(following ? `Following #${name}` : `Unfollowed #${name}`);
    } catch (err) {
      showError(err.message);
    }
  });
  paint();
  return btn;
}

export async function bookmarksView() {
  if (!session.token) return signInPrompt("Bookmarks", "Sign in to see your bookmarks.");
  return timeline({ title: "Bookmarks", path: "/api/v1/bookmarks", empty: "You have not bookmarked any posts yet." });
}

export async function favouritesView() {
  if (!session.token) return signInPrompt("Favourites", "Sign in to see your favourites.");
  return timeline({ title: "Favourites", path: "/api/v1/favourites", empty: "You have not favourited any posts yet." });
}

const NOTIFICATION_TEXT = {
  follow: "followed you",
  follow_request: "asked to follow you",
  favourite: "favourited your post",
  reblog: "boosted your post",
  mention: "mentioned you",
  status: "posted",
  update: "edited a post you interacted with",
  poll: "'s poll has ended",
  "admin.report": "filed a report",
};

const NOTIFICATION_ICON = { favourite: "star", reblog: "boost", mention: "reply", follow: "globe", follow_request: "lock", update: "reply", status: "reply" };

// notificationText is how a notification reads in a sentence.
export function notificationText(n) {
  return displayName(n.account) + " " + (NOTIFICATION_TEXT[n.type] || n.type.replace(/_/g, " "));
}

export function renderNotification(n) {
  const el = h("article", { class: "notification notification-" + n.type, "data-id": n.id, tabindex: "-1", "aria-label": notificationText(n) });
  el.append(h("p", { class: "notification-head" },
    icon(NOTIFICATION_ICON[n.type] || "globe"), " ",
    h("a", { href: "/web/accounts/" + encodeURIComponent(n.account.id) }, h("bdi", {}, displayName(n.account))),
    " " + (NOTIFICATION_TEXT[n.type] || n.type.replace(/_/g, " ")) + " · ", timeEl(n.created_at)));
  if (n.status) {
    el.append(renderStatus(n.status));
  } else if (n.type === "follow" || n.type === "follow_request") {
    el.append(renderAccountRow(n.account, n.type === "follow_request" ? requestButtons(n, el) : null));
  } else if (n.report) {
    // Moderators act on reports with `watercooler admin report`; the app only tells them.
    const r = n.report, posts = r.status_ids.length;
    el.append(h("p", { class: "notification-report" },
      "Report " + r.id + " on @" + r.target_account.acct + " (" + r.category + (posts ? ", " + posts + (posts === 1 ? " post" : " posts") : "") + ")" +
      (r.comment ? ": " + r.comment : "")));
  }
  return el;
}

function requestButtons(n, card) {
  const act = async (what) => {
    try {
      await api(`/api/v1/follow_requests/${encodeURIComponent(n.account.id)}/${what}`, { method: "POST" });
      card.querySelector(".request-actions").replaceChildren(h("span", {}, what === "authorize" ? "Request accepted" : "Request rejected"));
      announce(what === "authorize" ? "Follow request accepted" : "Follow request rejected");
    } catch (err) {
      showError(err.message);
    }
  };
  return h("div", { class: "request-actions" },
    h("button", { type: "button", class: "button small", onclick: () => act("authorize") }, "Accept"),
    h("button", { type: "button", class: "button small secondary", onclick: () => act("reject") }, "Reject"));
}

export async function notificationsView({ onSeen }) {
  if (!session.token) return signInPrompt("Notifications", "Sign in to see your notifications.");
  const feed = new Feed({
    path: "/api/v1/notifications", label: "Notifications", render: renderNotification,
    empty: "No notifications yet. When people follow you, boost, favourite or mention your posts, you will see it here.",
    noun: ["notification", "notifications"],
  });
  await feed.load();
  const markRead = () => {
    const first = feed.list.querySelector(":scope > [data-id]");
    if (first) api("/api/v1/markers", { method: "POST", body: { notifications: { last_read_id: first.dataset.id } } }).catch(() => {});
    onSeen();
  };
  markRead();
  const clear = h("button", {
    type: "button", class: "button secondary small", onclick: async () => {
      if (!confirm("Clear all notifications?")) return;
      try {
        await api("/api/v1/notifications/clear", { method: "POST" });
        feed.list.replaceChildren();
        feed.seen.clear();
        feed.next = null;
        feed.more.hidden = true;
        feed.end.hidden = true;
        feed.updateEmpty();
        announce("Notifications cleared");
      } catch (err) {
        showError(err.message);
      }
    },
  }, "Clear all");
  return {
    title: "Notifications",
    node: h("div", {}, heading("Notifications", clear), feed.node),
    onEvent(event, payload) {
      if (event === "notification" && payload && payload.id) {
        feed.prepend(payload);
        markRead();
      } else if (event === "delete") {
        removeStatus(String(payload));
      }
    },
    onReconnect: () => feed.catchUp(),
  };
}

// profileView shows an account: its card, the relationship, and its posts.
async function profileView(account) {
  let rel = null;
  const mine = session.me && session.me.id === account.id;
  if (session.token && !mine) {
    try {
      const { data } = await api("/api/v1/accounts/relationships", { query: { id: [account.id] } });
      rel = data && data[0];
    } catch { /* the profile still shows, without the follow button */ }
  }
  const note = setHTML(h("div", { class: "note" }), account.note);
  const fields = (account.fields || []).length
    ? h("dl", { class: "fields" }, account.fields.map((f) => [h("dt", {}, f.name), setHTML(h("dd", {}), f.value)])) : null;
  const remote = account.acct.includes("@");
  const card = h("section", { class: "profile panel", "aria-labelledby": "profile-name" },
    account.header_static || account.header
      ? h("img", { class: "profile-header", src: account.header_static || account.header, alt: "", width: 600, height: 200, loading: "lazy" }) : null,
    h("div", { class: "profile-top" },
      avatar(account, 88),
      h("div", { class: "profile-names" },
        h("h1", { id: "profile-name", tabindex: "-1" }, h("bdi", {}, displayName(account))),
        h("p", { class: "acct" }, "@" + account.acct + (remote ? "" : "@" + location.host)),
        departmentBadge(account),
        rel && rel.followed_by ? h("p", { class: "tag-badge" }, "Follows you") : null,
        account.locked ? h("p", { class: "tag-badge" }, icon("lock"), " Approves followers") : null),
      rel ? followButton(account, rel) : null),
    note,
    fields,
    h("ul", { class: "profile-counts" },
      h("li", {}, countText(account.statuses_count, "post", "posts")),
      h("li", {}, countText(account.following_count, "following", "following")),
      h("li", {}, countText(account.followers_count, "follower", "followers"))),
    remote && account.url ? h("p", {}, h("a", { href: account.url, target: "_blank", rel: "noopener noreferrer" }, "Open the profile on its own server")) : null);
  const feed = new Feed({
    path: `/api/v1/accounts/${encodeURIComponent(account.id)}/statuses`, label: "Posts by " + displayName(account),
    render: (s) => renderStatus(s), empty: remote ? "No posts from this account have reached this server yet." : "No posts yet.",
  });
  await feed.load();
  return {
    title: displayName(account) + " (@" + account.acct + ")",
    node: h("div", {}, card, h("h2", { class: "section-title" }, "Posts"), feed.node),
    onEvent: statusEvents(feed, { acceptUpdate: (s) => s.account.id === account.id }),
    onPosted: mine ? (s) => feed.prepend(s, { immediate: true }) : null,
  };
}

export async function accountView({ id }) {
  const { data } = await api("/api/v1/accounts/" + encodeURIComponent(id));
  return profileView(data);
}

// acctView serves profile URLs (/@user, /@user@host): the federation sends browsers there.
export async function acctView({ acct }) {
  acct = decodeURIComponent(acct).replace(/^@/, "");
  const [user, host] = acct.split("@");
  if (host && host.toLowerCase() === location.host.toLowerCase()) acct = user;
  try {
    const { data } = await api("/api/v1/accounts/lookup", { query: { acct } });
    return profileView(data);
  } catch (err) {
    if (err.status !== 404 || !acct.includes("@") || !session.token) throw err;
  }
  const { data } = await api("/api/v2/search", { query: { q: acct, type: "accounts", resolve: true, limit: 1 } });
  if (!data.accounts.length) throw new ApiError(404, "No account @" + acct + " was found.");
  return profileView(data.accounts[0]);
}

// threadView shows a status with its ancestors and replies.
export async function threadView({ id }) {
  const [{ data: status }, ctx] = await Promise.all([
    api("/api/v1/statuses/" + encodeURIComponent(id)),
    api(`/api/v1/statuses/${encodeURIComponent(id)}/context`).catch(() => ({ data: { ancestors: [], descendants: [] } })),
  ]);
  const s = status.reblog || status;
  const depth = new Map([[s.id, 0]]);
  const list = h("div", { class: "feed thread", "aria-label": "Conversation" });
  for (const a of ctx.data.ancestors) list.append(renderStatus(a));
  const focused = renderStatus(s, { focused: true });
  list.append(focused);
  const addReply = (d) => {
    const level = (depth.get(d.in_reply_to_id) ?? 0) + 1;
    depth.set(d.id, level);
    const el = renderStatus(d);
    el.classList.add("depth-" + Math.min(level, 3));
    list.append(el);
  };
  for (const d of ctx.data.descendants) addReply(d);
  return {
    title: "Post by " + displayName(s.account),
    node: h("div", {}, heading("Post"), list),
    onPosted: (p) => { if (depth.has(p.in_reply_to_id)) addReply(p); },
    onEvent: (event, payload) => {
      if (event === "update" && payload && depth.has(payload.in_reply_to_id) && !depth.has(payload.id)) addReply(payload);
      else if (event === "status.update") replaceStatus(payload);
      else if (event === "delete") removeStatus(String(payload));
    },
    focus: focused,
  };
}

// searchView finds people (here and, with resolve, on other servers by user@host or URL),
// hashtags and posts.
export async function searchView({ query, navigate }) {
  const q = (query.get("q") || "").trim();
  const input = h("input", { id: "search-q", type: "search", name: "q", autocomplete: "off", spellcheck: "false", placeholder: "user@server, #hashtag or words" });
  input.value = q;
  const form = h("form", { class: "search-form panel", role: "search", action: "/web/search" },
    h("label", { for: "search-q" }, "Search people, hashtags and posts"),
    h("div", { class: "search-row" }, input, h("button", { type: "submit", class: "button" }, "Search")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = input.value.trim();
    if (next) navigate("/web/search?q=" + encodeURIComponent(next));
    else input.focus();
  });
  const results = h("div", { class: "search-results" });
  const view = { title: q ? `Search: ${q}` : "Search", node: h("div", {}, heading("Search"), form, results), focus: q ? null : input };
  if (!q) {
    results.append(h("p", { class: "hint" }, "Find colleagues in other departments by their address, like ",
      h("code", {}, "name@department.example"), "."));
    return view;
  }
  const { data } = await api("/api/v2/search", { query: { q, resolve: session.token ? true : null, limit: 20 } });
  let rels = new Map();
  if (session.token && data.accounts.length) {
    try {
      const r = await api("/api/v1/accounts/relationships", { query: { id: data.accounts.map((a) => a.id) } });
      rels = new Map(r.data.map((x) => [x.id, x]));
    } catch { /* rows show without follow buttons */ }
  }
  const section = (title, items) => items.length
    ? h("section", { class: "panel results", "aria-labelledby": "res-" + title }, h("h2", { id: "res-" + title }, title), items) : null;
  const accounts = data.accounts.map((a) => {
    const rel = rels.get(a.id);
    const mine = session.me && session.me.id === a.id;
    return renderAccountRow(a, rel && !mine ? followButton(a, rel) : null);
  });
  const tags = data.hashtags.map((t) => h("p", { class: "tag-row" }, h("a", { href: "/tags/" + encodeURIComponent(t.name) }, "#" + t.name)));
  const statuses = data.statuses.length ? h("div", { class: "feed" }, data.statuses.map((s) => renderStatus(s))) : null;
  results.append(
    section("People", accounts) || "",
    section("Hashtags", tags) || "",
    statuses ? h("section", { "aria-labelledby": "res-posts" }, h("h2", { id: "res-posts", class: "section-title" }, "Posts"), statuses) : "",
  );
  const total = data.accounts.length + data.hashtags.length + data.statuses.length;
  if (!total) results.append(h("p", { class: "empty" }, `Nothing found for “${q}”.`));
  announce(`${total} ${total === 1 ? "result" : "results"} for ${q}`);
  return view;
}

export async function listsView() {
  if (!session.token) return signInPrompt("Lists", "Sign in to see your lists.");
  const { data } = await api("/api/v1/lists");
  const ul = h("ul", { class: "lists panel" });
  const row = (l) => h("li", { "data-list-id": l.id },
    h("a", { href: "/web/lists/" + encodeURIComponent(l.id) }, l.title),
    h("button", {
      type: "button", class: "button secondary small", "aria-label": `Delete list ${l.title}`, onclick: async (e) => {
        if (!confirm(`Delete the list “${l.title}”?`)) return;
        try {
          await api("/api/v1/lists/" + encodeURIComponent(l.id), { method: "DELETE" });
          e.target.closest("li").remove();
          announce(`List ${l.title} deleted`);
        } catch (err) {
          showError(err.message);
        }
      },
    }, "Delete"));
  ul.append(...data.map(row));
  const empty = h("p", { class: "empty" }, "You have no lists yet.");
  empty.hidden = data.length > 0;
  const title = h("input", { id: "list-title", type: "text", maxlength: 100, required: true, autocomplete: "off" });
  const form = h("form", { class: "panel inline-form" },
    h("label", { for: "list-title" }, "New list title"),
    h("div", { class: "search-row" }, title, h("button", { type: "submit", class: "button" }, "Create list")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!title.value.trim()) {
      showError("Give the list a title.");
      title.focus();
      return;
    }
    try {
      const { data: l } = await api("/api/v1/lists", { method: "POST", body: { title: title.value.trim() } });
      ul.append(row(l));
      empty.hidden = true;
      title.value = "";
      announce(`List ${l.title} created`);
    } catch (err) {
      showError(err.message);
    }
  });
  return { title: "Lists", node: h("div", {}, heading("Lists"), form, empty, ul) };
}

export async function listView({ id }) {
  if (!session.token) return signInPrompt("List", "Sign in to see your lists.");
  const { data: list } = await api("/api/v1/lists/" + encodeURIComponent(id));
  const v = await timeline({
    title: list.title, label: "Posts in list " + list.title, path: "/api/v1/timelines/list/" + encodeURIComponent(id),
    stream: { stream: "list", list: id }, empty: "No posts from the list's members yet. Add people under Members.",
  });
  v.node.querySelector(".view-head").after(await listMembers(list));
  return v;
}

async function listMembers(list) {
  const base = `/api/v1/lists/${encodeURIComponent(list.id)}/accounts`;
  const members = h("div", { class: "members" });
  const memberIDs = new Set();
  const remove = (a) => h("button", {
    type: "button", class: "button secondary small", onclick: async (e) => {
      try {
        await api(base, { method: "DELETE", body: { account_ids: [a.id] } });
        memberIDs.delete(a.id);
        e.target.closest(".account-row").remove();
        announce(`Removed @${a.acct} from the list`);
      } catch (err) {
        showError(err.message);
      }
    },
  }, "Remove", h("span", { class: "visually-hidden" }, " @" + a.acct));
  try {
    const { data } = await api(base, { query: { limit: 0 } });
    for (const a of data) {
      memberIDs.add(a.id);
      members.append(renderAccountRow(a, remove(a)));
    }
  } catch (err) {
    showError(err.message);
  }
  const q = h("input", { id: "list-add-q", type: "search", autocomplete: "off" });
  const found = h("div", { class: "found" });
  const form = h("form", { class: "inline-form" },
    h("label", { for: "list-add-q" }, "Add people you follow"),
    h("div", { class: "search-row" }, q, h("button", { type: "submit", class: "button small" }, "Find")), found);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const { data } = await api("/api/v1/accounts/search", { query: { q: q.value.trim(), following: true, limit: 10 } });
      found.replaceChildren(...data.filter((a) => !memberIDs.has(a.id)).map((a) => renderAccountRow(a, h("button", {
        type: "button", class: "button small", onclick: async (ev) => {
          try {
            await api(base, { method: "POST", body: { account_ids: [a.id] } });
            memberIDs.add(a.id);
            ev.target.closest(".account-row").remove();
            members.append(renderAccountRow(a, remove(a)));
            announce(`Added @${a.acct} to the list`);
          } catch (err) {
            showError(err.message);
          }
        },
      }, "Add", h("span", { class: "visually-hidden" }, " @" + a.acct)))));
      if (!found.childElementCount) found.append(h("p", { class: "empty" }, "No one you follow matches."));
    } catch (err) {
      showError(err.message);
    }
  });
  return h("details", { class: "panel list-members" }, h("summary", {}, "Members"), members, form);
}

// interactionView resolves a remote profile or post (the federation's authorize_interaction
// links) and opens it here.
export async function interactionView({ query, navigate }) {
  const uri = (query.get("uri") || query.get("acct") || "").replace(/^acct:/, "");
  if (!session.token) return signInPrompt("Open remote content", "Sign in to follow people or interact with posts from other servers.");
  const { data } = await api("/api/v2/search", { query: { q: uri, resolve: true, limit: 1 } });
  if (data.accounts.length) return navigate("/web/accounts/" + encodeURIComponent(data.accounts[0].id), { replace: true });
  if (data.statuses.length) return navigate("/web/statuses/" + encodeURIComponent(data.statuses[0].id), { replace: true });
  throw new ApiError(404, "Nothing could be found at " + uri + ".");
}

// landingView greets visitors who are not signed in.
export async function landingView() {
  const inst = session.instance || {};
  const v = await timeline({
    title: inst.title || "Watercooler", label: "Recent posts on this server", path: "/api/v1/timelines/public", query: { local: true },
    empty: "No public posts here yet.",
    intro: h("div", { class: "panel landing" },
      h("p", {}, inst.description || "Share what you know with colleagues across departments."),
      h("button", { type: "button", class: "button", "data-sign-in": "" }, "Sign in")),
  });
  return v;
}

export function notFoundView() {
  return { title: "Not found", node: h("div", {}, heading("Not found"), h("p", { class: "panel" }, "This page does not exist. ", h("a", { href: "/" }, "Go to the start page"), ".")) };
}

// errorView explains a view that could not load.
export function errorView(err) {
  const title = err.status === 404 ? "Not found" : "Something went wrong";
  return { title, node: h("div", {}, heading(title), h("p", { class: "panel" }, err.message || String(err))) };
}
