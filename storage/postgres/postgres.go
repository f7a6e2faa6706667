// Package postgres is the PostgreSQL metadata store: a [sqlstore.Store]
// over pgx's database/sql driver with the schema in migrations/.
//
// Several processes (replicas) may serve from one database. Each keeps
// revisions in memory ([sqlstore.RevisionCache]); a trigger notifies
// channel holdfast_revision of every revision change, and each store
// listens on a connection of its own and forgets what changed. While that
// connection is down, revisions are read from the database.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/holdfast/holdfast/storage/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLSTATE codes of constraint violations.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// maxConns bounds the connection pool.
const maxConns = 16

// Dialect is PostgreSQL's [sqlstore.Dialect].
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sqlstore.Dialect{
		Name:           "postgres",
		NumberedParams: true,
		Constraint:     constraint,
		ForUpdate:      " FOR NO KEY UPDATE",
		// A transaction-scoped advisory lock on a hash of the key: it needs
		// no row to exist and is released at commit or rollback. Two keys
		// sharing a hash only wait for each other.
		LockSQL:     `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`,
		Migrations:  sub,
		Unavailable: unavailable,
		NoSpace:     noSpace,
	}
}

// unavailable reports errors that mean the server cannot serve now: no
// connection could be made, or the server is shutting down, starting up,
// or out of connections (SQLSTATE classes 08 and 57P0x, and 53300).
func unavailable(err error) bool {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.Timeout(err) {
		return true
	}
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case strings.HasPrefix(e.Code, "08"), strings.HasPrefix(e.Code, "57P0"), e.Code == "53300":
		return true
	}
	return false
}

// noSpace reports SQLSTATE 53100, disk_full.
func noSpace(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "53100"
}

// Open connects to the PostgreSQL database at dsn (a postgres:// URL or a
// key=value string), applies pending migrations, starts listening for
// revision changes (one more connection, outside the pool) and returns the
// store. A commit by another process reaches this store's revisions within
// the notification's delivery time. The caller closes the store, which
// stops the listener.
func Open(ctx context.Context, dsn string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	// Bounded so a burst of requests queues in the pool instead of
	// exhausting the server's max_connections (100 by default).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	d := Dialect()
	d.Watch = newWatcher(cfg).watch
	s, err := sqlstore.New(ctx, db, d, opts...)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// constraint classifies PostgreSQL constraint errors by SQLSTATE; the
// constraint name (admins_email_key, users_pkey, ...) says which key.
func constraint(err error) (sqlstore.ConstraintKind, string) {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return sqlstore.NoConstraint, ""
	}
	switch e.Code {
	case uniqueViolation:
		return sqlstore.UniqueViolation, e.ConstraintName
	case foreignKeyViolation:
		return sqlstore.ForeignViolation, e.ConstraintName
	}
	return sqlstore.NoConstraint, ""
}
