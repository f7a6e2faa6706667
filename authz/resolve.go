package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/policies"
)

// refusal is a request the engine denies before evaluating policy: the
// resource does not exist in the subject's account, or the request's
// properties are malformed. Its reason never tells whether something exists
// in another account.
type refusal struct {
	rule, reason string
}

func (r *refusal) Error() string { return r.reason }

func notFound(kind, id string) error {
	return &refusal{rule: "resource.not_found", reason: fmt.Sprintf("%s %q not found", kind, id)}
}

func invalid(format string, args ...any) error {
	return &refusal{rule: "request.invalid", reason: fmt.Sprintf(format, args...)}
}

// resolver looks up every attribute a decision needs, from live data.
type resolver struct {
	store reader
	cat   *policies.Catalog
	g     *grantTable
}

// subject finds the administrator by email or id, confined to accountID
// when it is set.
func (r resolver) subject(ctx context.Context, accountID, id string) (holdfast.Administrator, error) {
	if id == "" {
		return holdfast.Administrator{}, holdfast.ErrNotFound
	}
	if strings.Contains(id, "@") {
		a, err := r.store.GetAdminByEmail(ctx, id)
		if err != nil {
			return a, err
		}
		if accountID != "" && a.AccountID != accountID {
			return holdfast.Administrator{}, holdfast.ErrNotFound
		}
		return a, nil
	}
	if accountID == "" {
		return holdfast.Administrator{}, holdfast.ErrNotFound
	}
	return r.store.GetAdmin(ctx, accountID, id)
}

// roleInfo is a resolved role.
type roleInfo struct {
	holdfast.Role
	base      string // catalog role id, or policies.CustomRoleID
	casbinSub string // the Casbin subject holding its grants
}

func (ri roleInfo) object() map[string]any {
	return map[string]any{
		"id":         ri.ID,
		"name":       ri.Name,
		"product":    string(ri.Product),
		"scope":      nonNil(ri.Scope),
		"predefined": ri.Predefined,
		"base":       ri.base,
		"rights":     nonNil(ri.Rights),
	}
}

// CasbinSubject is the Casbin subject that holds a role's grants in an
// account: the role id, or "<account>:<role>" for an account's edit of a
// predefined role.
func CasbinSubject(accountID, roleID string, override bool) string {
	if override {
		return accountID + ":" + roleID
	}
	return roleID
}

// role resolves a role id in the account: a catalog role (possibly edited
// by the account) or one of its custom roles. Missing: ErrNotFound.
func (r resolver) role(ctx context.Context, accountID, id string) (roleInfo, error) {
	if id == "" || id == customRoleID {
		return roleInfo{}, fmt.Errorf("role %q: %w", id, holdfast.ErrNotFound)
	}
	stored, err := r.store.GetRole(ctx, accountID, id)
	if err != nil && !errors.Is(err, holdfast.ErrNotFound) {
		return roleInfo{}, err
	}
	found := err == nil
	var ri roleInfo
	if cr, ok := r.cat.Role(id); ok {
		ri.Role = holdfast.Role{ID: cr.ID, Name: cr.Name, Description: cr.Description, Product: cr.Product,
			Scope: cr.Scope, Predefined: true}
		ri.base = cr.ID
		ri.casbinSub = id
		if found && stored.OverrideOf == id {
			ri.casbinSub = CasbinSubject(accountID, id, true)
			ri.OverrideOf = id
			ri.AccountID = accountID
			if stored.Description != "" {
				ri.Description = stored.Description
			}
			ri.CreatedAt, ri.UpdatedAt, ri.CreatedBy = stored.CreatedAt, stored.UpdatedAt, stored.CreatedBy
		}
	} else if found {
		custom, _ := r.cat.Role(customRoleID)
		ri.Role = stored
		ri.Predefined = false
		ri.Product = holdfast.ProductInSync
		ri.Scope = custom.Scope
		ri.base = customRoleID
		ri.casbinSub = stored.ID
	} else {
		return roleInfo{}, fmt.Errorf("role %q: %w", id, holdfast.ErrNotFound)
	}
	rights, err := r.g.rightsFor(ri.casbinSub, accountID)
	if err != nil {
		return roleInfo{}, err
	}
	ri.Rights = rights
	return ri, nil
}

