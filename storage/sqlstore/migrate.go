package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// migrate applies the dialect's migrations that schema_migrations does not
// list yet, each in its own transaction together with its record, so a
// failed migration leaves the schema as it was and a reopen resumes.
func (s *Store) migrate(ctx context.Context) error {
	if s.d.Migrations == nil {
		return fmt.Errorf("%s: dialect has no migrations", s.d.Name)
	}
	names, err := fs.Glob(s.d.Migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("%s: list migrations: %w", s.d.Name, err)
	}
	slices.Sort(names)
	for _, name := range names {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		body, err := fs.ReadFile(s.d.Migrations, name)
		if err != nil {
			return fmt.Errorf("%s: read migration %s: %w", s.d.Name, name, err)
		}
		err = s.begin(ctx, func(tx *Store) error {
			// Two processes opening a new database at once must not both
			// apply a migration: take the lock, then look.
			if err := tx.lock(ctx, "holdfast.schema_migrations"); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version TEXT PRIMARY KEY,
				applied_at BIGINT NOT NULL
			)`); err != nil {
				return err
			}
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.q.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, micros(now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: migration %s: %w", s.d.Name, version, err)
		}
	}
	return nil
}
