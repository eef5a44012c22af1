package org_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"watercooler/config"
	"watercooler/org"
	"watercooler/testrig"
)

// converge is how long the organization may take to agree on a change: the target.
const converge = 10 * time.Second

type department struct {
	Domain      string `json:"domain"`
	URL         string `json:"url"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Self        bool   `json:"self"`
}

func named(title string) func(*config.Config) {
	return func(c *config.Config) {
		c.Title, c.Description = title, "The "+title+" department."
	}
}

func joining(first *testrig.Instance) func(*config.Config) {
	return func(c *config.Config) { c.OrgJoin = first.URL }
}

// organization reads GET /api/v1/organization of inst.
func organization(t *testing.T, inst *testrig.Instance) []department {
	t.Helper()
	resp, err := http.Get(inst.URL + "/api/v1/organization")
	if err != nil {
		t.Fatalf("GET organization: %v", err)
	}
	defer resp.Body.Close()
	var out []department
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("GET organization of %s: %s", inst.URL, resp.Status)
	}
	return out
}

func peers(t *testing.T, inst *testrig.Instance) []string {
	t.Helper()
	resp, err := http.Get(inst.URL + "/api/v1/instance/peers")
	if err != nil {
		t.Fatalf("GET peers: %v", err)
	}
	defer resp.Body.Close()
	var out []string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("peers: %v", err)
	}
	return out
}

func domains(ds []department) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Domain)
	}
	slices.Sort(out)
	return out
}

func hostsOf(insts ...*testrig.Instance) []string {
	var out []string
	for _, i := range insts {
		out = append(out, i.Config.Domain())
	}
	slices.Sort(out)
	return out
}

// waitMembers waits until every one of in lists exactly want as the organization.
func waitMembers(t *testing.T, within time.Duration, in []*testrig.Instance, want ...*testrig.Instance) {
	t.Helper()
	w := hostsOf(want...)
	for _, inst := range in {
		testrig.Eventually(t, within, fmt.Sprintf("%s lists %v", inst.Config.Domain(), w), func() bool {
			return slices.Equal(domains(organization(t, inst)), w)
		})
	}
}

func TestDepartmentsFormTheOrganization(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	sales := testrig.StartInstance(t, named("Sales"), joining(eng))
	hr := testrig.StartInstance(t, named("HR"), joining(eng))
	three := []*testrig.Instance{eng, sales, hr}
	waitMembers(t, converge, three, three...)

	// Every department knows the others' names, descriptions and URLs, and marks itself.
	for _, inst := range three {
		for _, d := range organization(t, inst) {
			var of *testrig.Instance
			for _, o := range three {
				if o.Config.Domain() == d.Domain {
					of = o
				}
			}
			if d.URL != of.URL || d.Title != of.Config.Title || d.Description != "The "+of.Config.Title+" department." || d.Self != (of == inst) {
				t.Errorf("%s lists %+v, want %s's URL, title and description", inst.Config.Domain(), d, of.Config.Title)
			}
		}
	}
	if got, want := peers(t, eng), hostsOf(sales, hr); !slices.Equal(got, want) {
		t.Errorf("eng's peers %v, want %v", got, want)
	}

	// A fourth that names only the third becomes known to all.
	legal := testrig.StartInstance(t, named("Legal"), joining(hr))
	four := []*testrig.Instance{eng, sales, hr, legal}
	waitMembers(t, converge, four, four...)
	if got := peers(t, sales); !slices.Contains(got, legal.Config.Domain()) {
		t.Errorf("sales's peers %v lack legal", got)
	}

	// Leaving drops the department everywhere; it is then an organization of one.
	if err := org.Leave(context.Background(), legal.Config, legal.Store); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, converge, three, three...)
	waitMembers(t, converge, []*testrig.Instance{legal}, legal)
	// The tombstone is not undone by a member that still gossips the old entry: it stays out
	// for a few more rounds.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if got := domains(organization(t, sales)); slices.Contains(got, legal.Config.Domain()) {
			t.Fatalf("legal is back in sales's list %v after leaving", got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// It can come back by naming any member.
	if err := org.Join(context.Background(), legal.Config, legal.Store, sales.URL); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, converge, four, four...)
}

func TestDepartmentDownDuringJoinCatchesUp(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	sales := testrig.StartInstance(t, named("Sales"), joining(eng))
	waitMembers(t, converge, []*testrig.Instance{eng, sales}, eng, sales)

	sales.Stop()
	hr := testrig.StartInstance(t, named("HR"), joining(eng))
	// The others keep working without sales.
	waitMembers(t, converge, []*testrig.Instance{eng, hr}, eng, sales, hr)

	sales.Restart(t)
	waitMembers(t, converge, []*testrig.Instance{sales}, eng, sales, hr)
}

func TestJoinFromOutsideThePeerNetworksWaitsForApproval(t *testing.T) {
	// eng admits only 10.0.0.0/8 unapproved; its peers here all listen on 127.0.0.1.
	eng := testrig.StartInstance(t, named("Engineering"), func(c *config.Config) {
		c.PeerNetworks, _ = config.ParseNetworks("10.0.0.0/8")
	})
	sales := testrig.StartInstance(t, named("Sales"), joining(eng))
	ctx := context.Background()
	testrig.Eventually(t, converge, "sales's request is pending at eng", func() bool {
		p, err := eng.Store.OrgPending(ctx)
		return err == nil && len(p) == 1 && p[0].Host == sales.Config.Domain() && p[0].URL == sales.URL && p[0].Title == "Sales"
	})
	// Pending is not in: several rounds later neither lists the other.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if got := domains(organization(t, eng)); !slices.Equal(got, hostsOf(eng)) {
			t.Fatalf("eng lists %v before approving sales", got)
		}
		if got := domains(organization(t, sales)); !slices.Equal(got, hostsOf(sales)) {
			t.Fatalf("sales lists %v before eng approved it", got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if _, err := org.Approve(ctx, eng.Store, "no-such.example"); err == nil {
		t.Error("approving a host that asked nothing succeeded")
	}
	if _, err := org.Approve(ctx, eng.Store, sales.Config.Domain()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, converge, []*testrig.Instance{eng, sales}, eng, sales)
	if p, err := eng.Store.OrgPending(ctx); err != nil || len(p) != 0 {
		t.Errorf("pending after approval: %v, %v", p, err)
	}
	// In allowlist mode the members are what federation allows.
	policy, err := eng.Store.FederationPolicy(ctx)
	if err != nil || !slices.Contains(policy.Allowed, sales.Config.Domain()) {
		t.Errorf("eng allows %v, want sales among them (%v)", policy.Allowed, err)
	}
}

func TestGossipRefusesUnsignedAndForeignSignatures(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	body := `{"from":"http://127.0.0.1:1","members":[{"host":"evil.example","url":"http://evil.example","version":1}]}`
	resp, err := http.Post(eng.URL+org.GossipPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned gossip: %s, want 401", resp.Status)
	}
	// Signed by a real instance, but claiming to come from another.
	other := testrig.StartInstance(t, named("Other"))
	req, _ := http.NewRequest(http.MethodPost, eng.URL+org.GossipPath, strings.NewReader(body))
	if err := other.Federator.SignAsInstance(req, []byte(body)); err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("gossip signed by another instance than its sender: %s, want 403", resp.Status)
	}
	if got := domains(organization(t, eng)); !slices.Equal(got, hostsOf(eng)) {
		t.Errorf("eng lists %v after refused gossip", got)
	}
}

// TestBlockingAMemberHidesItLocally: an admin's domain block hides a member from that
// department's list and stops gossip with it; the others keep it.
func TestBlockingAMemberHidesItLocally(t *testing.T) {
	eng := testrig.StartInstance(t, named("Engineering"))
	sales := testrig.StartInstance(t, named("Sales"), joining(eng))
	hr := testrig.StartInstance(t, named("HR"), joining(eng))
	three := []*testrig.Instance{eng, sales, hr}
	waitMembers(t, converge, three, three...)

	if err := eng.Store.BlockDomain(context.Background(), hr.Config.Domain()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, converge, []*testrig.Instance{eng}, eng, sales)
	if got := peers(t, eng); slices.Contains(got, hr.Config.Domain()) {
		t.Errorf("eng's peers %v include the department it blocked", got)
	}
	waitMembers(t, converge, []*testrig.Instance{sales, hr}, three...)
}
