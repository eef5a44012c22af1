// firstscreens.mjs walks the first screens of Phanpy and Elk against a Watercooler instance with
// masto.js, the client library both apps are built on, making the calls they make on start and
// on each page. masto_test.go seeds the instance and runs this script; it fails on the first
// call that errors or answers with something other than Mastodon's entity.
//
// Environment: WC_URL (instance), WC_TOKEN (alice's token), WC_BOB_TOKEN, WC_CAROL_TOKEN, WC_EXPECT (JSON of
// ids the seeding created).
import assert from "node:assert/strict";
import { createRestAPIClient, createStreamingAPIClient } from "masto";

const url = process.env.WC_URL;
const expect = JSON.parse(process.env.WC_EXPECT);
const alice = createRestAPIClient({ url, accessToken: process.env.WC_TOKEN, timeout: 30000 });
const bob = createRestAPIClient({ url, accessToken: process.env.WC_BOB_TOKEN, timeout: 30000 });

const steps = [];
async function step(name, fn) {
  try {
    await fn();
    steps.push(name);
    console.log("ok   " + name);
  } catch (err) {
    console.log("FAIL " + name + ": " + (err && err.stack ? err.stack : err));
    process.exitCode = 1;
  }
}
const isArray = (v, what) => assert.ok(Array.isArray(v), `${what} is an array, got ${JSON.stringify(v)}`);
const hasKeys = (obj, keys, what) => {
  for (const k of keys) assert.ok(obj && k in obj, `${what} has ${k}: ${JSON.stringify(obj)}`);
};

let instance;
await step("instance v2 (both apps, before sign-in)", async () => {
  instance = await alice.v2.instance.fetch();
  hasKeys(instance, ["domain", "title", "version", "configuration", "usage", "registrations", "contact", "rules"], "instance");
  assert.ok(instance.apiVersions?.mastodon >= 2, "api_versions.mastodon ≥ 2 makes Phanpy use grouped notifications");
  assert.ok(instance.configuration.polls.maxOptions >= 2, "polls configured");
  assert.ok(instance.configuration.vapid?.publicKey?.length > 40, "a VAPID public key for push");
});

await step("verify_credentials, preferences, custom emojis (start of both apps)", async () => {
  const me = await alice.v1.accounts.verifyCredentials();
  assert.equal(me.username, "alice");
  hasKeys(me, ["source", "role"], "credential account");
  const prefs = await alice.v1.preferences.fetch();
  hasKeys(prefs, ["posting:default:visibility", "posting:default:sensitive", "posting:default:language", "reading:expand:media", "reading:expand:spoilers"], "preferences");
  isArray(await alice.v1.customEmojis.list(), "custom emojis");
});

await step("Phanpy's start: lists, followed tags, filters, announcements, follow requests", async () => {
  isArray(await alice.v1.lists.list(), "lists");
  isArray(await alice.v1.followedTags.list(), "followed tags");
  const filters = await alice.v2.filters.list();
  assert.ok(filters.some((f) => f.title === expect.filterTitle), "alice's filter listed");
  const v1filters = await alice.v1.filters.list();
  assert.ok(v1filters.some((f) => f.phrase === expect.filterKeyword), "v1 filters show the keyword");
  const announcements = await alice.v1.announcements.list();
  isArray(announcements, "announcements");
  assert.ok(announcements.some((a) => a.content.includes(expect.announcement)), "the admin's announcement");
  hasKeys(announcements[0], ["id", "content", "startsAt", "endsAt", "allDay", "publishedAt", "updatedAt", "read", "mentions", "statuses", "tags", "emojis", "reactions"], "announcement");
  isArray(await alice.v1.followRequests.list(), "follow requests");
});

