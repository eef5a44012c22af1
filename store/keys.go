package store

import (
	"hash/fnv"
	"strconv"
)

// keys builds every Redis key of one instance. The department's records and indexes carry the
// instance's hash tag ({prefix}), so each MULTI/EXEC and Lua script touches a single hash slot
// and runs unchanged on Redis Cluster. What fan-out fills for each reader (home and list
// timelines, notifications), each author's list of statuses, each status's record and what
// others did with it, what others did to an account and each account's favourites and bookmarks
// are most of a department's keys and of its writes: each account's and each status's carry a
// tag of their own ({prefix:tl:home:id}, {prefix:status:id}), so on a cluster they spread over
// every master, and writes reach them through the fan-out of spreadMulti (fanout_jobs.go), a
// record's claim or rewrite (status_record.go), or a change made in its slot first (spreadAfter).
type keys struct {
	p      string // "{prefix}:", before the keys in the department's slot
	spread string // "{prefix:", opening the tag of a key in a slot of its own
}

func newKeys(prefix string) keys { return keys{p: "{" + prefix + "}:", spread: "{" + prefix + ":"} }

// Id minting (ids.go): the secret that masks the low bits of local ids, and the node leases that
// keep every process's ids apart.
func (k keys) idSecret() string    { return k.p + "ids:secret" }
func (k keys) idNode(i int) string { return k.p + "ids:node:" + strconv.Itoa(i) }

// Accounts and local users. An account's record, its user's (a local account's sign-in record)
// and its signing key are in the account's slot; the department's slot keeps what finds a local
// account (by name, URI, e-mail), claimed together at sign-up. What finds a remote account, which
// grows with the whole organization where local accounts grow with the department, is split
// over uriShards hashes (by URI, by acct) and a sorted set of each first character of the acct
// (its search), each in a slot of its own. An account's statuses, with their count, have a slot
// of their own.
func (k keys) accountByID() idKey               { return idKey{prefix: k.accountSlots(), suffix: "}"} }
func (k keys) userByID() idKey                  { return idKey{prefix: k.accountSlots(), suffix: "}:user"} }
func (k keys) account(id string) string         { return k.accountByID().of(id) }
func (k keys) accountByAcct() string            { return k.p + "idx:acct" }           // hash lower(user) → id, local
func (k keys) accountByURI() string             { return k.p + "idx:account:uri" }    // hash actor URI → id, local
func (k keys) accountSearch() string            { return k.p + "idx:account:search" } // lex zset lower(user) NUL id, local
func (k keys) localAccounts() string            { return k.p + "accounts:local" }     // zset id
func (k keys) user(accountID string) string     { return k.userByID().of(accountID) }
func (k keys) userByEmail() string              { return k.p + "idx:email" } // hash lower(email) → account id
func (k keys) accountStatuses(id string) string { return k.spread + "statuses:" + id + "}" }
func (k keys) postCounts(id string) string      { return k.postCountsByID().of(id) } // statuses and last_status_at
func (k keys) postCountsByID() idKey {
	return idKey{prefix: k.spread + "statuses:", suffix: "}:counts"}
}
func (k keys) knownDomains() string { return k.p + "domains" } // set of the remote accounts' domains
func (k keys) remoteAccountsByURI(shard string) string {
	return k.spread + "idx:account:uri:" + shard + "}" // hash actor URI → id, of URIs in uriShard
}
func (k keys) remoteAccountsByAcct(shard string) string {
	return k.spread + "idx:acct:" + shard + "}" // hash lower(user@domain) → id, of accts in uriShard
}
func (k keys) remoteAccountSearch(acct string) string {
	return k.spread + "idx:account:search:" + searchShard(acct) + "}" // lex zset lower(user@domain) NUL id
}
func (k keys) accountPins(id string) string { return k.accountKey(id, "pins") }
func (k keys) privateKey(id string) string  { return k.accountKey(id, "key") }

