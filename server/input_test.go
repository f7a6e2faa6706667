package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/scim"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
)

// badStrings are the strings every field must refuse, as JSON literals
// (raw bytes, so that no encoder repairs them first).
var badStrings = map[string]string{
	"invalid UTF-8":   "\"a\xffb\"",
	"lone surrogate":  `"a\ud800b"`,
	"NUL":             `"a\u0000b"`,
	"escape":          `"a\u001bb"`,
	"C1 control":      `"a\u0085b"`,
	"DEL":             "\"a\x7fb\"",
	"overlong string": `"` + strings.Repeat("a", maxStringRunes+1) + `"`,
}

// openAPIDoc is the part of server/openapi.json the walk reads.
type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*apiSchema `json:"schemas"`
	} `json:"components"`
}

type apiSchema struct {
	Ref        string                `json:"$ref"`
	Type       any                   `json:"type"`
	Properties map[string]*apiSchema `json:"properties"`
	Items      *apiSchema            `json:"items"`
	AllOf      []*apiSchema          `json:"allOf"`
	MaxLength  int                   `json:"maxLength"`
}

type apiOperation struct {
	Parameters []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	RequestBody struct {
		Content map[string]struct {
			Schema *apiSchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func (d openAPIDoc) resolve(s *apiSchema) *apiSchema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

func (s *apiSchema) is(typ string) bool {
	switch t := s.Type.(type) {
	case string:
		return t == typ
	case []any:
		return slices.Contains(t, any(typ))
	}
	return false
}

// stringFields lists the string values a schema takes, each with its
// path (as checkJSON names it) and a function that builds a body holding
// one JSON literal there.
type stringField struct {
	path string
	body func(lit string) string
}

func (d openAPIDoc) stringFields(s *apiSchema, path string, wrap func(string) string) []stringField {
	s = d.resolve(s)
	if s == nil {
		return nil
	}
	var out []stringField
	for _, sub := range s.AllOf {
		out = append(out, d.stringFields(sub, path, wrap)...)
	}
	switch {
	case s.is("string"):
		out = append(out, stringField{path, wrap})
	case s.is("array") && s.Items != nil:
		out = append(out, d.stringFields(s.Items, path+"[0]", func(lit string) string { return wrap("[" + lit + "]") })...)
	case s.Properties != nil:
		for name, p := range s.Properties {
			sub := name
			if path != "" {
				sub = path + "." + name
			}
			key, _ := json.Marshal(name)
			out = append(out, d.stringFields(p, sub, func(lit string) string { return wrap("{" + string(key) + ":" + lit + "}") })...)
		}
	}
	return out
}

// inputFixture is a server with every route (sign-in and the backup
// API), seeded, with a real id for every kind of path id.
func inputFixture(t *testing.T) (*authFixture, map[string]string) {
	t.Helper()
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := storage.Open(context.Background(), blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		t.Fatal(err)
	}
	f := newAuthFixture(t, func(_ *fixture, o *Options) {
		o.Data = data
		// Each request comes from its own address (walkFrom), so the
		// sign-in rate limit stays out of the walk.
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	s := f.seedData()
	w := f.do("POST", "/api/v1/tokens", map[string]any{"name": "walk"})
	var tok createdToken
	decode(t, w, &tok)
	ids := map[string]string{
		"administrators":      f.admin.ID,
		"roles":               s.role,
		"profiles":            s.profile,
		"users":               s.user,
		"Users":               s.user,
		"devices":             s.device,
		"backups":             s.device,
		"legal-hold-types":    s.customType,
		"legal-holds":         s.hold,
		"tokens":              tok.ID,
		"identity-providers":  "idp_none",
		"snapshots":           "snap_none",
		"types":               "sdt_none",
		"templates":           "sdtpl_none",
		"policies":            "sdpol_none",
		"reports":             "users",
		"report-schedules":    "sched_none",
		"alert-subscriptions": "asub_none",
		"activation-keys":     "akey_none",
		"device-commands":     "dcmd_none",
		"device-mappings":     "dmap_none",
	}
	return f, ids
}

// walkFrom returns headers of a request from an address of its own.
func walkFrom(n *int, header ...string) []string {
	*n++
	return append(header, "X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", *n>>16&255, *n>>8&255, *n&255))
}

// fillPath puts real ids into a route's path.
func fillPath(path string, ids map[string]string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p == "{id}" && i > 0 {
			parts[i] = ids[parts[i-1]]
		}
		if p == "{ref}" {
			parts[i] = strings.Repeat("ab", 32)
		}
	}
	return strings.Join(parts, "/")
}

// TestStrictInputOnEveryRoute walks every operation of the OpenAPI
// document (which TestOpenAPIDocumentsEveryRoute holds equal to the
// routes) and sends each bad string in each string member of its JSON
// body, each path id and each query parameter: every one is a 400 naming
// the field, and nothing changes.
func TestStrictInputOnEveryRoute(t *testing.T) {
	f, ids := inputFixture(t)
	doc := loadOpenAPI(t)
	before, auditBefore := f.snapshot()
	checked := 0
	for path, ops := range doc.Paths {
		for method, rawOp := range ops {
			if method == "parameters" {
				continue
			}
			method = strings.ToUpper(method)
			var op apiOperation
			if err := json.Unmarshal(rawOp, &op); err != nil {
				t.Fatal(err)
			}
			target := fillPath(path, ids)
			for ct, media := range op.RequestBody.Content {
				if ct != "application/json" && ct != scim.MediaType {
					continue
				}
				for _, field := range doc.stringFields(media.Schema, "", func(s string) string { return s }) {
					for name, lit := range badStrings {
						rule := ruleFor(field.path)
						if name == "overlong string" && rule.maxRunes > maxStringRunes {
							continue // bounded by the body limit, TestBodyLimits
						}
						if rule.controls == "data" && (name == "escape" || name == "C1 control" || name == "DEL") {
							continue // a file name may hold them (TestCheckJSONNamesNestedFields)
						}
						t.Run(method+" "+path+" "+field.path+" "+name, func(t *testing.T) {
							w := f.do(method, target, field.body(lit), walkFrom(&checked, "Content-Type", ct)...)
							assertFieldRefused(t, w, field.path)
						})
					}
				}
			}
			for _, wildcard := range pathWildcards(method + " " + path) {
				for name, val := range map[string]string{"invalid UTF-8": "%FF", "NUL": "%00", "overlong": strings.Repeat("a", maxIDBytes+1)} {
					t.Run(method+" "+path+" {"+wildcard+"} "+name, func(t *testing.T) {
						p := strings.Replace(path, "{"+wildcard+"}", val, 1)
						w := f.do(method, fillPath(p, ids), nil, walkFrom(&checked)...)
						assertFieldRefused(t, w, wildcard)
					})
				}
			}
			for _, p := range op.Parameters {
				if p.In != "query" {
					continue
				}
				for name, val := range map[string]string{"invalid UTF-8": "%FF", "NUL": "%00", "newline": "%0A", "overlong": strings.Repeat("a", maxQueryRunes+1)} {
					t.Run(method+" "+path+" ?"+p.Name+" "+name, func(t *testing.T) {
						w := f.do(method, target+"?"+url.QueryEscape(p.Name)+"="+val, nil, walkFrom(&checked)...)
						assertFieldRefused(t, w, p.Name)
					})
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d cases ran; the walk lost the OpenAPI document", checked)
	}
	after, auditAfter := f.snapshot()
	if after != before || len(auditAfter) != len(auditBefore) {
		t.Errorf("the store or the audit trail changed:\nbefore %s\nafter  %s\naudit %d -> %d", before, after, len(auditBefore), len(auditAfter))
	}
}

// assertFieldRefused asserts a 400 that names field: in the envelope's
// fields, or for SCIM in its detail.
func assertFieldRefused(t *testing.T, w interface {
	Result() *http.Response
}, field string) {
	t.Helper()
	res := w.Result()
	var body struct {
		Error  errorBody `json:"error"`
		Status string    `json:"status"`
		Detail string    `json:"detail"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("status %d, body not JSON: %v", res.StatusCode, err)
	}
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400: %+v %s", res.StatusCode, body.Error, body.Detail)
	}
	if body.Status != "" {
		if !strings.Contains(body.Detail, field+":") {
			t.Errorf("SCIM detail %q does not name %s", body.Detail, field)
		}
		return
	}
	for _, fe := range body.Error.Fields {
		if fe.Field == field {
			return
		}
	}
	t.Errorf("fields = %+v, want %s named", body.Error.Fields, field)
}

func TestCheckJSONNamesNestedFields(t *testing.T) {
	tests := []struct {
		body   string
		fields []string
	}{
		{`{"name":"ok","emails":[{"value":"a@b"},{"value":"x\u0000"}]}`, []string{"emails[1].value"}},
		{`{"a":{"b":["ok","\ud800"]}}`, []string{"a.b[1]"}},
		{`{"description":"two\nlines\tand a tab"}`, nil},
		{`{"name":"two\nlines"}`, []string{"name"}},
		{`{"items":[{"path":"odd\nname"},{"path":"nul\u0000"}]}`, []string{"items[1].path"}},
		{`{"name":"pair \ud83d\ude00 is fine","other":"\uFFFD is a character"}`, nil},
		{"{\"k\xff\":1}", []string{""}},
		{`["a","\u0007"]`, []string{"[1]"}},
	}
	for _, tt := range tests {
		err := checkJSON([]byte(tt.body))
		var got []string
		var v *holdfast.ValidationError
		if err != nil {
			if !asValidation(err, &v) {
				t.Fatalf("%s: %v is not a ValidationError", tt.body, err)
			}
			for _, fe := range v.Fields {
				got = append(got, fe.Field)
			}
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("checkJSON(%s) fields = %q, want %q", tt.body, got, tt.fields)
		}
	}
}

func asValidation(err error, v **holdfast.ValidationError) bool { return errors.As(err, v) }

// bodyLimits are the routes whose body may be larger than maxBodyBytes.
var bodyLimits = map[string]int{
	"POST /api/v1/backups/{id}/snapshots":             maxManifestBody,
	"POST /api/v1/backups/{id}/missing":               maxRefsBody,
	"PUT /api/v1/backups/{id}/chunks/{ref}":           storage.MaxChunk,
	"POST /api/v1/backups/{id}/chunks":                maxChunkBatch,
	"POST /api/v1/snapshots/{id}/restore":             maxManifestBody,
	"POST /api/v1/legal-holds/{id}/custodians/import": legalhold.MaxCSVBytes,
}

// TestBodyLimitsOnEveryRoute sends every operation that takes a body one
// byte more than its limit, in each content type it takes: each is a 413,
// and nothing changes.
func TestBodyLimitsOnEveryRoute(t *testing.T) {
	f, ids := inputFixture(t)
	doc := loadOpenAPI(t)
	before, auditBefore := f.snapshot()
	n := 0
	for path, ops := range doc.Paths {
		for method, rawOp := range ops {
			if method == "parameters" {
				continue
			}
			method = strings.ToUpper(method)
			var op apiOperation
			if err := json.Unmarshal(rawOp, &op); err != nil {
				t.Fatal(err)
			}
			limit, ok := bodyLimits[method+" "+path]
			if !ok {
				limit = maxBodyBytes
			}
			if method+" "+path == "POST "+holdfast.SAMLACSPath {
				continue // a browser's form post: TestSAMLReplayRefused sees its oversized body refused
			}
			for ct := range op.RequestBody.Content {
				var body string
				switch ct {
				case "application/x-www-form-urlencoded":
					body = "email=" + strings.Repeat("a", limit)
				case "text/csv":
					body = "email\n" + strings.Repeat("a", limit)
				case "application/octet-stream":
					body = strings.Repeat("a", limit+1)
				default:
					body = `{"name":"` + strings.Repeat("a", limit) + `"}`
				}
				t.Run(method+" "+path+" "+ct, func(t *testing.T) {
					w := f.do(method, fillPath(path, ids), body, walkFrom(&n, "Content-Type", ct)...)
					if w.Code != http.StatusRequestEntityTooLarge {
						t.Errorf("status = %d, want 413: %.300s", w.Code, w.Body)
					}
				})
			}
		}
	}
	after, auditAfter := f.snapshot()
	if after != before || len(auditAfter) != len(auditBefore) {
		t.Errorf("the store or the audit trail changed")
	}
}
