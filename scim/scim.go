// Package scim serves SCIM 2.0 (RFC 7643/7644) provisioning of the users
// that backups and legal holds refer to, at /scim/v2, over
// directory.Service: every call is decided like its /api/v1/users
// counterpart. A DELETE preserves the user (its data is kept), never
// removes it. The server authenticates the caller (an API token as a
// bearer token, and nothing else) and mounts Handler.Routes; errors are
// mapped by the server's one table and written in SCIM's error format.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/httpapi"
)

// The SCIM schema URNs and media type of RFC 7643/7644.
const (
	UserSchema   = "urn:ietf:params:scim:schemas:core:2.0:User"
	ListSchema   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchSchema  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorSchema  = "urn:ietf:params:scim:api:messages:2.0:Error"
	MediaType    = "application/scim+json"
	scimMaxCount = 200
)

// scimError is a SCIM-specific refusal with its scimType; the error it
// wraps decides the status.
type scimError struct {
	scimType string
	err      error
}

func (e *scimError) Error() string { return e.err.Error() }
func (e *scimError) Unwrap() error { return e.err }

func scimInvalid(scimType, format string, args ...any) error {
	return &scimError{scimType: scimType, err: fmt.Errorf("%w: %s", httpapi.ErrBadRequest, fmt.Sprintf(format, args...))}
}

// Handler serves SCIM over a directory service. It is safe for
// concurrent use.
type Handler struct {
	dir  *directory.Service
	edge httpapi.Edge
}

// New returns the SCIM handler over dir, mounted in edge.
func New(dir *directory.Service, edge httpapi.Edge) *Handler {
	return &Handler{dir: dir, edge: edge}
}

// Route is one SCIM route: a ServeMux pattern and its handler, which
// expects the authenticated principal in the request's context.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Routes is the route table of SCIM.
func (h *Handler) Routes() []Route {
	return []Route{
		h.route("GET /scim/v2/Users", h.listUsers),
		h.route("POST /scim/v2/Users", h.createUser),
		h.route("GET /scim/v2/Users/{id}", h.getUser),
		h.route("PUT /scim/v2/Users/{id}", h.replaceUser),
		h.route("PATCH /scim/v2/Users/{id}", h.patchUser),
		h.route("DELETE /scim/v2/Users/{id}", h.deleteUser),
		h.route("GET /scim/v2/ServiceProviderConfig", h.serviceProviderConfig),
		h.route("GET /scim/v2/ResourceTypes", h.resourceTypes),
		h.route("GET /scim/v2/Schemas", h.schemas),
	}
}

// route adapts fn, writing its error in SCIM's error format.
func (h *Handler) route(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) Route {
	return Route{Pattern: pattern, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.WriteError(w, r, err)
		}
	})}
}

// WriteError writes err as a SCIM error; the status comes from the
// server's one error table, and a 5xx is the server's envelope (logged
// once, with its request id).
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := h.edge.Describe(r, err)
	if status >= 500 {
		h.edge.WriteError(w, r, err)
		return
	}
	out := map[string]any{"schemas": []string{ErrorSchema}, "status": strconv.Itoa(status), "detail": msg}
	var se *scimError
	switch {
	case errors.As(err, &se):
		out["scimType"] = se.scimType
	case errors.Is(err, holdfast.ErrInvalid):
		out["scimType"] = "invalidValue"
	}
	_ = writeSCIM(w, status, out)
}

func writeSCIM(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// decode reads a SCIM body (application/scim+json or JSON). Unknown
// attributes are ignored, as SCIM clients send many we do not keep.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != MediaType && mt != "application/json") {
			return fmt.Errorf("%w: content type %q is not %s", httpapi.ErrBadRequest, ct, MediaType)
		}
	}
	return h.edge.ReadJSON(w, r, v)
}

