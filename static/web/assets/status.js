// Status cards: rendering, the boost/favourite/bookmark/reply/delete actions, and keeping
// every card of the same status in step when one of them changes.

import { api, session } from "./api.js";
import {
  h, setHTML, icon, timeEl, fullDate, displayName, accountPath, statusPath, avatar,
  formatCount, announce, showError, plural,
} from "./dom.js";
import { departmentBadge } from "./departments.js";

// cache maps status ids (of boosts and of the statuses inside them) to the latest entity.
const cache = new Map();
const CACHE_LIMIT = 2000;
let uid = 0;

export function remember(status) {
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value);
  cache.set(status.id, status);
  if (status.reblog) cache.set(status.reblog.id, status.reblog);
}

export function cached(id) {
  return cache.get(id);
}

const VISIBILITY = {
  public: { label: "Public", icon: "globe" },
  unlisted: { label: "Unlisted", icon: "globe" },
  private: { label: "Followers only", icon: "lock" },
  direct: { label: "Private mention", icon: "mail" },
};

// renderStatus builds the card of a status, or of a boost with the boosted status inside.
export function renderStatus(outer, { focused = false } = {}) {
  remember(outer);
  const s = outer.reblog || outer;
  const nameID = "st-name-" + ++uid;
  const el = h("article", {
    class: "status" + (focused ? " focused" : ""), "data-id": outer.id, "data-status-id": s.id,
    "aria-labelledby": nameID, tabindex: "-1",
  });
  if (outer.reblog) {
    el.append(h("p", { class: "prepend" }, icon("boost"), " ",
      h("a", { href: accountPath(outer.account) }, h("bdi", {}, displayName(outer.account))), " boosted"));
  }
  const vis = VISIBILITY[s.visibility] || VISIBILITY.public;
  el.append(h("header", { class: "status-head" },
    h("a", { href: accountPath(s.account), class: "avatar-link", tabindex: "-1", "aria-hidden": "true" }, avatar(s.account)),
    h("div", { class: "who" },
      h("a", { href: accountPath(s.account), class: "name", id: nameID }, h("bdi", {}, displayName(s.account))),
      h("span", { class: "acct" }, "@" + s.account.acct), departmentBadge(s.account)),
    h("div", { class: "meta" },
      s.visibility !== "public" ? h("span", { class: "visibility", title: vis.label }, icon(vis.icon), h("span", { class: "visually-hidden" }, vis.label)) : null,
      s.local_only ? h("span", { class: "local-only", title: "Only this department" }, "Department only") : null,
      focused ? h("span", { class: "time" }, fullDate(s.created_at))
        : h("a", { href: statusPath(s), class: "time", title: fullDate(s.created_at) }, timeEl(s.created_at),
          h("span", { class: "visually-hidden" }, ", open thread")))));
  if (s.in_reply_to_id) {
    const to = (s.mentions || []).find((m) => m.id === s.in_reply_to_account_id);
    el.append(h("p", { class: "reply-to" }, icon("reply"), " ",
      h("a", { href: "/web/statuses/" + encodeURIComponent(s.in_reply_to_id) },
        to ? "Replying to @" + to.acct : (s.in_reply_to_account_id === s.account.id ? "Continued thread" : "Replying to a post"))));
  }
  el.append(renderBody(s));
  if (focused) {
    const parts = [
      s.edited_at ? h("span", {}, "Edited ", timeEl(s.edited_at)) : null,
      s.application && s.application.name ? h("span", {}, "via " + s.application.name) : null,
      s.url && !s.url.startsWith(location.origin) ? h("a", { href: s.url, target: "_blank", rel: "noopener noreferrer" }, "Open original") : null,
    ].filter(Boolean);
    if (parts.length) el.append(h("p", { class: "focused-meta" }, parts.flatMap((p, i) => (i ? [" · ", p] : [p]))));
  } else if (s.edited_at) {
    el.querySelector(".meta").append(h("span", { class: "edited", title: "Edited " + fullDate(s.edited_at) }, "edited"));
  }
  if (session.token) el.append(renderActions(s));
  return el;
}