// customRoleID is the catalog's pseudo-role describing custom roles.
const customRoleID = policies.CustomRoleID

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func scopesObject(s holdfast.Scopes) map[string]any {
	return map[string]any{
		"all_profiles":         s.AllProfiles,
		"profiles":             nonNil(s.Profiles),
		"all_workloads":        s.AllWorkloads,
		"workloads":            nonNil(s.Workloads),
		"all_legal_hold_types": s.AllLegalHoldTypes,
		"legal_hold_types":     nonNil(s.LegalHoldTypes),
		"organizations":        nonNil(s.Organizations),
		"admin_groups":         nonNil(s.AdminGroups),
	}
}

// input builds the policy input for req, made by admin in acct.
func (r resolver) input(ctx context.Context, acct holdfast.Account, admin holdfast.Administrator, req holdfast.DecisionRequest) (map[string]any, error) {
	role, err := r.role(ctx, acct.ID, admin.RoleID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return nil, &refusal{rule: "subject.role_unknown", reason: fmt.Sprintf("role %q of the administrator does not exist", admin.RoleID)}
	}
	if err != nil {
		return nil, err
	}
	resource, err := r.resource(ctx, acct, admin, req.Resource)
	if err != nil {
		return nil, err
	}
	props, err := canonicalDoc("action properties", req.Action.Properties)
	if err != nil {
		return nil, err
	}
	reqContext, err := canonicalDoc("context", req.Context)
	if err != nil {
		return nil, err
	}
	action := map[string]any{"name": req.Action.Name, "properties": props}
	return map[string]any{
		"account":  accountAttrs(acct),
		"subject":  subjectAttrs(admin, role),
		"action":   action,
		"resource": resource,
		"context":  reqContext,
	}, nil
}

func accountAttrs(acct holdfast.Account) map[string]any {
	return map[string]any{"id": acct.ID, "edition": string(acct.Edition), "addons": nonNil(acct.Addons)}
}

