package mastodon

// Quote is Mastodon's Quote entity: a quote post's quoted status with the state of its
// authorization. QuotedStatus is null unless the viewer may be shown it.
type Quote struct {
	State        string  `json:"state"`
	QuotedStatus *Status `json:"quoted_status"`
}

// ShallowQuote is Mastodon's ShallowQuote entity, which a quoted status carries for its own quote
// so that quotes nest one level only.
type ShallowQuote struct {
	State          string  `json:"state"`
	QuotedStatusID *string `json:"quoted_status_id"`
}

// QuoteApproval is Mastodon's QuoteApproval entity: who may quote a status, and how the viewer's
// quote would be approved.
type QuoteApproval struct {
	Automatic   []string `json:"automatic"`
	Manual      []string `json:"manual"`
	CurrentUser string   `json:"current_user"`
}

// QuoteData is what rendering the quote of one status for one viewer needs.
type QuoteData struct {
	// State is what the viewer is told: a stored state, or unauthorized, blocked_account,
	// blocked_domain or muted_account for an accepted quote the viewer is not to see as is.
	State string
	// Status is the quoted status, nil when the viewer may not be shown it.
	Status *StatusData
	// Shallow renders a ShallowQuote naming StatusID (a quote inside a quote).
	Shallow  bool
	StatusID string
}

// QuoteFrom builds the quote attribute of a Status: a Quote, a ShallowQuote, or nil (null) for a
// status that quotes nothing.
func QuoteFrom(site Site, q *QuoteData) any {
	switch {
	case q == nil:
		return nil
	case q.Shallow:
		return ShallowQuote{State: q.State, QuotedStatusID: OptionalString(q.StatusID)}
	case q.Status == nil:
		return Quote{State: q.State}
	}
	st := StatusFrom(site, q.Status)
	return Quote{State: q.State, QuotedStatus: &st}
}