// renderBody is the content warning, content and media of a status.
function renderBody(s) {
  const body = h("div", { class: "status-body" });
  const content = setHTML(h("div", { class: "content", lang: s.language || null }), s.content);
  const media = renderMedia(s);
  const filter = (s.filtered || []).find((f) => f.filter && f.filter.filter_action !== "hide");
  const hiddenParts = [content, media].flat().filter(Boolean);
  const warning = s.spoiler_text || (filter ? "Filtered: " + filter.filter.title : "");
  if (warning) {
    const id = "cw-" + ++uid;
    const toggle = h("button", {
      type: "button", class: "button small secondary", "data-action": "toggle-cw", "aria-expanded": "false", "aria-controls": id,
    }, "Show more");
    body.append(h("div", { class: "cw" }, h("p", { class: "spoiler" }, warning), toggle));
    const wrap = h("div", { id, hidden: true }, hiddenParts);
    body.append(wrap);
  } else {
    body.append(...hiddenParts);
  }
  return body;
}

function dims(m) {
  const meta = m.meta || {};
  const size = meta.small || meta.original || {};
  return { width: size.width || null, height: size.height || null };
}

function renderMedia(s) {
  const list = s.media_attachments || [];
  if (!list.length) return null;
  const wrap = h("div", { class: "media media-" + Math.min(list.length, 4) });
  for (const m of list) {
    const desc = m.description || "";
    const { width, height } = dims(m);
    const src = m.preview_url || m.url;
    const full = m.url || m.remote_url;
    if (!src && !full) {
      wrap.append(h("div", { class: "media-item media-pending" }, "Processing media…"));
      continue;
    }
    if (m.type === "video" || m.type === "gifv") {
      wrap.append(h("video", {
        class: "media-item", src: full, poster: m.preview_url && m.preview_url !== full ? m.preview_url : null,
        controls: true, preload: "none", playsinline: true, width, height, "aria-label": desc || "Video",
        loop: m.type === "gifv", muted: m.type === "gifv",
      }));
    } else if (m.type === "audio") {
      wrap.append(h("audio", { class: "media-item", src: full, controls: true, preload: "none", "aria-label": desc || "Audio" }));
    } else if (m.type === "image") {
      wrap.append(h("a", { href: full || src, class: "media-item", target: "_blank", rel: "noopener noreferrer" },
        h("img", { src, alt: desc, width, height, loading: "lazy", decoding: "async" }),
        desc ? h("span", { class: "alt-badge", "aria-hidden": "true", title: desc }, "ALT") : null,
        h("span", { class: "visually-hidden" }, "(opens the full image)")));
    } else {
      wrap.append(h("a", { href: full, class: "media-item media-link", target: "_blank", rel: "noopener noreferrer" }, desc || "Attachment"));
    }
  }
  if (s.sensitive && !s.spoiler_text) {
    wrap.classList.add("is-sensitive");
    wrap.hidden = true;
    const id = "sm-" + ++uid;
    wrap.id = id;
    return [h("button", {
      type: "button", class: "button small secondary sensitive-toggle", "data-action": "toggle-media",
      "aria-expanded": "false", "aria-controls": id,
    }, "Show sensitive media"), wrap];
  }
  return wrap;
}

function actionButton(action, label, iconName, count, pressed, extra = {}) {
  return h("button", {
    type: "button", class: "action " + action, "data-action": action,
    "aria-pressed": pressed === undefined ? null : String(!!pressed), title: label, ...extra,
  }, icon(iconName), h("span", { class: "visually-hidden action-label" }, label),
  count === undefined ? null : h("span", { class: "count" }, formatCount(count)));
}

