// Package sqlite is the embedded SQLite metadata store, the default: a
// [sqlstore.Store] over the pure-Go modernc.org/sqlite driver with the
// schema in migrations/.
//
// One serving process owns the database file. The store keeps account and
// policy revisions in memory ([sqlstore.RevisionCache]) and learns of
// changes only through its own writes: SQLite cannot tell it of another
// process's commits. Other commands (holdfast bundle, backups, tests) may
// open the file to read it, but a second process that writes would leave
// the serving one deciding on stale revisions until it restarts. Deploy
// several replicas on PostgreSQL instead.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/holdfast/holdfast/storage/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's [sqlstore.Dialect].
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sqlstore.Dialect{
		Name:       "sqlite",
		Constraint: constraint,
		// No lock statement: every transaction begins IMMEDIATE (see Open),
		// so a writing transaction already excludes all others.
		Migrations: sub,
		NoSpace:    isFull,
	}
}

// isFull reports SQLite's SQLITE_FULL: the disk holding the database, or
// its journal, is full.
func isFull(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

// maxConns bounds the connection pool of a file database. SQLite runs one
// writer at a time whatever the pool; more connections only let readers
// proceed beside it (WAL), and a small pool keeps writers from piling up
// behind the busy timeout.
const maxConns = 4

// Open opens (creating it and its directory if needed) the SQLite database
// at path, applies pending migrations and returns the store. The path
// ":memory:" opens a private in-memory database, for tests. The caller
// closes the store. Only one process may write the file (see the package
// documentation).
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("sqlite: %w", err)
			}
		}
	}
	q := url.Values{}
	// A writer waits up to 10s for another to finish rather than failing at
	// once with SQLITE_BUSY. The pragmas run in order on each new
	// connection, so this one comes first: switching a new file to WAL
	// takes a lock too, and several processes or connections opening the
	// same new file at once would otherwise fail "database is locked".
	q.Add("_pragma", "busy_timeout(10000)")
	// WAL lets readers run beside the single writer instead of waiting for
	// it, and survives a crash as well as the rollback journal.
	q.Add("_pragma", "journal_mode(WAL)")
	// SQLite ignores foreign keys unless asked, per connection; the schema
	// relies on them for tenant consistency and cascades.
	q.Add("_pragma", "foreign_keys(1)")
	// In WAL mode NORMAL is durable against application crashes and loses at
	// most the last transactions on power loss, at a fraction of FULL's
	// fsyncs; the metadata it protects is rewritten by the next write anyway.
	q.Add("_pragma", "synchronous(NORMAL)")
	// BEGIN IMMEDIATE takes the write lock when a transaction starts. A
	// deferred transaction that reads, then writes, would have to upgrade
	// its lock and fail with SQLITE_BUSY (the busy timeout cannot help)
	// when another writer got there first; immediate ones queue instead.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if memory {
		// Every connection to ":memory:" is a database of its own.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
	}
	s, err := newStore(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// newStore migrates and opens the store over db. SQLite answers SQLITE_BUSY
// at once, without waiting out the busy timeout, when another connection is
// still turning a new file into WAL mode; so when several processes open
// the same new file together, the losers try again, for as long as the busy
// timeout would have waited. Each migration is a transaction, so a retry
// starts from whatever the winner left.
func newStore(ctx context.Context, db *sql.DB, opts []sqlstore.Option) (*sqlstore.Store, error) {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		s, err := sqlstore.New(ctx, db, Dialect(), opts...)
		if err == nil || !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// constraint classifies SQLite constraint errors. Their message names the
// columns ("UNIQUE constraint failed: users.account_id, users.email") or the
// index ("... failed: index 'admins_email_key'") involved.
func constraint(err error) (sqlstore.ConstraintKind, string) {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.NoConstraint, ""
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.UniqueViolation, e.Error()
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ForeignViolation, e.Error()
	}
	return sqlstore.NoConstraint, ""
}
