package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// maxStmts bounds the prepared statements a Store keeps. Queries built
// from filters (ListAdmins, ListUsers with IN lists of any length) have many
// texts; past the bound new texts run unprepared rather than pile up
// statements on every connection.
const maxStmts = 256

// stmtCache holds one prepared statement per query text, shared by a Store
// and the transaction-bound Stores made from it. A *sql.Stmt prepares
// itself on each pooled connection it runs on, once, so a query is parsed
// and planned once per connection instead of once per call (SQLite: no
// more sqlite3_prepare per call; PostgreSQL: pgx's own statement cache
// already saves the parse, so the gain there is small).
type stmtCache struct {
	m sync.Map     // query as written (? placeholders) → *sql.Stmt
	n atomic.Int64 // entries in m
}

// get returns the prepared statement of query, preparing it on db the first
// time. It returns nil, nil when the cache is full.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query, rebound string) (*sql.Stmt, error) {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	if c.n.Load() >= maxStmts {
		return nil, nil
	}
	st, err := db.PrepareContext(ctx, rebound)
	if err != nil {
		return nil, err
	}
	if v, loaded := c.m.LoadOrStore(query, st); loaded {
		// Another caller prepared it first; keep one.
		_ = st.Close()
		return v.(*sql.Stmt), nil
	}
	c.n.Add(1)
	return st, nil
}

// lookup returns the prepared statement of query if there is one.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

// close closes every statement.
func (c *stmtCache) close() error {
	var errs []error
	c.m.Range(func(k, v any) bool {
		c.m.Delete(k)
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	c.n.Store(0)
	return errors.Join(errs...)
}

// stmt returns the statement to run query with through s, or nil to run it
// unprepared. Outside a transaction that is the shared statement, prepared
// on first use. Inside one it is the shared statement bound to the
// transaction (database/sql prepares it on the transaction's connection at
// most once, and closes the bound copy with the transaction), or nil when
// the query was never prepared: preparing on the pool from inside a
// transaction could wait for a connection the transaction itself holds (an
// SQLite :memory: pool has one).
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s.tx == nil {
		return s.stmts.get(ctx, s.db, query, s.rebind(query))
	}
	if shared := s.stmts.lookup(query); shared != nil {
		return s.tx.tx.StmtContext(ctx, shared), nil
	}
	return nil, nil
}

// row is the result of queryRow: a *sql.Row, or the error that kept the
// query from running, with the call's deadline, which Scan ends.
type row struct {
	r      *sql.Row
	err    error
	s      *Store
	ctx    context.Context // the caller's
	bctx   context.Context // ctx under the call deadline
	cancel context.CancelFunc
}

// Scan is [sql.Row.Scan], with errors translated by Store.dependency.
func (r row) Scan(dest ...any) error {
	defer r.cancel()
	err := r.err
	if err == nil {
		err = r.r.Scan(dest...)
	}
	return r.s.dependency(r.ctx, r.bctx, r.s.timeouts.call, err)
}
