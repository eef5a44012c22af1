// The Mastodon client API of the instance that serves this page, and signing in to it with
// OAuth 2 (authorization code with PKCE S256). Nothing here talks to any other host.

const KEYS = { app: "wc.app", token: "wc.token", pending: "wc.oauth" };

// SCOPES are what the web client asks for: everything a person does in it. The admin scopes
// serve only administrators; the server refuses admin requests of anyone else.
export const SCOPES = "read write follow push admin:read admin:write";

// session is the signed-in state; me and instance are filled in by the app at start.
export const session = {
  token: safeGet(localStorage, KEYS.token) || "",
  me: null,
  instance: null,
};

function safeGet(storage, key) {
  try { return storage.getItem(key); } catch { return null; }
}

function readJSON(storage, key) {
  try { return JSON.parse(storage.getItem(key) || "null"); } catch { return null; }
}

// ApiError carries the HTTP status and the server's {"error": "..."} message.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// parseLink reads the next/prev URLs of a paginated response's Link header.
export function parseLink(header) {
  const out = {};
  if (!header) return out;
  for (const part of header.split(",")) {
    const m = part.match(/<([^>]+)>\s*;\s*rel="?([a-z]+)"?/i);
    if (m) out[m[2].toLowerCase()] = m[1];
  }
  return out;
}

// withQuery appends parameters to a path; arrays become Rails-style key[] repeats.
export function withQuery(path, query) {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) for (const x of v) qs.append(k + "[]", x);
    else qs.append(k, String(v));
  }
  const s = qs.toString();
  return s ? path + (path.includes("?") ? "&" : "?") + s : path;
}

// api calls the instance. It resolves to {data, status, next, prev} (data a Blob when blob is
// set) and rejects with an ApiError whose message is fit to show.
export async function api(path, { method = "GET", body, form, query, idempotency, signal, blob = false } = {}) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (idempotency) headers["Idempotency-Key"] = idempotency;
  let res;
  try {
    // The token is the only credential: cookies stay home, so no request can be forged.
    res = await fetch(withQuery(path, query), { method, headers, body: payload, signal, credentials: "omit" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "Could not reach the server. Check your connection and try again.");
  }
  const links = parseLink(res.headers.get("Link"));
  // A file (an export) is handed over as it came; errors are JSON either way.
  if (blob && res.ok) return { data: await res.blob(), status: res.status, next: links.next, prev: links.prev };
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const message = (data && (data.error_description || data.error)) || `The server answered ${res.status}.`;
    if (res.status === 401 && session.token && path.startsWith("/api/")) {
      document.dispatchEvent(new CustomEvent("wc:session-expired"));
    }
    throw new ApiError(res.status, message);
  }
  return { data, status: res.status, next: links.next, prev: links.prev };
}

// setToken stores (or, with "", forgets) the access token.
export function setToken(token) {
  session.token = token;
  try {
    if (token) localStorage.setItem(KEYS.token, token);
    else localStorage.removeItem(KEYS.token);
  } catch { /* private mode: the session lasts as long as the page */ }
}

function redirectURI() {
  return location.origin + "/web/oauth/callback";
}

// registeredApp returns this browser's OAuth client on the instance, registering one when it
// has none or the instance no longer knows it.
async function registeredApp() {
  const uri = redirectURI();
  let app = readJSON(localStorage, KEYS.app);
  if (app && app.redirect_uri === uri && app.scopes === SCOPES && await appStillValid(app)) return app;
  const { data } = await api("/api/v1/apps", {
    method: "POST",
    body: { client_name: "Watercooler web", redirect_uris: uri, scopes: SCOPES, website: location.origin },
  });
  app = { client_id: data.client_id, client_secret: data.client_secret, redirect_uri: uri, scopes: SCOPES };
  try { localStorage.setItem(KEYS.app, JSON.stringify(app)); } catch { /* registered again next time */ }
  return app;
}

// appStillValid asks for a client token (and revokes it at once): an instance whose data was
// reset would otherwise show its sign-in page an unknown client.
async function appStillValid(app) {
  const creds = { client_id: app.client_id, client_secret: app.client_secret };
  try {
    const { data } = await api("/oauth/token", { method: "POST", body: { grant_type: "client_credentials", scope: "read", ...creds } });
    api("/oauth/revoke", { method: "POST", body: { token: data.access_token, ...creds } }).catch(() => {});
    return true;
  } catch (err) {
    if (err.status === 400 || err.status === 401) return false;
    throw err;
  }
}

