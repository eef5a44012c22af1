package mastodon

import "watercooler/store"

// Report is Mastodon's Report entity, as the reporter and the moderators notified of it see it.
type Report struct {
	ID            string   `json:"id"`
	ActionTaken   bool     `json:"action_taken"`
	ActionTakenAt *string  `json:"action_taken_at"`
	Category      string   `json:"category"`
	Comment       string   `json:"comment"`
	Forwarded     bool     `json:"forwarded"`
	CreatedAt     string   `json:"created_at"`
	StatusIDs     []string `json:"status_ids"`
	RuleIDs       []string `json:"rule_ids"` // null: there are no server rules to cite
	TargetAccount Account  `json:"target_account"`
}

// ReportFrom renders a stored report with its target's Account entity.
func ReportFrom(r *store.Report, target Account) Report {
	out := Report{
		ID: r.ID, ActionTaken: !r.Open(), Category: r.Category, Comment: r.Comment, Forwarded: r.Forwarded,
		CreatedAt: Timestamp(r.CreatedAt), StatusIDs: r.StatusIDs, TargetAccount: target,
	}
	if out.StatusIDs == nil {
		out.StatusIDs = []string{}
	}
	if r.ActionTakenAt != nil {
		ts := Timestamp(*r.ActionTakenAt)
		out.ActionTakenAt = &ts
	}
	return out
}