// Relationships, each a zset scored by the relationship's id so lists paginate, all in the
// account's own slot, so on a cluster they spread over the masters. What an account does
// (follows, asks to, blocks, with the follows' options) is written there first, with the count
// of its follows; what others do to an account (who follows it, asks to, blocks it, is notified
// of or filters its posts) is written as edges (fanout_jobs.go), with the count of its
// followers. Its mutes only the account's own reads and writes touch.
func (k keys) following(id string) string { return k.accountKey(id, "following") }
func (k keys) requested(id string) string { return k.accountKey(id, "requested") } // outgoing
func (k keys) blocks(id string) string    { return k.accountKey(id, "blocks") }

// followCounts holds the sizes of the account's follows and followers, set with each change
// of them.
func (k keys) followCounts(id string) string       { return k.followCountsByID().of(id) }
func (k keys) followCountsByID() idKey             { return idKey{prefix: k.accountSlots(), suffix: "}:counts"} }
func (k keys) mutedNotifications(id string) string { return k.accountKey(id, "mutes:notifications") } // set
func (k keys) mutes(id string) string              { return k.accountKey(id, "mutes") }
func (k keys) followOptions(id string) string      { return k.accountKey(id, "follow_opts") } // hash target → JSON
func (k keys) accountSlots() string                { return k.spread + "acct:" }              // what every account's slot starts with
func (k keys) accountKey(id, name string) string   { return k.accountSlots() + id + "}:" + name }
func (k keys) edges(id string, set edgeSet) string { return k.accountKey(id, string(set)) }
func (k keys) followers(id string) string          { return k.edges(id, followersEdges) }
func (k keys) localFollowers(id string) string     { return k.edges(id, localFollowersEdges) } // local followers only: the fan-out targets
func (k keys) followRequests(id string) string     { return k.edges(id, followRequestsEdges) } // incoming
func (k keys) blockedBy(id string) string          { return k.edges(id, blockedByEdges) }
func (k keys) notifySubscribers(id string) string  { return k.edges(id, notifySubscribersEdges) } // set of local accounts notified of new posts

// Statuses. A status's record and edit history are in the status's own slot, so a department's
// statuses spread over a cluster's masters. What the department knows of a status (its place
// in public timelines, the version its record was last written at) stays in the department's
// slot, where the write that changes them checks them atomically. The index of statuses by URI,
// which grows with every remote status, and that of the remote stamps authorizing quotes are
// split over uriShards hashes, each in a slot of its own, written by the status's fan-out
// (status_record.go).
func (k keys) status(id string) string        { return k.statusByID().of(id) }
func (k keys) statusByID() idKey              { return idKey{prefix: k.statusSlots(), suffix: "}"} }
func (k keys) statusHistory(id string) string { return k.statusSlots() + id + "}:history" } // list of JSON snapshots
// statusRecordVersion is the version of the record in the status's slot, statusVersion the
// version the department last wrote it at (status_record.go): both exist once it is rewritten.
func (k keys) statusRecordVersion(id string) string { return k.statusSlots() + id + "}:version" }
func (k keys) statusVersion(id string) string       { return k.p + "status:version:" + id }
func (k keys) statusByURI(uri string) string {
	return k.spread + "idx:status:uri:" + uriShard(uri) + "}" // hash URI → id, one of uriShards
}

// statusIndexing marks, on a cluster, a new status whose URI entry its fan-out has yet to write.
func (k keys) statusIndexing(id string) string { return k.p + "status:indexing:" + id }
func (k keys) quoteAuthorization(uri string) string {
	return k.spread + "idx:quote_auth:" + uriShard(uri) + "}" // hash remote stamp URI → quote id, one of uriShards
}
func (k keys) idempotency(accountID, key string) string {
	return k.p + "idempotency:" + accountID + ":" + key
}

