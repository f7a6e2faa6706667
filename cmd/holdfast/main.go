// Command holdfast runs the Holdfast server and its tools.
//
//	holdfast serve     run the HTTP server (management API, AuthZEN, console)
//	holdfast backup    back up files, mail, calendars or contacts to a server
//	holdfast restore   restore a snapshot from a server
//	holdfast check     verify the dedup store's packs, indexes and snapshots
//	holdfast keys      rotate the dedup store's data keys
//	holdfast token     create an administrator's API token offline
//	holdfast audit     verify the audit trails
//	holdfast bundle    write an account's OPA bundle
//	holdfast admin     admin recover: the way back into a locked-out account
//	holdfast version   print the version
//
// Wiring only: this is the one package that picks storage drivers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/demo"
	"github.com/holdfast/holdfast/egress"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/server"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "holdfast:", err)
		os.Exit(1)
	}
}

// HTTP server limits. There is no WriteTimeout: WebDAV exports and bundle
// downloads stream for as long as the client reads; slow readers are bounded
// by the handlers' own deadlines instead.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 20 * time.Second
)

const usage = `Usage: holdfast <command> [flags]

Commands:
  serve     run the server (management API /api/v1, AuthZEN /access/v1)
  backup    back up PATH... of a user's device or SaaS source to a server
  restore   restore a snapshot from a server into a directory
  check     verify the dedup store (--read-data: every chunk)
  keys      keys rotate: start a new data key for new data
  token     token create: an API token of an administrator, made offline
  audit     audit verify: check every audit trail's MACs and signed checkpoints
  bundle    write an account's OPA bundle (.tar.gz)
  admin     admin recover: re-enable or create a platform administrator, print a sign-in link
  version   print the version

Run "holdfast <command> -h" for a command's flags.
`

// hooks lets tests observe a running server.
type hooks struct {
	// listening is called with the bound address once serve accepts
	// connections.
	listening func(addr string)
}

// run is the whole program: main only adds signals and the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, hooks{})
}

func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, h hooks) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr, h)
	case "bundle":
		return bundle(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, getenv, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, getenv, stdout, stderr)
	case "admin":
		return runAdmin(ctx, rest, getenv, stdout, stderr)
	case "token":
		return runToken(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, getenv, stdout, stderr)
	case "version":
		if len(rest) > 0 {
			return fmt.Errorf("version: unexpected argument %q", rest[0])
		}
		fmt.Fprintln(stdout, "holdfast", buildVersion())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// parseFlags parses args into fs, printing fs's usage on bad input. -h is
// not an error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (help bool, err error) {
	if help, err := parseWithArgs(fs, args, stderr, ""); help || err != nil {
		return help, err
	}
	if fs.NArg() > 0 {
		printUsage(fs, stderr, "")
		return false, fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return false, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, h hooks) error {
	cfg, log, help, err := serveConfig(args, getenv, stderr)
	if help || err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("serve: data directory: %w", err)
	}
	release, err := LockDataDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer release()

	store, auditSvc, err := openAudit(ctx, cfg, getenv, true, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	stopAudit, err := startAudit(ctx, auditSvc)
	if err != nil {
		return err
	}
	// The last checkpoint (at shutdown) is written before the store closes.
	defer stopAudit()
	engine, err := authz.New(ctx, authz.Options{Store: store, Logger: log, Evaluator: cfg.PolicyEvaluator, CacheBytes: cacheBytes(cfg.DecisionCacheBytes)})
	if err != nil {
		return err
	}
	log.Info("policies compiled", "evaluator", engine.Evaluator())
	link, err := bootstrap(ctx, cfg, store, engine, log, stderr)
	if err != nil {
		return err
	}
	data, err := serveData(ctx, &cfg, store, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := data.Close(); err != nil {
			log.Error("close chunk store", "err", err)
		}
	}()
	srv, err := newServer(cfg, store, engine, data, auditSvc, log)
	if err != nil {
		return err
	}
	go sweep(ctx, srv, log)
	startAlerts(ctx, srv, cfg.AlertEvery, log)
	go srv.RunReportSchedules(ctx)
	return listenAndServe(ctx, cfg, srv.Handler(), log, stderr, link, h)
}

