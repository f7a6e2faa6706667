package holdfast

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Domain code wraps them with context; server/errors.go maps
// them to HTTP status codes in one table.
var (
	ErrNotFound        = errors.New("not found")
	ErrInvalid         = errors.New("invalid input")
	ErrDenied          = errors.New("permission denied")
	ErrConflict        = errors.New("conflict")
	ErrHeld            = errors.New("under legal hold")
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable is a dependency (the database, the object store, the
	// audit trail) that cannot answer now: not the caller's fault, and a
	// retry later may succeed. The edge answers 503 with Retry-After.
	ErrUnavailable = errors.New("service unavailable")
	// ErrNoSpace is storage that is full (ENOSPC, EDQUOT): nothing was
	// stored. The edge answers 507.
	ErrNoSpace = errors.New("insufficient storage")
)

// DependencyError is a failure of a dependency, translated at the store
// boundary. It matches Kind (ErrUnavailable or ErrNoSpace) and Err with
// errors.Is. Its Error text carries the cause for the log; a client sees
// only Message, which names no path, host or driver detail.
type DependencyError struct {
	// Dependency names what failed for a reader: "database",
	// "object store", "blob store", "audit trail".
	Dependency string
	// Kind is ErrUnavailable or ErrNoSpace.
	Kind error
	// Err is the cause.
	Err error
}

func (e *DependencyError) Error() string {
	return e.Dependency + ": " + e.Kind.Error() + ": " + e.Err.Error()
}

// Unwrap returns the kind and the cause, so errors.Is matches both.
func (e *DependencyError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Message is the text a client may read.
func (e *DependencyError) Message() string {
	if errors.Is(e.Kind, ErrNoSpace) {
		return "insufficient storage: the " + e.Dependency + " is full; nothing was stored"
	}
	return "service unavailable: the " + e.Dependency + " is not answering; retry later"
}

// Unavailable wraps err, a failure of dependency, as ErrUnavailable. A nil
// err stays nil.
func Unavailable(dependency string, err error) error {
	if err == nil {
		return nil
	}
	return &DependencyError{Dependency: dependency, Kind: ErrUnavailable, Err: err}
}

// NoSpace wraps err, a full dependency, as ErrNoSpace. A nil err stays nil.
func NoSpace(dependency string, err error) error {
	if err == nil {
		return nil
	}
	return &DependencyError{Dependency: dependency, Kind: ErrNoSpace, Err: err}
}

// FieldError reports one invalid input field. Several are joined into a
// ValidationError.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem with one input. It matches ErrInvalid
// with errors.Is.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true for a ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Add records a problem with field.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds problems and nil otherwise.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// DeniedError is a refusal by the decision engine. It matches ErrDenied and
// carries the decision so the edge can report its id and reasons.
type DeniedError struct {
	Decision Decision
}

func (e *DeniedError) Error() string {
	if len(e.Decision.Reasons) == 0 {
		return "permission denied"
	}
	return strings.Join(e.Decision.Reasons, "; ")
}

// Is makes errors.Is(err, ErrDenied) true for a DeniedError.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }
