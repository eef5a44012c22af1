package mastodon

import "watercooler/store"

// AdminAccount is Mastodon's Admin::Account: an account as moderators see it.
type AdminAccount struct {
	ID                     string  `json:"id"`
	Username               string  `json:"username"`
	Domain                 *string `json:"domain"`
	CreatedAt              string  `json:"created_at"`
	Email                  string  `json:"email"`
	IP                     *string `json:"ip"`
	IPs                    []any   `json:"ips"`
	Locale                 string  `json:"locale"`
	InviteRequest          *string `json:"invite_request"`
	Role                   *Role   `json:"role"`
	Confirmed              bool    `json:"confirmed"`
	Approved               bool    `json:"approved"`
	Disabled               bool    `json:"disabled"`
	Silenced               bool    `json:"silenced"`
	Suspended              bool    `json:"suspended"`
	Account                Account `json:"account"`
	CreatedByApplicationID *string `json:"created_by_application_id"`
	InvitedByAccountID     *string `json:"invited_by_account_id"`
}

// Roles Mastodon gives users: the administrator role's permissions are the "administrator"
// bit, which grants everything; the everyone role's are its default set.
var (
	RoleAdmin    = Role{ID: "3", Name: "Owner", Permissions: "1", Highlighted: true}
	RoleEveryone = Role{ID: "-99", Name: "", Permissions: "65536"}
)

// UserRole is the role of a local user.
func UserRole(u *store.User) Role {
	if u.Admin {
		return RoleAdmin
	}
	return RoleEveryone
}

// AdminAccountFrom builds the moderators' view of an account; u is nil for remote accounts,
// which have no sign-in record, e-mail or role here.
func AdminAccountFrom(a *store.Account, u *store.User, entity Account) AdminAccount {
	out := AdminAccount{
		ID: a.ID, Username: a.Username, Domain: OptionalString(a.Domain), CreatedAt: Timestamp(a.CreatedAt),
		IPs: []any{}, Suspended: a.Suspended, Account: entity,
	}
	if u != nil {
		role := UserRole(u)
		out.Email, out.Role, out.Confirmed, out.Approved = u.Email, &role, true, true
		out.Locale = u.Preferences.PostingLanguage
	}
	return out
}

// AdminReport is Mastodon's Admin::Report.
type AdminReport struct {
	ID                   string        `json:"id"`
	ActionTaken          bool          `json:"action_taken"`
	ActionTakenAt        *string       `json:"action_taken_at"`
	Category             string        `json:"category"`
	Comment              string        `json:"comment"`
	Forwarded            bool          `json:"forwarded"`
	CreatedAt            string        `json:"created_at"`
	UpdatedAt            string        `json:"updated_at"`
	Account              AdminAccount  `json:"account"`
	TargetAccount        AdminAccount  `json:"target_account"`
	AssignedAccount      *AdminAccount `json:"assigned_account"`
	ActionTakenByAccount *AdminAccount `json:"action_taken_by_account"`
	Statuses             []Status      `json:"statuses"`
	Rules                []any         `json:"rules"`
}

// AdminReportFrom builds the moderators' view of a report.
func AdminReportFrom(r *store.Report, reporter, target AdminAccount, statuses []Status) AdminReport {
	out := AdminReport{
		ID: r.ID, ActionTaken: !r.Open(), Category: r.Category, Comment: r.Comment, Forwarded: r.Forwarded,
		CreatedAt: Timestamp(r.CreatedAt), UpdatedAt: Timestamp(r.CreatedAt),
		Account: reporter, TargetAccount: target, Statuses: statuses, Rules: []any{},
	}
	if out.Statuses == nil {
		out.Statuses = []Status{}
	}
	if r.ActionTakenAt != nil {
		ts := Timestamp(*r.ActionTakenAt)
		out.ActionTakenAt, out.UpdatedAt = &ts, ts
	}
	return out
}

// AdminDomainBlock is Mastodon's Admin::DomainBlock. Blocks here always stop federation, so
// their severity is "suspend"; the domain is the block's id, since a domain is blocked once.
type AdminDomainBlock struct {
	ID             string  `json:"id"`
	Domain         string  `json:"domain"`
	Digest         string  `json:"digest"`
	CreatedAt      *string `json:"created_at"`
	Severity       string  `json:"severity"`
	RejectMedia    bool    `json:"reject_media"`
	RejectReports  bool    `json:"reject_reports"`
	PrivateComment *string `json:"private_comment"`
	PublicComment  *string `json:"public_comment"`
	Obfuscate      bool    `json:"obfuscate"`
}

// AdminDomainAllow is Mastodon's Admin::DomainAllow, its id the domain as for blocks.
type AdminDomainAllow struct {
	ID        string  `json:"id"`
	Domain    string  `json:"domain"`
	CreatedAt *string `json:"created_at"`
}

// FederationPeer is Watercooler's own admin entity: how deliveries to one peer are going.
type FederationPeer struct {
	Host         string           `json:"host"`
	Queued       int64            `json:"queued"`
	Retrying     int64            `json:"retrying"`
	FailingSince *string          `json:"failing_since"`
	Hours        []FederationHour `json:"hours"`
}

// FederationHour is one hour of delivery outcomes to a peer.
type FederationHour struct {
	Hour      string `json:"hour"`
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"`
	Retried   int64  `json:"retried"`
	Dead      int64  `json:"dead"`
}

// FederationPeerFrom renders a peer's delivery health.
func FederationPeerFrom(p store.PeerHealth) FederationPeer {
	out := FederationPeer{Host: p.Host, Queued: p.Queued, Retrying: p.Retrying, Hours: make([]FederationHour, len(p.Hours))}
	if !p.FailingSince.IsZero() {
		ts := Timestamp(p.FailingSince)
		out.FailingSince = &ts
	}
	for i, h := range p.Hours {
		out.Hours[i] = FederationHour{Hour: Timestamp(h.Hour), Delivered: h.Delivered, Failed: h.Failed, Retried: h.Retried, Dead: h.Dead}
	}
	return out
}

// DeadLetter is Watercooler's admin entity for a delivery that ran out of chances.
type DeadLetter struct {
	ID           string `json:"id"`
	Inbox        string `json:"inbox"`
	ActivityID   string `json:"activity_id"`
	ActivityType string `json:"activity_type"`
	Error        string `json:"error"`
	Attempts     string `json:"attempts"`
	FailedAt     string `json:"failed_at"`
}
