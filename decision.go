package holdfast

import "context"

// Entity is an AuthZEN subject or resource.
type Entity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Action is an AuthZEN action; Name is a right id of the catalog.
type Action struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Resource types the engine knows.
const (
	ResourceAccount       = "account"
	ResourceAdministrator = "administrator"
	ResourceRole          = "role"
	ResourceProfile       = "profile"
	ResourceUser          = "user"
	ResourceDevice        = "device"
	ResourceLegalHold     = "legal_hold"
	ResourceLegalHoldType = "legal_hold_type"
	ResourceReport        = "report"
	ResourceSettings      = "settings"
)

// DecisionRequest asks whether Subject may perform Action on Resource.
// AccountID, when set, confines the subject to that account (tenants never
// see each other).
type DecisionRequest struct {
	AccountID string         `json:"-"`
	Subject   Entity         `json:"subject"`
	Action    Action         `json:"action"`
	Resource  Entity         `json:"resource"`
	Context   map[string]any `json:"context,omitempty"`
}

// Decision is the engine's answer. Reasons say in an administrator's words
// which rule decided; Rules holds the matching machine-readable rule ids.
type Decision struct {
	Allow    bool     `json:"decision"`
	ID       string   `json:"decision_id"`
	Reasons  []string `json:"reasons,omitempty"`
	Rules    []string `json:"rules,omitempty"`
	Revision string   `json:"revision,omitempty"` // policy and data revision decided on
}

// Authorizer decides. Implementations must be safe for concurrent use and
// deny by default; an error means the decision could not be made (and the
// caller must deny).
type Authorizer interface {
	Decide(ctx context.Context, req DecisionRequest) (Decision, error)
}

// BatchAuthorizer is an Authorizer that decides many requests at once,
// reading what they all need together instead of once per request.
type BatchAuthorizer interface {
	Authorizer
	// DecideBatch answers reqs in order, each as Decide would.
	DecideBatch(ctx context.Context, reqs []DecisionRequest) []DecisionResult
}

// DecisionResult is one answer of a batch: the decision, or the error that
// kept it from being made (the caller must deny).
type DecisionResult struct {
	Decision Decision
	Err      error
}
