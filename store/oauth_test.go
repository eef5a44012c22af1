package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// redisValues returns every key of the store's key space with its value(s) flattened to text.
// The key space is found from a token's record, known to be in it: the test rig keeps its
// prefix private.
func redisValues(t *testing.T, st *store.Store, tokenHash string) map[string]string {
	t.Helper()
	ctx := context.Background()
	rdb := st.Redis()
	known, err := testrig.Keys(ctx, rdb, "{*:tok:"+tokenHash+"}")
	if err != nil || len(known) != 1 {
		t.Fatalf("finding the key space through the token %s: %v, %v", tokenHash, known, err)
	}
	prefix := known[0][1:strings.Index(known[0], ":tok:")]
	out := map[string]string{}
	keys, err := testrig.Keys(ctx, rdb, testrig.DepartmentKeys(prefix))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		var val string
		switch rdb.Type(ctx, key).Val() {
		case "string":
			val = rdb.Get(ctx, key).Val()
		case "set":
			val = strings.Join(rdb.SMembers(ctx, key).Val(), "\n")
		case "hash":
			for k, v := range rdb.HGetAll(ctx, key).Val() {
				val += k + "=" + v + "\n"
			}
		case "zset":
			val = strings.Join(rdb.ZRange(ctx, key, 0, -1).Val(), "\n")
		case "list":
			val = strings.Join(rdb.LRange(ctx, key, 0, -1).Val(), "\n")
		}
		out[key] = val
	}
	return out
}

func TestOAuthTokensStoredHashed(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	app := &store.App{Name: "client", RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob"}, Scopes: []string{"read"}}
	if err := st.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	userToken, rec, err := st.CreateToken(ctx, app.ClientID, "1234", []string{"read", "write"})
	if err != nil {
		t.Fatal(err)
	}
	appToken, _, err := st.CreateToken(ctx, app.ClientID, "", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Hash == "" || strings.Contains(rec.Hash, userToken) {
		t.Fatalf("token record hash %q must be set and differ from the token", rec.Hash)
	}
	values := redisValues(t, st, rec.Hash)
	found := 0
	for key, val := range values {
		if strings.Contains(key, ":tok:") {
			found++
		}
		for _, tok := range []string{userToken, appToken} {
			if strings.Contains(key, tok) || strings.Contains(val, tok) {
				t.Errorf("raw token appears in Redis under %s", key)
			}
		}
	}
	if found < 2 {
		t.Fatalf("expected the two token records in Redis, found %d keys", found)
	}
	got, err := st.TokenByValue(ctx, userToken)
	if err != nil || got.AccountID != "1234" || got.ClientID != app.ClientID {
		t.Fatalf("TokenByValue = %+v, %v", got, err)
	}
}

func TestOAuthAuthCodeSingleUseUnderConcurrency(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	code, err := st.CreateAuthCode(ctx, &store.AuthCode{ClientID: "c", AccountID: "1", RedirectURI: "urn:ietf:wg:oauth:2.0:oob", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, misses := 0, 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := st.TakeAuthCode(ctx, code)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && c.AccountID == "1":
				wins++
			case errors.Is(err, store.ErrNotFound):
				misses++
			default:
				t.Errorf("TakeAuthCode: %+v, %v", c, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || misses != 9 {
		t.Fatalf("wins=%d misses=%d, want exactly one winner", wins, misses)
	}
}

func TestOAuthRevokeTokens(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	a1, _, err := st.CreateToken(ctx, "app", "100", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	a2, _, err := st.CreateToken(ctx, "", "100", []string{"write"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := st.CreateToken(ctx, "app", "200", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAccountTokens(ctx, "100"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a1, a2} {
		if _, err := st.TokenByValue(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked token still valid: %v", err)
		}
	}
	if _, err := st.TokenByValue(ctx, other); err != nil {
		t.Fatalf("another account's token was revoked: %v", err)
	}
	if err := st.RevokeToken(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TokenByValue(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeToken left the token valid: %v", err)
	}
	if err := st.RevokeToken(ctx, "never-issued"); err != nil {
		t.Fatalf("revoking an unknown token: %v", err)
	}
}

func TestOAuthInstanceSecretCreatedOnce(t *testing.T) {
	st := testrig.NewStore(t, testDomain)
	ctx := context.Background()
	secrets := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := st.InstanceSecret(ctx)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		}()
	}
	wg.Wait()
	if len(secrets[0]) < 32 {
		t.Fatalf("secret too short: %d bytes", len(secrets[0]))
	}
	for _, s := range secrets[1:] {
		if string(s) != string(secrets[0]) {
			t.Fatal("concurrent callers got different secrets")
		}
	}
	again, err := st.InstanceSecret(ctx)
	if err != nil || string(again) != string(secrets[0]) {
		t.Fatalf("secret changed between calls: %v", err)
	}
}
