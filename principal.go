package holdfast

// Principal kinds.
const (
	PrincipalAdmin = "administrator"
	PrincipalToken = "api_token"
)

// Principal is an authenticated caller: an administrator signed in, or an
// API token acting for its owner (never with more than the owner's rights).
type Principal struct {
	Kind      string `json:"kind"`
	AccountID string `json:"account_id"`
	AdminID   string `json:"admin_id"`
	Email     string `json:"email"`
	TokenID   string `json:"token_id,omitempty"`
	SessionID string `json:"-"`
}