// What others do with a status (its replies, boosts, favourites and quotes, each a zset, and
// their counts) lives in the status's own slot: a department's busiest posts then spread over a
// cluster's masters, and writes reach them as tallies (fanout_jobs.go).
func (k keys) statusSlots() string { return k.spread + "status:" } // what every status's slot starts with
func (k keys) statusSet(id string, set statusSet) string {
	return k.statusSlots() + id + "}:" + string(set)
}
func (k keys) statusCounts(id string) string     { return k.statusCountsByID().of(id) }    // hash of the sets' sizes
func (k keys) statusReplies(id string) string    { return k.statusSet(id, repliesSet) }    // zset reply id
func (k keys) statusReblogs(id string) string    { return k.statusSet(id, reblogsSet) }    // zset reblog id, member account id
func (k keys) statusFavourites(id string) string { return k.statusSet(id, favouritesSet) } // zset fav id, member account id
func (k keys) statusQuotes(id string) string     { return k.statusSet(id, quotesSet) }     // zset of accepted quote ids (quote.go)
func (k keys) statusCountsByID() idKey           { return idKey{prefix: k.statusSlots(), suffix: "}:counts"} }

// Per-account collections of statuses, which grow with every favourite and bookmark: in the
// account's own slot.
func (k keys) favourites(accountID string) string { return k.accountKey(accountID, "favourites") }
func (k keys) bookmarks(accountID string) string  { return k.accountKey(accountID, "bookmarks") }

// boosts is the hash of what an account boosted, each status's id to the boost's: on a cluster
// the boost's claim (claimBoost), so that a post is boosted once by each account.
func (k keys) boosts(accountID string) string { return k.accountKey(accountID, "boosts") }

// Timelines.
func (k keys) homeTimelines() string                { return k.spread + "tl:home:" } // what every home's keys start with
func (k keys) homeTimeline(accountID string) string { return k.homeTimelines() + accountID + "}" }
func (k keys) localTimeline() string                { return k.p + "tl:local" }
func (k keys) remoteTimeline() string               { return k.p + "tl:remote" }
func (k keys) localMediaTimeline() string           { return k.p + "tl:local:media" }
func (k keys) remoteMediaTimeline() string          { return k.p + "tl:remote:media" }
func (k keys) tagTimeline(tag string) string        { return k.p + "tl:tag:" + tag }
func (k keys) listTimeline(listID string) string    { return k.spread + "tl:list:" + listID + "}" }

// Hashtags.
func (k keys) tagSearch() string                    { return k.p + "idx:tag:search" } // lex zset of tag names
func (k keys) tags() string                         { return k.p + "tags" }           // zset name → last used (ms)
func (k keys) tagFollowers(tag string) string       { return k.p + "tag:followers:" + tag }
func (k keys) followedTags(accountID string) string { return k.accountKey(accountID, "followed_tags") }

// Preview cards of linked pages, by a digest of the URL (trend.go), each in a slot of its own:
// there is one for every page linked within a week.
func (k keys) card(digest string) string { return k.spread + "card:" + digest + "}" }

// Notifications.
func (k keys) notifications(accountID string) string {
	return k.spread + "notifications:" + accountID + "}" // zset id, in the account's slot
}
func (k keys) notification(accountID, id string) string {
	return k.notifications(accountID) + ":" + id // JSON, in its account's slot
}
func (k keys) notificationPolicy(accountID string) string {
	return k.accountKey(accountID, "notifications:policy") // hash of verdicts (notification_policy.go)
}
func (k keys) notificationPermits(accountID string) string {
	return k.accountKey(accountID, "notifications:permits") // set of accounts whose requests were accepted
}

// Conversations (conversation.go): per account, in its slot, the direct-message threads it takes
// part in, each named by its root status id.
func (k keys) conversations(accountID string) string { return k.accountKey(accountID, "conversations") } // zset root by last status id
func (k keys) conversation(accountID, root string) string {
	return k.accountKey(accountID, "conversation:"+root) // hash last_status_id, unread
}
func (k keys) conversationAccounts(accountID, root string) string {
	return k.accountKey(accountID, "conversation:accounts:"+root) // set of participant account ids
}