await step("home timeline and markers", async () => {
  const home = await alice.v1.timelines.home.list({ limit: 20 });
  assert.ok(home.some((s) => s.id === expect.bobPostID), "bob's post on alice's home");
  const markers = await alice.v1.markers.fetch({ timeline: ["home", "notifications"] });
  assert.equal(markers.notifications?.lastReadId, expect.notificationsMarker, "notifications marker as saved");
  await alice.v1.markers.create({ home: { lastReadId: home[0].id } });
});

await step("grouped notifications v2 (Phanpy's notifications page)", async () => {
  const page = await alice.v2.notifications.list({ limit: 40 });
  hasKeys(page, ["accounts", "statuses", "notificationGroups"], "grouped notifications");
  const favs = page.notificationGroups.find((g) => g.type === "favourite" && g.statusId === expect.tipID);
  assert.ok(favs, "a favourite group for alice's tip: " + JSON.stringify(page.notificationGroups));
  assert.equal(favs.notificationsCount, 2, "bob and carol in one group");
  assert.equal(favs.sampleAccountIds.length, 2);
  hasKeys(favs, ["groupKey", "mostRecentNotificationId", "pageMinId", "pageMaxId", "latestPageNotificationAt"], "group");
  for (const id of favs.sampleAccountIds) assert.ok(page.accounts.some((a) => a.id === id), "sample accounts are included");
  assert.ok(page.statuses.some((s) => s.id === expect.tipID), "the group's status is included");
  const unread = await alice.v2.notifications.unreadCount.fetch();
  assert.equal(typeof unread.count, "number");
  assert.ok(unread.count >= 1, "unread since the marker");
  const policy = await alice.v2.notifications.policy.fetch();
  hasKeys(policy, ["forNotFollowing", "forNotFollowers", "forNewAccounts", "forPrivateMentions", "forLimitedAccounts", "summary"], "policy");
  isArray(await alice.v1.notifications.requests.list(), "notification requests");
});

await step("Elk's notifications page (v1)", async () => {
  const list = await alice.v1.notifications.list({ limit: 30 });
  assert.ok(list.some((n) => n.type === "favourite" && n.status?.id === expect.tipID));
});

await step("conversations (the DM pages of both apps)", async () => {
  const convs = await alice.v1.conversations.list();
  const c = convs.find((c) => c.lastStatus?.id === expect.dmID);
  assert.ok(c, "bob's DM makes a conversation: " + JSON.stringify(convs));
  assert.equal(c.unread, true);
  assert.ok(c.accounts.some((a) => a.username === "bob"));
  const read = await alice.v1.conversations.$select(c.id).read();
  assert.equal(read.unread, false);
});

await step("explore: trends and suggestions", async () => {
  const tags = await alice.v1.trends.tags.list();
  assert.ok(tags.some((t) => t.name === "golang" && t.history.length === 7), "golang trends");
  const statuses = await alice.v1.trends.statuses.list();
  assert.ok(statuses.some((s) => s.id === expect.tipID), "the favourited tip trends");
  isArray(await alice.v1.trends.links.list(), "trending links");
  const suggestions = await alice.v2.suggestions.list();
  isArray(suggestions, "suggestions");
});

await step("statuses by id (Phanpy hydrates its cache)", async () => {
  const sts = await alice.v1.statuses.fetch({ id: [expect.tipID, expect.bobPostID] });
  assert.deepEqual(sts.map((s) => s.id), [expect.tipID, expect.bobPostID]);
});

await step("profile page: featured tags, endorsements, relationships", async () => {
  isArray(await alice.v1.featuredTags.list(), "featured tags");
  isArray(await alice.v1.endorsements.list(), "endorsements");
  const rels = await alice.v1.accounts.relationships.fetch({ id: [expect.bobID] });
  assert.equal(rels[0].following, true);
  hasKeys(rels[0], ["note", "endorsed", "domainBlocking"], "relationship");
});

