package federation

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func FuzzParseSignatureHeader(f *testing.F) {
	for _, seed := range []string{
		`keyId="https://mastodon.example/users/alice#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="AQID"`,
		`keyId="https://gts.example/users/alice/main-key",algorithm="hs2019",headers="(request-target) host date",signature="AQID"`,
		`Signature keyId="k",algorithm="hs2019",created=1700000000,expires=1700000300,headers="(request-target) (created) host",signature="AQID"`,
		`keyId="a\"b\\c" , signature = "AQ",x=y`,
		`keyId="k",keyId="j",signature="AQID"`,
		`keyId="k,signature="AQID"`,
		`keyId=k,signature=AQID==`,
		`keyId="k",headers="date\thost",signature="AQID"`,
		``,
		`,`,
		`"`,
		`keyId="\`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, err := ParseSignatureHeader(h)
		if err != nil {
			return
		}
		if p.KeyID == "" || len(p.Signature) == 0 {
			t.Fatalf("ParseSignatureHeader(%q) = %+v without keyId or signature", h, p)
		}
		s := p.String()
		again, err := ParseSignatureHeader(s)
		if err != nil {
			t.Fatalf("ParseSignatureHeader(%q) of String() of %q: %v", s, h, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("ParseSignatureHeader(String()) = %+v, want %+v (input %q, serialized %q)", again, p, h, s)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String() not stable: %q then %q", s, s2)
		}
	})
}

func FuzzVerifyRequest(f *testing.F) {
	alice := sigTestKey(f, "alice.pem")
	keys := &sigResolver{owner: aliceActor, cached: &alice.PublicKey}
	body := []byte(`{"type":"Create"}`)
	r := httptest.NewRequest("POST", "https://local.example/inbox?x=1", bytes.NewReader(body))
	if err := SignRequest(r, body, aliceKeyID, alice); err != nil {
		f.Fatal(err)
	}
	f.Add(r.Header.Get("Signature"), r.Header.Get("Digest"), r.Header.Get("Date"), "POST", string(body))
	f.Add(r.Header.Get("Signature"), r.Header.Get("Digest"), r.Header.Get("Date"), "GET", "")
	f.Add(`keyId="k",algorithm="hs2019",created=1,expires=2,headers="(request-target) (created) (expires) host digest",signature="AQID"`, "SHA-256=", "", "POST", "")
	f.Add(`keyId="k",headers="(request-target) host date x-custom",signature="AQID"`, "sha-512=abc,SHA-256=xyz", "Mon, 02 Jan 2006 15:04:05 GMT", "PUT", "{}")
	f.Add(`keyId="k",headers="(foo) host date",signature="AQID"`, "", "not a date", "GET", "")
	now, _ := http.ParseTime(r.Header.Get("Date"))

	f.Fuzz(func(t *testing.T, sig, digest, date, method, payload string) {
		if !fuzzValidMethod(method) {
			return
		}
		req := httptest.NewRequest(method, "https://local.example/inbox?x=1", strings.NewReader(payload))
		req.Header.Set("Signature", sig)
		req.Header.Set("Digest", digest)
		req.Header.Set("Date", date)
		owner, err := VerifyRequest(context.Background(), req, []byte(payload), keys, now.Add(time.Second))
		var se *SignatureError
		switch {
		case err == nil && owner != aliceActor:
			t.Fatalf("VerifyRequest accepted with owner %q", owner)
		case err != nil && !errors.As(err, &se):
			t.Fatalf("VerifyRequest error %v is not a *SignatureError", err)
		case err != nil && se.Status != 400 && se.Status != 401:
			t.Fatalf("VerifyRequest status %d, want 400 or 401", se.Status)
		}
	})
}

// fuzzValidMethod keeps the fuzzer to methods httptest.NewRequest accepts.
func fuzzValidMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !isTokenChar(m[i]) {
			return false
		}
	}
	return true
}
