package store_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"watercooler/store"
	"watercooler/testrig"
	"watercooler/text"
)

// statusMemoryCount is how many statuses BenchmarkStatusMemory posts: the target is
// stated per 10,000.
const statusMemoryCount = 10000

// BenchmarkStatusMemory posts 10,000 public statuses with a hashtag and a link, rendered as the
// client API renders them, by an author with three local followers, and reports the Redis bytes
// they add (used_memory before and after) and what each key family holds (MEMORY USAGE over a
// SCAN of the prefix, ids stripped from the key names), and of those the bytes they add to the
// department's slot, which has to fit on one master of a cluster. Run it alone on a Redis of its
// own, as other clients change used_memory:
//
//	go test -run XX -bench StatusMemory -benchtime 1x ./store/
func BenchmarkStatusMemory(b *testing.B) {
	ctx := context.Background()
	rdb := testrig.SingleRedis(b) // used_memory is one server's
	renderer := text.NewRenderer(testBaseURL)
	for b.Loop() {
		prefix := testrig.Prefix(b, rdb)
		st := store.New(rdb, prefix, testDomain)
		author := localAccount(b, st, "author")
		for i := range 3 {
			followAccount(b, st, localAccount(b, st, "follower"+strconv.Itoa(i)), author)
		}
		before, departmentBefore := usedMemory(b, rdb), departmentSlot(keyFamilies(b, rdb, prefix))
		for i := range statusMemoryCount {
			source := fmt.Sprintf("Status number %d about #golang, see https://example.com/articles/%d for more", i, i)
			r := renderer.Render(source, nil)
			s := store.Status{AccountID: author.ID, Local: true, Visibility: store.VisibilityPublic, Language: "en",
				Text: source, Content: r.HTML, Tags: r.Tags, Mentions: []string{}, ApplicationName: "Web"}
			if _, err := st.CreateStatus(ctx, store.NewStatus{Status: s, BaseURL: testBaseURL}); err != nil {
				b.Fatal(err)
			}
		}
		after := usedMemory(b, rdb)
		b.ReportMetric(float64(after-before)/(1<<20), "MiB/10k")
		b.ReportMetric(float64(after-before)/statusMemoryCount, "B/status")
		families := keyFamilies(b, rdb, prefix)
		b.ReportMetric(float64(departmentSlot(families)-departmentBefore)/statusMemoryCount, "B/status-in-department-slot")
		logFamilies(b, families, len(families), statusMemoryCount, "status")
		home := families["tl:home:#}"]
		if n := rdb.ZCard(ctx, "{"+prefix+":tl:home:"+author.ID+"}").Val(); n > 0 {
			b.ReportMetric(float64(home.bytes)/float64(home.keys)/float64(n), "B/home-entry")
		}
	}
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}

type keyFamily struct{ keys, bytes int64 }

// logFamilies logs the largest key families, at most top of them, with their bytes per one of
// the count things the benchmark wrote.
func logFamilies(b *testing.B, families map[string]keyFamily, top, count int, thing string) {
	b.Helper()
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return families[names[i]].bytes > families[names[j]].bytes })
	for _, name := range names[:min(top, len(names))] {
		f := families[name]
		b.Logf("%-32s %6d keys %10d bytes %8.1f B/%s", name, f.keys, f.bytes, float64(f.bytes)/float64(count), thing)
	}
}

// departmentSlot sums the bytes of the families in the department's slot: keyFamilies names
// those of the spread slots with a closing brace.
func departmentSlot(families map[string]keyFamily) int64 {
	var n int64
	for name, f := range families {
		if !strings.Contains(name, "}") {
			n += f.bytes
		}
	}
	return n
}

var idInKey = regexp.MustCompile(`[0-9]+`)

func keyFamilies(b *testing.B, rdb *redis.Client, prefix string) map[string]keyFamily {
	b.Helper()
	ctx := context.Background()
	out := map[string]keyFamily{}
	iter := rdb.Scan(ctx, 0, testrig.DepartmentKeys(prefix), 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		n, err := rdb.MemoryUsage(ctx, key, 0).Result()
		if err != nil {
			b.Fatal(err)
		}
		name, ok := strings.CutPrefix(key, "{"+prefix+"}:")
		if !ok {
			name = strings.TrimPrefix(key, "{"+prefix+":")
		}
		name = idInKey.ReplaceAllString(name, "#")
		f := out[name]
		f.keys++
		f.bytes += n
		out[name] = f
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// accountMemoryCount is how many remote accounts BenchmarkRemoteAccountMemory stores.
const accountMemoryCount = 10000

// BenchmarkRemoteAccountMemory stores 10,000 remote accounts as a federating department meets
// them (a profile with a bio, a field, a signing key and the actor's URIs), each followed by one
// local person, and reports the Redis bytes they add and, of those, what lands in the
// department's slot (the indexes that find an account by name, URI and words), as
// BenchmarkStatusMemory does:
//
//	go test -run XX -bench RemoteAccountMemory -benchtime 1x ./store/
func BenchmarkRemoteAccountMemory(b *testing.B) {
	ctx := context.Background()
	rdb := testrig.SingleRedis(b)
	key := "-----BEGIN PUBLIC KEY-----\n" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx", 9) + "\n-----END PUBLIC KEY-----\n"
	for b.Loop() {
		prefix := testrig.Prefix(b, rdb)
		st := store.New(rdb, prefix, testDomain)
		reader := localAccount(b, st, "reader")
		before, departmentBefore := usedMemory(b, rdb), departmentSlot(keyFamilies(b, rdb, prefix))
		for i := range accountMemoryCount {
			user, domain := "person"+strconv.Itoa(i), "dept"+strconv.Itoa(i%20)+".example.org"
			uri := "https://" + domain + "/users/" + user
			a, err := st.PutRemoteAccount(ctx, &store.Account{
				Username: user, Domain: domain, DisplayName: "Person " + strconv.Itoa(i) + " Lindqvist",
				Note:   "<p>Payroll and benefits; ask me about spreadsheets and onboarding</p>",
				Fields: []store.Field{{Name: "Team", Value: "Finance operations"}},
				URI:    uri, URL: "https://" + domain + "/@" + user, InboxURI: uri + "/inbox", SharedInboxURI: "https://" + domain + "/inbox",
				OutboxURI: uri + "/outbox", FollowersURI: uri + "/followers", FollowingURI: uri + "/following",
				PublicKeyPEM: key, PublicKeyID: uri + "#main-key", Discoverable: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			followAccount(b, st, reader, a)
		}
		after := usedMemory(b, rdb)
		b.ReportMetric(float64(after-before)/accountMemoryCount, "B/account")
		families := keyFamilies(b, rdb, prefix)
		b.ReportMetric(float64(departmentSlot(families)-departmentBefore)/accountMemoryCount, "B/account-in-department-slot")
		logFamilies(b, families, 12, accountMemoryCount, "account")
	}
}
