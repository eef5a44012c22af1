// The web client's entry point: session start, navigation, routing, and the user stream.

import { api, session, setToken, beginSignIn, completeSignIn, signOut } from "./api.js";
import { h, announce, showError, refreshTimes, displayName } from "./dom.js";
import { handleAction, replaceStatus, removeStatus, cached } from "./status.js";
import { Composer } from "./compose.js";
import { Stream } from "./stream.js";
import * as views from "./views.js";
import { peopleView } from "./people.js";
import { adminView, isAdmin } from "./admin.js";
import { dataView } from "./data.js";
import { loadDepartments } from "./departments.js";
import { exploreView } from "./explore.js";
import { communitiesView, communityView } from "./communities.js";

const main = document.getElementById("main");
const nav = document.getElementById("side-nav");
const navList = document.getElementById("nav-list");
const accountBox = document.getElementById("account-box");
const composeSection = document.getElementById("compose");
const menuToggle = document.getElementById("menu-toggle");
const composeToggle = document.getElementById("compose-toggle");

let composer = null;
let current = null; // the mounted view
let viewStream = null;
let userStream = null;
let renderSeq = 0;
let unread = 0;
let firstRender = true;

// ROUTES map paths to views; :names become parameters.
const ROUTES = [
  ["/", () => (session.token ? views.homeView() : views.landingView())],
  ["/web", views.homeView],
  ["/web/home", views.homeView],
  ["/web/local", views.localView],
  ["/web/federated", views.federatedView],
  ["/web/notifications", views.notificationsView],
  ["/web/bookmarks", views.bookmarksView],
  ["/web/favourites", views.favouritesView],
  ["/web/lists", views.listsView],
  ["/web/lists/:id", views.listView],
  ["/web/search", views.searchView],
  ["/web/people", peopleView],
  ["/web/explore", exploreView],
  ["/web/explore/:section", exploreView],
  ["/web/communities", communitiesView],
  ["/web/communities/:acct", communityView],
  ["/web/admin", adminView],
  ["/web/settings/data", dataView],
  ["/web/accounts/:id", views.accountView],
  ["/web/statuses/:id", views.threadView],
  ["/web/oauth/callback", oauthCallback],
  ["/tags/:tag", views.tagView],
  ["/@:acct", views.acctView],
  ["/@:acct/:id", views.threadView],
  ["/authorize_interaction", views.interactionView],
].map(([pattern, view]) => {
  const names = [];
  const re = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return "([^/]+)"; }) + "/?$");
  return { re, names, view };
});

function match(pathname) {
  for (const r of ROUTES) {
    const m = pathname.match(r.re);
    if (m) return { view: r.view, params: Object.fromEntries(r.names.map((n, i) => [n, m[i + 1]])) };
  }
  return null;
}

// navigate shows a client route without reloading the page.
function navigate(path, { replace = false } = {}) {
  const state = { scroll: 0 };
  if (!replace) history.replaceState({ ...(history.state || {}), scroll: window.scrollY }, "");
  if (replace) history.replaceState(state, "", path);
  else history.pushState(state, "", path);
  return render();
}

async function oauthCallback({ query }) {
  const to = await completeSignIn(query);
  await loadMe();
  startSession();
  const safe = to.startsWith("/") && !to.startsWith("//") && to !== "/" ? to : "/web/home";
  return navigate(safe, { replace: true });
}

async function render() {
  const seq = ++renderSeq;
  const url = new URL(location.href);
  const route = match(url.pathname);
  closeMenus();
  if (current && current.destroy) current.destroy();
  if (viewStream) viewStream.stop();
  viewStream = null;
  current = null;
  main.setAttribute("aria-busy", "true");
  paintNav(url.pathname);
  let view;
  try {
    view = route ? await route.view({ ...route.params, query: url.searchParams, navigate, onSeen: clearUnread }) : views.notFoundView();
  } catch (err) {
    view = views.errorView(err);
  }
  if (seq !== renderSeq) return; // a later navigation won
  if (!view || !view.node) return; // the view navigated elsewhere
  current = view;
  main.replaceChildren(view.node);
  main.setAttribute("aria-busy", "false");
  const title = (session.instance && session.instance.title) || "Watercooler";
  document.title = view.title ? `${view.title} · ${title}` : title;
  if (view.stream) {
    viewStream = new Stream(view.stream.params, {
      onEvent: (e, p) => view.stream.onEvent(e, p),
      onOpen: () => view.onReconnect && view.onReconnect(),
    }).start();
  }
  const saved = history.state && history.state.scroll;
  window.scrollTo(0, saved || 0);
  if (!firstRender) {
    // Moving focus to the new heading tells screen reader users the page changed.
    const target = view.focus || main.querySelector("h1");
    if (target) target.focus({ preventScroll: true });
    announce(view.title || "");
  } else if (view.focus && view.focus.tagName === "INPUT") {
    view.focus.focus();
  }
  firstRender = false;
}

