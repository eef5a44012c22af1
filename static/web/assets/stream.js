// One Mastodon streaming API subscription over a WebSocket, reconnecting with backoff.

import { session } from "./api.js";

const MAX_BACKOFF = 30000;

// Stream delivers {event, payload} messages of one stream (user, public:local, public,
// hashtag, list) to onEvent; onOpen runs after every (re)connect so a view can fetch what
// it missed while disconnected.
export class Stream {
  constructor(params, { onEvent, onOpen }) {
    this.params = params;
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.ws = null;
    this.stopped = false;
    this.backoff = 1000;
    this.timer = 0;
    this.opened = false;
  }

  url() {
    const q = new URLSearchParams(this.params);
    if (session.token) q.set("access_token", session.token);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/api/v1/streaming?${q}`;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      const again = this.opened;
      this.opened = true;
      this.backoff = 1000;
      if (this.onOpen) this.onOpen(again);
    });
    ws.addEventListener("message", (ev) => this.dispatch(ev.data));
    ws.addEventListener("close", () => {
      if (this.ws === ws) this.ws = null;
      this.retry();
    });
  }

  dispatch(raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch { return; }
    if (!msg || typeof msg.event !== "string") return;
    let payload = msg.payload;
    // Every payload is a JSON string except delete's, which is a bare status id.
    if (typeof payload === "string" && msg.event !== "delete") {
      try { payload = JSON.parse(payload); } catch { return; }
    }
    this.onEvent(msg.event, payload, msg.stream);
  }

  retry() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const wait = this.backoff * (0.75 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
  }
}
