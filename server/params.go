package server

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Request parameters the Rails way. Mastodon clients send the same parameters as JSON, as
// url-encoded or multipart forms with Rails' bracket syntax (context[]=home,
// keywords_attributes[0][keyword]=x, keywords_attributes[][keyword]=x, home[last_read_id]=1),
// or in the query string. decodeParams turns the form shapes into the JSON shape so one struct
// with json tags reads them all, with the scalar types below accepting strings for numbers and
// booleans, since forms carry nothing else.

// maxParamDepth bounds bracket nesting, as Rack does, so a crafted key cannot recurse deeply.
const maxParamDepth = 16

// decodeParams fills v from the query string and then the body, body values winning, as Rails
// merges them. Malformed input is a 400 and an unsupported body type a 415.
func decodeParams(c *fiber.Ctx, v any) error {
	query := map[string]any{}
	c.Context().QueryArgs().VisitAll(func(k, val []byte) {
		if key := string(k); key != "access_token" {
			addParam(query, key, string(val))
		}
	})
	if len(query) > 0 {
		if err := fromParams(query, v); err != nil {
			return errorf(fiber.StatusBadRequest, "Malformed query parameters: %v", shortErr(err))
		}
	}
	body := c.Body()
	if len(body) == 0 || c.Method() == fiber.MethodGet {
		return nil
	}
	ctype := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0]))
	form := map[string]any{}
	switch {
	case strings.HasSuffix(ctype, "json"):
		if err := json.Unmarshal(body, v); err != nil {
			return errorf(fiber.StatusBadRequest, "Malformed request body: %v", shortErr(err))
		}
		return nil
	case ctype == fiber.MIMEApplicationForm:
		c.Request().PostArgs().VisitAll(func(k, val []byte) { addParam(form, string(k), string(val)) })
	case ctype == fiber.MIMEMultipartForm:
		mf, err := c.MultipartForm()
		if err != nil {
			return errorf(fiber.StatusBadRequest, "Malformed request body: %v", shortErr(err))
		}
		// Multipart parts arrive as a map; sorting keeps "a[0][b]" entries in order, and
		// clients using "a[][b]" shapes send one field per part group anyway.
		keys := make([]string, 0, len(mf.Value))
		for k := range mf.Value {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, val := range mf.Value[k] {
				addParam(form, k, val)
			}
		}
	default:
		return errorf(fiber.StatusUnsupportedMediaType, "Unsupported content type %q", c.Get(fiber.HeaderContentType))
	}
	if err := fromParams(form, v); err != nil {
		return errorf(fiber.StatusBadRequest, "Malformed request body: %v", shortErr(err))
	}
	return nil
}

// fromParams decodes a parsed form into v through its JSON form.
func fromParams(params map[string]any, v any) error {
	b, err := json.Marshal(indexedToArrays(params))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// addParam stores one form field under its Rails name: "a", "a[]", "a[b]", "a[][b]", ...
func addParam(root map[string]any, key, value string) {
	name, segs := splitParamKey(key)
	if name == "" || len(segs) > maxParamDepth {
		return
	}
	setParam(root, name, segs, value)
}

// splitParamKey splits "a[b][]" into "a" and ["b", ""]; a key with unbalanced brackets is a
// plain name.
func splitParamKey(key string) (string, []string) {
	open := strings.IndexByte(key, '[')
	if open <= 0 {
		return key, nil
	}
	name, rest := key[:open], key[open:]
	var segs []string
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return key, nil
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
	}
	return name, segs
}

// setParam follows Rack's normalize_params: "[]" appends to an array, and "[][b]" fills the
// array's last object unless it already has b, when it starts a new one.
func setParam(m map[string]any, name string, segs []string, value string) {
	if len(segs) == 0 {
		m[name] = value
		return
	}
	if segs[0] != "" {
		child, ok := m[name].(map[string]any)
		if !ok {
			child = map[string]any{}
			m[name] = child
		}
		setParam(child, segs[0], segs[1:], value)
		return
	}
	arr, _ := m[name].([]any)
	if len(segs) == 1 {
		m[name] = append(arr, value)
		return
	}
	if n := len(arr); n > 0 {
		if last, ok := arr[n-1].(map[string]any); ok && !hasParamPath(last, segs[1:]) {
			setParam(last, segs[1], segs[2:], value)
			return
		}
	}
	obj := map[string]any{}
	setParam(obj, segs[1], segs[2:], value)
	m[name] = append(arr, obj)
}

func hasParamPath(m map[string]any, segs []string) bool {
	var cur any = m
	for _, s := range segs {
		obj, ok := cur.(map[string]any)
		if s == "" || !ok {
			return false
		}
		if cur, ok = obj[s]; !ok {
			return false
		}
	}
	return true
}

// indexedToArrays turns objects keyed only by integers ("a[0][b]", "a[1][b]") into arrays in
// index order, as Rails' nested attributes read them.
func indexedToArrays(v any) any {
	switch x := v.(type) {
	case map[string]any:
		indexed := len(x) > 0
		for k, child := range x {
			x[k] = indexedToArrays(child)
			if _, err := strconv.ParseUint(k, 10, 31); err != nil {
				indexed = false
			}
		}
		if !indexed {
			return x
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareParamKeys)
		arr := make([]any, len(keys))
		for i, k := range keys {
			arr[i] = x[k]
		}
		return arr
	case []any:
		for i := range x {
			x[i] = indexedToArrays(x[i])
		}
	}
	return v
}

// compareParamKeys orders numeric keys by value and others after them, alphabetically.
func compareParamKeys(a, b string) int {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return na - nb
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// optString is a scalar parameter that remembers whether it was sent. Numbers and booleans are
// kept as their JSON text and null as "", so `"expires_in": null` clears like an empty field.
type optString struct {
	set bool
	val string
}

// UnmarshalJSON records that the parameter was sent and keeps its value as text.
func (o *optString) UnmarshalJSON(b []byte) error {
	o.set = true
	switch {
	case string(b) == "null":
		o.val = ""
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &o.val)
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return errors.New("expected a single value, got an object or array")
	default:
		o.val = string(b)
	}
	return nil
}

// optList is an array parameter that remembers whether it was sent; a single value counts as
// a one-element array.
type optList struct {
	set  bool
	vals []string
}

// UnmarshalJSON records that the parameter was sent and reads it like a stringList.
func (o *optList) UnmarshalJSON(b []byte) error {
	var l stringList
	if err := l.UnmarshalJSON(b); err != nil {
		return err
	}
	o.set, o.vals = true, l
	return nil
}

// stringList is an array parameter of scalars; a single value counts as a one-element array.
type stringList []string

// UnmarshalJSON reads an array of scalars, or one scalar, as text; nulls are dropped.
func (l *stringList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if len(b) == 0 || b[0] != '[' {
		raw = []json.RawMessage{b}
	} else if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var o optString
		if err := o.UnmarshalJSON(r); err != nil {
			return err
		}
		if string(r) != "null" {
			out = append(out, o.val)
		}
	}
	*l = out
	return nil
}

// railsBool casts a parameter the way Rails casts booleans: blank is no value, a few spellings
// of false are false, anything else is true.
func railsBool(v string) (value, ok bool) {
	switch strings.TrimSpace(v) {
	case "":
		return false, false
	case "0", "f", "F", "false", "FALSE", "False", "off", "OFF", "Off":
		return false, true
	}
	return true, true
}
