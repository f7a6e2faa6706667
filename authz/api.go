package authz

// This file lists the engine's API that the server and cmd use.
//
//	e, err := authz.New(ctx, authz.Options{Store: store, Logger: log})
//	d, err := e.Decide(ctx, holdfast.DecisionRequest{...})      // holdfast.Authorizer
//	roles, err := e.Roles(ctx, accountID)                        // catalog roles available to the account + stored roles, with effective rights
//	role, err := e.Role(ctx, accountID, roleID)                  // one of them; ErrNotFound
//	err = e.SaveRoleRights(ctx, tx, accountID, roleID, rights)   // (re)writes the Casbin rows of a stored role inside tx
//	err = e.DeleteRoleRights(ctx, tx, accountID, roleID)         // removes them
//	cat := e.Catalog()                                           // *policies.Catalog
//	err = e.WriteBundle(ctx, accountID, w)                       // OPA bundle (.tar.gz) for one account
//
// Resource properties a caller may send for things that do not exist yet or
// for a change (the engine resolves stored attributes itself and they win):
//
//	administrator: {"role": "<role id>"} (create), {"roles": [...]} (to be refused unless exactly one),
//	               {"scopes": {...}} (create), {"new_role": "<role id>"}, {"new_scopes": {...}} (edit)
//	role:          {"import_from": "<role id>" | ["<role id>", ...], "rights": ["<right id>", ...]}
//	legal_hold:    {"type_id": "<type id>"} (create)
//	user, device:  {"profile_id": "...", "workload": "..."} (create)
//
// Action properties: {"operation": "create" | "edit" | "delete"} for roles.manage.
