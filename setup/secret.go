package setup

import (
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/policies"
	"github.com/holdfast/holdfast/signin"
)

// LinkValidity is how long a setup or recovery link works: the sign-in
// service's (signin.IssueLink makes both).
const LinkValidity = signin.LinkValidity

// Engine is what Recover needs from the decision engine (*authz.Engine):
// the account's roles with their effective rights, and the catalog whose
// rules name the platform administrator and fail-safe rights.
type Engine interface {
	lockout.RoleLister
	Catalog() *policies.Catalog
}