await step("compose: a poll bob votes in, a scheduled post", async () => {
  const poll = await alice.v1.statuses.create({
    status: "Which editor?", visibility: "public", poll: { options: ["vim", "emacs", "vscode"], expiresIn: 86400 },
  });
  hasKeys(poll.poll, ["id", "expiresAt", "expired", "multiple", "votesCount", "votersCount", "options", "voted", "ownVotes"], "poll");
  const voted = await bob.v1.polls.$select(poll.poll.id).votes.create({ choices: [2] });
  assert.equal(voted.voted, true);
  assert.deepEqual(voted.ownVotes, [2]);
  assert.equal(voted.options[2].votesCount, 1);
  const at = new Date(Date.now() + 3600 * 1000).toISOString();
  const scheduled = await alice.v1.statuses.create({ status: "posted later", scheduledAt: at });
  hasKeys(scheduled, ["id", "scheduledAt", "params", "mediaAttachments"], "scheduled status");
  const list = await alice.v1.scheduledStatuses.list();
  assert.ok(list.some((s) => s.id === scheduled.id), "the scheduled post is listed");
});

await step("web push subscription (Elk and Phanpy register one)", async () => {
  const { createECDH, randomBytes } = await import("node:crypto");
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const sub = await alice.v1.push.subscription.create({
    subscription: {
      endpoint: "http://127.0.0.1:9/push/alice",
      keys: { p256dh: ecdh.getPublicKey("base64url"), auth: randomBytes(16).toString("base64url") },
    },
    data: { alerts: { mention: true, favourite: true, follow: true }, policy: "all" },
  });
  hasKeys(sub, ["id", "endpoint", "alerts", "serverKey", "policy"], "push subscription");
  assert.equal(sub.serverKey, instance.configuration.vapid.publicKey, "server_key is the instance's VAPID key");
  const again = await alice.v1.push.subscription.fetch();
  assert.equal(again.alerts.favourite, true);
});

await step("live: a post by bob arrives on alice's user stream", async () => {
  const streaming = createStreamingAPIClient({
    streamingApiUrl: instance.configuration.urls.streaming,
    accessToken: process.env.WC_TOKEN,
  });
  const sub = streaming.user.subscribe();
  const text = "live from bob " + Date.now();
  const seen = (async () => {
    for await (const event of sub) {
      if (event.event === "update" && event.payload.content.includes(text)) return event.payload;
    }
  })();
  // The subscription is ready once the server has the socket; posting until the event comes
  // avoids racing the subscribe message, and at most a few posts are made.
  let got;
  for (let i = 0; i < 20 && !got; i++) {
    await bob.v1.statuses.create({ status: `${text} #${i}`, visibility: "public" });
    got = await Promise.race([seen, new Promise((r) => setTimeout(() => r(undefined), 3000))]);
  }
  sub.unsubscribe();
  streaming.close();
  assert.ok(got, "no update event reached the stream");
});

await step("a community is an account with group: true; following it fills home with its boosts", async () => {
  const group = await alice.v1.accounts.lookup({ acct: "golang" });
  assert.equal(group.group, true, "the community's account has group: true");
  const rel = await alice.v1.accounts.$select(group.id).follow();
  assert.equal(rel.following, true, "joining a community is following it, accepted at once");
  const text = "tip for the Go community " + Date.now();
  // carol, whom alice does not follow: the post reaches alice only through the community.
  const carol = createRestAPIClient({ url, accessToken: process.env.WC_CAROL_TOKEN, timeout: 30000 });
  await carol.v1.statuses.create({ status: "@golang " + text, visibility: "public" });
  let boost;
  for (let i = 0; i < 100 && !boost; i++) {
    const home = await alice.v1.timelines.home.list({ limit: 20 });
    boost = home.find((s) => s.reblog && s.reblog.content.includes(text));
    if (!boost) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(boost, "the group's boost of carol's post reached alice's home");
  assert.equal(boost.account.id, group.id, "boosted by the community");
  assert.equal(boost.account.group, true);
  await alice.v1.accounts.$select(group.id).unfollow();
});

console.log(`${steps.length} steps passed`);