// User is a User resource as SCIM shows and takes it.
type User struct {
	Schemas     []string `json:"schemas"`
	ID          string   `json:"id,omitempty"`
	ExternalID  string   `json:"externalId,omitempty"`
	UserName    string   `json:"userName"`
	Name        *Name    `json:"name,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Emails      []Email  `json:"emails,omitempty"`
	Active      *Bool    `json:"active,omitempty"`
	Meta        *Meta    `json:"meta,omitempty"`
}

// Name is a User's name.
type Name struct {
	Formatted  string `json:"formatted,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

// Email is one of a User's emails.
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// Meta is a resource's meta attribute.
type Meta struct {
	ResourceType string    `json:"resourceType"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Location     string    `json:"location"`
	Version      string    `json:"version"`
}

// Bool is a boolean that also reads "True"/"False" strings (as
// Microsoft Entra sends them).
type Bool bool

// UnmarshalJSON reads a JSON boolean or "true"/"false" in any case.
func (b *Bool) UnmarshalJSON(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	ok, err := parseSCIMBool(v)
	if err != nil {
		return err
	}
	*b = Bool(ok)
	return nil
}

func parseSCIMBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, scimInvalid("invalidValue", "active must be a boolean")
}

// displayName returns the name to store for in.
func (in User) displayName() string {
	switch {
	case strings.TrimSpace(in.DisplayName) != "":
		return in.DisplayName
	case in.Name != nil && strings.TrimSpace(in.Name.Formatted) != "":
		return in.Name.Formatted
	case in.Name != nil && strings.TrimSpace(in.Name.GivenName+in.Name.FamilyName) != "":
		return strings.TrimSpace(in.Name.GivenName + " " + in.Name.FamilyName)
	}
	return in.UserName
}

func (h *Handler) toSCIM(r *http.Request, u holdfast.User) User {
	active := Bool(u.State == holdfast.UserActive)
	loc := h.edge.BaseURL(r) + "/scim/v2/Users/" + u.ID
	return User{Schemas: []string{UserSchema}, ID: u.ID, ExternalID: u.ExternalID, UserName: u.Email,
		Name: &Name{Formatted: u.Name}, DisplayName: u.Name,
		Emails: []Email{{Value: u.Email, Type: "work", Primary: true}}, Active: &active,
		Meta: &Meta{ResourceType: "User", Created: u.CreatedAt, LastModified: u.UpdatedAt, Location: loc,
			Version: fmt.Sprintf(`W/"%d"`, u.UpdatedAt.UnixMicro())}}
}

// scimFilter reads the one filter form supported: `userName eq "x"` or
// `externalId eq "x"` (attribute names case-insensitive).
func scimFilter(f string) (attr, value string, err error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return "", "", nil
	}
	parts := strings.SplitN(f, " ", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[1], "eq") {
		return "", "", scimInvalid("invalidFilter", "only `userName eq \"value\"` and `externalId eq \"value\"` filters are supported")
	}
	attr = strings.ToLower(parts[0])
	if attr != "username" && attr != "externalid" {
		return "", "", scimInvalid("invalidFilter", "cannot filter on %q", parts[0])
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(parts[2])), &value); err != nil {
		return "", "", scimInvalid("invalidFilter", "the filter value must be a quoted string")
	}
	return attr, value, nil
}

// listUsers serves GET /scim/v2/Users?filter=&startIndex=&count=
// (users.view): the users in the caller's scope, by name.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	uq, start, count, err := scimListQuery(q)
	if err != nil {
		return err
	}
	users, total, err := h.dir.ListUsersAt(ctx, principal(ctx), uq, start, count)
	if err != nil {
		return err
	}
	page := make([]User, 0, len(users))
	for _, u := range users {
		page = append(page, h.toSCIM(r, u))
	}
	return writeSCIM(w, http.StatusOK, map[string]any{"schemas": []string{ListSchema}, "totalResults": total,
		"startIndex": start, "itemsPerPage": len(page), "Resources": page})
}

// scimListQuery reads the filter, startIndex (from 1) and count (at most
// scimMaxCount) of a list request.
func scimListQuery(q url.Values) (uq directory.UserQuery, start, count int, err error) {
	attr, value, err := scimFilter(q.Get("filter"))
	if err != nil {
		return uq, 0, 0, err
	}
	switch attr {
	case "username":
		uq.Email = strings.ToLower(value)
	case "externalid":
		uq.ExternalID = value
	}
	start, count = 1, 100
	if v := q.Get("startIndex"); v != "" {
		if start, err = strconv.Atoi(v); err != nil {
			return uq, 0, 0, scimInvalid("invalidValue", "startIndex must be a number")
		}
		start = max(start, 1)
	}
	if v := q.Get("count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil {
			return uq, 0, 0, scimInvalid("invalidValue", "count must be a number")
		}
		count = min(max(count, 0), scimMaxCount)
	}
	return uq, start, count, nil
}

