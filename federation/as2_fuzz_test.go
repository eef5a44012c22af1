package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// addFixtureSeeds seeds a fuzz target with every ActivityStreams fixture and a few odd shapes.
func addFixtureSeeds(f *testing.F) {
	for _, name := range asFixtures(f) {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"type":"Note"}`, `{"type":["Note","Article"],"id":"https://a.example/1"}`,
		`{"type":"Create","id":"https://a.example/1","actor":"https://a.example/u","object":{"type":"Note","id":"https://a.example/n","attributedTo":"https://a.example/u","tag":{"type":"Hashtag","name":7},"attachment":{"url":[{"href":null}]}}}`,
		`{"type":"Person","id":"https://a.example/u","inbox":"https://a.example/i","preferredUsername":"u","publicKey":[1,"x",{"owner":{"id":"https://a.example/u"},"publicKeyPem":"k"}],"icon":[[[]]],"url":{"href":5}}`,
		`{"@context":7,"type":"Note","id":"https://a.example/n","content":{"en":1},"contentMap":{"en":"x","fr":"x"},"published":"yesterday","to":"Public"}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse checks that Parse and the readers never panic on arbitrary JSON, and that whatever
// parses can be serialized again.
func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	site := testSite()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, raw, err := Parse(ctx, body)
		if err != nil {
			return
		}
		if typ == nil || raw == nil {
			t.Fatalf("Parse(%q) = nil value without an error", body)
		}
		_, _ = NoteToStatus(site, typ, raw)
		_, _ = PersonToAccount(site, typ, raw)
		_, _ = NoteToStatus(site, typ, nil)
		if _, err := Serialize(typ); err != nil {
			t.Logf("Serialize(Parse(%q)) = %v", body, err)
		}
		if obj := EmbeddedObject(raw); obj != nil {
			if ot, err := ParseMap(ctx, obj); err == nil {
				_, _ = NoteToStatus(site, ot, obj)
				_, _ = PersonToAccount(site, ot, obj)
			}
		}
		if et := EmbeddedType(typ); et != nil {
			_, _ = NoteToStatus(site, et, nil)
		}
	})
}

// FuzzParseEnvelope checks that ParseEnvelope never panics, agrees with a json.Decoder on which
// bodies are too deep, and only accepts what encoding/json accepts.
func FuzzParseEnvelope(f *testing.F) {
	addFixtureSeeds(f)
	f.Add([]byte(`{"id":"x","type":"Like","actor":"a","x":"\\\"[[[[" }`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		if json.Valid(body) {
			depth, derr := decoderDepth(body)
			if derr == nil && depth > maxDepth && err == nil {
				t.Fatalf("ParseEnvelope accepted JSON %d levels deep", depth)
			}
			if gotDeep := checkDepth(body) != nil; derr == nil && gotDeep != (depth > maxDepth) {
				t.Fatalf("checkDepth = %v for depth %d", gotDeep, depth)
			}
		} else if err == nil {
			t.Fatalf("ParseEnvelope accepted invalid JSON %q as %+v", body, env)
		}
		if err == nil && (env.ID == "" || env.Type == "" || env.Actor == "") {
			t.Fatalf("ParseEnvelope(%q) = %+v with an empty required field", body, env)
		}
	})
}

// decoderDepth measures nesting with a json.Decoder token walk, the slow reference checkDepth
// must agree with.
func decoderDepth(b []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest, nil
		}
		if err != nil {
			return 0, err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				deepest = max(deepest, depth)
			} else {
				depth--
			}
		}
	}
}
