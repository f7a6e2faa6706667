package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/alerts"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// Config is everything `holdfast serve` can be told. Each field comes from
// a flag, else from its HOLDFAST_* environment variable, else a default.
type Config struct {
	Addr    string // listen address, host:port
	DataDir string // where the embedded database lives
	DB      string // metadata store: sqlite:PATH or postgres://...; "" = sqlite in DataDir
	// DBTimeout bounds each database statement; a transaction gets three
	// times as long. Past it the request answers 503.
	DBTimeout time.Duration
	Edition   string // edition of the account the first start creates
	PublicURL string // URL clients reach this server at; "" = derived from Addr
	// TrustedProxies lists, comma-separated, the addresses or CIDR blocks
	// of load balancers whose X-Forwarded-For is believed.
	TrustedProxies string
	Demo           bool // fill an empty store with demo data
	// AllowPrivateIdP lets identity provider fetches (metadata,
	// discovery, keys) reach loopback, private and link-local addresses.
	AllowPrivateIdP bool
	// AllowPrivateWebhooks lets alert webhooks reach loopback, private
	// and link-local addresses.
	AllowPrivateWebhooks bool
	// AlertEvery is how often alerts are evaluated and delivered.
	AlertEvery time.Duration
	// AlertRepeat is how long a firing alert waits to be sent again.
	AlertRepeat time.Duration
	// PolicyEvaluator runs the Rego policies: wasm (compiled by OPA,
	// the default) or topdown (OPA's interpreter).
	PolicyEvaluator string
	// DecisionCacheBytes bounds the memory of the decision cache; 0 turns
	// it off.
	DecisionCacheBytes int64
	LogLevel           string     // debug, info, warn, error
	LogFormat          string     // text or json
	Data               dataConfig // the dedup store: blob backend and master key

	// Bootstrap of the first start; environment only, so secrets stay out
	// of process listings.
	BootstrapEmail    string
	BootstrapPassword holdfast.Secret
	BootstrapToken    holdfast.Secret

	Mail mailConfig // invitations, reset links and scheduled reports
	// SAMLKeyFile and SAMLCertFile are the SP's PEM key pair; "" keeps a
	// generated pair in <data-dir>/saml-sp.{key,crt}.
	SAMLKeyFile  string
	SAMLCertFile string
}

// Environment variables and defaults.
const (
	envAddr              = "HOLDFAST_ADDR"
	envDataDir           = "HOLDFAST_DATA_DIR"
	envDB                = "HOLDFAST_DB"
	envDBTimeout         = "HOLDFAST_DB_TIMEOUT"
	envEdition           = "HOLDFAST_EDITION"
	envPublicURL         = "HOLDFAST_PUBLIC_URL"
	envTrustedProxies    = "HOLDFAST_TRUSTED_PROXIES"
	envLogLevel          = "HOLDFAST_LOG_LEVEL"
	envLogFormat         = "HOLDFAST_LOG_FORMAT"
	envPolicyEvaluator   = "HOLDFAST_POLICY_EVALUATOR"
	envDecisionCache     = "HOLDFAST_DECISION_CACHE_BYTES"
	envAlertEvery        = "HOLDFAST_ALERT_EVERY"
	envAlertRepeat       = "HOLDFAST_ALERT_REPEAT"
	envBootstrapEmail    = "HOLDFAST_BOOTSTRAP_ADMIN_EMAIL"
	envBootstrapPassword = "HOLDFAST_BOOTSTRAP_ADMIN_PASSWORD"
	envBootstrapToken    = "HOLDFAST_BOOTSTRAP_TOKEN"
	envSAMLKeyFile       = "HOLDFAST_SAML_KEY_FILE"
	envSAMLCertFile      = "HOLDFAST_SAML_CERT_FILE"

	defaultAddr    = "127.0.0.1:8080"
	defaultDataDir = "./holdfast-data"
)

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// envDuration is the duration in the environment variable key, else def.
// A value that is not a duration is -1, which the flag's validation reports.
func envDuration(getenv func(string) string, key string, def time.Duration) time.Duration {
	v := getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

// envBytes reads a byte count from the environment: def when unset, -1
// (refused by validate) when it is not a whole number.
func envBytes(getenv func(string) string, key string, def int64) int64 {
	v := getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// registerStoreFlags registers the flags that pick the metadata store,
// shared by serve and bundle.
func (c *Config) registerStoreFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, envDataDir, defaultDataDir),
		"directory for the embedded database ($"+envDataDir+")")
	fs.StringVar(&c.DB, "db", getenv(envDB),
		"metadata store: sqlite:PATH or postgres://USER:PASS@HOST/DB ($"+envDB+"; default sqlite:<data-dir>/holdfast.db)")
	fs.DurationVar(&c.DBTimeout, "db-timeout", envDuration(getenv, envDBTimeout, sqlstore.DefaultCallTimeout),
		"longest wait for one database statement before a request answers 503 (a transaction gets three times as long; $"+envDBTimeout+")")
}

