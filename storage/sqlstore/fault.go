package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/holdfast/holdfast"
)

// Default deadlines of database work. A database that is down or frozen
// answers nothing; these bound how long a request waits before it is told
// so (503) instead of hanging until the client gives up.
const (
	// DefaultCallTimeout bounds one statement, a row scan included.
	DefaultCallTimeout = 10 * time.Second
	// DefaultTxTimeout bounds one transaction from BEGIN to COMMIT.
	DefaultTxTimeout = 30 * time.Second
)

// timeouts are a Store's deadlines; shared with its transaction-bound
// Stores.
type timeouts struct {
	call, tx time.Duration
}

// SetTimeouts replaces the deadline of each statement (call) and of each
// transaction as a whole (tx); zero keeps the default. Call it before the
// store is used: it is not safe beside running calls.
func (s *Store) SetTimeouts(call, tx time.Duration) {
	if call > 0 {
		s.timeouts.call = call
	}
	if tx > 0 {
		s.timeouts.tx = tx
	}
}

// bound returns ctx with the deadline of one call.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeouts.call)
}

// dependency translates an error of a call that ran under bounded, derived
// from the caller's ctx: the database not answering within its deadline, or
// a lost or refused connection, is ErrUnavailable; a full disk ErrNoSpace.
// Anything else, a cancelled caller included, is returned as it is.
func (s *Store) dependency(ctx, bounded context.Context, limit time.Duration, err error) error {
	if err == nil || errors.Is(err, holdfast.ErrUnavailable) || errors.Is(err, holdfast.ErrNoSpace) {
		return err
	}
	if ctx.Err() == nil && bounded.Err() != nil {
		return holdfast.Unavailable("database", fmt.Errorf("%s: no answer within %s: %w", s.d.Name, limit, err))
	}
	if s.d.NoSpace != nil && s.d.NoSpace(err) {
		return holdfast.NoSpace("database", fmt.Errorf("%s: %w", s.d.Name, err))
	}
	if connectionLost(err) || (s.d.Unavailable != nil && s.d.Unavailable(err)) {
		return holdfast.Unavailable("database", fmt.Errorf("%s: %w", s.d.Name, err))
	}
	return err
}

// connectionLost reports whether err says the connection to the database
// could not be made or broke, whatever the driver.
func connectionLost(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
