package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
)

// A hold's WebDAV access: its URL and its own generated credential (shown
// once, rotatable, revocable, with an optional expiry). Reading the
// credential's details needs legal_holds.view, which is also what WebDAV
// access needs; making or revoking one needs create_manage as well.

// holdAccessView describes a hold's WebDAV access, never its password.
type holdAccessView struct {
	URL        string     `json:"url"`
	Credential bool       `json:"credential"` // false: none (or revoked)
	UserName   string     `json:"user_name,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// Password is set only in the answer that made the credential.
	Password string `json:"password,omitempty"`
	// APITokenLogin says how a cloud administrator signs in instead: user
	// name = email, password = API token.
	APITokenLogin string `json:"api_token_login"`
}

const apiTokenLogin = "a Cloud Administrator may sign in with their email as the user name and an API token as the password"

// holdAccess returns the store's HoldAccessStore (the transaction's
// inside Tx); a store without one cannot keep credentials.
func holdAccess(store holdfast.MetaStore) (holdfast.HoldAccessStore, error) {
	as, ok := store.(holdfast.HoldAccessStore)
	if !ok {
		return nil, fmt.Errorf("server: metadata store %T keeps no WebDAV credentials", store)
	}
	return as, nil
}

func (s *Server) accessView(r *http.Request, holdID string, c *holdfast.HoldCredential) holdAccessView {
	v := holdAccessView{URL: s.baseURL(r) + "/dav/holds/" + holdID + "/", APITokenLogin: apiTokenLogin}
	if c != nil {
		created := c.CreatedAt
		v.Credential, v.UserName, v.CreatedBy, v.CreatedAt, v.ExpiresAt = true, c.UserName, c.CreatedBy, &created, c.ExpiresAt
	}
	return v
}

// getHoldAccess serves GET /api/v1/legal-holds/{id}/webdav
// (legal_holds.view).
func (s *Server) getHoldAccess(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := s.decide(ctx, check{right: "legal_holds.view", resource: holdEntity(id, nil)}); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	if _, err := s.store.GetHold(ctx, acct, id); err != nil {
		return err
	}
	as, err := holdAccess(s.store)
	if err != nil {
		return err
	}
	c, err := as.GetHoldCredential(ctx, acct, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		return writeJSON(w, http.StatusOK, s.accessView(r, id, nil))
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.accessView(r, id, &c))
}

// rotateInput is the body of POST /api/v1/legal-holds/{id}/webdav.
type rotateInput struct {
	ExpiresAt *time.Time `json:"expires_at"`
}

// rotateHoldAccess serves POST /api/v1/legal-holds/{id}/webdav
// (legal_holds.create_manage and legal_holds.view): a new credential
// replaces the old one, which stops working at once. The password is in
// this answer only; it is never stored, logged or audited.
func (s *Server) rotateHoldAccess(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in rotateInput
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if in.ExpiresAt != nil {
		exp := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !exp.After(now) {
			var v holdfast.ValidationError
			v.Add("expires_at", "must be in the future")
			return v.Err()
		}
		in.ExpiresAt = &exp
	}
	p := principal(ctx)
	var (
		cred     holdfast.HoldCredential
		password holdfast.Secret
	)
	c := change{action: "legal_hold.webdav.rotate", resourceType: holdfast.ResourceLegalHold, resourceID: id,
		checks: []check{
			{right: "legal_holds.create_manage", resource: holdEntity(id, nil)},
			{right: "legal_holds.view", resource: holdEntity(id, nil)},
		}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if _, err := tx.GetHold(ctx, p.AccountID, id); err != nil {
			return "", nil, err
		}
		as, err := holdAccess(tx)
		if err != nil {
			return "", nil, err
		}
		replaced := ""
		if old, err := as.GetHoldCredential(ctx, p.AccountID, id); err == nil {
			replaced = old.UserName
		} else if !errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, err
		}
		cred, password, err = legalhold.NewCredential(p.AccountID, id, p.AdminID, now, in.ExpiresAt)
		if err != nil {
			return "", nil, err
		}
		if err := as.PutHoldCredential(ctx, &cred); err != nil {
			return "", nil, err
		}
		return id, map[string]any{"user_name": cred.UserName, "replaced": replaced, "expires_at": cred.ExpiresAt}, nil
	})
	if err != nil {
		return err
	}
	v := s.accessView(r, id, &cred)
	v.Password = password.Reveal()
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, v)
}

// revokeHoldAccess serves DELETE /api/v1/legal-holds/{id}/webdav
// (legal_holds.create_manage): the credential stops working at once.
func (s *Server) revokeHoldAccess(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	acct := principal(ctx).AccountID
	c := change{action: "legal_hold.webdav.revoke", resourceType: holdfast.ResourceLegalHold, resourceID: id,
		checks: []check{{right: "legal_holds.create_manage", resource: holdEntity(id, nil)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		as, err := holdAccess(tx)
		if err != nil {
			return "", nil, err
		}
		old, err := as.GetHoldCredential(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		if err := as.DeleteHoldCredential(ctx, acct, id); err != nil {
			return "", nil, err
		}
		return id, map[string]any{"user_name": old.UserName}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}