// Lists. A list's record and members are in the list's own slot, the owner's index of its lists
// in the owner's, and each member's index of the lists it is in, written as edges, in the
// member's.
func (k keys) list(id string) string                { return k.listByID().of(id) }
func (k keys) listByID() idKey                      { return idKey{prefix: k.spread + "list:", suffix: "}"} }
func (k keys) accountLists(accountID string) string { return k.accountKey(accountID, "lists") } // set of the owner's list ids
func (k keys) listMembers(listID string) string     { return k.list(listID) + ":members" }      // set, in the list's slot
func (k keys) memberOfLists(accountID string) string {
	return k.edges(accountID, listedInEdges) // set of list ids whose member is accountID, in its slot
}

// Filters and markers, in the account's slot.
func (k keys) filters(accountID string) string { return k.accountKey(accountID, "filters") } // hash id → JSON
func (k keys) markers(accountID string) string { return k.accountKey(accountID, "markers") } // hash timeline → JSON

// Streaming: pub/sub channels carrying "event id" messages (see stream.go).
func (k keys) streamHome(accountID string) string   { return k.p + "stream:home:" + accountID }
func (k keys) streamList(listID string) string      { return k.p + "stream:list:" + listID }
func (k keys) streamDirect(accountID string) string { return k.p + "stream:direct:" + accountID }
func (k keys) streamLocal() string                  { return k.p + "stream:public:local" }
func (k keys) streamRemote() string                 { return k.p + "stream:public:remote" }
func (k keys) streamLocalMedia() string             { return k.p + "stream:public:local:media" }
func (k keys) streamRemoteMedia() string            { return k.p + "stream:public:remote:media" }
func (k keys) streamTag(tag string) string          { return k.p + "stream:tag:" + tag }
func (k keys) streamAnchor() string                 { return k.p + "stream:anchor" }        // never published: pins a cluster subscription to the department's slot
func (k keys) streamToken(hash string) string       { return k.p + "stream:token:" + hash } // revocation of one token

// OAuth. An app's record (under its client id) and an access token's (under the hash of its
// value, with its Web Push subscription) are each in a slot of their own, and the set of an
// account's tokens in the account's slot, so a department's sign-ins spread over a cluster's
// masters.
func (k keys) app(clientID string) string     { return k.spread + "app:" + clientID + "}" }
func (k keys) authCode(code string) string    { return k.p + "oauth:code:" + code }
func (k keys) tokenSlots() string             { return k.spread + "tok:" } // what every token's slot starts with
func (k keys) token(hash string) string       { return k.tokenSlots() + hash + "}" }
func (k keys) accountTokens(id string) string { return k.accountKey(id, "tokens") } // set of token hashes

// Media.
// An upload's record is in a slot of its own, so a department's media spread over a cluster's
// masters; a status's write attaches and drops them through its fan-out (mediaLink).
func (k keys) media(id string) string { return k.mediaByID().of(id) }
func (k keys) mediaByID() idKey       { return idKey{prefix: k.spread + "media:", suffix: "}"} }

// Instance.
func (k keys) instanceSecret() string { return k.p + "instance:secret" } // random key signing stateless form tokens

// Federation queues and bookkeeping.
func (k keys) queue(name string) string      { return k.p + "queue:" + name }            // stream
func (k keys) queueRetry(name string) string { return k.p + "queue:" + name + ":retry" } // zset of JSON jobs by due time (ms)
func (k keys) queueDead(name string) string  { return k.p + "queue:" + name + ":dead" }  // stream
func (k keys) seenActivity(id string) string { return k.p + "seen:" + id }               // inbound activity ids, SET NX EX

// What federation keeps of each activity for days, outside the queues' scripts, each in a slot of
// its own: every outgoing activity for its deliveries' retries, and the URI of every object or
// activity deleted or undone, so it is not brought back.
func (k keys) payload(id string) string    { return k.spread + "payload:" + id + "}" }
func (k keys) tombstone(uri string) string { return k.spread + "tombstone:" + uri + "}" }