// getUser serves GET /scim/v2/Users/{id} (users.view).
func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.dir.GetUser(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeSCIM(w, http.StatusOK, h.toSCIM(r, u))
}

// createUser serves POST /scim/v2/Users (users.create_import): the
// user lands in the Default profile; created inactive, it is preserved
// at once.
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in User
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	email := in.UserName
	for _, e := range in.Emails {
		if e.Primary && strings.TrimSpace(e.Value) != "" && !strings.Contains(email, "@") {
			email = e.Value
		}
	}
	u, err := h.dir.ProvisionUser(ctx, principal(ctx), directory.NewUser{Email: email, Name: in.displayName(),
		ExternalID: in.ExternalID, Via: "scim"}, in.Active == nil || bool(*in.Active))
	if errors.Is(err, holdfast.ErrConflict) {
		return &scimError{scimType: "uniqueness", err: fmt.Errorf("%w: a user with userName %q exists", holdfast.ErrConflict, email)}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.edge.BaseURL(r)+"/scim/v2/Users/"+u.ID)
	return writeSCIM(w, http.StatusCreated, h.toSCIM(r, u))
}

// replaceUser serves PUT /scim/v2/Users/{id} (users.manage):
// displayName, externalId and active are replaced; userName is the
// user's email and cannot change.
func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in User
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	cur, err := h.dir.GetUser(ctx, principal(ctx), id)
	if err != nil {
		return err
	}
	if in.UserName != "" && !strings.EqualFold(strings.TrimSpace(in.UserName), cur.Email) {
		return scimInvalid("mutability", "userName cannot change")
	}
	name, ext := in.displayName(), in.ExternalID
	if in.UserName == "" && in.DisplayName == "" && in.Name == nil {
		name = cur.Name
	}
	u, err := h.sync(ctx, cur, directory.UserSync{Name: &name, ExternalID: &ext, Active: (*bool)(in.Active)})
	if err != nil {
		return err
	}
	return writeSCIM(w, http.StatusOK, h.toSCIM(r, u))
}

// scimPatchOp is one operation of a PATCH.
type scimPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchUser serves PATCH /scim/v2/Users/{id} (users.manage): replace
// or add of active, displayName, name.formatted and externalId, with or
// without a path; op names in any case.
func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in struct {
		Schemas    []string      `json:"schemas"`
		Operations []scimPatchOp `json:"Operations"`
	}
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	if len(in.Operations) == 0 {
		return scimInvalid("invalidSyntax", "no Operations")
	}
	cur, err := h.dir.GetUser(ctx, principal(ctx), id)
	if err != nil {
		return err
	}
	sync, err := scimPatchSync(cur, in.Operations)
	if err != nil {
		return err
	}
	u, err := h.sync(ctx, cur, sync)
	if err != nil {
		return err
	}
	return writeSCIM(w, http.StatusOK, h.toSCIM(r, u))
}

// scimPatchSync reads the operations of a PATCH of user cur.
func scimPatchSync(cur holdfast.User, ops []scimPatchOp) (directory.UserSync, error) {
	var sync directory.UserSync
	for _, op := range ops {
		switch strings.ToLower(op.Op) {
		case "replace", "add":
		default:
			return sync, scimInvalid("invalidSyntax", "op %q is not supported (replace or add)", op.Op)
		}
		if op.Path != "" {
			if err := scimPatchSet(&sync, cur, op.Path, op.Value); err != nil {
				return sync, err
			}
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(op.Value, &obj); err != nil {
			return sync, scimInvalid("invalidValue", "without a path, value must be an object")
		}
		for k, v := range obj {
			if err := scimPatchSet(&sync, cur, k, v); err != nil {
				return sync, err
			}
		}
	}
	return sync, nil
}

// scimPatchSet applies one attribute of a PATCH to sync.
func scimPatchSet(sync *directory.UserSync, cur holdfast.User, path string, raw json.RawMessage) error {
	switch strings.ToLower(path) {
	case "active":
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return scimInvalid("invalidValue", "active must be a boolean")
		}
		b, err := parseSCIMBool(v)
		if err != nil {
			return err
		}
		sync.Active = &b
	case "displayname", "name.formatted", "externalid":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return scimInvalid("invalidValue", "%s must be a string", path)
		}
		if strings.ToLower(path) == "externalid" {
			sync.ExternalID = &v
		} else {
			sync.Name = &v
		}
	case "name":
		var n Name
		if err := json.Unmarshal(raw, &n); err != nil {
			return scimInvalid("invalidValue", "name must be an object")
		}
		if strings.TrimSpace(n.Formatted) != "" {
			sync.Name = &n.Formatted
		}
	case "username":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || !strings.EqualFold(strings.TrimSpace(v), cur.Email) {
			return scimInvalid("mutability", "userName cannot change")
		}
	default:
		if !scimIgnored(path) {
			return scimInvalid("invalidPath", "cannot change %q", path)
		}
	}
	return nil
}