// registerLogFlags registers --log-level and --log-format.
func (c *Config) registerLogFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, envLogLevel, "info"), "debug, info, warn or error ($"+envLogLevel+")")
	fs.StringVar(&c.LogFormat, "log-format", envOr(getenv, envLogFormat, "text"), "text or json ($"+envLogFormat+")")
}

// RegisterFlags registers every serve flag on fs. Defaults come from
// getenv, so a flag wins over the environment, which wins over the
// built-in default. It also reads the environment-only bootstrap settings.
func (c *Config) RegisterFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.Addr, "addr", envOr(getenv, envAddr, defaultAddr), "listen address ($"+envAddr+")")
	c.registerStoreFlags(fs, getenv)
	fs.StringVar(&c.Edition, "edition", envOr(getenv, envEdition, string(holdfast.EditionElite)),
		"edition of the account created on first start: elite_plus, elite, enterprise, business ($"+envEdition+")")
	fs.StringVar(&c.PublicURL, "public-url", getenv(envPublicURL), "URL clients use to reach this server ($"+envPublicURL+")")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", getenv(envTrustedProxies),
		"comma-separated addresses or CIDR blocks of load balancers whose X-Forwarded-For names the client ($"+envTrustedProxies+")")
	c.Data.registerFlags(fs, getenv)
	c.Data.registerJobFlags(fs, getenv)
	fs.StringVar(&c.PolicyEvaluator, "policy-evaluator", envOr(getenv, envPolicyEvaluator, authz.EvaluatorWasm),
		"how the Rego policies run: wasm (compiled by OPA) or topdown (OPA's interpreter); both decide alike ($"+envPolicyEvaluator+")")
	fs.Int64Var(&c.DecisionCacheBytes, "decision-cache-bytes", envBytes(getenv, envDecisionCache, authz.DefaultCacheBytes),
		"memory the decision cache may hold, in bytes; 0 turns it off ($"+envDecisionCache+")")
	fs.BoolVar(&c.Demo, "demo", false, "on an empty store, create a demo account with users, administrators and a legal hold")
	fs.BoolVar(&c.AllowPrivateIdP, "allow-private-idp", false,
		"let identity provider metadata, discovery and key fetches reach loopback, private and link-local addresses")
	fs.BoolVar(&c.AllowPrivateWebhooks, "allow-private-webhooks", false,
		"let alert webhooks reach loopback, private and link-local addresses")
	fs.DurationVar(&c.AlertEvery, "alert-every", envDuration(getenv, envAlertEvery, time.Minute),
		"how often alerts are evaluated and delivered ($"+envAlertEvery+")")
	fs.DurationVar(&c.AlertRepeat, "alert-repeat", envDuration(getenv, envAlertRepeat, alerts.DefaultRepeatInterval),
		"how long a firing alert waits before it is sent again ($"+envAlertRepeat+")")
	c.registerLogFlags(fs, getenv)
	c.BootstrapEmail = getenv(envBootstrapEmail)
	c.BootstrapPassword = holdfast.Secret(getenv(envBootstrapPassword))
	c.BootstrapToken = holdfast.Secret(getenv(envBootstrapToken))
	c.Mail.registerFlags(fs, getenv)
	fs.StringVar(&c.SAMLKeyFile, "saml-key", getenv(envSAMLKeyFile), "SAML SP private key, PEM ($"+envSAMLKeyFile+"; default generated in <data-dir>)")
	fs.StringVar(&c.SAMLCertFile, "saml-cert", getenv(envSAMLCertFile), "SAML SP certificate, PEM ($"+envSAMLCertFile+")")
}

