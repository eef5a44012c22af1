package server

import (
	"image/color"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"watercooler/static"
)

// routes is the one table of every route the instance serves.
func (s *Server) routes(app *fiber.App) {
	avatar := placeholderPNG(color.RGBA{0x59, 0x6b, 0x8c, 0xff}, 120, 120)
	header := placeholderPNG(color.RGBA{0xd9, 0xe1, 0xe8, 0xff}, 300, 100)
	app.Get("/avatars/original/missing.png", servePNG(avatar))
	app.Get("/headers/original/missing.png", servePNG(header))

	s.mountFederation(app)
	s.mountOrganization(app)
	s.mountExports(app)
	s.mountImports(app)

	// OAuth.
	app.Get("/.well-known/oauth-authorization-server", s.oauthMetadata)
	app.Get("/oauth/authorize", s.oauthAuthorizeForm)
	app.Post("/oauth/authorize", s.oauthAuthorizeSubmit)
	app.Post("/oauth/token", s.oauthToken)
	app.Post("/oauth/revoke", s.oauthRevoke)
	app.Post("/oauth/oidc", s.ssoStart)
	app.Get(ssoCallbackPath, s.ssoCallback)

	api := app.Group("/api", s.authenticate, s.limitAPI)
	read, write, follow := requireScope, requireScope, requireScope
	// Routes that answer anonymous readers still need the read scope of a token presented.
	ifToken := scopeIfToken

	api.Post("/v1/apps", s.appsCreate)
	api.Get("/v1/apps/verify_credentials", requireAppScope(""), s.appsVerify)

	// Web Push: one subscription per access token.
	api.Post("/v1/push/subscription", requireScope("push"), s.pushSubscribe)
	api.Get("/v1/push/subscription", requireScope("push"), s.pushSubscription)
	api.Put("/v1/push/subscription", requireScope("push"), s.pushUpdate)
	api.Delete("/v1/push/subscription", requireScope("push"), s.pushUnsubscribe)

	// Instance.
	api.Get("/v1/instance", s.instanceV1)
	api.Get("/v2/instance", s.instanceV2)
	api.Get("/v1/instance/peers", s.instancePeers)
	api.Get("/v1/organization", s.organization)
	api.Get("/v1/communities", s.communitiesList)
	api.Post("/v1/communities", write("write:accounts"), s.communitiesCreate)
	api.Delete("/v1/communities/:id/statuses/:status_id", write("write:statuses"), s.communitiesRemove)
	api.Get("/v1/instance/rules", s.instanceRules)
	api.Get("/v1/instance/activity", s.instanceActivity)
	api.Get("/v1/instance/extended_description", s.instanceExtendedDescription)
	api.Get("/v1/instance/privacy_policy", s.instancePrivacyPolicy)
	api.Get("/v1/instance/terms_of_service", s.instanceTermsOfService)
	api.Get("/v1/instance/translation_languages", s.instanceTranslationLanguages)
	api.Get("/v1/instance/languages", s.instanceLanguages)
	api.Get("/v1/instance/domain_blocks", s.instanceDomainBlocks)
	api.Get("/oembed", s.oembed)
	api.Get("/v1/custom_emojis", s.customEmojis)

	// Accounts.
	api.Post("/v1/accounts", requireAppScope("write:accounts"), s.accountsCreate)
	api.Get("/v1/accounts/verify_credentials", read("read:accounts", "profile"), s.verifyCredentials)
	api.Patch("/v1/accounts/update_credentials", s.uploadRoute, write("write:accounts"), s.updateCredentials)
	api.Get("/v1/accounts/relationships", read("read:follows"), s.relationships)
	api.Get("/v1/accounts/lookup", ifToken("read:accounts"), s.accountLookup)
	api.Get("/v1/accounts/search", read("read:accounts"), s.accountSearch)
	api.Get("/v1/accounts/aliases", read("read:accounts"), s.aliasesList)
	api.Post("/v1/accounts/aliases", write("write:accounts"), s.aliasAdd)
	api.Delete("/v1/accounts/aliases", write("write:accounts"), s.aliasRemove)
	api.Post("/v1/accounts/migration", write("write:accounts"), s.accountMigrate)
	api.Get("/v1/accounts/familiar_followers", read("read:follows"), s.familiarFollowers)
	api.Get("/v1/directory", ifToken("read:accounts"), s.directory)
	api.Get("/v2/suggestions", read("read:accounts"), s.suggestionsV2)
	api.Get("/v1/suggestions", read("read:accounts"), s.suggestionsV1)
	api.Delete("/v1/suggestions/:account_id", read("read:accounts"), s.suggestionDismiss)
	api.Get("/v1/accounts/:id", ifToken("read:accounts"), s.accountGet)
	api.Get("/v1/accounts/:id/statuses", ifToken("read:statuses"), s.accountStatuses)
	api.Get("/v1/accounts/:id/followers", ifToken("read:accounts"), s.accountFollowers)
	api.Get("/v1/accounts/:id/following", ifToken("read:accounts"), s.accountFollowing)
	api.Get("/v1/accounts/:id/lists", read("read:lists"), s.accountLists)
	api.Post("/v1/accounts/:id/follow", follow("write:follows"), s.accountFollow)
	api.Post("/v1/accounts/:id/unfollow", follow("write:follows"), s.accountUnfollow)
	api.Post("/v1/accounts/:id/block", follow("write:blocks"), s.accountBlock)
	api.Post("/v1/accounts/:id/unblock", follow("write:blocks"), s.accountUnblock)
	api.Post("/v1/accounts/:id/mute", follow("write:mutes"), s.accountMute)
	api.Post("/v1/accounts/:id/unmute", follow("write:mutes"), s.accountUnmute)
	api.Post("/v1/accounts/:id/pin", follow("write:accounts"), s.accountEndorse)
	api.Post("/v1/accounts/:id/unpin", follow("write:accounts"), s.accountUnendorse)
	api.Post("/v1/accounts/:id/note", write("write:accounts"), s.accountNote)
	api.Get("/v1/accounts/:id/endorsements", ifToken("read:accounts"), s.accountEndorsements)
	api.Get("/v1/endorsements", read("read:accounts"), s.endorsementsList)
	api.Get("/v1/accounts/:id/featured_tags", ifToken("read:accounts"), s.accountFeaturedTags)
	api.Get("/v1/featured_tags", read("read:accounts"), s.featuredTagsList)
	api.Post("/v1/featured_tags", write("write:accounts"), s.featuredTagCreate)
	api.Get("/v1/featured_tags/suggestions", read("read:accounts"), s.featuredTagSuggestionsList)
	api.Delete("/v1/featured_tags/:id", write("write:accounts"), s.featuredTagDelete)
	api.Get("/v1/domain_blocks", read("read:blocks"), s.domainBlocksList)
	api.Post("/v1/domain_blocks", follow("write:blocks"), s.domainBlock)
	api.Delete("/v1/domain_blocks", follow("write:blocks"), s.domainUnblock)
	api.Get("/v1/blocks", read("read:blocks"), s.blocksList)
	api.Get("/v1/mutes", read("read:mutes"), s.mutesList)
	api.Get("/v1/follow_requests", read("read:follows"), s.followRequestsList)
	api.Post("/v1/follow_requests/:id/authorize", follow("write:follows"), s.followRequestAuthorize)
	api.Post("/v1/follow_requests/:id/reject", follow("write:follows"), s.followRequestReject)
	api.Get("/v1/preferences", read("read:accounts"), s.preferences)

	// Statuses.
	api.Get("/v1/statuses", ifToken("read:statuses"), s.statusesByID)
	api.Post("/v1/statuses", write("write:statuses"), s.statusCreate)
	api.Get("/v1/statuses/:id", ifToken("read:statuses"), s.statusGet)
	api.Get("/v1/scheduled_statuses", read("read:statuses"), s.scheduledList)
	api.Get("/v1/scheduled_statuses/:id", read("read:statuses"), s.scheduledGet)
	api.Put("/v1/scheduled_statuses/:id", write("write:statuses"), s.scheduledUpdate)
	api.Delete("/v1/scheduled_statuses/:id", write("write:statuses"), s.scheduledDelete)
	api.Delete("/v1/statuses/:id", write("write:statuses"), s.statusDelete)
	api.Put("/v1/statuses/:id", write("write:statuses"), s.statusEdit)
	api.Get("/v1/statuses/:id/history", ifToken("read:statuses"), s.statusHistory)
	api.Get("/v1/statuses/:id/source", read("read:statuses"), s.statusSource)
	api.Get("/v1/statuses/:id/context", ifToken("read:statuses"), s.statusContext)
	api.Post("/v1/statuses/:id/reblog", write("write:statuses"), s.statusReblog)
	api.Post("/v1/statuses/:id/unreblog", write("write:statuses"), s.statusUnreblog)
	api.Post("/v1/statuses/:id/favourite", write("write:favourites"), s.statusFavourite)
	api.Post("/v1/statuses/:id/unfavourite", write("write:favourites"), s.statusUnfavourite)
	api.Post("/v1/statuses/:id/bookmark", write("write:bookmarks"), s.statusBookmark)
	api.Post("/v1/statuses/:id/unbookmark", write("write:bookmarks"), s.statusUnbookmark)
	api.Post("/v1/statuses/:id/pin", write("write:accounts"), s.statusPin)
	api.Post("/v1/statuses/:id/unpin", write("write:accounts"), s.statusUnpin)
	api.Get("/v1/statuses/:id/reblogged_by", ifToken("read:accounts"), s.statusRebloggedBy)
	api.Get("/v1/statuses/:id/favourited_by", ifToken("read:accounts"), s.statusFavouritedBy)
	api.Get("/v1/statuses/:id/quotes", read("read:statuses"), s.statusQuotes)
	api.Post("/v1/statuses/:id/quotes/:quoting_status_id/revoke", write("write:statuses"), s.quoteRevoke)
	api.Put("/v1/statuses/:id/interaction_policy", write("write:statuses"), s.statusInteractionPolicy)

	// Polls.
	api.Get("/v1/polls/:id", ifToken("read:statuses"), s.pollGet)
	api.Post("/v1/polls/:id/votes", write("write:statuses"), s.pollVote)
	api.Get("/v1/favourites", read("read:favourites"), s.favouritesList)
	api.Get("/v1/bookmarks", read("read:bookmarks"), s.bookmarksList)

	// Timelines.
	api.Get("/v1/timelines/home", read("read:statuses"), s.timelineHome)
	api.Get("/v1/timelines/public", ifToken("read:statuses"), s.timelinePublic)
	api.Get("/v1/timelines/tag/:hashtag", ifToken("read:statuses"), s.timelineTag)
	api.Get("/v1/timelines/list/:id", read("read:lists"), s.timelineList)

	// Notifications.
	api.Get("/v1/notifications", read("read:notifications"), s.notificationsList)
	api.Get("/v1/notifications/unread_count", read("read:notifications"), s.notificationsUnreadCountV1)
	api.Get("/v1/notifications/policy", read("read:notifications"), s.notificationPolicyGetV1)
	api.Put("/v1/notifications/policy", write("write:notifications"), s.notificationPolicyUpdate(true))
	api.Get("/v1/notifications/requests", read("read:notifications"), s.notificationRequestsList)
	api.Get("/v1/notifications/requests/merged", read("read:notifications"), s.notificationRequestsMerged)
	api.Post("/v1/notifications/requests/accept", write("write:notifications"), s.notificationRequestsAnswer(true, false))
	api.Post("/v1/notifications/requests/dismiss", write("write:notifications"), s.notificationRequestsAnswer(false, false))
	api.Get("/v1/notifications/requests/:id", read("read:notifications"), s.notificationRequestGet)
	api.Post("/v1/notifications/requests/:id/accept", write("write:notifications"), s.notificationRequestsAnswer(true, true))
	api.Post("/v1/notifications/requests/:id/dismiss", write("write:notifications"), s.notificationRequestsAnswer(false, true))
	api.Get("/v2/notifications", read("read:notifications"), s.notificationsV2)
	api.Get("/v2/notifications/unread_count", read("read:notifications"), s.notificationsUnreadCountV2)
	api.Get("/v2/notifications/policy", read("read:notifications"), s.notificationPolicyGetV2)
	api.Patch("/v2/notifications/policy", write("write:notifications"), s.notificationPolicyUpdate(false))
	api.Get("/v2/notifications/:group_key", read("read:notifications"), s.notificationGroupGet)
	api.Get("/v2/notifications/:group_key/accounts", read("read:notifications"), s.notificationGroupAccounts)
	api.Post("/v2/notifications/:group_key/dismiss", write("write:notifications"), s.notificationGroupDismiss)
	api.Post("/v1/notifications/clear", write("write:notifications"), s.notificationsClear)
	api.Get("/v1/notifications/:id", read("read:notifications"), s.notificationGet)
	api.Post("/v1/notifications/:id/dismiss", write("write:notifications"), s.notificationDismiss)

	// Lists.
	api.Get("/v1/lists", read("read:lists"), s.listsIndex)
	api.Post("/v1/lists", write("write:lists"), s.listCreate)
	api.Get("/v1/lists/:id", read("read:lists"), s.listGet)
	api.Put("/v1/lists/:id", write("write:lists"), s.listUpdate)
	api.Delete("/v1/lists/:id", write("write:lists"), s.listDelete)
	api.Get("/v1/lists/:id/accounts", read("read:lists"), s.listAccounts)
	api.Post("/v1/lists/:id/accounts", write("write:lists"), s.listAddAccounts)
	api.Delete("/v1/lists/:id/accounts", write("write:lists"), s.listRemoveAccounts)

	// Conversations (direct messages).
	api.Get("/v1/conversations", read("read:statuses"), s.conversationsList)
	api.Delete("/v1/conversations/:id", write("write:conversations"), s.conversationRemove)
	api.Post("/v1/conversations/:id/read", write("write:conversations"), s.conversationRead)

	// Announcements (published with watercooler admin announcement create).
	api.Get("/v1/announcements", read("read:accounts"), s.announcementsList)
	api.Post("/v1/announcements/:id/dismiss", write("write:accounts"), s.announcementDismiss)
	api.Put("/v1/announcements/:id/reactions/:name", write("write:favourites"), s.announcementReact(true))
	api.Delete("/v1/announcements/:id/reactions/:name", write("write:favourites"), s.announcementReact(false))

	// Reports to the moderators (listed and resolved with watercooler admin report).
	api.Post("/v1/reports", write("write:reports"), s.reportCreate)

	// Administration, as Mastodon's admin API, for users with the admin role; federation and
	// dead_letters are Watercooler's own, for the admin page's federation health.
	adminRead, adminWrite := s.requireAdmin, s.requireAdmin
	api.Get("/v1/admin/accounts", adminRead("admin:read:accounts"), s.adminAccountsV1)
	api.Get("/v2/admin/accounts", adminRead("admin:read:accounts"), s.adminAccountsV2)
	api.Get("/v1/admin/accounts/:id", adminRead("admin:read:accounts"), s.adminAccountGet)
	api.Post("/v1/admin/accounts/:id/action", adminWrite("admin:write:accounts"), s.adminAccountAction)
	api.Post("/v1/admin/accounts/:id/unsuspend", adminWrite("admin:write:accounts"), s.adminAccountUnsuspend)
	api.Get("/v1/admin/reports", adminRead("admin:read:reports"), s.adminReportsList)
	api.Get("/v1/admin/reports/:id", adminRead("admin:read:reports"), s.adminReportGet)
	api.Post("/v1/admin/reports/:id/resolve", adminWrite("admin:write:reports"), s.adminReportResolve)
	api.Post("/v1/admin/reports/:id/reopen", adminWrite("admin:write:reports"), s.adminReportReopen)
	for _, r := range []struct {
		path string
		dp   domainPolicy
	}{{"domain_blocks", domainBlocks}, {"domain_allows", domainAllows}} {
		path, dp := r.path, r.dp
		api.Get("/v1/admin/"+path, adminRead("admin:read:"+path), s.listDomains(dp))
		api.Post("/v1/admin/"+path, adminWrite("admin:write:"+path), s.addDomain(dp))
		api.Get("/v1/admin/"+path+"/:id", adminRead("admin:read:"+path), s.getDomain(dp))
		api.Delete("/v1/admin/"+path+"/:id", adminWrite("admin:write:"+path), s.removeDomain(dp))
	}
	api.Get("/v1/admin/federation", adminRead("admin:read"), s.adminFederation)
	api.Get("/v1/admin/dead_letters", adminRead("admin:read"), s.adminDeadLetters)
	api.Post("/v1/admin/dead_letters/:id/retry", adminWrite("admin:write"), s.adminDeadLetterRetry)

	// Markers.
	api.Get("/v1/markers", read("read:statuses"), s.markersGet)
	api.Post("/v1/markers", write("write:statuses"), s.markersSave)

	// Filters (v1, each a keyword of a v2 filter).
	api.Get("/v1/filters", read("read:filters"), s.filtersListV1)
	api.Post("/v1/filters", write("write:filters"), s.filterCreateV1)
	api.Get("/v1/filters/:id", read("read:filters"), s.filterGetV1)
	api.Put("/v1/filters/:id", write("write:filters"), s.filterUpdateV1)
	api.Delete("/v1/filters/:id", write("write:filters"), s.filterDeleteV1)

	// Filters (v2).
	api.Get("/v2/filters", read("read:filters"), s.filtersList)
	api.Post("/v2/filters", write("write:filters"), s.filterCreate)
	api.Get("/v2/filters/keywords/:id", read("read:filters"), s.filterKeywordGet)
	api.Put("/v2/filters/keywords/:id", write("write:filters"), s.filterKeywordUpdate)
	api.Delete("/v2/filters/keywords/:id", write("write:filters"), s.filterKeywordDelete)
	api.Get("/v2/filters/:id", read("read:filters"), s.filterGet)
	api.Put("/v2/filters/:id", write("write:filters"), s.filterUpdate)
	api.Delete("/v2/filters/:id", write("write:filters"), s.filterDelete)
	api.Get("/v2/filters/:id/keywords", read("read:filters"), s.filterKeywordsList)
	api.Post("/v2/filters/:id/keywords", write("write:filters"), s.filterKeywordAdd)

	// Hashtags.
	api.Get("/v1/followed_tags", read("read:follows"), s.followedTags)
	api.Get("/v1/tags/:name", s.tagGet)
	api.Post("/v1/tags/:name/follow", follow("write:follows"), s.tagFollow)
	api.Post("/v1/tags/:name/unfollow", follow("write:follows"), s.tagUnfollow)
	api.Post("/v1/tags/:name/feature", write("write:accounts"), s.tagFeature)
	api.Post("/v1/tags/:name/unfeature", write("write:accounts"), s.tagUnfeature)

	// Trends: this department's hashtags, statuses and links, public as in Mastodon.
	api.Get("/v1/trends", ifToken("read:statuses"), s.trendTags)
	api.Get("/v1/trends/tags", ifToken("read:statuses"), s.trendTags)
	api.Get("/v1/trends/statuses", ifToken("read:statuses"), s.trendStatuses)
	api.Get("/v1/trends/links", ifToken("read:statuses"), s.trendLinks)

	// Search.
	api.Get("/v2/search", ifToken("read:search"), s.searchV2)

	// Media.
	api.Post("/v1/media", s.uploadRoute, write("write:media"), s.limitMedia, s.mediaCreate)
	api.Post("/v2/media", s.uploadRoute, write("write:media"), s.limitMedia, s.mediaCreate)
	api.Get("/v1/media/:id", write("write:media"), s.mediaGet) // as in Mastodon: the uploader checks processing
	api.Put("/v1/media/:id", write("write:media"), s.mediaUpdate)
	app.Get("/media/*", s.mediaFile)

	// Streaming.
	api.Get("/v1/streaming", s.streamingWebSocket)
	api.Get("/v1/streaming/health", s.streamingHealth)
	api.Get("/v1/streaming/user", s.streamingSSE("user"))
	api.Get("/v1/streaming/user/notification", s.streamingSSE("user:notification"))
	api.Get("/v1/streaming/public", s.streamingSSE("public"))
	api.Get("/v1/streaming/public/local", s.streamingSSE("public:local"))
	api.Get("/v1/streaming/public/remote", s.streamingSSE("public:remote"))
	api.Get("/v1/streaming/hashtag", s.streamingSSE("hashtag"))
	api.Get("/v1/streaming/hashtag/local", s.streamingSSE("hashtag:local"))
	api.Get("/v1/streaming/list", s.streamingSSE("list"))
	api.Get("/v1/streaming/direct", s.streamingSSE("direct"))

	api.Use(func(c *fiber.Ctx) error { return unmatched(c, errorf(fiber.StatusNotFound, "Record not found")) })

	// Web client.
	s.mountWebClient(app, static.Files())

	app.Use("/", filesystem.New(filesystem.Config{Root: http.FS(static.Files()), Index: "index.html"}))
	app.Use(func(c *fiber.Ctx) error { return unmatched(c, errorf(fiber.StatusNotFound, "Not found")) })
}