// The ids of the Follow activities behind follows with remote accounts, one per follow ever
// made: each follower's, by target, in the follower's slot, and the index by activity id split
// over uriShards hashes, each in a slot of its own.
func (k keys) followActivities(followerID string) string {
	return k.accountKey(followerID, "follow_activities")
}
func (k keys) followActivityByID(activityID string) string {
	return k.spread + "idx:follow:" + uriShard(activityID) + "}" // hash activity id → follower/target
}
func (k keys) uriClaim(uri string) string { return k.p + "uri_claim:" + uri }   // short lock while a remote object is stored
func (k keys) hostFailures() string       { return k.p + "host:failing_since" } // hash host → unix ms of first failure
func (k keys) domainBlocks() string       { return k.p + "domain_blocks" }      // set of blocked hosts
func (k keys) domainAllows() string       { return k.p + "domain_allows" }      // set of allowed hosts (allowlist mode)
func (k keys) federationMode() string     { return k.p + "federation_mode" }    // "open" or "allowlist"
func (k keys) instanceKey() string        { return k.p + "instance:actor_key" } // instance actor's private key PEM

// Sign-of-life bookkeeping of the queues and the workers' leases (queue.go).
func (k keys) queueRetryByHost(name string) string {
	return k.p + "queue:" + name + ":retry:by_host" // lex zset "host NUL retry member": retries a sign of life from host brings forward
}
func (k keys) queueRevived(name, host string) string {
	return k.p + "queue:" + name + ":revived:" + host // PX key: a request from host brought its retries forward lately
}
func (k keys) queueProbe(name, host string) string {
	return k.p + "queue:" + name + ":probe:" + host // PX key: one retry to host was brought forward as a probe lately
}
func (k keys) consumerLease(consumer string) string {
	return k.p + "consumer:" + consumer // PX key holding the token of the live process that is this consumer
}

// Rate limits (ratelimit.go): fixed-window counters that expire with their window.
func (k keys) rateLimit(bucket, subject string) string { return k.p + "rate:" + bucket + ":" + subject }
func (k keys) signInFailures(subject string) string    { return k.p + "rate:signin:" + subject }

// Home timeline rules (home_filters.go): the follows whose options filter an account's posts
// from their home, and the posts a boost already brought into a home.
func (k keys) followFilters(id string) string {
	return k.edges(id, followFiltersEdges) // hash local follower → options, in the account's slot
}
func (k keys) homeReblogs(accountID string) string {
	return k.homeTimeline(accountID) + ":reblogs" // zset original id by the boost that brought it home, in its home's slot
}

// Announcements (announcement.go).
func (k keys) announcements() string         { return k.p + "announcements" } // zset id
func (k keys) announcement(id string) string { return k.p + "announcement:" + id }
func (k keys) announcementsRead(accountID string) string {
	return k.accountKey(accountID, "announcements:read") // set of dismissed ids
}
func (k keys) announcementReactions(id string) string {
	return k.p + "announcement:reactions:" + id // hash emoji → count
}
func (k keys) announcementReactors(id, name string) string {
	return k.p + "announcement:reactors:" + id + ":" + name // set of account ids
}

// What one person keeps about other accounts (account_extras.go), in the person's slot.
func (k keys) endorsements(accountID string) string { return k.accountKey(accountID, "endorsements") } // zset target by id
func (k keys) accountNotes(accountID string) string { return k.accountKey(accountID, "notes") }        // hash target → note
func (k keys) userDomainBlocks(accountID string) string {
	return k.accountKey(accountID, "domain_blocks") // zset domain by id
}
func (k keys) dismissedSuggestions(accountID string) string {
	return k.accountKey(accountID, "suggestions:dismissed") // set of account ids (suggestion.go)
}
func (k keys) featuredTags(accountID string) string {
	return k.accountKey(accountID, "featured_tags") // hash id → JSON (featured_tag.go)
}
func (k keys) weeklyLogins(week string) string {
	return k.p + "activity:logins:" + week // HyperLogLog of accounts signing in that week (activity_counts.go)
}

