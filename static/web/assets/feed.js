// Feed is a paginated, live list of statuses or notifications: "Load more" follows the Link
// header, streamed items are prepended, and items that arrive while the reader is scrolled
// down wait behind a "Show new posts" button so nothing jumps under them.

import { api, compareIDs } from "./api.js";
import { h, announce, showError, plural } from "./dom.js";

const SCROLL_HOLD = 240;

export class Feed {
  // path/query: the first page; render(item) → element; key(item) → id used for ordering
  // and dedup; label names the list for assistive technology.
  constructor({ path, query, render, key = (x) => x.id, label, empty = "Nothing here yet.", noun = ["post", "posts"] }) {
    this.path = path;
    this.query = query;
    this.render = render;
    this.key = key;
    this.noun = noun;
    this.seen = new Set();
    this.pending = [];
    this.next = null;
    this.loaded = false;
    this.list = h("div", { class: "feed", "aria-label": label, "aria-busy": "true" });
    this.emptyNote = h("p", { class: "empty", hidden: true }, empty);
    this.newButton = h("button", { type: "button", class: "button new-posts", hidden: true, onclick: () => this.showPending() }, "Show new posts");
    this.more = h("button", { type: "button", class: "button secondary load-more", hidden: true, onclick: () => this.loadMore() }, "Load more");
    this.end = h("p", { class: "end-note", hidden: true }, "You have reached the end.");
    this.node = h("section", { class: "feed-wrap", "aria-label": label }, this.newButton, this.list, this.emptyNote, this.more, this.end);
    this.list.addEventListener("wc:removed", (e) => {
      this.seen.delete(e.detail.id);
      this.updateEmpty();
    });
  }

  async load() {
    await this.fetchPage(this.path, this.query);
    this.loaded = true;
  }

  async loadMore() {
    if (!this.next || this.more.getAttribute("aria-busy") === "true") return;
    await this.fetchPage(this.next);
  }

  async fetchPage(path, query) {
    this.list.setAttribute("aria-busy", "true");
    this.more.setAttribute("aria-busy", "true");
    this.more.textContent = "Loading…";
    try {
      const { data, next } = await api(path, { query });
      const items = Array.isArray(data) ? data : [];
      let added = 0;
      for (const item of items) {
        const k = this.key(item);
        if (this.seen.has(k)) continue;
        this.seen.add(k);
        this.list.append(this.render(item));
        added++;
      }
      this.next = items.length ? next || null : null;
      if (this.loaded && added) announce(`Loaded ${added} more ${plural(added, ...this.noun)}`);
    } catch (err) {
      showError(err.message);
    } finally {
      this.list.setAttribute("aria-busy", "false");
      this.more.removeAttribute("aria-busy");
      this.more.textContent = "Load more";
      this.more.hidden = !this.next;
      this.end.hidden = !!this.next || this.seen.size === 0;
      this.updateEmpty();
    }
  }

  updateEmpty() {
    this.emptyNote.hidden = this.seen.size > 0 || this.pending.length > 0;
  }

  has(k) {
    return this.seen.has(k) || this.pending.some((x) => this.key(x) === k);
  }

  // prepend shows a new item at the top, or holds it while the reader is scrolled down.
  // Own posts (immediate) always go straight in.
  prepend(item, { immediate = false } = {}) {
    const k = this.key(item);
    if (this.has(k)) return;
    if (!immediate && window.scrollY > SCROLL_HOLD) {
      this.pending.push(item);
      const n = this.pending.length;
      this.newButton.textContent = `Show ${n} new ${plural(n, ...this.noun)}`;
      this.newButton.hidden = false;
      announce(`${n} new ${plural(n, ...this.noun)}`);
      return;
    }
    this.insert(item);
    if (!immediate) announce(`1 new ${this.noun[0]}`);
  }

  // insert puts an item where its id belongs, which for live items is nearly always the top.
  insert(item) {
    const k = this.key(item);
    this.seen.add(k);
    const el = this.render(item);
    let before = this.list.firstElementChild;
    while (before && before.dataset.id && compareIDs(before.dataset.id, k) > 0) before = before.nextElementSibling;
    this.list.insertBefore(el, before);
    this.updateEmpty();
  }

  showPending() {
    const items = this.pending.sort((a, b) => compareIDs(this.key(a), this.key(b)));
    this.pending = [];
    for (const item of items) this.insert(item);
    this.newButton.hidden = true;
    const first = this.list.firstElementChild;
    window.scrollTo({ top: 0 });
    if (first) first.focus();
  }

  // catchUp fetches what was posted while the stream was down (or before it connected).
  async catchUp() {
    if (!this.loaded) return;
    const first = this.list.querySelector(":scope > [data-id]");
    const newest = [first && first.dataset.id, ...this.pending.map(this.key)].filter(Boolean).sort(compareIDs).pop();
    if (!newest) return;
    try {
      const { data } = await api(this.path, { query: { ...this.query, min_id: newest } });
      const items = (Array.isArray(data) ? data : []).sort((a, b) => compareIDs(this.key(a), this.key(b)));
      for (const item of items) this.prepend(item);
    } catch { /* the stream itself still works; nothing to tell */ }
  }
}
