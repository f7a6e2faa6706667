package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/backup"
)

// Settings of the backup and restore clients.
const (
	envServer = "HOLDFAST_SERVER"
	envToken  = "HOLDFAST_TOKEN"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server string
	token  string
	user   string
	device string
	source string
}

func (c *clientFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.server, "server", getenv(envServer), "server URL, e.g. http://127.0.0.1:8080 ($"+envServer+")")
	fs.StringVar(&c.token, "token", "", "API token (default $"+envToken+"; prefer the variable: flags show in process lists)")
	fs.StringVar(&c.user, "user", "", "the user whose data it is (email or id)")
	fs.StringVar(&c.device, "device", "", "the user's endpoint, by name")
	fs.StringVar(&c.source, "source", "", "a SaaS source instead of a device: mail, calendar, contacts or files")
}

func (c *clientFlags) client(getenv func(string) string) (*backup.Client, error) {
	token := c.token
	if token == "" {
		token = getenv(envToken)
	}
	if c.server == "" {
		return nil, errors.New("--server is required")
	}
	if token == "" {
		return nil, errors.New("--token (or $" + envToken + ") is required")
	}
	return backup.NewClient(c.server, holdfast.Secret(token), nil)
}

// parseWithArgs is parseFlags for commands that take arguments after the
// flags (usageArgs names them in the usage line).
func parseWithArgs(fs *flag.FlagSet, args []string, stderr io.Writer, usageArgs string) (help bool, err error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		printUsage(fs, stderr, usageArgs)
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return false, nil
}

// printUsage writes fs's usage line and flags to stderr.
func printUsage(fs *flag.FlagSet, stderr io.Writer, usageArgs string) {
	if usageArgs != "" {
		usageArgs = " " + usageArgs
	}
	fs.SetOutput(stderr)
	fmt.Fprintf(stderr, "Usage: holdfast %s [flags]%s\n\nFlags:\n", fs.Name(), usageArgs)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var cacheDir string
	var quiet bool
	var workers int
	var home string
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cf.register(fs, getenv)
	fs.StringVar(&home, "home", "", "where the profile's folders (Desktop, Documents, ...) are, for --device without a PATH (default: your home directory)")
	defCache := ""
	if d, err := os.UserCacheDir(); err == nil {
		defCache = filepath.Join(d, "holdfast")
	}
	fs.StringVar(&cacheDir, "cache-dir", defCache, `where unchanged files are remembered ("" = off)`)
	fs.BoolVar(&quiet, "quiet", false, "no progress bar (there is none when standard error is not a terminal)")
	fs.IntVar(&workers, "workers", 16, "parallel uploads (each is answered once its pack is stored; uploads in flight together share a pack)")
	if help, err := parseWithArgs(fs, args, stderr, "[PATH...]"); help || err != nil {
		return err
	}
	var errs []error
	if cf.user == "" {
		errs = append(errs, errors.New("--user is required"))
	}
	if (cf.device == "") == (cf.source == "") {
		errs = append(errs, errors.New("give exactly one of --device NAME and --source mail|calendar|contacts|files"))
	}
	if src := storage.Source(cf.source); src != "" && (!src.Valid() || src == storage.SourceDevice) {
		errs = append(errs, fmt.Errorf("--source: %q is not mail, calendar, contacts or files", cf.source))
	}
	if fs.NArg() == 0 && cf.source != "" {
		errs = append(errs, errors.New("name at least one PATH to back up (only --device backs up its profile's folders without one)"))
	}
	if workers < 1 || workers > 64 {
		errs = append(errs, errors.New("--workers: 1 to 64"))
	}
	c, err := cf.client(getenv)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backup: invalid arguments:\n%w", err)
	}
	var progress io.Writer
	if !quiet && isTerminal(stderr) {
		progress = stderr
	}
	res, err := backup.Run(ctx, backup.Options{Client: c, User: cf.user, Device: cf.device, Source: storage.Source(cf.source),
		Paths: fs.Args(), Home: home, CacheDir: cacheDir, Progress: progress, Workers: workers})
	if err != nil {
		return err
	}
	if res.Excluded > 0 {
		fmt.Fprintf(stdout, "%d files left out by the profile's backup policy (their type or size)\n", res.Excluded)
	}
	fmt.Fprintf(stdout, "snapshot %s: %d items, %s; %d chunks: %d already stored, %d uploaded (%s) in %s\n", res.Snapshot.ID, res.Items,
		backup.HumanBytes(res.Bytes), res.Chunks, res.Deduplicated, res.Uploaded, backup.HumanBytes(res.UploadedBytes), res.Duration.Round(1e6))
	if res.Attempts > 1 {
		fmt.Fprintf(stdout, "chunks the server had reported present were gone at the commit; read and committed %d times\n", res.Attempts)
	}
	return nil
}