const NAV = [
  { path: "/web/home", label: "Home", auth: true, also: ["/"] },
  { path: "/web/notifications", label: "Notifications", auth: true, badge: true },
  { path: "/web/search", label: "Search" },
  { path: "/web/people", label: "People" },
  { path: "/web/explore", label: "Explore", also: ["/web/explore/tags", "/web/explore/links"] },
  { path: "/web/local", label: "Local" },
  { path: "/web/federated", label: "Federated" },
  { path: "/web/bookmarks", label: "Bookmarks", auth: true },
  { path: "/web/favourites", label: "Favourites", auth: true },
  { path: "/web/lists", label: "Lists", auth: true },
  { path: "/web/communities", label: "Communities" },
  { path: "/web/settings/data", label: "Import and export", auth: true },
  { path: "/web/admin", label: "Admin", admin: true },
];

function paintNav(pathname) {
  const items = NAV.filter((n) => (!n.auth || session.token) && (!n.admin || isAdmin(session.me)));
  if (session.me) items.push({ path: "/web/accounts/" + encodeURIComponent(session.me.id), label: "Profile" });
  navList.replaceChildren(...items.map((n) => {
    const active = pathname === n.path || (n.also && n.also.includes(pathname) && session.token);
    return h("li", {}, h("a", { href: n.path, "aria-current": active ? "page" : null },
      h("span", {}, n.label),
      n.badge ? h("span", { class: "badge", id: "unread-badge", hidden: unread === 0 },
        String(unread), h("span", { class: "visually-hidden" }, " unread")) : null));
  }));
}

function paintBadge() {
  const b = document.getElementById("unread-badge");
  if (!b) return;
  b.hidden = unread === 0;
  b.firstChild.textContent = String(Math.min(unread, 99)) + (unread > 99 ? "+" : "");
}

function clearUnread() {
  unread = 0;
  paintBadge();
}

function paintAccountBox() {
  if (session.me) {
    accountBox.replaceChildren(
      h("p", { class: "signed-in-as" }, "Signed in as ", h("strong", {}, h("bdi", {}, displayName(session.me))),
        h("span", { class: "acct" }, " @" + session.me.acct)),
      h("button", { type: "button", class: "button secondary small", id: "sign-out" }, "Sign out"));
  } else {
    accountBox.replaceChildren(h("button", { type: "button", class: "button", "data-sign-in": "" }, "Sign in"));
  }
}

async function loadInstance() {
  try {
    session.instance = (await api("/api/v2/instance")).data;
    const name = session.instance && session.instance.title;
    if (name) document.getElementById("brand-name").textContent = name;
  } catch { /* defaults serve */ }
}

async function loadMe() {
  if (!session.token) return;
  try {
    session.me = (await api("/api/v1/accounts/verify_credentials")).data;
  } catch (err) {
    if (err.status === 401) setToken("");
    else throw err;
  }
}

// startSession shows the signed-in chrome and subscribes to the user stream.
function startSession() {
  paintAccountBox();
  const signedIn = !!session.token;
  composeSection.hidden = !signedIn;
  composeToggle.hidden = !signedIn;
  if (!signedIn) return;
  if (!composer) composer = new Composer(composeSection);
  composer.reset();
  if (userStream) userStream.stop();
  userStream = new Stream({ stream: "user" }, {
    onEvent: onUserEvent,
    onOpen: () => current && current.onReconnect && current.onEvent && current.onReconnect(),
  }).start();
  countUnread();
}

function onUserEvent(event, payload) {
  if (event === "notification" && payload) {
    if (!location.pathname.startsWith("/web/notifications")) {
      unread++;
      paintBadge();
      announce("New notification: " + views.notificationText(payload));
    }
  } else if (event === "status.update" && payload) {
    replaceStatus(payload);
  } else if (event === "delete") {
    removeStatus(String(payload));
  }
  if (current && current.onEvent && (current.stream == null || event === "notification")) current.onEvent(event, payload);
}

// countUnread counts notifications newer than the read marker other clients share.
async function countUnread() {
  try {
    const { data } = await api("/api/v1/markers", { query: { timeline: ["notifications"] } });
    const last = data && data.notifications && data.notifications.last_read_id;
    const { data: ns } = await api("/api/v1/notifications", { query: { since_id: last || null, limit: 40 } });
    if (!location.pathname.startsWith("/web/notifications")) {
      unread = last ? ns.length : 0;
      paintBadge();
    }
  } catch { /* no badge */ }
}

