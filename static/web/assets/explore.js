// The Explore page: what is trending across the organization (posts, hashtags, links), as this
// department's /api/v1/trends endpoints rank it. Every department receives the others' public
// posts, so the ranking covers them all and favours what crossed department lines.

import { api } from "./api.js";
import { h, formatCount, plural } from "./dom.js";
import { renderStatus } from "./status.js";
import { Feed } from "./feed.js";
import { notFoundView } from "./views.js";

// SECTIONS are the page's tabs, each a route of its own so that it can be linked and reloaded.
const SECTIONS = [
  { key: "posts", label: "Posts", path: "/web/explore" },
  { key: "tags", label: "Hashtags", path: "/web/explore/tags" },
  { key: "links", label: "Links", path: "/web/explore/links" },
];

// The page's styles live beside it, so that adding it touches no shared stylesheet.
function loadStyles() {
  if (document.getElementById("explore-css")) return;
  document.head.append(h("link", { id: "explore-css", rel: "stylesheet", href: "/assets/explore.css" }));
}

// exploreView is /web/explore and /web/explore/:section.
export async function exploreView({ section = "posts" } = {}) {
  loadStyles();
  const current = SECTIONS.find((s) => s.key === section);
  if (!current) return notFoundView();
  const tabs = h("nav", { class: "explore-tabs", "aria-label": "Explore sections" },
    h("ul", {}, SECTIONS.map((s) => h("li", {},
      h("a", { href: s.path, "aria-current": s === current ? "page" : null }, s.label)))));
  const intro = h("p", { class: "hint explore-intro" },
    "What people across the organization use, boost and favourite these days; what spread between departments comes first.");
  const body = await RENDER[current.key]();
  const title = current.key === "posts" ? "Explore" : "Explore: " + current.label;
  return {
    title,
    node: h("div", { class: "explore" },
      h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Explore")),
      tabs, intro, body),
  };
}

const RENDER = {
  async posts() {
    const feed = new Feed({
      path: "/api/v1/trends/statuses", label: "Trending posts", render: (s) => renderStatus(s),
      empty: "Nothing is trending yet: posts appear here once people boost or favourite them.",
    });
    await feed.load();
    return feed.node;
  },

  async tags() {
    const { data } = await api("/api/v1/trends/tags", { query: { limit: 20 } });
    if (!data.length) return h("p", { class: "empty panel" }, "No hashtags are trending yet.");
    return h("ol", { class: "panel explore-list", "aria-label": "Trending hashtags" }, data.map((t) => {
      const today = (t.history && t.history[0]) || { uses: "0", accounts: "0" };
      const week = (t.history || []).reduce((n, d) => n + Number(d.uses || 0), 0);
      return h("li", { class: "explore-tag" },
        h("a", { href: "/tags/" + encodeURIComponent(t.name), class: "explore-tag-name" }, "#" + t.name),
        h("span", { class: "explore-meta" },
          `${formatCount(Number(today.accounts))} ${plural(Number(today.accounts), "person", "people")} today · ` +
          `${formatCount(week)} ${plural(week, "post", "posts")} this week`),
        sparkline(t.history || []));
    }));
  },

  async links() {
    const { data } = await api("/api/v1/trends/links", { query: { limit: 20 } });
    if (!data.length) return h("p", { class: "empty panel" }, "No links are trending yet.");
    return h("ol", { class: "explore-list explore-links", "aria-label": "Trending links" }, data.map((l) => {
      const week = (l.history || []).reduce((n, d) => n + Number(d.accounts || 0), 0);
      let host = "";
      try { host = new URL(l.url).host; } catch { /* shown without a host */ }
      return h("li", { class: "panel explore-link" },
        l.image ? h("img", { src: l.image, alt: "", class: "explore-link-image", loading: "lazy", width: 96, height: 96 }) : null,
        h("div", { class: "explore-link-text" },
          h("span", { class: "explore-meta" }, l.provider_name || host),
          h("a", { href: l.url, target: "_blank", rel: "noopener noreferrer nofollow", class: "explore-link-title" }, l.title || l.url),
          l.description ? h("p", { class: "explore-link-description" }, l.description) : null,
          h("span", { class: "explore-meta" }, `Shared by ${formatCount(week)} ${plural(week, "person", "people")} this week`)));
    }));
  },
};

// sparkline draws a week of uses, oldest first, as bars; the numbers are in the text beside it.
function sparkline(history) {
  const days = history.slice().reverse().map((d) => Number(d.uses || 0));
  const top = Math.max(1, ...days);
  return h("span", { class: "explore-spark", "aria-hidden": "true" },
    days.map((n) => h("span", { class: "explore-bar", "data-level": String(Math.round((n / top) * 4)) })));
}
