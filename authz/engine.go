// Package authz is Holdfast's decision engine. Casbin answers "does this
// role grant this right" (the catalog's default grants plus each account's
// custom roles, kept in the metadata store); Rego answers every other rule
// of the spec (editions, scopes, administrator management, custom roles,
// legal holds). Decide resolves every attribute from live data first, so an
// edited role or a re-scoped administrator counts from the next request on.
//
// The Rego policies run compiled: OPA's Wasm compiler turns the same
// modules into a WebAssembly module that wazero runs (wasm.go), several
// times faster than OPA's interpreter (topdown), which stays available
// (Options.Evaluator) and answers whenever a Wasm evaluation fails.
package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/policies"
)

// DecisionQuery is the Rego document every decision evaluates.
const DecisionQuery = "data.holdfast.authz.decision"

// Options configure an Engine.
type Options struct {
	Store  holdfast.MetaStore // required
	Logger *slog.Logger
	// CacheBytes bounds the memory the decision cache holds, in bytes. 0
	// uses DefaultCacheBytes; a negative value turns the cache off.
	CacheBytes int64
	// NoAttributeCache turns off the per-revision cache of attribute reads
	// (for measuring the cold path).
	NoAttributeCache bool
	// Evaluator chooses how the Rego policies run: EvaluatorWasm (the
	// default: compiled to WebAssembly by OPA and run in wazero) or
	// EvaluatorTopdown (OPA's interpreter, which stock OPA runs too). The
	// decision tables hold both to the same answers.
	Evaluator string
}

// Evaluators of the Rego policies.
const (
	EvaluatorWasm    = "wasm"
	EvaluatorTopdown = "topdown"
)

// Engine decides. It is safe for concurrent use.
type Engine struct {
	store      holdfast.MetaStore
	cat        *policies.Catalog
	log        *slog.Logger
	query      rego.PreparedEvalQuery
	policyHash string // identifies the compiled policies and catalog
	modules    map[string]string
	wasm       *wasmEvaluator // nil: evaluate with topdown
	fallbacks  atomic.Int64   // wasm evaluations that failed and went to topdown
	cache      *decisionCache
	attrs      *attrCaches // nil when Options.NoAttributeCache
	ids        *idSource

	mu     sync.Mutex // guards grants
	grants *grantTable
}

var _ holdfast.Authorizer = (*Engine)(nil)