function renderActions(s) {
  const mine = session.me && s.account.id === session.me.id;
  const boostable = s.visibility === "public" || s.visibility === "unlisted" || (mine && s.visibility === "private");
  return h("div", { class: "actions", role: "group", "aria-label": "Post actions" },
    actionButton("reply", "Reply", "reply", s.replies_count),
    actionButton("boost", boostable ? "Boost" : "This post cannot be boosted", "boost", s.reblogs_count, s.reblogged, { disabled: !boostable }),
    actionButton("favourite", "Favourite", "star", s.favourites_count, s.favourited),
    actionButton("bookmark", "Bookmark", "bookmark", undefined, s.bookmarked),
    mine ? actionButton("delete", "Delete", "trash") : null);
}

// paintActions updates the action buttons of every card of a status in place, so focus and
// the buttons' identity survive.
function paintActions(s) {
  for (const card of document.querySelectorAll(`article.status[data-status-id="${CSS.escape(s.id)}"]`)) {
    const set = (action, pressed, count) => {
      const b = card.querySelector(`:scope > .actions [data-action="${action}"]`);
      if (!b) return;
      if (pressed !== undefined) b.setAttribute("aria-pressed", String(!!pressed));
      const c = b.querySelector(".count");
      if (c && count !== undefined) c.textContent = formatCount(count);
    };
    set("reply", undefined, s.replies_count);
    set("boost", s.reblogged, s.reblogs_count);
    set("favourite", s.favourited, s.favourites_count);
    set("bookmark", s.bookmarked);
  }
}

// merge folds a fresh entity from the server into the cached one and repaints.
function merge(fresh) {
  const old = cache.get(fresh.id);
  const s = old ? Object.assign(old, fresh) : fresh;
  cache.set(s.id, s);
  paintActions(s);
  return s;
}

// replaceStatus re-renders every card of an edited status.
export function replaceStatus(status) {
  remember(status);
  for (const card of document.querySelectorAll(`article.status[data-status-id="${CSS.escape(status.id)}"]`)) {
    const focused = card.classList.contains("focused");
    const outer = card.dataset.id === status.id ? status : { ...(cache.get(card.dataset.id) || {}), reblog: status };
    if (!outer.id) continue;
    const fresh = renderStatus(outer, { focused });
    const hadFocus = card.contains(document.activeElement);
    card.replaceWith(fresh);
    if (hadFocus) fresh.focus();
  }
}

// removeStatus takes a deleted status, and the boosts of it, off the page.
export function removeStatus(id) {
  cache.delete(id);
  const sel = `article.status[data-id="${CSS.escape(id)}"], article.status[data-status-id="${CSS.escape(id)}"]`;
  for (const card of document.querySelectorAll(sel)) {
    const parent = card.closest(".notification") || card;
    parent.dispatchEvent(new CustomEvent("wc:removed", { bubbles: true, detail: { id: parent.dataset.id } }));
    parent.remove();
  }
}

const TOGGLES = {
  boost: { flag: "reblogged", count: "reblogs_count", on: "reblog", off: "unreblog", said: ["Boosted", "Boost undone"] },
  favourite: { flag: "favourited", count: "favourites_count", on: "favourite", off: "unfavourite", said: ["Added to favourites", "Removed from favourites"] },
  bookmark: { flag: "bookmarked", on: "bookmark", off: "unbookmark", said: ["Bookmarked", "Bookmark removed"] },
};

