// DOM helpers. Untrusted text always goes in as text nodes; the only HTML inserted is the
// server-sanitized `content`, `note` and field values of Mastodon entities (see setHTML).

const SVG_NS = "http://www.w3.org/2000/svg";

// h builds an element: h("a", {href: "/", class: "x", onclick: fn}, "text", child, [more]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// setHTML inserts HTML the instance has already sanitized (status content, account notes),
// as every Mastodon client does, and makes its outside links open safely in a new tab.
export function setHTML(el, html) {
  el.innerHTML = html || "";
  for (const a of el.querySelectorAll("a[href]")) {
    if (!a.classList.contains("mention")) {
      a.target = "_blank";
      a.rel = "nofollow noopener noreferrer";
    }
  }
  return el;
}

// Icon paths, 24x24, drawn with currentColor so they follow the text colour.
const ICONS = {
  reply: "M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z",
  boost: "M7 7h10v3l4-4-4-4v3H5v6h2V7zm10 10H7v-3l-4 4 4 4v-3h12v-6h-2v4z",
  star: "M12 17.3l6.2 3.7-1.6-7 5.4-4.7-7.2-.6L12 2 9.2 8.7 2 9.3l5.4 4.7-1.6 7z",
  bookmark: "M17 3H7c-1.1 0-2 .9-2 2v16l7-3 7 3V5c0-1.1-.9-2-2-2z",
  trash: "M6 19c0 1.1.9 2 2 2h8c1.1 0 2-.9 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z",
  globe: "M12 2a10 10 0 100 20 10 10 0 000-20zm6.9 6h-3a15.7 15.7 0 00-1.3-3.6A8 8 0 0118.9 8zM12 4c.8 1.2 1.5 2.5 1.9 4h-3.8c.4-1.4 1.1-2.8 1.9-4zM4.3 14a8.2 8.2 0 010-4h3.4a16.5 16.5 0 000 4H4.3zm.8 2h3a15.7 15.7 0 001.3 3.6A8 8 0 015.1 16zm3-8h-3a8 8 0 014.3-3.6C8.8 5.5 8.4 6.7 8.1 8zM12 20c-.8-1.2-1.5-2.5-1.9-4h3.8c-.4 1.4-1.1 2.8-1.9 4zm2.3-6H9.7a14.7 14.7 0 010-4h4.6a14.7 14.7 0 010 4zm.3 5.6c.6-1.1 1-2.3 1.3-3.6h3a8 8 0 01-4.3 3.6zm1.7-5.6a16.5 16.5 0 000-4h3.4a8.2 8.2 0 010 4h-3.4z",
  lock: "M18 8h-1V6a5 5 0 00-10 0v2H6a2 2 0 00-2 2v10c0 1.1.9 2 2 2h12a2 2 0 002-2V10a2 2 0 00-2-2zM9 6a3 3 0 016 0v2H9V6z",
  mail: "M20 4H4a2 2 0 00-2 2v12c0 1.1.9 2 2 2h16a2 2 0 002-2V6a2 2 0 00-2-2zm0 4l-8 5-8-5V6l8 5 8-5v2z",
};

// icon returns a decorative SVG icon; the control it sits in carries the accessible name.
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  const p = document.createElementNS(SVG_NS, "path");
  p.setAttribute("d", ICONS[name] || "");
  p.setAttribute("fill", "currentColor");
  svg.append(p);
  return svg;
}

// announce tells screen reader users about something that happened away from their focus.
export function announce(message) {
  const el = document.getElementById("announcer");
  if (!el) return;
  el.textContent = "";
  // A fresh text node after clearing makes repeated messages be read again.
  requestAnimationFrame(() => { el.textContent = message; });
}

let alertTimer = 0;

// showError shows an error in the alert region, which screen readers read at once.
export function showError(message) {
  const el = document.getElementById("alerts");
  if (!el) return;
  el.replaceChildren(h("p", { class: "alert" }, message,
    h("button", { type: "button", class: "alert-close", "aria-label": "Dismiss", onclick: () => el.replaceChildren() }, "×")));
  clearTimeout(alertTimer);
  alertTimer = setTimeout(() => el.replaceChildren(), 8000);
}

const rtf = typeof Intl !== "undefined" && Intl.RelativeTimeFormat
  ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "narrow" }) : null;
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const shortDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

// relativeTime is "5m ago"-style text for recent moments and a date for older ones.
export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return shortDate.format(t);
  if (abs < 45) return "just now";
  if (abs < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(s / 3600), "hour");
  if (abs < 7 * 86400) return rtf.format(Math.round(s / 86400), "day");
  return shortDate.format(t);
}

// timeEl renders a <time> whose text the app refreshes every minute.
export function timeEl(iso) {
  return h("time", { datetime: iso, title: fullDate(iso) }, relativeTime(iso));
}

export function fullDate(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "" : dateFmt.format(t);
}

// refreshTimes updates every relative time on the page.
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const t of root.querySelectorAll("time[datetime]")) {
    const text = relativeTime(t.getAttribute("datetime"), now);
    if (t.textContent !== text) t.textContent = text;
  }
}

// displayName is an account's display name, or its username when it has none (plain text).
export function displayName(account) {
  return (account && (account.display_name || account.username)) || "";
}

// accountPath is the client route of an account's profile.
export function accountPath(account) {
  return "/web/accounts/" + encodeURIComponent(account.id);
}

// statusPath is the client route of a status's thread.
export function statusPath(status) {
  return "/web/statuses/" + encodeURIComponent(status.id);
}

// avatar renders an account's avatar. Its alt text is empty: the name always sits beside it.
export function avatar(account, size = 46) {
  return h("img", {
    class: "avatar", src: account.avatar_static || account.avatar, alt: "",
    width: size, height: size, loading: "lazy", decoding: "async",
  });
}

// formatCount shortens large counts (1.2K) the way Mastodon does.
export function formatCount(n) {
  n = Number(n) || 0;
  if (n < 1000) return String(n);
  if (n < 1e6) return (n / 1000).toFixed(n < 10000 ? 1 : 0).replace(/\.0$/, "") + "K";
  return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
}

// plural picks the singular or plural noun for a count.
export function plural(n, one, many) {
  return n === 1 ? one : many;
}

// act runs the action of a button, keeping the button busy meanwhile and showing what went
// wrong.
export async function act(button, fn) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await fn();
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