// beginSignIn sends the browser to the instance's sign-in and consent page.
export async function beginSignIn(returnTo) {
  const app = await registeredApp();
  const verifier = randomToken(48);
  const state = randomToken(16);
  const challenge = base64url(await sha256(new TextEncoder().encode(verifier)));
  sessionStorage.setItem(KEYS.pending, JSON.stringify({ state, verifier, returnTo }));
  const q = new URLSearchParams({
    response_type: "code", client_id: app.client_id, redirect_uri: app.redirect_uri, scope: SCOPES,
    state, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign("/oauth/authorize?" + q);
}

// completeSignIn exchanges the authorization code the instance sent back for a token and
// returns where the person was when they chose to sign in.
export async function completeSignIn(params) {
  const pending = readJSON(sessionStorage, KEYS.pending);
  sessionStorage.removeItem(KEYS.pending);
  if (params.get("error")) {
    throw new ApiError(0, params.get("error") === "access_denied"
      ? "Sign-in was cancelled." : (params.get("error_description") || params.get("error")));
  }
  if (!pending || !params.get("state") || params.get("state") !== pending.state) {
    throw new ApiError(0, "This sign-in could not be verified. Please start it again.");
  }
  const app = readJSON(localStorage, KEYS.app);
  if (!app) throw new ApiError(0, "This sign-in could not be verified. Please start it again.");
  try {
    const { data } = await api("/oauth/token", {
      method: "POST",
      body: {
        grant_type: "authorization_code", code: params.get("code"), redirect_uri: app.redirect_uri,
        client_id: app.client_id, client_secret: app.client_secret, code_verifier: pending.verifier, scope: SCOPES,
      },
    });
    setToken(data.access_token);
  } catch (err) {
    if (err.status === 401) localStorage.removeItem(KEYS.app);
    throw err;
  }
  return pending.returnTo || "/web/home";
}

// signOut revokes the token on the instance and forgets it here either way.
export async function signOut() {
  const app = readJSON(localStorage, KEYS.app);
  const token = session.token;
  setToken("");
  session.me = null;
  if (app && token) {
    await api("/oauth/revoke", {
      method: "POST", body: { client_id: app.client_id, client_secret: app.client_secret, token },
    }).catch(() => {});
  }
}

function base64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// randomToken is n random bytes, base64url-encoded (RFC 7636's verifier alphabet).
export function randomToken(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return base64url(a);
}

// sha256 uses WebCrypto, which browsers offer only on secure origins; the fallback keeps
// sign-in working on an instance reached over plain HTTP inside a trusted network.
export async function sha256(bytes) {
  if (globalThis.crypto && crypto.subtle) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  return sha256Fallback(bytes);
}

const ror = (x, n) => (x >>> n) | (x << (32 - n));

function primes(count) {
  const out = [];
  for (let n = 2; out.length < count; n++) if (out.every((p) => n % p)) out.push(n);
  return out;
}

// The FIPS 180-4 constants are the fractional parts of roots of the first primes.
const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
const K = Uint32Array.from(primes(64), (p) => frac(Math.cbrt(p)));
const H0 = Uint32Array.from(primes(8), (p) => frac(Math.sqrt(p)));

// sha256Fallback is FIPS 180-4 SHA-256.
export function sha256Fallback(msg) {
  const len = msg.length;
  const n = ((len + 9 + 63) >> 6) << 6;
  const buf = new Uint8Array(n);
  buf.set(msg);
  buf[len] = 0x80;
  const dv = new DataView(buf.buffer);
  dv.setUint32(n - 8, Math.floor(len / 2 ** 29));
  dv.setUint32(n - 4, (len << 3) >>> 0);
  const H = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let off = 0; off < n; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      w[i] = w[i - 16] + (ror(a, 7) ^ ror(a, 18) ^ (a >>> 3)) + w[i - 7] + (ror(b, 17) ^ ror(b, 19) ^ (b >>> 10));
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }
  const out = new Uint8Array(32);
  const odv = new DataView(out.buffer);
  H.forEach((v, i) => odv.setUint32(i * 4, v));
  return out;
}

// compareIDs orders Mastodon ids, which are numeric strings that sort by time.
export function compareIDs(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