func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var snapshot, to, prefix string
	var overwrite, quiet bool
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	cf.register(fs, getenv)
	fs.StringVar(&snapshot, "snapshot", "", "snapshot id (default: the newest of --user's --device or --source)")
	fs.StringVar(&to, "to", "", "directory to restore into (required)")
	fs.StringVar(&prefix, "path", "", "restore only items whose path starts with this")
	fs.BoolVar(&overwrite, "overwrite", false, "replace files that already exist under --to (without it, such a restore refuses before writing)")
	fs.BoolVar(&quiet, "quiet", false, "no progress bar (there is none when standard error is not a terminal)")
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return err
	}
	var errs []error
	if to == "" {
		errs = append(errs, errors.New("--to is required"))
	}
	if snapshot == "" && cf.user == "" {
		errs = append(errs, errors.New("give --snapshot ID, or --user with --device or --source"))
	}
	c, err := cf.client(getenv)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restore: invalid arguments:\n%w", err)
	}
	var progress io.Writer
	if !quiet && isTerminal(stderr) {
		progress = stderr
	}
	res, err := backup.Restore(ctx, backup.RestoreOptions{Client: c, SnapshotID: snapshot, User: cf.user, Device: cf.device,
		Source: storage.Source(cf.source), Target: to, Prefix: prefix, Overwrite: overwrite, Progress: progress})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d items (%s) of snapshot %s into %s in %s\n", res.Items, backup.HumanBytes(res.Bytes),
		res.Snapshot.ID, to, res.Duration.Round(1e6))
	return nil
}

// isTerminal reports whether w is a terminal: progress bars redraw a line
// in place, which only makes sense there (not in a log file or a pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// localData registers the flags of commands that open the dedup store
// directly (check, keys) and opens it.
type localData struct {
	cfg     Config
	release func() // the data directory's lock; nil when not taken
}

func (l *localData) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&l.cfg.DataDir, "data-dir", envOr(getenv, envDataDir, defaultDataDir), "data directory ($"+envDataDir+")")
	l.cfg.Data.registerFlags(fs, getenv)
}

// open opens the dedup store of an existing data directory; it never
// creates one. With write, it first takes the data directory's lock, held
// until the store is closed.
func (l *localData) open(ctx context.Context, write bool) (*storage.Store, error) {
	l.cfg.resolve()
	if err := l.cfg.Data.validate(); err != nil {
		return nil, err
	}
	kind, blobs, _ := blobKind(l.cfg.Data.Blob)
	if kind == "file" || l.cfg.Data.MasterKey == "" {
		if err := requireDataDir(l.cfg.DataDir); err != nil {
			return nil, err
		}
	}
	if kind == "file" {
		if fi, err := os.Stat(blobs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("no chunk store at %s: pass the --data-dir (or --blob) that \"holdfast serve\" uses", blobs)
		}
	}
	if write {
		release, err := LockDataDir(l.cfg.DataDir)
		if err != nil {
			return nil, err
		}
		l.release = release
	}
	data, _, err := openData(ctx, l.cfg.Data, l.cfg.DataDir, false, nil)
	if err != nil {
		l.close()
	}
	return data, err
}

// close releases the data directory's lock, if open took it.
func (l *localData) close() {
	if l.release != nil {
		l.release()
		l.release = nil
	}
}

func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	var l localData
	var readData, asJSON bool
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	l.register(fs, getenv)
	fs.BoolVar(&readData, "read-data", false, "also read every pack and decrypt and re-hash every chunk")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return err
	}
	data, err := l.open(ctx, false)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer func() {
		if cerr := data.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("check: close store: %w", cerr)
		}
	}()
	rep, err := data.Check(ctx, readData)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "checked %d accounts, %d packs, %d chunks, %d snapshots (read data: %v)\n",
			rep.Accounts, rep.Packs, rep.Chunks, rep.Snapshots, rep.ReadData)
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, "DAMAGED", p)
		}
		if len(rep.Damaged) > 0 {
			fmt.Fprintln(stdout, "snapshots affected:", strings.Join(rep.Damaged, " "))
		}
		if len(rep.Orphans) > 0 {
			fmt.Fprintf(stdout, "%d unreferenced packs (left by an interrupted write; the next compaction removes them)\n", len(rep.Orphans))
		}
	}
	if !rep.OK() {
		return fmt.Errorf("check: %d problems, %d snapshots affected", len(rep.Problems), len(rep.Damaged))
	}
	fmt.Fprintln(stdout, "no damage found")
	return nil
}

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, "Usage: holdfast keys rotate [--account ID] [flags]\n")
		return errors.New("keys: the only subcommand is rotate")
	}
	var l localData
	var account string
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	l.register(fs, getenv)
	fs.StringVar(&account, "account", "", "account id (default: every account with data)")
	if help, err := parseFlags(fs, args[1:], stderr); help || err != nil {
		return err
	}
	data, err := l.open(ctx, true)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	defer l.close()
	defer func() {
		if cerr := data.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("keys rotate: close store: %w", cerr)
		}
	}()
	ids, err := data.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	if len(ids) == 0 {
		return errors.New("keys rotate: the store holds no account data yet")
	}
	if account != "" {
		if !slices.Contains(ids, account) {
			return fmt.Errorf("keys rotate: account %q has no data in the store", account)
		}
		ids = []string{account}
	}
	for _, id := range ids {
		n, err := data.RotateKey(ctx, id)
		if err != nil {
			return fmt.Errorf("keys rotate: %w", err)
		}
		fmt.Fprintf(stdout, "account %s: new data key %d (older data keeps its keys; a running server uses the new key after a restart)\n", id, n)
	}
	return nil
}
