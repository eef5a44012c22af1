package federation

import (
	"encoding/json"
	"slices"

	"watercooler/store"
)

// Quote posts in ActivityStreams, as FEP-044f and Mastodon 4.5 have them. A quote post names the
// quoted object in quote (and, for older readers, quoteUrl, quoteUri and _misskey_quote) and,
// once its author's server authorized it, the QuoteAuthorization stamp in quoteAuthorization.
// Who may quote a post is its interactionPolicy.canQuote (GoToSocial's vocabulary).

// quoteRequestSuffix makes a QuoteRequest's id from its quote post's URI, so that the answer
// finds the post again without an index.
const quoteRequestSuffix = "#quote_request"

// quoteKeys are the properties naming a quoted object, in the order they are trusted.
var quoteKeys = []string{"quote", "quoteUrl", "quoteUri", "_misskey_quote"}

// addQuoteProperties writes the quote and interactionPolicy properties of a local status's Note.
func addQuoteProperties(unknown map[string]any, st *store.Status, nc NoteContext) {
	if st.Quote != nil && st.Quote.URI != "" {
		for _, k := range quoteKeys {
			unknown[k] = st.Quote.URI
		}
		if nc.QuoteAuthorization != "" {
			unknown["quoteAuthorization"] = nc.QuoteAuthorization
		}
	}
	if st.Visibility == store.VisibilityDirect {
		return
	}
	var automatic []any
	switch store.EffectiveQuotePolicy(st) {
	case store.QuotePublic:
		automatic = []any{PublicAudience}
	case store.QuoteFollowers:
		automatic = []any{nc.Author.FollowersURI}
	}
	// The author may always quote their own post; Mastodon names them in every policy.
	automatic = append(automatic, nc.Author.URI)
	unknown["interactionPolicy"] = map[string]any{"canQuote": map[string]any{"automaticApproval": automatic}}
}

// parseQuote reads what a remote Note says about quoting: the object it quotes, the stamp that
// authorizes it, and who may quote the Note itself.
func parseQuote(n *ParsedNote, raw map[string]any) {
	for _, k := range quoteKeys {
		if u := httpURL(rawID(raw[k])); u != "" {
			n.QuoteURI = u
			break
		}
	}
	n.QuoteAuthorization = httpURL(rawID(raw["quoteAuthorization"]))
	policy, ok := raw["interactionPolicy"].(map[string]any)
	if !ok {
		return
	}
	canQuote, ok := policy["canQuote"].(map[string]any)
	if !ok {
		return
	}
	n.HasQuotePolicy = true
	n.QuoteAutomatic = audienceIDs(canQuote["automaticApproval"])
	n.QuoteManual = audienceIDs(canQuote["manualApproval"])
}

// quotePolicyOf maps a remote Note's canQuote onto the policies Mastodon knows: anybody (Public),
// the author's followers, or nobody but the author; unknown when the Note said nothing.
func quotePolicyOf(n *ParsedNote, author *store.Account) (automatic, manual string) {
	if !n.HasQuotePolicy {
		return store.QuoteUnknown, ""
	}
	of := func(ids []string) string {
		switch {
		case slices.Contains(ids, PublicAudience):
			return store.QuotePublic
		case author.FollowersURI != "" && slices.Contains(ids, author.FollowersURI):
			return store.QuoteFollowers
		}
		return ""
	}
	automatic, manual = of(n.QuoteAutomatic), of(n.QuoteManual)
	if automatic == "" {
		automatic = store.QuoteNobody
	}
	return automatic, manual
}

// quoteAuthorizationDoc is the QuoteAuthorization stamp a local author issued: who authorized
// which quote post (interactingObject) of which of their posts (interactionTarget).
func quoteAuthorizationDoc(id, authorURI, quotingURI, quotedURI string) map[string]any {
	return map[string]any{
		"@context": json.RawMessage(ldContext), "id": id, "type": "QuoteAuthorization",
		"attributedTo": authorURI, "interactingObject": quotingURI, "interactionTarget": quotedURI,
	}
}

// quoteRequestDoc asks quotedURI's author to authorize the quote post quoting (embedded, so the
// answer needs no fetch).
func quoteRequestDoc(actorURI, quotedURI string, quoting map[string]any) map[string]any {
	id := rawID(quoting["id"]) + quoteRequestSuffix
	return map[string]any{
		"@context": json.RawMessage(ldContext), "id": id, "type": "QuoteRequest",
		"actor": actorURI, "object": quotedURI, "instrument": quoting,
	}
}

// quoteAnswerDoc accepts (with the stamp as result) or rejects a QuoteRequest, embedding it as
// Mastodon does.
func quoteAnswerDoc(typ, id, actorURI, requesterURI, requestID, quotedURI, quotingURI, stamp string) map[string]any {
	doc := map[string]any{
		"@context": json.RawMessage(ldContext), "id": id, "type": typ, "actor": actorURI, "to": []any{requesterURI},
		"object": map[string]any{"id": requestID, "type": "QuoteRequest", "actor": requesterURI, "object": quotedURI, "instrument": quotingURI},
	}
	if stamp != "" {
		doc["result"] = stamp
	}
	return doc
}

// deleteStampDoc revokes a stamp: a Delete of the QuoteAuthorization, which then answers 404.
func deleteStampDoc(id, actorURI, stamp string, to []string) map[string]any {
	toList := make([]any, 0, len(to))
	for _, t := range to {
		toList = append(toList, t)
	}
	return map[string]any{
		"@context": json.RawMessage(ldContext), "id": id, "type": "Delete", "actor": actorURI, "to": toList,
		"object": map[string]any{"id": stamp, "type": "QuoteAuthorization"},
	}
}