// New compiles the policies and loads the grants; a bad policy fails here.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("authz: a store is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cat, err := policies.Load()
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	modules, err := policies.Modules()
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	data := cat.RegoData()
	h := sha256.New()
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	opt := []func(*rego.Rego){
		rego.Query(DecisionQuery),
		rego.Store(inmem.NewFromObjectWithOpts(map[string]any{"holdfast": map[string]any{"catalog": data}}, inmem.OptReturnASTValuesOnRead(true))),
		rego.SetRegoVersion(ast.RegoV1),
		rego.StrictBuiltinErrors(true),
	}
	for _, name := range names {
		opt = append(opt, rego.Module(name, modules[name]))
		fmt.Fprintf(h, "%s\n%s\n", name, modules[name])
	}
	catJSON, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("authz: catalog data: %w", err)
	}
	h.Write(catJSON)
	h.Write([]byte(cat.CasbinModel()))
	h.Write([]byte(cat.CasbinPolicy()))
	q, err := rego.New(opt...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: compile policies: %w", err)
	}
	policyHash := hex.EncodeToString(h.Sum(nil))[:16]
	var wasm *wasmEvaluator
	switch opts.Evaluator {
	case "", EvaluatorWasm:
		if wasm, err = sharedWasmEvaluator(ctx, policyHash, modules, catJSON); err != nil {
			return nil, err
		}
	case EvaluatorTopdown:
	default:
		return nil, fmt.Errorf("authz: unknown evaluator %q (want %q or %q)", opts.Evaluator, EvaluatorWasm, EvaluatorTopdown)
	}
	cacheBytes := opts.CacheBytes
	if cacheBytes == 0 {
		cacheBytes = DefaultCacheBytes
	}
	e := &Engine{
		store:      opts.Store,
		cat:        cat,
		log:        log.With("component", "authz"),
		query:      q,
		policyHash: policyHash,
		modules:    modules,
		wasm:       wasm,
		cache:      newDecisionCache(cacheBytes),
		ids:        newIDSource(),
	}
	if !opts.NoAttributeCache {
		e.attrs = newAttrCaches()
	}
	if _, err := e.currentGrants(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Catalog returns the rights catalog the engine decides with.
func (e *Engine) Catalog() *policies.Catalog { return e.cat }

// currentGrants returns the grant table at the store's policy revision,
// reloading it when another writer (or replica) changed a rule.
func (e *Engine) currentGrants(ctx context.Context) (*grantTable, error) {
	rev, err := e.store.PolicyRevision(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: policy revision: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.grants != nil && e.grants.rev == rev {
		return e.grants, nil
	}
	g, err := loadGrants(ctx, e.cat.CasbinModel(), NewAdapter(e.store, e.cat.CasbinPolicy()), rev)
	if err != nil {
		return nil, err
	}
	e.grants = g
	return g, nil
}

// Decide answers req. Denials are decisions, not errors; an error means the
// engine could not decide (the caller must deny). It is a batch of one.
func (e *Engine) Decide(ctx context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	res := e.DecideBatch(ctx, []holdfast.DecisionRequest{req})
	return res[0].Decision, res[0].Err
}

// DecideBatch answers reqs in order, each as Decide would.
//
// With AccountID set (the server always sets it), a request asked before
// is answered from the decision cache after two revision reads; the key
// carries the policy hash, the policy revision and the account's data
// revision, so any change to rules or data makes old entries unreachable.
// The attributes of the rest are read for the whole batch at once
// (MetaStore.LoadAttributes) into the account's attribute snapshot, then
// each is resolved and evaluated, on as many cores as there are.
func (e *Engine) DecideBatch(ctx context.Context, reqs []holdfast.DecisionRequest) []holdfast.DecisionResult {
	out := make([]holdfast.DecisionResult, len(reqs))
	g, err := e.currentGrants(ctx)
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	if len(reqs) == 1 {
		e.decideAccount(ctx, g, reqs[0].AccountID, reqs, []int{0}, out)
		return out
	}
	var accounts []string
	byAccount := map[string][]int{}
	for i, req := range reqs {
		if _, ok := byAccount[req.AccountID]; !ok {
			accounts = append(accounts, req.AccountID)
		}
		byAccount[req.AccountID] = append(byAccount[req.AccountID], i)
	}
	for _, acct := range accounts {
		e.decideAccount(ctx, g, acct, reqs, byAccount[acct], out)
	}
	return out
}

// decideAccount answers the requests reqs[idx] of one account into out.
func (e *Engine) decideAccount(ctx context.Context, g *grantTable, accountID string, reqs []holdfast.DecisionRequest, idx []int, out []holdfast.DecisionResult) {
	dataRev, err := int64(-1), error(nil)
	if accountID != "" {
		dataRev, err = e.store.Revision(ctx, accountID)
	}
	if accountID == "" || errors.Is(err, holdfast.ErrNotFound) {
		// No account to key a cache or a snapshot by: decide each from
		// the store.
		for _, i := range idx {
			out[i].Decision, out[i].Err = e.decide(ctx, g, e.store, -1, reqs[i])
			e.stamp(&out[i])
		}
		return
	}
	if err != nil {
		for _, i := range idx {
			out[i].Err = fmt.Errorf("authz: data revision: %w", err)
		}
		return
	}
	revision := e.revisionString(g.rev, dataRev)
	keys := make([]string, len(idx))
	misses := make([]int, 0, len(idx))
	for n, i := range idx {
		if e.cache.enabled() {
			keys[n] = cacheKey(accountID, revision, reqs[i])
			if d, ok := e.cache.get(keys[n]); ok {
				out[i].Decision = d
				e.stamp(&out[i])
				continue
			}
		}
		misses = append(misses, n)
	}
	if len(misses) == 0 {
		return
	}
	var snap *attrSnapshot
	if e.attrs != nil {
		snap = e.attrs.at(e.store, accountID, dataRev)
	} else {
		snap = newAttrSnapshot(e.store, accountID, dataRev)
	}
	batch := make([]holdfast.DecisionRequest, len(misses))
	for k, n := range misses {
		batch[k] = reqs[idx[n]]
	}
	if err := snap.prefetch(ctx, e.store, attributeQuery(batch)); err != nil {
		for _, n := range misses {
			out[idx[n]].Err = err
		}
		return
	}
	parallel(len(misses), func(k int) {
		n := misses[k]
		i := idx[n]
		d, err := e.decide(ctx, g, snap, dataRev, reqs[i])
		// Cache only decisions made on this revision: then the answer
		// is at least as new as the key says.
		if err == nil && keys[n] != "" && d.Revision == revision {
			e.cache.put(keys[n], d)
		}
		out[i] = holdfast.DecisionResult{Decision: d, Err: err}
		e.stamp(&out[i])
	})
}

// stamp gives a decision its id.
func (e *Engine) stamp(r *holdfast.DecisionResult) {
	if r.Err == nil {
		r.Decision.ID = e.ids.next()
	}
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines; a small n runs
// on the caller's.
func parallel(n int, fn func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minPerWorker)
	if workers <= 1 {
		for k := range n {
			fn(k)
		}
		return
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
				fn(k)
			}
		})
	}
	wg.Wait()
}

// minPerWorker is the fewest decisions worth a goroutine of their own.
const minPerWorker = 8

