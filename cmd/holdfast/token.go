package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast/admins"
)

// runToken is "holdfast token create": an API token of an administrator,
// made offline on the machine that holds the data directory, for scripts.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, "Usage: holdfast token create --admin EMAIL [--name NAME] [--expires 90d] [flags]\n")
		return errors.New("token: the only subcommand is create")
	}
	var cfg Config
	var email, name, expires string
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	cfg.registerStoreFlags(fs, getenv)
	fs.StringVar(&email, "admin", "", "email of the administrator the token acts as (required)")
	fs.StringVar(&name, "name", "cli", "name of the token, shown in token lists")
	fs.StringVar(&expires, "expires", "0", `lifetime in days, e.g. 90d (or 90); "0" = never`)
	if help, err := parseFlags(fs, args[1:], stderr); help || err != nil {
		return err
	}
	cfg.resolve()
	errs := []error{cfg.validateStore()}
	if strings.TrimSpace(email) == "" {
		errs = append(errs, errors.New("--admin: the administrator's email is required"))
	}
	days, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(expires), "d"))
	if err != nil {
		errs = append(errs, fmt.Errorf("--expires: %q is not a number of days such as 90d, or 0 for never", expires))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("token create: invalid arguments:\n%w", err)
	}
	kind, path, _ := storeKind(cfg.DB)
	if kind == "sqlite" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("token create: no database at %s (start \"holdfast serve\" once first, or pass --data-dir or --db)", path)
		}
	}
	if fi, err := os.Stat(cfg.DataDir); err == nil && fi.IsDir() {
		release, err := LockDataDir(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		defer release()
	}
	key, err := auditKeyOption(cfg.DataDir, getenv)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	store, err := openStore(ctx, cfg.DB, cfg.DBTimeout, key)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	defer store.Close()
	tok, secret, err := admins.IssueToken(ctx, store, admins.IssueOptions{AdminEmail: email, Name: name, ExpiresInDays: days})
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	exp := "never expires"
	if tok.ExpiresAt != nil {
		exp = "expires " + tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stderr, "API token %s (%q) of %s, %s. The secret below is shown only now:\n", tok.ID, tok.Name, strings.ToLower(strings.TrimSpace(email)), exp)
	fmt.Fprintln(stdout, secret.Reveal())
	return nil
}