// handleAction runs the action of a clicked card button; onReply opens the composer.
export async function handleAction(button, { onReply }) {
  const card = button.closest("article.status");
  if (!card) return;
  const action = button.dataset.action;
  if (action === "toggle-cw" || action === "toggle-media") {
    const target = document.getElementById(button.getAttribute("aria-controls"));
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    if (target) target.hidden = !open;
    if (action === "toggle-cw") button.textContent = open ? "Show less" : "Show more";
    else button.textContent = open ? "Hide sensitive media" : "Show sensitive media";
    return;
  }
  const s = cache.get(card.dataset.statusId);
  if (!s) return;
  if (action === "reply") {
    onReply(s);
    return;
  }
  if (action === "delete") {
    if (!confirm("Delete this post?")) return;
    try {
      await api("/api/v1/statuses/" + encodeURIComponent(s.id), { method: "DELETE" });
      removeStatus(s.id);
      announce("Post deleted");
    } catch (err) {
      showError(err.message);
    }
    return;
  }
  const t = TOGGLES[action];
  if (!t || button.dataset.busy) return;
  const was = !!s[t.flag];
  // Optimistic: the button answers at once and is put back if the server refuses.
  const undo = { [t.flag]: was };
  if (t.count) undo[t.count] = s[t.count];
  const next = { [t.flag]: !was };
  if (t.count) next[t.count] = Math.max(0, (s[t.count] || 0) + (was ? -1 : 1));
  merge({ ...s, ...next });
  button.dataset.busy = "1";
  try {
    const { data } = await api(`/api/v1/statuses/${encodeURIComponent(s.id)}/${was ? t.off : t.on}`, { method: "POST" });
    merge(data && data.reblog && data.reblog.id === s.id ? data.reblog : data);
    announce(t.said[was ? 1 : 0]);
  } catch (err) {
    merge({ ...s, ...undo });
    showError(err.message);
  } finally {
    delete button.dataset.busy;
  }
}

// renderAccountRow is an account in a list: avatar, names, and an optional control.
export function renderAccountRow(account, control) {
  return h("div", { class: "account-row", "data-account-id": account.id, "data-acct": account.acct },
    h("a", { href: accountPath(account), class: "avatar-link", tabindex: "-1", "aria-hidden": "true" }, avatar(account, 40)),
    h("div", { class: "who" },
      h("a", { href: accountPath(account), class: "name" }, h("bdi", {}, displayName(account))),
      h("span", { class: "acct" }, "@" + account.acct), departmentBadge(account)),
    control || null);
}

const FOLLOW_POLL = [1000, 2000, 4000, 8000, 15000];

// followButton follows and unfollows an account, showing a pending request until the
// account's server accepts it.
export function followButton(account, relationship) {
  let rel = relationship || {};
  const label = h("span", {});
  const btn = h("button", { type: "button", class: "button follow-button" }, label,
    h("span", { class: "visually-hidden" }, " @" + account.acct));
  const paint = () => {
    label.textContent = rel.following ? "Unfollow" : rel.requested ? "Cancel follow request" : rel.followed_by ? "Follow back" : "Follow";
    btn.classList.toggle("secondary", !!(rel.following || rel.requested));
    btn.dataset.state = rel.following ? "following" : rel.requested ? "requested" : "none";
  };
  const poll = (i) => {
    if (i >= FOLLOW_POLL.length) return;
    setTimeout(async () => {
      if (!btn.isConnected || !rel.requested) return;
      try {
        const { data } = await api("/api/v1/accounts/relationships", { query: { id: [account.id] } });
        if (data && data[0] && btn.isConnected) {
          rel = data[0];
          paint();
          if (rel.following) announce("You now follow @" + account.acct);
        }
      } catch { /* keep the pending state; the next poll may do better */ }
      if (rel.requested) poll(i + 1);
    }, FOLLOW_POLL[i]);
  };
  btn.addEventListener("click", async () => {
    // aria-busy rather than disabled: disabling the focused button would drop keyboard focus.
    if (btn.getAttribute("aria-busy") === "true") return;
    btn.setAttribute("aria-busy", "true");
    const undo = rel.following || rel.requested;
    try {
      const { data } = await api(`/api/v1/accounts/${encodeURIComponent(account.id)}/${undo ? "unfollow" : "follow"}`, { method: "POST" });
      rel = data;
      paint();
      announce(undo ? "Unfollowed @" + account.acct : rel.requested ? "Follow request sent to @" + account.acct : "You now follow @" + account.acct);
      if (rel.requested) poll(0);
    } catch (err) {
      showError(err.message);
    } finally {
      btn.removeAttribute("aria-busy");
    }
  });
  paint();
  return btn;
}

// countText is "3 posts"-style text.
export function countText(n, one, many) {
  return formatCount(n) + " " + plural(n, one, many);
}
