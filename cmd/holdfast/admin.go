package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast/setup"
)

// defaultRecoverURL is where the printed link points without --public-url:
// serve's default address on this machine.
const defaultRecoverURL = "http://" + defaultAddr

// runAdmin serves "holdfast admin recover": the operator who owns the
// machine (and so the database) brings back a platform administrator of a
// locked-out account, without the server's help.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "recover" {
		fmt.Fprint(stderr, "Usage: holdfast admin recover --email EMAIL [--data-dir DIR | --db URL] [flags]\n")
		return errors.New("admin: the only subcommand is recover")
	}
	var cfg Config
	var email, account, publicURL string
	fs := flag.NewFlagSet("admin recover", flag.ContinueOnError)
	fs.StringVar(&email, "email", "", "the administrator to re-enable as a platform administrator, or to create (required)")
	fs.StringVar(&account, "account", "", "account id (default: the only account)")
	fs.StringVar(&publicURL, "public-url", envOr(getenv, envPublicURL, defaultRecoverURL),
		"URL the server is reached at, for the printed link ($"+envPublicURL+")")
	cfg.registerStoreFlags(fs, getenv)
	cfg.registerLogFlags(fs, getenv)
	if help, err := parseFlags(fs, args[1:], stderr); help || err != nil {
		return err
	}
	var problems []error
	if strings.TrimSpace(email) == "" {
		problems = append(problems, errors.New("--email: the administrator's email is required"))
	}
	if u, err := url.Parse(publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Errorf("--public-url: %q is not an absolute http(s) URL", publicURL))
	}
	store, engine, log, err := openOffline(ctx, "admin recover", &cfg, getenv, true, stderr, problems...)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := setup.Recover(ctx, store, engine, setup.RecoverOptions{AccountID: account, Email: email,
		BaseURL: strings.TrimRight(publicURL, "/")})
	if err != nil {
		return fmt.Errorf("admin recover: %w", err)
	}
	what := "re-enabled as a platform administrator"
	if res.Created {
		what = "created as a platform administrator"
	}
	log.Info("administrator recovered", "account_id", res.Account.ID, "admin_id", res.Admin.ID, "created", res.Created)
	// Printed, not logged: the link is a credential for the operator only.
	fmt.Fprintf(stdout, "%s %s in account %s.\n\nSet the password here (works once, until %s):\n\n    %s\n\n"+
		"Then sign in at /login and enrol an authenticator app (TOTP).\n",
		res.Admin.Email, what, res.Account.ID, res.ExpiresAt.Format(time.RFC3339), res.Link.Reveal())
	return nil
}