function endSession(message) {
  if (userStream) userStream.stop();
  userStream = null;
  session.me = null;
  unread = 0;
  startSession();
  if (message) showError(message);
  navigate("/");
}

function closeMenus() {
  nav.classList.remove("open");
  menuToggle.setAttribute("aria-expanded", "false");
}

function setComposeOpen(open) {
  composeSection.classList.toggle("open", open);
  composeToggle.setAttribute("aria-expanded", String(open));
}

// isClientRoute tells links the client handles from those the server does.
function isClientRoute(url) {
  return url.origin === location.origin && !!match(url.pathname) && url.pathname !== "/web/oauth/callback";
}

function onClick(e) {
  if (e.defaultPrevented) return;
  const signIn = e.target.closest("[data-sign-in]");
  if (signIn) {
    signIn.setAttribute("aria-busy", "true");
    beginSignIn(location.pathname + location.search).catch((err) => {
      signIn.removeAttribute("aria-busy");
      showError("Sign-in could not start: " + err.message);
    });
    return;
  }
  if (e.target.closest("#sign-out")) {
    signOut().then(() => endSession("You are signed out."));
    return;
  }
  const action = e.target.closest("button[data-action]");
  if (action) {
    handleAction(action, { onReply: reply });
    return;
  }
  const a = e.target.closest("a[href]");
  if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const card = a.closest("article.status");
  const inContent = a.closest(".content");
  if (inContent && card) {
    const to = contentLink(a, card);
    if (to) {
      e.preventDefault();
      navigate(to);
    }
    return;
  }
  if (a.target === "_blank" || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (isClientRoute(url)) {
    e.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
    else render();
  }
}

// contentLink routes hashtags and mentions inside status content to this client's views,
// including those that point at other servers.
function contentLink(a, card) {
  if (a.classList.contains("hashtag")) {
    const tag = a.textContent.replace(/^#/, "").trim();
    return tag ? "/tags/" + encodeURIComponent(tag) : null;
  }
  if (a.classList.contains("mention")) {
    const status = cached(card.dataset.statusId);
    const m = status && (status.mentions || []).find((x) => x.url === a.href || x.url === a.getAttribute("href"));
    if (m) return "/web/accounts/" + encodeURIComponent(m.id);
  }
  const url = new URL(a.href, location.href);
  return isClientRoute(url) ? url.pathname + url.search : null;
}

function reply(status) {
  if (!composer) return;
  composer.setReply(status);
  setComposeOpen(true);
  composer.focus();
}

function onKey(e) {
  const t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey || t.closest("input, textarea, select, [contenteditable]")) return;
  if (e.key === "j" || e.key === "k") {
    const cards = [...main.querySelectorAll("article.status, article.notification")].filter((c) => !c.parentElement.closest("article.notification"));
    if (!cards.length) return;
    const at = cards.findIndex((c) => c.contains(document.activeElement));
    const next = e.key === "j" ? Math.min(at + 1, cards.length - 1) : Math.max(at - 1, 0);
    cards[at < 0 ? 0 : next].focus();
    e.preventDefault();
  } else if (e.key === "n" && composer) {
    setComposeOpen(true);
    composer.focus();
    e.preventDefault();
  } else if (e.key === "Escape") {
    closeMenus();
  }
}

async function start() {
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  window.addEventListener("popstate", () => render());
  document.addEventListener("wc:session-expired", () => {
    setToken("");
    endSession("Your session has ended. Please sign in again.");
  });
  document.addEventListener("wc:status-posted", (e) => {
    setComposeOpen(false);
    if (current && current.onPosted) current.onPosted(e.detail);
  });
  menuToggle.addEventListener("click", () => {
    const open = !nav.classList.contains("open");
    nav.classList.toggle("open", open);
    menuToggle.setAttribute("aria-expanded", String(open));
    if (open) nav.querySelector("a, button")?.focus();
  });
  composeToggle.addEventListener("click", () => {
    const open = !composeSection.classList.contains("open");
    setComposeOpen(open);
    if (open && composer) composer.focus();
  });
  setInterval(() => refreshTimes(main), 60000);

  await Promise.all([loadInstance(), loadMe().catch(() => {}), loadDepartments()]);
  if (location.pathname !== "/web/oauth/callback") startSession();
  else paintAccountBox();
  await render();
}

start();
