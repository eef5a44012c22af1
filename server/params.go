package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/text"
)

// Request parameters the Rails way. Mastodon clients send the same parameters as JSON, as
// url-encoded or multipart forms with Rails' bracket syntax (context[]=home,
// keywords_attributes[0][keyword]=x, keywords_attributes[][keyword]=x, home[last_read_id]=1),
// or in the query string. decodeParams, the one decoder every handler uses, turns the form
// shapes into the JSON shape so one struct with json tags reads them all, with the scalar types
// below accepting strings for numbers and booleans, since forms carry nothing else.
//
// Every request is decoded within the same bounds, checked before anything is built from it,
// so a crafted request costs about what its bytes cost: at most maxParams values (Rack's cap)
// nested at most maxParamDepth deep, none longer than maxParamValue bytes (uploads excepted,
// see uploadRoute). C0 control characters other than tab, newline and carriage return are
// removed from every name and value, and invalid UTF-8 is replaced, so no stored text holds a
// NUL (which other servers' databases refuse).

// Bounds of one request's parameters.
const (
	maxParams     = 4096
	maxParamDepth = 16
	maxParamValue = 64 << 10
)

// localValueLimit is the Locals key under which uploadRoute raises the value limit.
const localValueLimit = "paramValueLimit"

// paramBounds counts what one request has decoded so far against the limits.
type paramBounds struct {
	count, valueLimit int
}

func newParamBounds(c *fiber.Ctx) *paramBounds {
	b := &paramBounds{valueLimit: maxParamValue}
	if n, ok := c.Locals(localValueLimit).(int); ok && n > b.valueLimit {
		b.valueLimit = n
	}
	return b
}

var (
	errTooManyParams = errorf(fiber.StatusBadRequest, "Too many parameters (the limit is %d)", maxParams)
	errParamsTooDeep = errorf(fiber.StatusBadRequest, "Parameters are nested too deeply (the limit is %d levels)", maxParamDepth)
)

func (b *paramBounds) errTooLong(key string) error {
	if len(key) > 40 {
		key = key[:40] + "…"
	}
	return errorf(fiber.StatusRequestEntityTooLarge, "Parameter %q is too long (the limit is %d bytes)", text.StripControls(key), b.valueLimit)
}

// add counts one name and value and checks their length.
func (b *paramBounds) add(key, value string) error {
	if b.count++; b.count > maxParams {
		return errTooManyParams
	}
	if len(key) > b.valueLimit || len(value) > b.valueLimit {
		return b.errTooLong(key)
	}
	return nil
}

// tooManyArgs reports whether url-encoded parameters (a query string or a form body) hold
// more than maxParams pairs, counted without parsing them.
func tooManyArgs(b []byte) bool {
	return len(b) > 0 && bytes.Count(b, []byte("&"))+1 > maxParams
}

// decodeParams fills v from the query string and then the body, body values winning, as Rails
// merges them. Malformed input is a 400, parameters past the bounds a 400 or 413, and an
// unsupported body type a 415.
func decodeParams(c *fiber.Ctx, v any) error {
	bounds := newParamBounds(c)
	if tooManyArgs(c.Request().URI().QueryString()) {
		return errTooManyParams
	}
	query := map[string]any{}
	var err error
	c.Context().QueryArgs().VisitAll(func(k, val []byte) {
		if key := string(k); key != "access_token" && err == nil {
			err = addParam(query, bounds, key, string(val))
		}
	})
	if err != nil {
		return err
	}
	if len(query) > 0 {
		if err := fromParams(query, v); err != nil {
			return errorf(fiber.StatusBadRequest, "Malformed query parameters: %v", shortErr(err))
		}
	}
	if c.Method() == fiber.MethodGet || c.Request().Header.ContentLength() == 0 {
		return nil
	}
	ctype := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0]))
	var body []byte
	if ctype != fiber.MIMEMultipartForm {
		// Only read the raw body of what is parsed from it: fasthttp rebuilds a parsed
		// multipart body, uploads included, each time its body is asked for.
		if body = c.Body(); len(body) == 0 {
			return nil
		}
	}
	form := map[string]any{}
	switch {
	case strings.HasSuffix(ctype, "json"):
		clean, err := checkJSON(body, bounds)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(clean, v); err != nil {
			return errorf(fiber.StatusBadRequest, "Malformed request body: %v", shortErr(err))
		}
		return nil
	case ctype == fiber.MIMEApplicationForm || ctype == "":
		// A body without a type is read as a form, as Rack reads it.
		if tooManyArgs(body) {
			return errTooManyParams
		}
		c.Request().PostArgs().VisitAll(func(k, val []byte) {
			if err == nil {
				err = addParam(form, bounds, string(k), string(val))
			}
		})
	case ctype == fiber.MIMEMultipartForm:
		// Go's multipart reader, which fasthttp uses, already refuses more than 1,000 parts.
		mf, err2 := c.MultipartForm()
		if err2 != nil {
			return errorf(fiber.StatusBadRequest, "Malformed request body: %v", shortErr(err2))
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
				if err == nil {
					err = addParam(form, bounds, k, val)
				}
			}
		}
	default:
		return errorf(fiber.StatusUnsupportedMediaType, "Unsupported content type %q", c.Get(fiber.HeaderContentType))
	}
	if err != nil {
		return err
	}
	if err := fromParams(form, v); err != nil {
		return errorf(fiber.StatusBadRequest, "Malformed request body: %v", shortErr(err))
	}
	return nil
}

