// The composer: text, content warning, visibility, images with alt text, and replies.
// A published status is announced with a "wc:status-posted" event for the views to show.

import { api, session, randomToken, ApiError } from "./api.js";
import { h, announce, showError, displayName } from "./dom.js";

const MEDIA_POLL_MS = 500;
const MEDIA_WAIT_MS = 60000;
const IMAGE_TYPES = "image/png,image/jpeg,image/gif,image/webp";

// Composer owns the form inside the #compose section.
export class Composer {
  constructor(root) {
    this.root = root;
    this.items = []; // {file, url, id, alt input}
    this.replyTo = null;
    this.busy = false;
    this.idempotency = randomToken(16);
    this.build();
  }

  get maxChars() {
    const c = session.instance && session.instance.configuration;
    return (c && c.statuses && c.statuses.max_characters) || 500;
  }

  get maxMedia() {
    const c = session.instance && session.instance.configuration;
    return (c && c.statuses && c.statuses.max_media_attachments) || 4;
  }

  build() {
    this.heading = h("h2", { id: "compose-heading" }, "New post");
    this.replyBanner = h("div", { class: "reply-banner", hidden: true });
    this.cwInput = h("input", { id: "compose-cw", type: "text", autocomplete: "off", maxlength: 500 });
    this.cwField = h("div", { class: "field", hidden: true },
      h("label", { for: "compose-cw" }, "Content warning"), this.cwInput);
    this.text = h("textarea", {
      id: "compose-text", rows: 5, "aria-describedby": "compose-count", spellcheck: "true",
      placeholder: "Share what you know",
    });
    this.count = h("span", { id: "compose-count", class: "char-count" });
    this.mediaList = h("ul", { class: "compose-media", "aria-label": "Attached images", hidden: true });
    this.fileInput = h("input", {
      id: "compose-media-input", type: "file", accept: IMAGE_TYPES, multiple: true, class: "visually-hidden file-input",
    });
    this.cwToggle = h("button", { type: "button", class: "button secondary small", "aria-pressed": "false", "aria-controls": "compose-cw" }, "Content warning");
    this.visibility = h("select", { id: "compose-visibility" },
      h("option", { value: "public" }, "Public"),
      h("option", { value: "unlisted" }, "Unlisted (quiet public)"),
      h("option", { value: "private" }, "Followers only"),
      h("option", { value: "direct" }, "Mentioned people only"));
    this.localOnly = h("input", { id: "compose-local-only", type: "checkbox" });
    this.submit = h("button", { type: "submit", class: "button" }, "Post");
    this.form = h("form", { class: "compose-form", novalidate: true },
      this.replyBanner, this.cwField,
      h("label", { for: "compose-text" }, "What do you want to share?"), this.text,
      this.mediaList,
      h("div", { class: "compose-tools" },
        h("span", { class: "file-button" }, this.fileInput,
          h("label", { for: "compose-media-input", class: "button secondary small" }, "Add image")),
        this.cwToggle),
      h("div", { class: "field field-inline" },
        h("label", { for: "compose-visibility" }, "Visibility"), this.visibility),
      h("div", { class: "field field-inline field-check" },
        this.localOnly, h("label", { for: "compose-local-only" }, "Only this department (never sent to other departments)")),
      h("div", { class: "compose-submit" }, this.count, this.submit));
    this.root.replaceChildren(this.heading, this.form);

    this.text.addEventListener("input", () => this.updateCount());
    this.cwInput.addEventListener("input", () => this.updateCount());
    this.text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.cwToggle.addEventListener("click", () => this.setCW(this.cwField.hidden));
    this.fileInput.addEventListener("change", () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = "";
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.publish();
    });
    this.updateCount();
  }

  // reset applies the signed-in person's default visibility and clears everything.
  reset() {
    for (const it of this.items) URL.revokeObjectURL(it.url);
    this.items = [];
    this.renderMedia();
    this.text.value = "";
    this.cwInput.value = "";
    this.setCW(false);
    this.setReply(null);
    const privacy = session.me && session.me.source && session.me.source.privacy;
    this.visibility.value = privacy || "public";
    this.localOnly.checked = false;
    this.idempotency = randomToken(16);
    this.updateCount();
  }

  setCW(on) {
    this.cwField.hidden = !on;
    this.cwToggle.setAttribute("aria-pressed", String(on));
    if (on) this.cwInput.focus();
    else this.cwInput.value = "";
    this.updateCount();
  }

  remaining() {
    return this.maxChars - [...this.text.value].length - [...this.cwInput.value].length;
  }

  updateCount() {
    const left = this.remaining();
    this.count.textContent = left + " " + (Math.abs(left) === 1 ? "character" : "characters") + " left";
    this.count.classList.toggle("over", left < 0);
  }

  addFiles(files) {
    for (const file of files) {
      if (this.items.length >= this.maxMedia) {
        showError(`You can attach up to ${this.maxMedia} images.`);
        break;
      }
      if (!file.type.startsWith("image/")) {
        showError(`${file.name} is not an image.`);
        continue;
      }
      this.items.push({ file, url: URL.createObjectURL(file), id: null, alt: null, key: randomToken(6) });
    }
    this.renderMedia();
    const last = this.items[this.items.length - 1];
    if (last && last.alt) last.alt.focus();
  }

  renderMedia() {
    this.mediaList.hidden = this.items.length === 0;
    this.mediaList.replaceChildren(...this.items.map((it, i) => {
      const id = "alt-" + it.key;
      const prev = it.alt ? it.alt.value : "";
      it.alt = h("input", { id, type: "text", class: "alt-input", maxlength: 1500, autocomplete: "off", placeholder: "Describe the image for people who cannot see it" });
      it.alt.value = prev;
      return h("li", { class: "compose-media-item" },
        h("img", { src: it.url, alt: "", width: 80, height: 80 }),
        h("div", { class: "alt-field" },
          h("label", { for: id }, `Alt text for image ${i + 1}`), it.alt),
        h("button", {
          type: "button", class: "button secondary small", onclick: () => {
            URL.revokeObjectURL(it.url);
            this.items = this.items.filter((x) => x !== it);
            this.renderMedia();
            this.text.focus();
          },
        }, "Remove", h("span", { class: "visually-hidden" }, ` image ${i + 1}`)));
    }));
  }

  // setReply makes the next post a reply to status, mentioning its author and the people
  // it mentions, as Mastodon does.
  setReply(status) {
    this.replyTo = status;
    if (!status) {
      this.replyBanner.hidden = true;
      this.replyBanner.replaceChildren();
      this.heading.textContent = "New post";
      return;
    }
    this.heading.textContent = "Reply";
    this.replyBanner.hidden = false;
    this.replyBanner.replaceChildren(
      h("p", {}, "Replying to ", h("bdi", {}, displayName(status.account)), " (@" + status.account.acct + ")"),
      h("button", { type: "button", class: "button secondary small", onclick: () => { this.setReply(null); this.text.focus(); } }, "Cancel reply"));
    const me = session.me ? session.me.acct : "";
    const handles = [status.account.acct, ...(status.mentions || []).map((m) => m.acct)]
      .filter((a, i, all) => a !== me && all.indexOf(a) === i);
    const prefix = handles.map((a) => "@" + a + " ").join("");
    if (!this.text.value.startsWith(prefix)) this.text.value = prefix + this.text.value;
    const order = ["public", "unlisted", "private", "direct"];
    if (order.indexOf(status.visibility) > order.indexOf(this.visibility.value)) this.visibility.value = status.visibility;
    if (status.local_only) this.localOnly.checked = true; // the server keeps such a thread inside anyway
    if (status.spoiler_text) {
      this.setCW(true);
      this.cwInput.value = status.spoiler_text;
    }
    this.updateCount();
  }

  focus() {
    this.text.focus();
    const end = this.text.value.length;
    this.text.setSelectionRange(end, end);
  }

  async uploadAll() {
    const ids = [];
    for (const it of this.items) {
      const description = it.alt.value.trim();
      if (!it.id) {
        const form = new FormData();
        form.append("file", it.file, it.file.name);
        if (description) form.append("description", description);
        const { data, status } = await api("/api/v2/media", { method: "POST", form });
        it.id = data.id;
        it.sentAlt = description;
        if (status === 202 || !data.url) await waitProcessed(data.id);
      } else if (it.sentAlt !== description) {
        await api("/api/v1/media/" + encodeURIComponent(it.id), { method: "PUT", body: { description } });
        it.sentAlt = description;
      }
      ids.push(it.id);
    }
    return ids;
  }

  async publish() {
    if (this.busy) return;
    const text = this.text.value;
    if (!text.trim() && this.items.length === 0) {
      showError("Write something or add an image first.");
      this.text.focus();
      return;
    }
    if (this.remaining() < 0) {
      showError(`Posts can have at most ${this.maxChars} characters.`);
      this.text.focus();
      return;
    }
    this.busy = true;
    this.submit.setAttribute("aria-busy", "true");
    this.submit.textContent = "Posting…";
    try {
      const mediaIDs = await this.uploadAll();
      const body = {
        status: text, visibility: this.visibility.value, media_ids: mediaIDs,
        spoiler_text: this.cwField.hidden ? "" : this.cwInput.value,
        sensitive: !this.cwField.hidden && this.cwInput.value.trim() !== "",
        local_only: this.localOnly.checked,
      };
      if (this.replyTo) body.in_reply_to_id = this.replyTo.id;
      const { data } = await api("/api/v1/statuses", { method: "POST", body, idempotency: this.idempotency });
      this.reset();
      document.dispatchEvent(new CustomEvent("wc:status-posted", { detail: data }));
      announce("Your post was published.");
    } catch (err) {
      showError(err instanceof ApiError ? err.message : "Posting failed: " + err.message);
    } finally {
      this.busy = false;
      this.submit.removeAttribute("aria-busy");
      this.submit.textContent = "Post";
    }
  }
}

// waitProcessed polls an attachment the server accepted for processing (202) until it has
// a URL: statuses cannot carry unprocessed media.
async function waitProcessed(id) {
  const deadline = Date.now() + MEDIA_WAIT_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, MEDIA_POLL_MS));
    const { data, status } = await api("/api/v1/media/" + encodeURIComponent(id));
    if (status === 200 && data && data.url) return;
  }
  throw new ApiError(0, "The image is taking too long to process. Please try again.");
}