// Scheduled posts (scheduled.go): each account's, with what limits them, in its slot; when each
// is due, across the department, in the department's slot, for the workers to claim.
func (k keys) scheduledStatuses(accountID string) string {
	return k.accountKey(accountID, "scheduled") // hash id → JSON of a ScheduledStatus
}
func (k keys) scheduledByAccount(accountID string) string {
	return k.accountKey(accountID, "scheduled:ids") // zset id → id score: paged
}
func (k keys) scheduledTimes(accountID string) string {
	return k.accountKey(accountID, "scheduled:times") // zset id → scheduled ms: limits per account and day
}
func (k keys) scheduledDue() string {
	return k.p + "scheduled:due" // zset "account/id" → ms when due, or when its worker's lease ends
}

// Polls (poll.go), under their status's id.
// A poll's definition, counts and voters are in the poll's own slot (its status's id), written by
// its status's fan-out (pollWrite); the ends and updates due, and the short-lived keys of their
// workers, stay in the department's slot.
func (k keys) poll(id string) string       { return k.spread + "poll:" + id + "}" } // JSON definition
func (k keys) pollCounts(id string) string { return k.poll(id) + ":counts" }        // hash option index → votes, "voters"
func (k keys) pollVoters(id string) string { return k.poll(id) + ":voters" }        // hash account id → "0,2"
func (k keys) pollEnds() string            { return k.p + "poll:ends" }             // zset poll id by end (ms), or by a claim's lease end
func (k keys) pollClaim(id string) string  { return k.p + "poll:claim:" + id }      // PX key: token of the process ending the poll
func (k keys) pollUpdates() string         { return k.p + "poll:updates" }          // zset poll id by when its counts are due to go out
func (k keys) pollUpdated(id string) string {
	return k.p + "poll:updated:" + id // PX key: the poll's counts went out lately
}

// Web Push (push.go).
func (k keys) vapidKey() string { return k.p + "push:vapid" } // JSON {public, private}, set once
func (k keys) pushSubscription(tokenHash string) string {
	return k.token(tokenHash) + ":push" // JSON PushSubscription, one per access token, in its slot
}

// accountPushSubscriptions, the set of an account's token hashes with a subscription, stays in
// the department's slot: a notification's MULTI there reads it to queue its pushes (queuePush).
func (k keys) accountPushSubscriptions(accountID string) string {
	return k.p + "push:subs:" + accountID
}

// Moderation reports (report.go).
func (k keys) report(id string) string { return k.p + "report:" + id }
func (k keys) reports() string         { return k.p + "reports" }      // zset id, every report
func (k keys) reportsOpen() string     { return k.p + "reports:open" } // zset id, unresolved
func (k keys) reportsAgainst(accountID string) string {
	return k.p + "reports:target:" + accountID // zset id, every report on the account
}
func (k keys) reportsOpenAgainst(accountID string) string {
	return k.p + "reports:target:open:" + accountID // zset id, unresolved reports on the account
}
func (k keys) reportByURI(uri, targetID string) string {
	return k.p + "report:uri:" + targetID + ":" + uri // id of the report a remote Flag filed on target
}

// People search by words (account_terms.go).
func (k keys) accountTermIndex(word string) string {
	return k.spread + "idx:account:terms:" + termShard(word) + "}" // lex zset word NUL id, of the words starting like word
}
func (k keys) accountTermWords(id string) string {
	return k.accountKey(id, "words") // the account's indexed words, space-separated
}
func (k keys) accountTermsIndexed() string {
	return k.p + "idx:account:terms:indexed" // set once every account written before the index was indexed
}

