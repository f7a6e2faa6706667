// Package sqlstore implements [holdfast.MetaStore] over database/sql. The
// SQL drivers (storage/sqlite, storage/postgres) supply the schema and a
// [Dialect]; everything else, queries included, is shared so both databases
// pass the same conformance suite (storage/storagetest).
//
// Times are stored as BIGINT Unix microseconds (UTC) and JSON-valued fields
// as TEXT, so every filter means the same in both databases. Emails are
// stored lower-cased and looked up case-insensitively.
//
// Conventions of every method, beyond the [holdfast.MetaStore] contract:
//   - Create fills an empty ID with a random UUID and zero CreatedAt and
//     UpdatedAt with the current time, and writes the values stored back
//     into its argument: times in UTC at microsecond precision, emails
//     lower-cased. A Get then returns a value equal to the argument.
//   - Update replaces every field but the keys (AccountID, ID), the
//     creation fields (CreatedAt, CreatedBy) and an administrator's
//     LastLoginAt, which only RecordLogin sets; a zero UpdatedAt becomes now.
//   - Each write is atomic on its own, inside a Tx too (through a
//     savepoint): a write that fails, on a conflict say, changes nothing
//     and leaves the transaction usable.
//   - A reference to a missing row (a user's profile, a device's user, a
//     custodian's hold or user, a token's administrator, any row's
//     account) is ErrNotFound. References never cross accounts.
//   - Lists are never nil.
//
// Revision and PolicyRevision are answered from memory once read (see
// [RevisionCache] for why that is never stale), and every query is
// prepared once per connection and reused.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/holdfast/holdfast"
)

// ConstraintKind classifies a driver error.
type ConstraintKind int

// Constraint kinds a Dialect reports.
const (
	NoConstraint     ConstraintKind = iota // not a constraint violation
	UniqueViolation                        // unique or primary key taken
	ForeignViolation                       // a referenced row is missing
)

// Dialect is what differs between SQL databases. Queries are written with
// ? placeholders and one dialect of SQL that SQLite and PostgreSQL share.
type Dialect struct {
	// Name prefixes errors ("sqlite", "postgres").
	Name string
	// NumberedParams rewrites ? placeholders to $1, $2, ... (PostgreSQL).
	NumberedParams bool
	// Constraint reports whether err is a constraint violation and, when it
	// is, the name of the constraint or the columns involved, as the driver
	// reports them. The store picks its conflict message from that text.
	Constraint func(err error) (ConstraintKind, string)
	// ForUpdate, appended to a SELECT of one row, locks the row until the
	// end of the transaction as an UPDATE of it would (PostgreSQL:
	// " FOR NO KEY UPDATE", which unlike FOR UPDATE lets foreign key checks
	// on the row proceed). AppendAudit locks the account's row, the row
	// every write of the account updates, so audit appends and writes queue
	// on one lock in whatever order a transaction makes them and cannot
	// deadlock. Empty when the database already runs one writing
	// transaction at a time (SQLite with BEGIN IMMEDIATE).
	ForUpdate string
	// LockSQL, run inside a transaction with one string parameter, blocks
	// until no other transaction holds the same key and keeps it until the
	// end of the transaction. It serializes migrations, and audit appends
	// for an account without a row to lock. Empty when ForUpdate is.
	LockSQL string
	// Migrations holds the schema as NNNN_name.sql files, applied in name
	// order by New.
	Migrations fs.FS
	// Watch, when set, tells the store of revisions changed by other
	// processes sharing the database (replicas on one PostgreSQL). New runs
	// it in a goroutine of its own with a context that Close cancels, and
	// Close waits for it to return. Watch calls c.Resume once it is sure to
	// hear of every later commit, c.Invalidate or c.InvalidatePolicy for
	// each, and c.Suspend whenever it may miss some (connection lost); the
	// cache starts suspended, so until then revisions are read from the
	// database. When nil, the store assumes no other process writes the
	// database (SQLite: one serving process owns the file) and caches from
	// the start.
	Watch func(ctx context.Context, c *RevisionCache)
	// Unavailable, when set, reports driver errors beyond a lost
	// connection that mean the database cannot serve now (PostgreSQL:
	// shutting down, starting up); the store returns them as
	// holdfast.ErrUnavailable.
	Unavailable func(err error) bool
	// NoSpace, when set, reports a driver error that means the database's
	// disk is full; the store returns it as holdfast.ErrNoSpace.
	NoSpace func(err error) bool
}