// scimIgnored reports whether path is a core or enterprise User
// attribute Holdfast does not keep: provisioning clients (Entra, Okta)
// send them with every change, and refusing them would stop the sync.
func scimIgnored(path string) bool {
	p := strings.ToLower(path)
	for _, prefix := range []string{"name.", "emails", "phonenumbers", "addresses", "title", "nickname", "profileurl",
		"usertype", "preferredlanguage", "locale", "timezone", "photos", "x509certificates", "roles", "entitlements",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// scimSync applies in to user cur through the directory service; a
// deleted user asked to be active is SCIM's mutability refusal (it is
// restored through the API, not SCIM).
func (h *Handler) sync(ctx context.Context, cur holdfast.User, in directory.UserSync) (holdfast.User, error) {
	u, err := h.dir.SyncUser(ctx, principal(ctx), cur, in)
	if errors.Is(err, holdfast.ErrConflict) && cur.State == holdfast.UserDeleted {
		return u, &scimError{scimType: "mutability", err: err}
	}
	return u, err
}

// deleteUser serves DELETE /scim/v2/Users/{id} (users.manage): the
// user is preserved, so its backups and any legal hold over it stay.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.dir.DeprovisionUser(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	return writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":        []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":          map[string]bool{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": scimMaxCount},
		"changePassword": map[string]bool{"supported": false},
		"sort":           map[string]bool{"supported": false},
		"etag":           map[string]bool{"supported": false},
		"authenticationSchemes": []map[string]any{{"type": "oauthbearertoken", "name": "API token",
			"description": "A Holdfast API token as Authorization: Bearer", "primary": true}},
		"meta": map[string]string{"resourceType": "ServiceProviderConfig", "location": h.edge.BaseURL(r) + "/scim/v2/ServiceProviderConfig"},
	})
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request) error {
	return writeSCIM(w, http.StatusOK, map[string]any{"schemas": []string{ListSchema}, "totalResults": 1,
		"startIndex": 1, "itemsPerPage": 1, "Resources": []map[string]any{{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "User", "name": "User",
			"endpoint": "/Users", "schema": UserSchema,
			"meta": map[string]string{"resourceType": "ResourceType", "location": h.edge.BaseURL(r) + "/scim/v2/ResourceTypes/User"}}}})
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request) error {
	attr := func(name, typ string, required bool, mutability, uniqueness string) map[string]any {
		return map[string]any{"name": name, "type": typ, "multiValued": false, "required": required,
			"caseExact": false, "mutability": mutability, "returned": "default", "uniqueness": uniqueness}
	}
	return writeSCIM(w, http.StatusOK, map[string]any{"schemas": []string{ListSchema}, "totalResults": 1,
		"startIndex": 1, "itemsPerPage": 1, "Resources": []map[string]any{{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": UserSchema, "name": "User",
			"attributes": []map[string]any{
				attr("userName", "string", true, "immutable", "server"),
				attr("displayName", "string", false, "readWrite", "none"),
				attr("externalId", "string", false, "readWrite", "none"),
				attr("active", "boolean", false, "readWrite", "none"),
			},
			"meta": map[string]string{"resourceType": "Schema", "location": h.edge.BaseURL(r) + "/scim/v2/Schemas/" + UserSchema}}}})
}

// principal is the caller the server authenticated.
func principal(ctx context.Context) holdfast.Principal {
	p, _ := holdfast.PrincipalFrom(ctx)
	return p
}