// resolve fills defaults that depend on other fields.
func (c *Config) resolve() {
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "holdfast.db")
	}
	c.Data.resolve(c.DataDir)
}

// validateStore checks the store settings.
func (c *Config) validateStore() error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" && strings.HasPrefix(c.DB, "sqlite:") {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	if _, _, err := storeKind(c.DB); err != nil {
		errs = append(errs, fmt.Errorf("--db: %w", err))
	}
	if c.DBTimeout <= 0 {
		errs = append(errs, errors.New("--db-timeout: want a positive duration such as 10s"))
	}
	return errors.Join(errs...)
}

func (c *Config) validateLog() error {
	var errs []error
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format: %q is not text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	errs := []error{c.validateStore(), c.validateLog(), c.Data.validate()}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr: %q is not host:port (for example 127.0.0.1:8080 or :8080)", c.Addr))
	} else if _, err := net.LookupPort("tcp", port); err != nil || strings.Contains(host, "/") {
		errs = append(errs, fmt.Errorf("--addr: %q has a bad port", c.Addr))
	}
	errs = append(errs, c.Mail.validate())
	if (c.SAMLKeyFile == "") != (c.SAMLCertFile == "") {
		errs = append(errs, errors.New("--saml-key and --saml-cert: give both or neither"))
	}
	if c.PolicyEvaluator != authz.EvaluatorWasm && c.PolicyEvaluator != authz.EvaluatorTopdown {
		errs = append(errs, fmt.Errorf("--policy-evaluator: %q is not wasm or topdown", c.PolicyEvaluator))
	}
	if c.DecisionCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("--decision-cache-bytes: must be a number of bytes, 0 or more"))
	}
	if c.AlertEvery <= 0 || c.AlertRepeat <= 0 {
		errs = append(errs, fmt.Errorf("--alert-every and --alert-repeat: must be durations over zero, like 1m or 4h"))
	}
	if !holdfast.Edition(c.Edition).Valid() {
		errs = append(errs, fmt.Errorf("--edition: %q is not one of elite_plus, elite, enterprise, business", c.Edition))
	}
	if c.BootstrapPassword != "" {
		// The password policy, like every other password.
		var v *holdfast.ValidationError
		if errors.As(idp.CheckPasswordPolicy(envBootstrapPassword, c.BootstrapPassword.Reveal()), &v) {
			for _, f := range v.Fields {
				errs = append(errs, fmt.Errorf("%s: %s", f.Field, f.Message))
			}
		}
	}
	if c.BootstrapToken != "" && len(c.BootstrapToken.Reveal()) < setup.MinBootstrapTokenLength {
		errs = append(errs, fmt.Errorf("%s: must be at least %d characters long", envBootstrapToken, setup.MinBootstrapTokenLength))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url: %q is not an absolute http(s) URL", c.PublicURL))
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// trustedProxies parses TrustedProxies: addresses (a /32 or /128 each) and
// CIDR blocks, comma-separated.
func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR block", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// storeKind splits a --db value into its driver and the driver's DSN.
func storeKind(dsn string) (kind, arg string, err error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		// sqlite:///abs/path and sqlite://rel/path name the same files as
		// sqlite:/abs/path and sqlite:rel/path.
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", fmt.Errorf("%q has no path (want sqlite:PATH)", dsn)
		}
		return "sqlite", path, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return "", "", errors.New("postgres URL is malformed (want postgres://USER:PASS@HOST:PORT/DB)")
		}
		return "postgres", dsn, nil
	}
	return "", "", fmt.Errorf("%q: unsupported store (want sqlite:PATH or postgres://...)", redactDSN(dsn))
}

// redactDSN hides a password in a store URL, for logs and messages.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	if strings.Contains(dsn, "@") || strings.Contains(dsn, "password") {
		return "<redacted>"
	}
	return dsn
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger builds the one logger of the process.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