// decide resolves and evaluates req without the cache. dataRev is the
// account's data revision read before resolving, or -1 to read it here.
func (e *Engine) decide(ctx context.Context, g *grantTable, rd reader, dataRev int64, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	r := resolver{store: rd, cat: e.cat, g: g}
	deny := func(revision, rule, reason string) (holdfast.Decision, error) {
		return holdfast.Decision{Reasons: []string{reason}, Rules: []string{rule}, Revision: revision}, nil
	}
	policyOnly := e.revisionString(g.rev, -1)
	if req.Subject.Type != holdfast.PrincipalAdmin {
		return deny(policyOnly, "subject.type", fmt.Sprintf("subject type %q is not supported; use %q", req.Subject.Type, holdfast.PrincipalAdmin))
	}
	if req.Action.Name == "" {
		return deny(policyOnly, "action.missing", "no action named")
	}
	admin, err := r.subject(ctx, req.AccountID, req.Subject.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return deny(policyOnly, "subject.unknown", "unknown administrator")
	}
	if err != nil {
		return holdfast.Decision{}, err
	}
	acct, err := rd.GetAccount(ctx, admin.AccountID)
	if err != nil {
		return holdfast.Decision{}, fmt.Errorf("authz: account of %s: %w", admin.ID, err)
	}
	if dataRev < 0 {
		if dataRev, err = e.store.Revision(ctx, acct.ID); err != nil {
			return holdfast.Decision{}, fmt.Errorf("authz: data revision: %w", err)
		}
	}
	revision := e.revisionString(g.rev, dataRev)
	input, err := r.input(ctx, acct, admin, req)
	var rf *refusal
	if errors.As(err, &rf) {
		return deny(revision, rf.rule, rf.reason)
	}
	if err != nil {
		return holdfast.Decision{}, err
	}
	d, err := e.eval(ctx, input)
	if err != nil {
		return holdfast.Decision{}, err
	}
	d.Revision = revision
	return d, nil
}

// revisionString names the policy and data a decision was made on; a
// negative data revision means the decision did not depend on data.
func (e *Engine) revisionString(policyRev, dataRev int64) string {
	s := e.policyHash + ".p" + strconv.FormatInt(policyRev, 10)
	if dataRev >= 0 {
		s += ".d" + strconv.FormatInt(dataRev, 10)
	}
	return s
}

// eval runs the decision document over a resolved input: in Wasm, or in
// topdown when Wasm is off or failed (topdown then reports any error the
// policy itself raises).
func (e *Engine) eval(ctx context.Context, input map[string]any) (holdfast.Decision, error) {
	if e.wasm != nil {
		d, err := e.wasm.eval(ctx, input)
		if err == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			return holdfast.Decision{}, fmt.Errorf("authz: evaluate: %w", ctx.Err())
		}
		e.fallbacks.Add(1)
		if errors.Is(err, errInputRefused) {
			// Expected for odd inputs (invalid UTF-8 in an action name):
			// not worth a warning a caller could flood the log with.
			e.log.Debug("input not evaluated in wasm; evaluating with topdown", "err", err)
		} else {
			e.log.Warn("wasm evaluation failed; evaluating with topdown", "err", err)
		}
	}
	return e.evalTopdown(ctx, input)
}

// WasmFallbacks counts the evaluations Wasm could not finish, which
// topdown then made.
func (e *Engine) WasmFallbacks() int64 { return e.fallbacks.Load() }

// Evaluator names the evaluator the engine runs the policies with.
func (e *Engine) Evaluator() string {
	if e.wasm != nil {
		return EvaluatorWasm
	}
	return EvaluatorTopdown
}

// evalTopdown runs the decision document in OPA's interpreter.
func (e *Engine) evalTopdown(ctx context.Context, input map[string]any) (holdfast.Decision, error) {
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return holdfast.Decision{}, fmt.Errorf("authz: input: %w", err)
	}
	c := topdown.NewCancel()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, c.Cancel)
		defer stop()
	}
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(v), rego.EvalExternalCancel(c), rego.EvalMetrics(noMetrics))
	if err != nil {
		return holdfast.Decision{}, fmt.Errorf("authz: evaluate: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return holdfast.Decision{}, errors.New("authz: the decision document is undefined")
	}
	return parseDecision(rs[0].Expressions[0].Value)
}

var noMetrics = metrics.NoOp()

// parseDecision reads the {allow, reasons, rules} document.
func parseDecision(v any) (holdfast.Decision, error) {
	doc, ok := v.(map[string]any)
	if !ok {
		return holdfast.Decision{}, fmt.Errorf("authz: decision is %T, want an object", v)
	}
	var d holdfast.Decision
	d.Allow, _ = doc["allow"].(bool)
	for _, k := range []string{"reasons", "rules"} {
		list, _ := doc[k].([]any)
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return holdfast.Decision{}, fmt.Errorf("authz: decision %s holds %T", k, x)
			}
			if k == "reasons" {
				d.Reasons = append(d.Reasons, s)
			} else {
				d.Rules = append(d.Rules, s)
			}
		}
	}
	return withDefaultReason(d), nil
}

// withDefaultReason gives a denial without reasons the default-deny one:
// a denial always says why, whichever evaluator made it.
func withDefaultReason(d holdfast.Decision) holdfast.Decision {
	if !d.Allow && len(d.Reasons) == 0 {
		d.Reasons = []string{"no rule allows this"}
		d.Rules = append(d.Rules, "authz.default_deny")
	}
	return d
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