// Store is a [holdfast.MetaStore] over a *sql.DB. It is safe for concurrent
// use; a Store handed to a [Store.Tx] callback is bound to that transaction
// and must be used by one goroutine at a time, and only until the callback
// returns.
type Store struct {
	db    *sql.DB        // never nil; owned (closed by Close) by the root Store
	d     *Dialect       // never nil
	q     querier        // db, or tx.tx inside a transaction
	tx    *txState       // nil outside a transaction
	stmts *stmtCache     // never nil; shared with transaction-bound Stores
	revs  *RevisionCache // never nil; shared with transaction-bound Stores
	// timeouts are the deadlines of calls and transactions; set before
	// use (SetTimeouts), copied into transaction-bound Stores.
	timeouts timeouts
	// stopWatch stops Dialect.Watch and waits for it; nil without one.
	// Set on the root Store only.
	stopWatch func()
	// auditKey is the HMAC key of the audit chain; never empty. Immutable.
	auditKey []byte
}

// Option configures New.
type Option func(*Store)

// WithAuditKey sets the HMAC-SHA256 key that chains the audit trail. It
// lives outside the database: whoever can write the database but does not
// hold the key cannot re-chain records they changed. Without it, New picks
// a random key that dies with the process, which suits tests and nothing
// else: a trail written under it verifies under no later key.
func WithAuditKey(key []byte) Option {
	return func(s *Store) { s.auditKey = slices.Clone(key) }
}

// txState is the transaction a Store is bound to.
type txState struct {
	tx *sql.Tx

	mu         sync.Mutex
	savepoints int64               // guarded by mu; names savepoints uniquely within tx
	accounts   map[string]struct{} // guarded by mu; accounts whose revision tx changed
	policy     bool                // guarded by mu; whether tx changed the policy revision
}

// touch records that the transaction changes the account's revision, so
// that its commit invalidates the cached one.
func (t *txState) touch(accountID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.accounts == nil {
		t.accounts = make(map[string]struct{})
	}
	t.accounts[accountID] = struct{}{}
}

// touchPolicy records that the transaction changes the policy revision.
func (t *txState) touchPolicy() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.policy = true
}

