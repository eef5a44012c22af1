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
	for _, s := range []string{
		`{"id":"x","type":"Like","actor":"a","x":"\\\"[[[[" }`,
		`{"\u0069d":"x","type":["","Like"],"actor":{"id":"a","id":"b"},"ACTOR":"c","object":{"attributedTo":[1,{"id":"p"}],"type":"Note"}}`,
		"{\"id\":\"x\xff\",\"type\":\"Like\",\"actor\":\"a\\u00e9\",\"object\":\"o\",\"object\":\"p\"}",
		` { "id" : "x" , "type" : "Like" , "actor" : "a" , "object" : [ "o" ] } `,
	} {
		f.Add([]byte(s))
	}
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
		if want, werr := envelopeOracle(body); (err == nil) != (werr == nil) || env != want {
			t.Fatalf("ParseEnvelope(%q) = %+v, %v; decoding into maps gives %+v, %v", body, env, err, want, werr)
		}
	})
}

// envelopeOracle is ParseEnvelope done the slow, obvious way, decoding into maps of raw
// messages; the scanner must agree with it on every input.
func envelopeOracle(body []byte) (Envelope, error) {
	if len(body) > maxEnvelopeBytes {
		return Envelope{}, errors.New("too large")
	}
	if err := checkDepth(body); err != nil {
		return Envelope{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return Envelope{}, errors.New("not an object")
	}
	str := func(raw json.RawMessage) string {
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	first := func(raw json.RawMessage, f func(json.RawMessage) string) string {
		var list []json.RawMessage
		if len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
			for _, e := range list {
				if s := f(e); s != "" {
					return s
				}
			}
		}
		return ""
	}
	typ := func(raw json.RawMessage) string {
		if len(raw) > 0 && raw[0] == '"' {
			return str(raw)
		}
		return first(raw, str)
	}
	id := func(raw json.RawMessage) string {
		var o map[string]json.RawMessage
		if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &o) == nil {
			return str(o["id"])
		}
		return str(raw)
	}
	e := Envelope{ID: str(m["id"]), Type: typ(m["type"]), Actor: id(m["actor"])}
	if e.ID == "" || e.Type == "" || e.Actor == "" {
		return Envelope{}, errors.New("missing id, type or actor")
	}
	obj := m["object"]
	var om map[string]json.RawMessage
	switch {
	case len(obj) > 0 && obj[0] == '"':
		e.ObjectID = str(obj)
	case len(obj) > 0 && obj[0] == '{' && json.Unmarshal(obj, &om) == nil:
		e.ObjectID, e.ObjectType, e.ObjectActor = str(om["id"]), typ(om["type"]), id(om["actor"])
		if e.ObjectActor == "" {
			if e.ObjectActor = id(om["attributedTo"]); e.ObjectActor == "" {
				e.ObjectActor = first(om["attributedTo"], id)
			}
		}
	}
	return e, nil
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