// flatParams decodes the request like decodeParams and lists its values under their Rails
// names, for handlers that look parameters up by name (see flatForm).
func flatParams(c *fiber.Ctx) (flatForm, error) {
	var m map[string]any
	if err := decodeParams(c, &m); err != nil {
		return nil, err
	}
	out := make(flatForm, len(m))
	for k, v := range m {
		flattenJSON(k, v, out)
	}
	return out, nil
}

// flattenJSON lists a decoded value under its Rails names: {"a":{"b":1}} as a[b], arrays of
// scalars as a[], arrays of objects as a[0][b].
func flattenJSON(key string, v any, out flatForm) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			flattenJSON(key+"["+k+"]", sub, out)
		}
	case []any:
		if len(x) == 0 {
			// An empty array is sent to clear a list, such as every profile field.
			if _, ok := out[key+"[]"]; !ok {
				out[key+"[]"] = nil
			}
		}
		for i, sub := range x {
			switch sub.(type) {
			case map[string]any, []any:
				flattenJSON(key+"["+strconv.Itoa(i)+"]", sub, out)
			default:
				flattenJSON(key+"[]", sub, out)
			}
		}
	case string:
		out[key] = append(out[key], x)
	case bool:
		out[key] = append(out[key], strconv.FormatBool(x))
	case float64:
		out[key] = append(out[key], strconv.FormatFloat(x, 'f', -1, 64))
	case nil:
		out[key] = append(out[key], "")
	}
}

// checkJSON walks a JSON body once, without building anything, and refuses one with more
// than maxParams members and elements, deeper than maxParamDepth, or with a string or other
// token longer than the value limit. It returns the body with escaped C0 control characters
// (\u0000, \b, ...; tab, newline and carriage return stay) removed from its strings, copying
// only when there are some; raw control characters are not valid JSON and fail to decode.
func checkJSON(b []byte, bounds *paramBounds) ([]byte, error) {
	depth, count := 0, 0
	var out []byte // the cleaned copy, once something had to be dropped
	copied := 0    // b[:copied] is in out already
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; ch {
		case '{', '[':
			if depth++; depth > maxParamDepth {
				return nil, errParamsTooDeep
			}
			count++
		case '}', ']':
			depth--
		case ',':
			count++
		case ' ', '\t', '\n', '\r', ':':
		case '"':
			start := i
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] != '\\' || i+1 >= len(b) {
					continue
				}
				if n := controlEscape(b[i:]); n > 0 {
					out = append(out, b[copied:i]...)
					copied = i + n
					i += n - 1
					continue
				}
				i++ // the escaped character
			}
			if i-start > bounds.valueLimit {
				return nil, bounds.errTooLong(string(b[start+1 : min(i, start+41)]))
			}
		default: // a number or literal: runs to the next delimiter
			start := i
			for i+1 < len(b) && !jsonDelimiter(b[i+1]) {
				i++
			}
			if i-start >= bounds.valueLimit {
				return nil, bounds.errTooLong("")
			}
		}
		if count > maxParams {
			return nil, errTooManyParams
		}
	}
	if out == nil {
		return b, nil
	}
	return append(out, b[copied:]...), nil
}

func jsonDelimiter(ch byte) bool {
	switch ch {
	case ',', ']', '}', ':', ' ', '\t', '\n', '\r', '"', '[', '{':
		return true
	}
	return false
}

// controlEscape is the length of the JSON escape at the start of b when it stands for a C0
// control character other than tab, newline and carriage return, and 0 otherwise.
func controlEscape(b []byte) int {
	switch {
	case len(b) >= 2 && (b[1] == 'b' || b[1] == 'f'):
		return 2
	case len(b) >= 6 && b[1] == 'u' && b[2] == '0' && b[3] == '0' && (b[4] == '0' || b[4] == '1'):
		n, err := strconv.ParseUint(string(b[4:6]), 16, 8)
		if err == nil && n != '\t' && n != '\n' && n != '\r' {
			return 6
		}
	}
	return 0
}

// fromParams decodes a parsed form into v through its JSON form.
func fromParams(params map[string]any, v any) error {
	b, err := json.Marshal(indexedToArrays(params))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// addParam stores one form field under its Rails name ("a", "a[]", "a[b]", "a[][b]", ...)
// once its bounds are checked and its text cleaned.
func addParam(root map[string]any, bounds *paramBounds, key, value string) error {
	if err := bounds.add(key, value); err != nil {
		return err
	}
	name, segs := splitParamKey(text.StripControls(key))
	if len(segs) > maxParamDepth {
		return errParamsTooDeep
	}
	if name != "" {
		setParam(root, name, segs, text.StripControls(value))
	}
	return nil
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
