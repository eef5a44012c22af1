package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
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
// json.Valid checks the whole body, then a scan over it picks out the few members needed and
// decodes only those: half the time of decoding into maps of raw messages and a fiftieth of
// the garbage, on the path every inbound POST takes. Unlike decoding into a struct, member names match
// exactly: encoding/json folds case for struct fields, so {"actor": victim, "ACTOR": signer}
// would authenticate as the signer here while the worker, reading "actor", acted for the victim.
// As in encoding/json maps, escapes in names are decoded and the last duplicate wins.
func ParseEnvelope(body []byte) (Envelope, error) {
	if len(body) > maxEnvelopeBytes {
		return Envelope{}, fmt.Errorf("activity is %d bytes, more than %d", len(body), maxEnvelopeBytes)
	}
	if err := checkDepth(body); err != nil {
		return Envelope{}, err
	}
	if !json.Valid(body) {
		return Envelope{}, errors.New("activity is not valid JSON")
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); b[0] != '{' { // Valid: never empty
		return Envelope{}, errors.New("activity is not a JSON object")
	}
	var idRaw, typeRaw, actorRaw, objectRaw []byte
	eachMember(body, func(name, value []byte) {
		switch {
		case nameIs(name, "id"):
			idRaw = value
		case nameIs(name, "type"):
			typeRaw = value
		case nameIs(name, "actor"):
			actorRaw = value
		case nameIs(name, "object"):
			objectRaw = value
		}
	})
	var e Envelope
	var ok bool
	if e.ID, ok = jsonString(idRaw); !ok || e.ID == "" {
		return Envelope{}, errors.New("activity has no id")
	}
	if e.Type = jsonType(typeRaw); e.Type == "" {
		return Envelope{}, errors.New("activity has no type")
	}
	if e.Actor = jsonID(actorRaw); e.Actor == "" {
		return Envelope{}, errors.New("activity actor is missing or not an IRI or {id}")
	}
	switch {
	case len(objectRaw) == 0:
	case objectRaw[0] == '"':
		e.ObjectID, _ = jsonString(objectRaw)
	case objectRaw[0] == '{':
		var id, typ, actor, attributedTo []byte
		eachMember(objectRaw, func(name, value []byte) {
			switch {
			case nameIs(name, "id"):
				id = value
			case nameIs(name, "type"):
				typ = value
			case nameIs(name, "actor"):
				actor = value
			case nameIs(name, "attributedTo"):
				attributedTo = value
			}
		})
		e.ObjectID, _ = jsonString(id)
		e.ObjectType = jsonType(typ)
		if e.ObjectActor = jsonID(actor); e.ObjectActor == "" {
			e.ObjectActor = jsonFirstID(attributedTo)
		}
	}
	return e, nil
}

// The scanners below walk JSON that json.Valid has accepted, so they need not check syntax.

// eachMember calls fn with the quoted name and the raw value of each member of the JSON object
// that starts b (after optional space).
func eachMember(b []byte, fn func(name, value []byte)) {
	i := skipSpace(b, 0) + 1 // past '{'
	for i < len(b) {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return
		}
		if b[i] == ',' {
			i++
			continue
		}
		start := i
		i = skipString(b, i)
		name := b[start:i]
		i = skipSpace(b, i) + 1 // past ':'
		i = skipSpace(b, i)
		start = i
		i = skipValue(b, i)
		fn(name, b[start:i])
	}
}

// eachElement calls fn with each raw element of the JSON array that starts b.
func eachElement(b []byte, fn func(value []byte)) {
	i := skipSpace(b, 0) + 1 // past '['
	for i < len(b) {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == ']' {
			return
		}
		if b[i] == ',' {
			i++
			continue
		}
		start := i
		i = skipValue(b, i)
		fn(b[start:i])
	}
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return len(b)
	}
}

// nameIs reports whether a quoted member name decodes to want.
func nameIs(quoted []byte, want string) bool {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == want
	}
	s, ok := jsonString(quoted)
	return ok && s == want
}

// jsonString decodes a JSON string; ok is false for anything else.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	// encoding/json turns invalid UTF-8 into U+FFFD; keep the fast path to where it agrees.
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonType decodes a type, which JSON-LD allows to be a list: its first non-empty string.
func jsonType(raw []byte) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	var t string
	if len(raw) > 0 && raw[0] == '[' {
		eachElement(raw, func(v []byte) {
			if t == "" {
				t, _ = jsonString(v)
			}
		})
	}
	return t
}

// jsonID decodes an IRI or an object's id: "" for anything else, lists included, since an
// activity has one actor.
func jsonID(raw []byte) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	var id []byte
	eachMember(raw, func(name, value []byte) {
		if nameIs(name, "id") {
			id = value
		}
	})
	s, _ := jsonString(id)
	return s
}

// jsonFirstID is jsonID that also takes the first usable entry of a list, for attributedTo
// (PeerTube lists the channel after the person).
func jsonFirstID(raw []byte) string {
	if id := jsonID(raw); id != "" {
		return id
	}
	var id string
	if len(raw) > 0 && raw[0] == '[' {
		eachElement(raw, func(v []byte) {
			if id == "" {
				id = jsonID(v)
			}
		})
	}
	return id
}