// Single sign-on (sso.go).
func (k keys) ssoFlow(state string) string {
	return k.p + "sso:flow:" + state // JSON of a sign-in under way at the provider, short-lived
}
func (k keys) ssoLinks() string {
	return k.p + "sso:links" // hash issuer NUL subject → local account id
}
func (k keys) ssoFirstSignIn(issuer, subject string) string {
	return k.p + "sso:creating:" + issuer + "\x00" + subject // held while a first sign-in creates the account
}

// Organization of departments (org.go).
func (k keys) orgMembers() string {
	return k.p + "org:members" // hash host → JSON OrgMember, tombstones of departments that left included
}
func (k keys) orgVersions() string {
	return k.p + "org:versions" // hash host → the member entry's ordering key (version*2, +1 if left)
}
func (k keys) orgPending() string {
	return k.p + "org:pending" // hash host → JSON OrgMember asking to join, awaiting an admin's approval
}
func (k keys) orgSeeds() string {
	return k.p + "org:seeds" // set of base URLs of departments this one asked to join and has not heard from
}

// Organization directory (directory.go).
func (k keys) directorySeq() string {
	return k.p + "directory:seq" // counter ordering this department's directory changes
}
func (k keys) directoryChanges() string {
	return k.p + "directory:changes" // zset local account id → sequence number of its latest change
}
func (k keys) directoryEpoch() string {
	return k.p + "directory:epoch" // random id of this change log: a new one means readers start over
}
func (k keys) directoryCursors() string {
	return k.p + "directory:cursors" // hash department host → "epoch sequence" read up to
}
func (k keys) directoryListed() string {
	return k.p + "directory:listed" // zset of other departments' listed account ids → ms when listed
}

// Communities (community.go).
func (k keys) communities() string {
	return k.p + "communities" // hash group account id → JSON Community
}
func (k keys) communityRemoved(accountID string) string {
	return k.accountKey(accountID, "community:removed") // set of status ids a moderator removed, never announced again
}

// Federation health for the admin page (delivery_stats.go).
func (k keys) deliveryStats(hour int64) string {
	return k.p + "delivery:stats:" + strconv.FormatInt(hour, 10) // hash "host NUL outcome" → count, one per UTC hour since the epoch
}

// CSV imports (imports.go).
func (k keys) importRecord(id string) string {
	return k.p + "import:" + id // JSON of an Import
}
func (k keys) importRows(id string) string {
	return k.p + "import:rows:" + id // JSON array of the file's rows, until the import finishes
}
func (k keys) importsDue() string {
	return k.p + "import:due" // zset id → ms when it may be worked on: now, or when its worker's lease ends
}

func (k keys) spreadKeysMoved() string {
	return k.p + "spread_keys_moved" // the last layout EnsureSpreadKeys moved the old keys to (spread_keys.go)
}

// Fan-out jobs (fanout_jobs.go): what a write still has to do in other accounts' slots.
func (k keys) fanOutJob(id string) string { return k.p + "fanout:job:" + id } // fanOutWrites (JSON)
func (k keys) fanOutJobsDue() string      { return k.p + "fanout:due" }       // zset job id by when a worker may take it up

// uriShards is how many hashes the index of statuses by URI is split over: enough for the
// shards to spread evenly over any cluster's masters, few enough that each holds many entries.
const uriShards = 1024

// searchShard names the sorted set of remote accounts whose acct (lower case) starts as acct
// does: by its first letter or digit, all others together, so a search by a prefix reads one.
func searchShard(acct string) string {
	if acct != "" && ('a' <= acct[0] && acct[0] <= 'z' || '0' <= acct[0] && acct[0] <= '9') {
		return acct[:1]
	}
	return "_"
}

// uriShard names the shard of an index by URI (of statuses, of Follow activities, of remote
// accounts) or by acct (of remote accounts) that holds uri.
func uriShard(uri string) string {
	h := fnv.New32a()
	h.Write([]byte(uri))
	return strconv.FormatUint(uint64(h.Sum32()%uriShards), 10)
}