// resource resolves the attributes of the request's resource. Stored
// attributes win over the caller's properties; only the properties that
// describe a change or a new resource are taken from the caller.
func (r resolver) resource(ctx context.Context, acct holdfast.Account, admin holdfast.Administrator, ent holdfast.Entity) (map[string]any, error) {
	out := map[string]any{"type": string(ent.Type), "id": ent.ID, "exists": ent.ID != ""}
	var err error
	switch ent.Type {
	case holdfast.ResourceUser, holdfast.ResourceDevice:
		err = r.memberResource(ctx, acct.ID, ent, out)
	case holdfast.ResourceProfile:
		err = r.profileResource(ctx, acct.ID, ent, out)
	case holdfast.ResourceLegalHold:
		err = r.holdResource(ctx, acct.ID, ent, out)
	case holdfast.ResourceLegalHoldType:
		if ent.ID != "" {
			err = r.checkHoldType(ctx, acct.ID, ent.ID)
		}
	case holdfast.ResourceAdministrator:
		err = r.adminAttrs(ctx, acct, admin, ent, out)
	case holdfast.ResourceRole:
		err = r.roleAttrs(ctx, acct, ent, out)
	case holdfast.ResourceReport, holdfast.ResourceSettings, holdfast.ResourceAccount:
		err = r.accountWideResource(ctx, acct, ent, out)
	default:
		return nil, invalid("unknown resource type %q", ent.Type)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// memberResource fills a user or a device: stored, or about to be created.
func (r resolver) memberResource(ctx context.Context, accountID string, ent holdfast.Entity, out map[string]any) error {
	if ent.ID == "" {
		return r.newMember(ctx, accountID, ent.Properties, out)
	}
	userID, workload := ent.ID, ""
	if ent.Type == holdfast.ResourceDevice {
		d, err := r.store.GetDevice(ctx, accountID, ent.ID)
		if errors.Is(err, holdfast.ErrNotFound) {
			return notFound("device", ent.ID)
		}
		if err != nil {
			return err
		}
		userID, workload = d.UserID, d.Workload
	}
	u, err := r.store.GetUser(ctx, accountID, userID)
	if errors.Is(err, holdfast.ErrNotFound) && ent.Type == holdfast.ResourceUser {
		return notFound("user", ent.ID)
	}
	if err != nil {
		if ent.Type == holdfast.ResourceDevice {
			return fmt.Errorf("authz: user of device %s: %w", ent.ID, err)
		}
		return err
	}
	if ent.Type == holdfast.ResourceDevice {
		out["user_id"] = u.ID
	}
	return r.userAttrs(ctx, accountID, u, workload, out)
}

func (r resolver) profileResource(ctx context.Context, accountID string, ent holdfast.Entity, out map[string]any) error {
	if ent.ID == "" {
		return nil
	}
	p, err := r.store.GetProfile(ctx, accountID, ent.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return notFound("profile", ent.ID)
	}
	if err != nil {
		return err
	}
	maps.Copy(out, profileAttrs(p))
	return nil
}

// holdResource fills a legal hold: stored (and possibly moved to another
// type), or about to be created with a type.
func (r resolver) holdResource(ctx context.Context, accountID string, ent holdfast.Entity, out map[string]any) error {
	props := ent.Properties
	if ent.ID == "" {
		typeID, err := stringProp(props, "type_id")
		if err != nil {
			return err
		}
		out["type_id"] = typeID
		return r.checkHoldType(ctx, accountID, typeID)
	}
	h, err := r.store.GetHold(ctx, accountID, ent.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return notFound("legal hold", ent.ID)
	}
	if err != nil {
		return err
	}
	maps.Copy(out, holdAttrs(h))
	// An edit may move the hold to another type: both must be in scope.
	if newType, ok := props["new_type_id"]; ok {
		s, isString := newType.(string)
		if !isString {
			return invalid("resource property new_type_id must be a string")
		}
		out["new_type_id"] = s
		return r.checkHoldType(ctx, accountID, s)
	}
	return nil
}

// accountWideResource fills a report, the settings or the account, which
// may be limited to one profile.
func (r resolver) accountWideResource(ctx context.Context, acct holdfast.Account, ent holdfast.Entity, out map[string]any) error {
	if ent.Type == holdfast.ResourceAccount && ent.ID != "" && ent.ID != acct.ID {
		return notFound("account", ent.ID)
	}
	pid, err := stringProp(ent.Properties, "profile_id")
	if err != nil || pid == "" {
		return err
	}
	p, err := r.store.GetProfile(ctx, acct.ID, pid)
	if errors.Is(err, holdfast.ErrNotFound) {
		return notFound("profile", pid)
	}
	if err != nil {
		return err
	}
	maps.Copy(out, profileAttrs(p))
	return nil
}

func (r resolver) checkHoldType(ctx context.Context, accountID, typeID string) error {
	if typeID == "" {
		return nil
	}
	if _, err := r.store.GetHoldType(ctx, accountID, typeID); errors.Is(err, holdfast.ErrNotFound) {
		return notFound("legal hold type", typeID)
	} else if err != nil {
		return err
	}
	return nil
}

// newMember fills the attributes of a user or device about to be created:
// its profile and workload, which scope rules check.
func (r resolver) newMember(ctx context.Context, accountID string, props map[string]any, out map[string]any) error {
	pid, err := stringProp(props, "profile_id")
	if err != nil {
		return err
	}
	workload, err := stringProp(props, "workload")
	if err != nil {
		return err
	}
	if uid, err := stringProp(props, "user_id"); err != nil {
		return err
	} else if uid != "" {
		// A device for an existing user takes that user's profile and holds.
		u, err := r.store.GetUser(ctx, accountID, uid)
		if errors.Is(err, holdfast.ErrNotFound) {
			return notFound("user", uid)
		}
		if err != nil {
			return err
		}
		out["user_id"] = u.ID
		return r.userAttrs(ctx, accountID, u, workload, out)
	}
	if pid != "" {
		p, err := r.store.GetProfile(ctx, accountID, pid)
		if errors.Is(err, holdfast.ErrNotFound) {
			return notFound("profile", pid)
		}
		if err != nil {
			return err
		}
		maps.Copy(out, newMemberProfileAttrs(p))
	}
	if workload != "" {
		maps.Copy(out, workloadAttrs(workload))
	}
	out["holds"] = []any{}
	return nil
}

// userAttrs reads what memberAttrs needs of user u. For a device, workload
// is the device's own and the only one that counts.
func (r resolver) userAttrs(ctx context.Context, accountID string, u holdfast.User, workload string, out map[string]any) error {
	p, err := r.store.GetProfile(ctx, accountID, u.ProfileID)
	if err != nil {
		return fmt.Errorf("authz: profile of user %s: %w", u.ID, err)
	}
	var deviceWorkloads []string
	if workload == "" {
		devices, err := r.store.ListDevices(ctx, accountID, u.ID)
		if err != nil {
			return fmt.Errorf("authz: devices of user %s: %w", u.ID, err)
		}
		for _, d := range devices {
			deviceWorkloads = append(deviceWorkloads, d.Workload)
		}
	}
	holds, err := r.store.HoldsForUser(ctx, accountID, u.ID)
	if err != nil {
		return fmt.Errorf("authz: holds of user %s: %w", u.ID, err)
	}
	maps.Copy(out, memberAttrs(u, p, deviceWorkloads, holds, workload))
	return nil
}

// adminAttrs fills an administrator resource: its role and scopes (stored,
// or requested for a new one) and the requested changes.
func (r resolver) adminAttrs(ctx context.Context, acct holdfast.Account, subject holdfast.Administrator, ent holdfast.Entity, out map[string]any) error {
	if ent.ID == "" {
		return r.newAdminAttrs(ctx, acct.ID, ent.Properties, out)
	}
	target, err := r.store.GetAdmin(ctx, acct.ID, ent.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return notFound("administrator", ent.ID)
	}
	if err != nil {
		return err
	}
	out["self"] = target.ID == subject.ID
	out["roles_requested"] = 1
	var assignment map[string]any
	if target.RoleID != "" {
		if assignment, err = r.assignment(ctx, acct.ID, target.RoleID, true); err != nil {
			return err
		}
	}
	maps.Copy(out, adminTargetAttrs(target, assignment))
	return r.adminChanges(ctx, acct.ID, ent.Properties, out)
}

// assignment resolves roleID as the role of an administrator (existing:
// the target itself is not one of the other holders).
func (r resolver) assignment(ctx context.Context, accountID, roleID string, existing bool) (map[string]any, error) {
	ri, err := r.role(ctx, accountID, roleID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return nil, notFound("role", roleID)
	}
	if err != nil {
		return nil, err
	}
	holders := 0
	if r.counted(ri) {
		if holders, err = r.store.CountAdminsWithRole(ctx, accountID, ri.ID); err != nil {
			return nil, err
		}
		if existing {
			holders--
		}
	}
	return r.assignmentAttrs(ri, holders), nil
}

// newAdminAttrs fills an administrator about to be created: the role(s)
// and scopes the request names.
func (r resolver) newAdminAttrs(ctx context.Context, accountID string, props map[string]any, out map[string]any) error {
	out["self"] = false
	out["first_admin"] = false
	requested := 1
	roleID, err := stringProp(props, "role")
	if err != nil {
		return err
	}
	if roles, ok := props["roles"]; ok {
		list, ok := roles.([]any)
		if !ok {
			return invalid("resource property roles must be a list of role ids")
		}
		requested = len(list)
		if len(list) >= 1 {
			if roleID, ok = list[0].(string); !ok {
				return invalid("resource property roles must be a list of role ids")
			}
		}
	} else if roleID == "" {
		requested = 0
	}
	scopes, err := scopesProp(props, "scopes")
	if err != nil {
		return err
	}
	out["roles_requested"] = requested
	out["scopes"] = scopesObject(scopes)
	if roleID == "" {
		return nil
	}
	assignment, err := r.assignment(ctx, accountID, roleID, false)
	if err != nil {
		return err
	}
	maps.Copy(out, assignment)
	return nil
}

// adminChanges fills the role and scopes an edit of an administrator asks for.
func (r resolver) adminChanges(ctx context.Context, accountID string, props map[string]any, out map[string]any) error {
	if newRole, err := stringProp(props, "new_role"); err != nil {
		return err
	} else if newRole != "" {
		ri, err := r.role(ctx, accountID, newRole)
		if errors.Is(err, holdfast.ErrNotFound) {
			return notFound("role", newRole)
		}
		if err != nil {
			return err
		}
		out["new_role"] = ri.object()
	}
	if _, ok := props["new_scopes"]; ok {
		s, err := scopesProp(props, "new_scopes")
		if err != nil {
			return err
		}
		out["new_scopes"] = scopesObject(s)
	}
	return nil
}

// roleAttrs fills a role resource: the existing role (edit, delete), the
// roles to import from and the requested rights (create, edit).
func (r resolver) roleAttrs(ctx context.Context, acct holdfast.Account, ent holdfast.Entity, out map[string]any) error {
	props := ent.Properties
	if ent.ID != "" {
		ri, err := r.role(ctx, acct.ID, ent.ID)
		if errors.Is(err, holdfast.ErrNotFound) {
			return notFound("role", ent.ID)
		}
		if err != nil {
			return err
		}
		n, err := r.store.CountAdminsWithRole(ctx, acct.ID, ent.ID)
		if err != nil {
			return err
		}
		maps.Copy(out, roleTargetAttrs(ri, n))
	}
	imports, err := importIDs(props)
	if err != nil {
		return err
	}
	list := make([]any, 0, len(imports))
	for _, id := range imports {
		ri, err := r.role(ctx, acct.ID, id)
		if errors.Is(err, holdfast.ErrNotFound) {
			return notFound("role", id)
		}
		if err != nil {
			return err
		}
		list = append(list, ri.object())
	}
	out["import_from"] = list
	if raw, ok := props["rights"]; ok {
		rights, err := stringList(raw)
		if err != nil {
			return invalid("resource property rights must be a list of right ids")
		}
		out["rights"] = rights
	}
	return nil
}

// importIDs reads the import_from property: a role id or a list of them.
func importIDs(props map[string]any) ([]string, error) {
	bad := invalid("resource property import_from must be a role id or a list of role ids")
	switch v := props["import_from"].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		var imports []string
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, bad
			}
			imports = append(imports, s)
		}
		return imports, nil
	case []string:
		return v, nil
	default:
		return nil, bad
	}
}

func stringProp(props map[string]any, key string) (string, error) {
	v, ok := props[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid("resource property %s must be a string", key)
	}
	return s, nil
}

func stringList(v any) ([]string, error) {
	switch l := v.(type) {
	case []string:
		return nonNil(l), nil
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New("not a string")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("not a list")
}

// scopesProp reads a Scopes value given as an object (or a holdfast.Scopes).
func scopesProp(props map[string]any, key string) (holdfast.Scopes, error) {
	var s holdfast.Scopes
	v, ok := props[key]
	if !ok || v == nil {
		return s, nil
	}
	if sc, ok := v.(holdfast.Scopes); ok {
		return sc, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s, invalid("resource property %s must be a scopes object", key)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, invalid("resource property %s must be a scopes object: %v", key, err)
	}
	return s, nil
}