// startAlerts looks once before the server answers, so every source's
// cursor starts before the first request (what happens from then on is
// news), then evaluates every interval.
func startAlerts(ctx context.Context, srv *server.Server, every time.Duration, log *slog.Logger) {
	if err := srv.Alerts().Tick(ctx); err != nil {
		log.Error("alerts: first evaluation", "error", err.Error())
	}
	go srv.Alerts().Run(ctx, every)
}

// serveConfig parses serve's flags and builds its logger.
func serveConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, *slog.Logger, bool, error) {
	var cfg Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterFlags(fs, getenv)
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return cfg, nil, help, err
	}
	cfg.resolve()
	if err := cfg.Validate(); err != nil {
		return cfg, nil, false, fmt.Errorf("serve: invalid configuration:\n%w", err)
	}
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return cfg, nil, false, err
	}
	log.Info("starting", "version", buildVersion(), "db", redactDSN(cfg.DB), "blob", redactDSN(cfg.Data.Blob), "edition", cfg.Edition)
	return cfg, log, false, nil
}

// startAudit cuts an unkeyed trail over to keyed chains (before anything
// appends) and runs the checkpoint and retention job until the returned
// stop, which waits for its last checkpoint.
func startAudit(ctx context.Context, auditSvc *audit.Service) (stop func(), err error) {
	if err := auditSvc.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("serve: audit trail: %w", err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		auditSvc.Run(actx, auditCheckpointEvery, auditPruneEvery)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// serveData opens the chunk store and starts its compaction job, which
// asks the legal holds before forgetting anything.
func serveData(ctx context.Context, cfg *Config, store holdfast.MetaStore, log *slog.Logger) (*storage.Store, error) {
	cfg.Data.onKeyCreated = func(path string) {
		log.Warn("master key created: back it up, the chunk store cannot be read without it", "file", path)
	}
	// The chunk index lives in the metadata store, which every replica
	// shares: a chunk one replica stored is present for all at once.
	index, ok := store.(holdfast.ChunkIndex)
	if !ok {
		return nil, errors.New("serve: the metadata store keeps no chunk index")
	}
	data, _, err := openData(ctx, cfg.Data, cfg.DataDir, true, index)
	if err != nil {
		return nil, fmt.Errorf("serve: chunk store: %w", err)
	}
	if cfg.Data.CompactEvery > 0 {
		clog := log.With("component", "compaction")
		go data.RunCompaction(ctx, cfg.Data.CompactEvery, retentionOf(store), legalhold.New(store, legalhold.Options{}),
			func(res storage.CompactResult, err error) {
				if err != nil {
					clog.Error("compaction", "err", err)
				}
				clog.Info("compaction done", "forgotten", res.Forgotten, "kept_for_holds", res.Held,
					"chunks_removed", res.Prune.ChunksRemoved, "bytes_freed", res.Prune.BytesFreed, "packs_locked", res.Prune.PacksLocked)
			})
	}
	return data, nil
}

// newServer wires the HTTP server over the stores, the engine and sign-in.
func newServer(cfg Config, store holdfast.MetaStore, engine *authz.Engine, data *storage.Store, auditSvc *audit.Service, log *slog.Logger) (*server.Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	auth, err := authOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return nil, err
	}
	mailer, err := cfg.Mail.mailer(cfg.DataDir, nil)
	if err != nil {
		return nil, err
	}
	return server.New(server.Options{
		Store:          store,
		Engine:         engine,
		Logger:         log,
		PublicURL:      cfg.PublicURL, // "" = taken from each request
		TrustedProxies: proxies,
		Registry:       reg,
		Auth:           auth,
		Data:           data,
		Audit:          auditSvc,
		Alerts: server.AlertOptions{Client: egress.NewClient(egress.Options{AllowPrivate: cfg.AllowPrivateWebhooks}),
			AllowPrivate: cfg.AllowPrivateWebhooks, Mailer: auth.Mailer, RepeatInterval: cfg.AlertRepeat},
		Mailer: mailer,
	})
}

// listenAndServe serves handler on cfg.Addr until ctx ends, then shuts
// down gracefully.
func listenAndServe(ctx context.Context, cfg Config, handler http.Handler, log *slog.Logger, stderr io.Writer, link setup.Link, h hooks) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	addr := ln.Addr().String()
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("listening", "addr", addr, "public_url", cfg.PublicURL)
	if host, _, err := net.SplitHostPort(addr); cfg.PublicURL == "" && err == nil && !net.ParseIP(host).IsLoopback() {
		log.Warn("no --public-url: mailed sign-in links name the address each connection reached; set --public-url to the URL users reach this server at")
	}
	printWelcome(stderr, baseURL(cfg.PublicURL, addr), link)
	if h.listening != nil {
		h.listening(addr)
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// bootstrap prepares the store on first start, with demo data when asked.
// It prints a demo password once; the setup link of an administrator
// without a password is returned for printWelcome.
func bootstrap(ctx context.Context, cfg Config, store holdfast.MetaStore, engine *authz.Engine, log *slog.Logger, stderr io.Writer) (setup.Link, error) {
	opts := setup.BootstrapOptions{
		Edition:       holdfast.Edition(cfg.Edition),
		AdminEmail:    cfg.BootstrapEmail,
		AdminPassword: cfg.BootstrapPassword,
		Token:         cfg.BootstrapToken,
	}
	var res setup.BootstrapResult
	var password holdfast.Secret
	if cfg.Demo {
		d, err := demo.Load(ctx, store, engine, opts)
		if err != nil {
			return setup.Link{}, err
		}
		res, password = d.Bootstrap, d.Password
		if !res.Existing {
			log.Info("demo data created", "account_id", res.Account.ID, "administrators", d.Admins,
				"users", d.Users, "devices", d.Devices, "profiles", d.Profiles)
		} else {
			log.Warn("demo data not created: the store already holds an account")
		}
	} else {
		var err error
		if res, err = setup.Bootstrap(ctx, store, opts); err != nil {
			return setup.Link{}, err
		}
	}
	for _, w := range res.Warnings {
		log.Warn("bootstrap setting ignored", "reason", w)
	}
	if res.Existing {
		log.Info("using existing account", "account_id", res.Account.ID)
		return res.Setup, nil
	}
	log.Info("account created", "account_id", res.Account.ID, "edition", res.Account.Edition,
		"admin_email", res.Admin.Email, "token_id", res.TokenID)
	if password != "" {
		who := "every demo administrator (platform administrator: " + res.Admin.Email + ")"
		// Printed, not logged: it must reach the operator once and never a
		// log pipeline. Only the argon2id hash is stored.
		fmt.Fprintf(stderr, "\n  Generated password for %s:\n\n      %s\n\n  It is shown only now.\n\n", who, password.Reveal())
	}
	return res.Setup, nil
}

// printWelcome tells the operator, once per start, where the console is
// and, while the platform administrator has no password, the one-time
// link that sets it. Printed, not logged: the link is a credential and
// must never reach a log pipeline.
func printWelcome(stderr io.Writer, base string, link setup.Link) {
	if link.Secret == "" {
		fmt.Fprintf(stderr, "\n  Holdfast console: %s/console\n\n", base)
		return
	}
	fmt.Fprintf(stderr, "\n  Holdfast console: %s/console\n\n"+
		"  Set the password of the platform administrator %s here\n"+
		"  (the link works once, until %s; restart the server for a fresh one):\n\n      %s\n\n",
		base, link.Email, link.ExpiresAt.UTC().Format(time.RFC3339), link.URL(base))
}

// baseURL is the URL the operator reaches the server at: --public-url,
// else the listening address (localhost when it listens on every address).
func baseURL(publicURL, addr string) string {
	if publicURL != "" {
		return strings.TrimSuffix(publicURL, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// openStore opens the metadata store named by dsn (already validated).
// opts configure the store (sqlstore.WithAuditKey).
func openStore(ctx context.Context, dsn string, timeout time.Duration, opts ...sqlstore.Option) (holdfast.MetaStore, error) {
	kind, arg, err := storeKind(dsn)
	if err != nil {
		return nil, err
	}
	var s *sqlstore.Store
	if kind == "sqlite" {
		if err := os.MkdirAll(filepath.Dir(arg), 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		s, err = sqlite.Open(ctx, arg, opts...)
	} else {
		s, err = postgres.Open(ctx, arg, opts...)
	}
	if err != nil {
		return nil, err
	}
	s.SetTimeouts(timeout, 3*timeout)
	return s, nil
}

// openOffline is the start of an offline command over the metadata store:
// it resolves and checks cfg's store and log flags, reporting them with
// the command's own problems all at once, then opens the store and an
// engine over it. An embedded database that does not exist yet is an
// error, not created empty just to report that it is empty. The caller
// closes the store.
//
// Commands that write (and so audit) need the audit key: with writes, a
// missing key is an error; without, the store is opened for reading.
func openOffline(ctx context.Context, cmd string, cfg *Config, getenv func(string) string, writes bool, stderr io.Writer, problems ...error) (holdfast.MetaStore, *authz.Engine, *slog.Logger, error) {
	cfg.resolve()
	if err := errors.Join(append([]error{cfg.validateStore(), cfg.validateLog()}, problems...)...); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: invalid arguments:\n%w", cmd, err)
	}
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return nil, nil, nil, err
	}
	if kind, path, _ := storeKind(cfg.DB); kind == "sqlite" {
		if _, err := os.Stat(path); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: no database at %s (start \"holdfast serve\" once first, or pass --db)", cmd, path)
		}
	}
	var opts []sqlstore.Option
	if writes {
		key, err := auditKeyOption(cfg.DataDir, getenv)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
		}
		opts = append(opts, key)
	}
	store, err := openStore(ctx, cfg.DB, cfg.DBTimeout, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	engine, err := authz.New(ctx, authz.Options{Store: store, Logger: log})
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	return store, engine, log, nil
}

func bundle(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var out, accountID string
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.StringVar(&out, "o", "", `output file (.tar.gz); "-" writes to standard output`)
	fs.StringVar(&accountID, "account", "", "account id (default: the only account)")
	cfg.registerStoreFlags(fs, getenv)
	cfg.registerLogFlags(fs, getenv)
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return err
	}
	var problem error
	if out == "" {
		problem = errors.New("-o: an output file is required")
	}
	store, engine, log, err := openOffline(ctx, "bundle", &cfg, getenv, false, stderr, problem)
	if err != nil {
		return err
	}
	defer store.Close()
	if accountID == "" {
		accounts, err := store.ListAccounts(ctx)
		if err != nil {
			return err
		}
		switch len(accounts) {
		case 0:
			return errors.New(`bundle: the store holds no account (start "holdfast serve" once first)`)
		case 1:
			accountID = accounts[0].ID
		default:
			return fmt.Errorf("bundle: the store holds %d accounts; choose one with --account", len(accounts))
		}
	} else if _, err := store.GetAccount(ctx, accountID); err != nil {
		return fmt.Errorf("bundle: account %q: %w", accountID, err)
	}

	if out == "-" {
		return engine.WriteBundle(ctx, accountID, stdout)
	}
	// Write next to the target and rename, so a failed export never leaves
	// a truncated bundle where OPA would load it.
	f, err := os.CreateTemp(filepath.Dir(out), ".bundle-*.tar.gz")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer os.Remove(f.Name())
	if err := engine.WriteBundle(ctx, accountID, f); err != nil {
		f.Close()
		return fmt.Errorf("bundle: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	log.Info("bundle written", "file", out, "account_id", accountID)
	return nil
}

// buildVersion is the version set by -ldflags, else the module version and
// VCS revision from the build information.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v
}

// cacheBytes maps the --decision-cache-bytes value (0: off) to
// authz.Options.CacheBytes (negative: off).
func cacheBytes(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}
