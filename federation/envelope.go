package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Envelope is the small part of an incoming activity read before queueing (fast path,
// encoding/json only — no streams).
type Envelope struct {
	ID, Type, Actor string
	ObjectID        string // object's id whether the object is a string or an embedded object
	ObjectType      string // embedded object's type, "" when object is a bare IRI
	ObjectActor     string // for embedded objects: attributedTo (Note) or actor (Follow/Like/Announce being undone/accepted)
}

// ParseEnvelope decodes the envelope; rejects non-objects, missing id/type/actor, actor not a
// string or {id}, JSON nested deeper than 64 levels (checked before unmarshalling), more than
// 1 MiB.
//
// Keys are matched exactly. Decoding into a struct would not do: encoding/json matches field
// names case-insensitively, so {"actor": victim, "ACTOR": signer} would authenticate as the
// signer here while the worker, reading "actor", acted for the victim.
func ParseEnvelope(body []byte) (Envelope, error) {
	if len(body) > maxEnvelopeBytes {
		return Envelope{}, fmt.Errorf("activity is %d bytes, more than %d", len(body), maxEnvelopeBytes)
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return Envelope{}, errors.New("activity is not a JSON object")
	}
	if err := checkDepth(body); err != nil {
		return Envelope{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return Envelope{}, fmt.Errorf("decode activity: %w", err)
	}
	var e Envelope
	var ok bool
	if e.ID, ok = jsonString(m["id"]); !ok || e.ID == "" {
		return Envelope{}, errors.New("activity has no id")
	}
	if e.Type = jsonType(m["type"]); e.Type == "" {
		return Envelope{}, errors.New("activity has no type")
	}
	if e.Actor = jsonID(m["actor"]); e.Actor == "" {
		return Envelope{}, errors.New("activity actor is missing or not an IRI or {id}")
	}
	obj := bytes.TrimSpace(m["object"])
	switch {
	case len(obj) == 0:
	case obj[0] == '"':
		e.ObjectID, _ = jsonString(obj)
	case obj[0] == '{':
		var om map[string]json.RawMessage
		if err := json.Unmarshal(obj, &om); err != nil {
			return Envelope{}, fmt.Errorf("decode activity object: %w", err)
		}
		e.ObjectID, _ = jsonString(om["id"])
		e.ObjectType = jsonType(om["type"])
		if e.ObjectActor = jsonID(om["actor"]); e.ObjectActor == "" {
			e.ObjectActor = jsonFirstID(om["attributedTo"])
		}
	}
	return e, nil
}

// jsonString decodes a JSON string; ok is false for anything else.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonType decodes a type, which JSON-LD allows to be a list: its first string.
func jsonType(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, e := range list {
			if s, ok := jsonString(e); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// jsonID decodes an IRI or an object's id: "" for anything else, lists included, since an
// activity has one actor.
func jsonID(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := jsonString(m["id"])
	return s
}

// jsonFirstID is jsonID that also takes the first usable entry of a list, for attributedTo
// (PeerTube lists the channel after the person).
func jsonFirstID(raw json.RawMessage) string {
	if id := jsonID(raw); id != "" {
		return id
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, e := range list {
			if id := jsonID(e); id != "" {
				return id
			}
		}
	}
	return ""
}