// touched returns what touch and touchPolicy recorded. A savepoint rolled
// back keeps its records: invalidating a revision that did not change only
// costs a query.
func (t *txState) touched() (accounts []string, policy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.accounts {
		accounts = append(accounts, id)
	}
	return accounts, t.policy
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var _ holdfast.MetaStore = (*Store)(nil)

// New applies d.Migrations to db, starts d.Watch if set, and returns a
// Store over it. The Store owns db: Close closes it. On error db is left
// open for the caller to close.
func New(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	s := &Store{db: db, d: &d, q: db, stmts: &stmtCache{}, revs: newRevisionCache(d.Watch == nil),
		timeouts: timeouts{call: DefaultCallTimeout, tx: DefaultTxTimeout}}
	for _, o := range opts {
		o(s)
	}
	if len(s.auditKey) == 0 {
		s.auditKey = make([]byte, holdfast.AuditKeySize)
		_, _ = rand.Read(s.auditKey) // crypto/rand.Read never fails
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if d.Watch != nil {
		// The watcher lives as long as the store, not as the caller's ctx.
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.Watch(wctx, s.revs)
		}()
		s.stopWatch = func() {
			cancel()
			<-done
		}
	}
	return s, nil
}

// DB returns the underlying database. Tests use it to prove constraints the
// store API cannot reach, such as the append-only audit table. Writes made
// through it bypass the revision cache: one that changes a revision must be
// followed by RevisionCache().Suspend and Resume, or the cache serves the
// old revision (on PostgreSQL the watcher sees it as any other process's).
func (s *Store) DB() *sql.DB { return s.db }

// RevisionCache returns the store's cache of revisions, shared with the
// Stores bound to its transactions.
func (s *Store) RevisionCache() *RevisionCache { return s.revs }

// Close stops the watcher, if any, and closes the prepared statements and
// the database. Only the Store returned by New may be closed.
func (s *Store) Close() error {
	if s.tx != nil {
		return fmt.Errorf("%s: Close called inside a transaction", s.d.Name)
	}
	if s.stopWatch != nil {
		s.stopWatch()
	}
	return errors.Join(s.stmts.close(), s.db.Close())
}

// Tx runs fn in one transaction: fn's writes all commit when it returns nil
// and are all rolled back when it returns an error or panics. Called on a
// Store bound to a transaction, Tx joins that transaction through a
// savepoint: an error from fn undoes fn's writes only, and nothing commits
// before the outermost Tx returns.
//
// fn must do its work through tx; using the outer Store from inside fn runs
// outside the transaction and, with SQLite, waits for it to end.
func (s *Store) Tx(ctx context.Context, fn func(tx holdfast.MetaStore) error) error {
	if s.tx != nil {
		return s.savepoint(ctx, func(s *Store) error { return fn(s) })
	}
	return s.begin(ctx, func(s *Store) error { return fn(s) })
}

// begin runs fn in a new transaction.
func (s *Store) begin(ctx context.Context, fn func(s *Store) error) (err error) {
	// The transaction's context bounds it as a whole, COMMIT included
	// (database/sql gives Commit no context of its own).
	txCtx, cancel := context.WithTimeout(ctx, s.timeouts.tx)
	defer cancel()
	defer func() { err = s.dependency(ctx, txCtx, s.timeouts.tx, err) }()
	tx, err := s.db.BeginTx(txCtx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", s.d.Name, err)
	}
	bound := &Store{db: s.db, d: s.d, q: tx, tx: &txState{tx: tx}, stmts: s.stmts, revs: s.revs, timeouts: s.timeouts,
		auditKey: s.auditKey}
	committed := false
	defer func() {
		if !committed {
			// The error of Rollback adds nothing to fn's error or panic:
			// the transaction is gone either way.
			_ = tx.Rollback()
		}
	}()
	if err := fn(bound); err != nil {
		return err
	}
	committed = true
	// Announce the new revisions before they become visible and retire
	// them after, whatever Commit says (a failed commit may still have
	// landed): see RevisionCache for why both are needed.
	accounts, policy := bound.tx.touched()
	s.revs.markCommit(accounts, policy)
	err = tx.Commit()
	s.revs.doneCommit(accounts, policy)
	if err != nil {
		return fmt.Errorf("%s: commit: %w", s.d.Name, err)
	}
	return nil
}

// savepoint runs fn inside the current transaction so that an error from fn
// undoes fn's writes and leaves the transaction usable. PostgreSQL needs
// this for a failed statement not to abort the whole transaction.
func (s *Store) savepoint(ctx context.Context, fn func(s *Store) error) (err error) {
	s.tx.mu.Lock()
	s.tx.savepoints++
	name := "sp" + strconv.FormatInt(s.tx.savepoints, 10)
	s.tx.mu.Unlock()
	if _, err := s.execBounded(ctx, s.tx.tx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("%s: savepoint: %w", s.d.Name, err)
	}
	done := false
	defer func() {
		if !done {
			// Undo fn's writes on error or panic. If this fails the
			// transaction is broken and its commit will fail too.
			_, _ = s.execBounded(context.WithoutCancel(ctx), s.tx.tx, "ROLLBACK TO SAVEPOINT "+name)
		}
	}()
	if err := fn(s); err != nil {
		return err
	}
	done = true
	if _, err := s.execBounded(ctx, s.tx.tx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("%s: release savepoint: %w", s.d.Name, err)
	}
	return nil
}

// write runs fn atomically: in a new transaction, or in a savepoint of the
// current one, so that a failed write changes nothing either way.
func (s *Store) write(ctx context.Context, fn func(s *Store) error) error {
	if s.tx != nil {
		return s.savepoint(ctx, fn)
	}
	return s.begin(ctx, fn)
}

// rebind rewrites ? placeholders for the dialect. Queries never contain a
// literal question mark.
func (s *Store) rebind(query string) string {
	if !s.d.NumberedParams || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// exec, query and queryRow run a query written with ? placeholders, as a
// prepared statement when there is one (see stmt).
// Each call runs under the call deadline, and its errors are translated by
// dependency.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := s.execStmt(bctx, query, args...)
	return res, s.dependency(ctx, bctx, s.timeouts.call, err)
}

func (s *Store) execStmt(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.q.ExecContext(ctx, s.rebind(query), args...)
}

// execBounded runs a statement that is not prepared (savepoints) on q
// under the call deadline.
func (s *Store) execBounded(ctx context.Context, q querier, query string) (sql.Result, error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := q.ExecContext(bctx, query)
	return res, s.dependency(ctx, bctx, s.timeouts.call, err)
}

// query runs under bctx, a context bounded by the caller (see list), so
// that the deadline covers reading the rows too.
func (s *Store) query(bctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(bctx, query)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(bctx, args...)
	}
	return s.q.QueryContext(bctx, s.rebind(query), args...)
}

// queryRow's deadline runs until the row is scanned.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) row {
	bctx, cancel := s.bound(ctx)
	r := row{s: s, ctx: ctx, bctx: bctx, cancel: cancel}
	st, err := s.stmt(bctx, query)
	switch {
	case err != nil:
		r.err = err
	case st != nil:
		r.r = st.QueryRowContext(bctx, args...)
	default:
		r.r = s.q.QueryRowContext(bctx, s.rebind(query), args...)
	}
	return r
}

