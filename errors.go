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
)

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