// lock takes the dialect's transaction-scoped lock on key; s must be bound
// to a transaction.
func (s *Store) lock(ctx context.Context, key string) error {
	if s.d.LockSQL == "" {
		return nil
	}
	if _, err := s.exec(ctx, s.d.LockSQL, key); err != nil {
		return fmt.Errorf("%s: lock %s: %w", s.d.Name, key, err)
	}
	return nil
}

// execOne runs a statement that must change exactly one row; none changed
// means the row is missing: ErrNotFound, described by what.
func (s *Store) execOne(ctx context.Context, what string, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	return s.affectedOne(what, res, err)
}

// bump increments the account's revision; every write of the account's
// rows calls it in the same transaction, through write, so s is bound to a
// transaction whose commit invalidates the cached revision. A missing account is ErrNotFound,
// which also keeps rows from being written for an unknown account.
func (s *Store) bump(ctx context.Context, accountID string) error {
	s.tx.touch(accountID)
	return s.execOne(ctx, "account "+accountID,
		`UPDATE accounts SET revision = revision + 1 WHERE id = ?`, accountID)
}

// unique describes one unique key of a table for conflict messages: when the
// driver's constraint text contains key, the conflict reads msg.
type unique struct{ key, msg string }

// fail translates a driver error at the store's boundary: sql.ErrNoRows is
// ErrNotFound, a unique violation ErrConflict with the message of the first
// matching key (the last one is the fallback), a foreign key violation
// ErrNotFound. what names the row ("administrator a1").
func (s *Store) fail(what string, err error, keys ...unique) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, holdfast.ErrNotFound)
	}
	kind, detail := NoConstraint, ""
	if s.d.Constraint != nil {
		kind, detail = s.d.Constraint(err)
	}
	switch kind {
	case UniqueViolation:
		for i, k := range keys {
			if i == len(keys)-1 || strings.Contains(detail, k.key) {
				return fmt.Errorf("%w: %s", holdfast.ErrConflict, k.msg)
			}
		}
		return fmt.Errorf("%w: %s already exists", holdfast.ErrConflict, what)
	case ForeignViolation:
		return fmt.Errorf("%s refers to a missing row: %w", what, holdfast.ErrNotFound)
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, what, err)
}

// newID returns id, or a new random id when it is empty.
func newID(id string) string {
	if id == "" {
		return uuid.NewString()
	}
	return id
}

// now is the current time at the precision the store keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// normTime returns t at the precision the store keeps: UTC microseconds,
// without a monotonic reading, so a value read back compares equal.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// normTimePtr is normTime for optional times; it returns a new pointer and
// leaves *t alone.
func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := normTime(*t)
	return &v
}

// stamp defaults zero creation and update times to now and normalizes both.
func stamp(created, updated *time.Time) {
	n := now()
	if created.IsZero() {
		*created = n
	}
	if updated.IsZero() {
		*updated = *created
	}
	*created, *updated = normTime(*created), normTime(*updated)
}

// micros is the column value of t.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros is the column value of an optional time.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros reads a time column.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// fromNullMicros reads an optional time column.
func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// likePattern returns a LIKE pattern matching s as a case-insensitive
// substring (callers compare with lower(column) ... ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// page appends LIMIT and OFFSET. A zero limit is no limit.
func page(q string, args []any, limit, offset int) (string, []any) {
	if limit <= 0 && offset <= 0 {
		return q, args
	}
	if limit <= 0 {
		limit = int(^uint(0) >> 1) // both databases need a LIMIT before OFFSET
	}
	q += " LIMIT ?"
	args = append(args, int64(limit))
	if offset > 0 {
		q += " OFFSET ?"
		args = append(args, int64(offset))
	}
	return q, args
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := make([]T, 0)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// list runs a query and scans every row; what names the rows for errors.
func list[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.query(bctx, query, args...)
	if err != nil {
		return nil, s.fail(what, s.dependency(ctx, bctx, s.timeouts.call, err))
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, s.fail(what, s.dependency(ctx, bctx, s.timeouts.call, err))
	}
	return out, nil
}

// affectedOne checks the result of a statement that must change exactly one
// row, translating err as fail does.
func (s *Store) affectedOne(what string, res sql.Result, err error, keys ...unique) error {
	if err != nil {
		return s.fail(what, err, keys...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, holdfast.ErrNotFound)
	}
	return nil
}

// qualify prefixes every column of a column list with alias.
func qualify(columns, alias string) string {
	parts := strings.Split(columns, ",")
	for i := range parts {
		parts[i] = alias + "." + strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ", ")
}
