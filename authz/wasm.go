package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/valyala/fastjson"

	"github.com/holdfast/holdfast"
)

// The Wasm evaluator runs the decision document compiled by OPA's own
// compiler (the same modules the topdown evaluator runs, and the same
// catalog data) in wazero, a pure-Go WebAssembly runtime. It evaluates a
// decision in a few tens of microseconds with a handful of Go allocations,
// where topdown needs hundreds of microseconds and hundreds of allocations;
// the decision tables run on both and must agree.
//
// Each module instance has its own memory and serves one evaluation at a
// time; instances are pooled. The catalog is parsed into an instance once,
// and every evaluation writes its input after it and evaluates with the
// heap starting past the input, so one evaluation leaves nothing behind for
// the next.

// wasmResultVar is the variable the compiled query binds the decision to.
const wasmResultVar = "d"

// wasmKeepBuffer is the largest input buffer an instance keeps for reuse,
// and wasmKeepMemory the largest memory a pooled instance keeps.
const (
	wasmKeepBuffer = 1 << 20
	wasmKeepMemory = 8 << 20
)

// wasmMaxPages bounds an instance's memory (64 KiB pages): 64 MiB.
const wasmMaxPages = 1024

// wasmEvaluator is the compiled policy; it is safe for concurrent use.
type wasmEvaluator struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	data     []byte                // the catalog document, as JSON
	builtins map[int32]hostBuiltin // by the id the module calls them with

	mu   sync.Mutex // guards free
	free []*wasmInstance
	sem  chan struct{} // one token per instance in use: bounds concurrent evaluations
}

// hostBuiltin is a builtin the module asks the host for.
type hostBuiltin struct {
	name string
	f    topdown.BuiltinFunc
}

// wasmInstance is one module instance.
type wasmInstance struct {
	mod       api.Module
	mem       api.Memory
	eval      api.Function // opa_eval, the one-call evaluation
	malloc    api.Function // opa_malloc
	valueDump api.Function // opa_value_dump
	jsonParse api.Function // opa_json_parse
	valParse  api.Function // opa_value_parse
	dataAddr  uint32       // the parsed catalog
	heapBase  uint32       // the heap pointer after the catalog was parsed
	buf       []byte       // input encoding buffer
}

// wasmEvaluators shares one compiled evaluator per policy hash in the
// process: policies are embedded, so every engine compiles the same thing.
var wasmEvaluators sync.Map // policy hash -> *wasmOnce

type wasmOnce struct {
	once sync.Once
	ev   *wasmEvaluator
	err  error
}

// sharedWasmEvaluator returns the evaluator of the modules and catalog
// data that hash identifies, compiling it on first use.
func sharedWasmEvaluator(ctx context.Context, hash string, modules map[string]string, catalogJSON []byte) (*wasmEvaluator, error) {
	v, _ := wasmEvaluators.LoadOrStore(hash, &wasmOnce{})
	w := v.(*wasmOnce)
	w.once.Do(func() {
		w.ev, w.err = newWasmEvaluator(context.WithoutCancel(ctx), modules, catalogJSON)
	})
	return w.ev, w.err
}

// newWasmEvaluator compiles modules to Wasm and checks one instance;
// catalogJSON is the catalog document (data.holdfast.catalog).
func newWasmEvaluator(ctx context.Context, modules map[string]string, catalogJSON []byte) (*wasmEvaluator, error) {
	opts := []func(*rego.Rego){
		rego.Query(wasmResultVar + " = " + DecisionQuery),
		rego.SetRegoVersion(ast.RegoV1),
	}
	for _, name := range sortedKeys(modules) {
		opts = append(opts, rego.Module(name, modules[name]))
	}
	cr, err := rego.New(opts...).Compile(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: compile policies to wasm: %w", err)
	}
	bin, err := ownMemory(cr.Bytes)
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	doc, err := json.Marshal(map[string]any{"holdfast": map[string]any{"catalog": json.RawMessage(catalogJSON)}})
	if err != nil {
		return nil, fmt.Errorf("authz: catalog data: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithMemoryLimitPages(wasmMaxPages))
	ev := &wasmEvaluator{rt: rt, data: doc, sem: make(chan struct{}, 4*runtime.GOMAXPROCS(0))}
	fail := func(err error) (*wasmEvaluator, error) {
		rt.Close(ctx)
		return nil, fmt.Errorf("authz: wasm: %w", err)
	}
	if err := ev.hostModule(ctx); err != nil {
		return fail(err)
	}
	if ev.compiled, err = rt.CompileModule(ctx, bin); err != nil {
		return fail(err)
	}
	in, err := ev.instantiate(ctx)
	if err != nil {
		return fail(err)
	}
	if err := ev.resolveBuiltins(ctx, in); err != nil {
		return fail(err)
	}
	ev.free = append(ev.free, in)
	return ev, nil
}

// hostModule provides the module's imports: abort, and the builtins OPA
// does not compile into Wasm (sprintf, for one), answered by topdown's own
// implementations.
func (ev *wasmEvaluator) hostModule(ctx context.Context) error {
	b := ev.rt.NewHostModuleBuilder("env")
	b.NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, addr uint32) {
		panic(fmt.Errorf("policy aborted: %s", cString(m.Memory(), addr)))
	}).Export("opa_abort")
	// opa_builtinN(id, ctx, arg1..argN) -> result: value addresses, i32.
	for n := range 5 {
		params := make([]api.ValueType, n+2)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			var args [4]uint32
			for i := range n {
				args[i] = api.DecodeU32(stack[2+i])
			}
			stack[0] = api.EncodeU32(ev.callBuiltin(ctx, m, api.DecodeU32(stack[0]), args[:n]...))
		}), params, []api.ValueType{api.ValueTypeI32}).Export(fmt.Sprintf("opa_builtin%d", n))
	}
	_, err := b.Instantiate(ctx)
	return err
}

// resolveBuiltins maps the ids the module calls builtins by to topdown's
// implementations; a builtin topdown lacks fails here, not in a decision.
func (ev *wasmEvaluator) resolveBuiltins(ctx context.Context, in *wasmInstance) error {
	res, err := in.mod.ExportedFunction("builtins").Call(ctx)
	if err != nil {
		return fmt.Errorf("builtins: %w", err)
	}
	dump, err := in.mod.ExportedFunction("opa_json_dump").Call(ctx, res[0])
	if err != nil {
		return fmt.Errorf("builtins: %w", err)
	}
	var ids map[string]int32
	if err := json.Unmarshal([]byte(cString(in.mem, uint32(dump[0]))), &ids); err != nil {
		return fmt.Errorf("builtins: %w", err)
	}
	ev.builtins = map[int32]hostBuiltin{}
	for name, id := range ids {
		f := topdown.GetBuiltin(name)
		if f == nil {
			return fmt.Errorf("builtin %s has no implementation", name)
		}
		// The host answers with a bare builtin context: no caches, no
		// clock, no network. A policy needing more runs in topdown.
		if b, ok := ast.BuiltinMap[name]; !ok || b.Nondeterministic {
			return fmt.Errorf("builtin %s cannot run on the host of a wasm policy", name)
		}
		ev.builtins[id] = hostBuiltin{name: name, f: f}
	}
	return nil
}

// callBuiltin runs builtin id on the values at args (addresses in m's
// memory) and returns the address of its result. It runs inside the
// module's call, so it reports failure by panicking: wazero turns that into
// the evaluation's error, and the instance is dropped.
func (ev *wasmEvaluator) callBuiltin(ctx context.Context, m api.Module, id uint32, args ...uint32) uint32 {
	in, _ := ctx.Value(wasmInstanceKey{}).(*wasmInstance)
	if in == nil || in.mod != m {
		panic(errors.New("builtin called outside an evaluation"))
	}
	b, ok := ev.builtins[int32(id)]
	if !ok {
		panic(fmt.Errorf("unknown builtin %d", id))
	}
	name := b.name
	operands := make([]*ast.Term, len(args))
	for i, addr := range args {
		res, err := in.valueDump.Call(ctx, uint64(addr))
		if err != nil {
			panic(fmt.Errorf("%s: operand %d: %w", name, i+1, err))
		}
		t, err := parseWasmValue(cBytes(in.mem, uint32(res[0])))
		if err != nil {
			panic(fmt.Errorf("%s: operand %d: %w", name, i+1, err))
		}
		operands[i] = t
	}
	var out *ast.Term
	bctx := topdown.BuiltinContext{Context: ctx, Cancel: topdown.NewCancel()}
	if err := b.f(bctx, operands, func(t *ast.Term) error { out = t; return nil }); err != nil {
		panic(fmt.Errorf("%s: %w", name, err))
	}
	if out == nil {
		return 0 // undefined
	}
	text, asJSON, err := wasmValueText(out)
	if err != nil {
		panic(fmt.Errorf("%s: result: %w", name, err))
	}
	alloc, err := in.malloc.Call(ctx, uint64(len(text)))
	if err != nil {
		panic(fmt.Errorf("%s: result: %w", name, err))
	}
	if !in.mem.Write(uint32(alloc[0]), text) {
		panic(fmt.Errorf("%s: result does not fit in memory", name))
	}
	parse := in.valParse
	if asJSON {
		parse = in.jsonParse
	}
	res, err := parse.Call(ctx, alloc[0], uint64(len(text)))
	if err != nil || res[0] == 0 {
		panic(fmt.Errorf("%s: result does not parse in the module (%v)", name, err))
	}
	return uint32(res[0])
}

// wasmInstanceKey carries the instance an evaluation runs in to the
// builtins it calls.
type wasmInstanceKey struct{}

// parseWasmValue reads a value the module dumped in Rego value syntax: as
// JSON when it is JSON (no sets), which is far cheaper than the Rego parser.
// Numbers keep their text, as ast.Number does.
func parseWasmValue(text []byte) (*ast.Term, error) {
	p := wasmValueParsers.Get()
	defer wasmValueParsers.Put(p)
	if v, err := p.ParseBytes(text); err == nil {
		if t, err := fastjsonTerm(v); err == nil {
			return t, nil
		}
	}
	return ast.ParseTerm(string(text))
}

var wasmValueParsers fastjson.ParserPool

// fastjsonTerm converts a parsed JSON value to a term.
func fastjsonTerm(v *fastjson.Value) (*ast.Term, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return ast.NullTerm(), nil
	case fastjson.TypeTrue:
		return ast.BooleanTerm(true), nil
	case fastjson.TypeFalse:
		return ast.BooleanTerm(false), nil
	case fastjson.TypeNumber:
		return ast.NumberTerm(json.Number(v.String())), nil
	case fastjson.TypeString:
		b, err := v.StringBytes()
		if err != nil {
			return nil, err
		}
		return ast.StringTerm(string(b)), nil
	case fastjson.TypeArray:
		items, err := v.Array()
		if err != nil {
			return nil, err
		}
		terms := make([]*ast.Term, len(items))
		for i, item := range items {
			if terms[i], err = fastjsonTerm(item); err != nil {
				return nil, err
			}
		}
		return ast.ArrayTerm(terms...), nil
	case fastjson.TypeObject:
		o, err := v.Object()
		if err != nil {
			return nil, err
		}
		obj := ast.NewObject()
		o.Visit(func(k []byte, item *fastjson.Value) {
			if err != nil {
				return
			}
			var t *ast.Term
			if t, err = fastjsonTerm(item); err == nil {
				obj.Insert(ast.StringTerm(string(k)), t)
			}
		})
		if err != nil {
			return nil, err
		}
		return ast.NewTerm(obj), nil
	}
	return nil, fmt.Errorf("unexpected JSON type %s", v.Type())
}

// wasmValueText encodes a builtin's result for the module: JSON when the
// value has no sets (for opa_json_parse), Rego value syntax otherwise (for
// opa_value_parse).
func wasmValueText(t *ast.Term) (text []byte, asJSON bool, err error) {
	hasSet := false
	ast.WalkTerms(t, func(x *ast.Term) bool {
		if _, ok := x.Value.(ast.Set); ok {
			hasSet = true
		}
		return hasSet
	})
	if hasSet {
		return []byte(t.String()), false, nil
	}
	v, err := ast.JSON(t.Value)
	if err != nil {
		return nil, false, err
	}
	b, err := json.Marshal(v)
	return b, true, err
}

// instantiate creates an instance and parses the catalog into it.
func (ev *wasmEvaluator) instantiate(ctx context.Context) (*wasmInstance, error) {
	mod, err := ev.rt.InstantiateModule(ctx, ev.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, err
	}
	in := &wasmInstance{mod: mod, mem: mod.Memory(), eval: mod.ExportedFunction("opa_eval"),
		malloc: mod.ExportedFunction("opa_malloc"), valueDump: mod.ExportedFunction("opa_value_dump"),
		jsonParse: mod.ExportedFunction("opa_json_parse"), valParse: mod.ExportedFunction("opa_value_parse")}
	if in.mem == nil || in.eval == nil || in.malloc == nil || in.valueDump == nil || in.jsonParse == nil || in.valParse == nil {
		mod.Close(ctx)
		return nil, errors.New("the module lacks its memory or an OPA export")
	}
	fail := func(what string, err error) (*wasmInstance, error) {
		mod.Close(ctx)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	alloc, err := in.malloc.Call(ctx, uint64(len(ev.data)))
	if err != nil {
		return fail("load catalog", err)
	}
	if !in.mem.Write(uint32(alloc[0]), ev.data) {
		return fail("load catalog", errors.New("out of memory"))
	}
	parsed, err := in.jsonParse.Call(ctx, alloc[0], uint64(len(ev.data)))
	if err != nil || parsed[0] == 0 {
		return fail("parse catalog", fmt.Errorf("the module refused it (%v)", err))
	}
	in.dataAddr = uint32(parsed[0])
	heap, err := mod.ExportedFunction("opa_heap_ptr_get").Call(ctx)
	if err != nil {
		return fail("heap pointer", err)
	}
	in.heapBase = uint32(heap[0])
	return in, nil
}

// get takes an idle instance, or makes one while fewer than the bound are
// live; beyond it, it waits for one to come back.
func (ev *wasmEvaluator) get(ctx context.Context) (*wasmInstance, error) {
	select {
	case ev.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ev.mu.Lock()
	if n := len(ev.free); n > 0 {
		in := ev.free[n-1]
		ev.free = ev.free[:n-1]
		ev.mu.Unlock()
		return in, nil
	}
	ev.mu.Unlock()
	in, err := ev.instantiate(context.WithoutCancel(ctx))
	if err != nil {
		<-ev.sem
		return nil, err
	}
	return in, nil
}

// put returns an instance taken with get to the pool. One whose memory
// grew past wasmKeepMemory (a rare huge input) is closed instead, so the
// pool does not pin its peak.
func (ev *wasmEvaluator) put(in *wasmInstance) {
	if in.mem.Size() > wasmKeepMemory {
		in.mod.Close(context.Background())
		<-ev.sem
		return
	}
	ev.mu.Lock()
	ev.free = append(ev.free, in)
	ev.mu.Unlock()
	<-ev.sem
}

// drop discards an instance whose evaluation failed: its heap may be in
// any state.
func (ev *wasmEvaluator) drop(ctx context.Context, in *wasmInstance) {
	in.mod.Close(context.WithoutCancel(ctx))
	<-ev.sem
}

// wasmDecision is the result set the compiled query returns.
type wasmDecision []struct {
	D *struct {
		Allow   bool     `json:"allow"`
		Reasons []string `json:"reasons"`
		Rules   []string `json:"rules"`
	} `json:"d"`
}

// eval evaluates the decision document over input.
func (ev *wasmEvaluator) eval(ctx context.Context, input map[string]any) (holdfast.Decision, error) {
	in, err := ev.get(ctx)
	if err != nil {
		return holdfast.Decision{}, err
	}
	// The instance goes back to the pool only after a clean evaluation (or
	// an input refused before it ran); on any failure, a panic included,
	// it is dropped, so the pool never loses a slot.
	healthy := false
	defer func() {
		if healthy {
			ev.put(in)
		} else {
			ev.drop(ctx, in)
		}
	}()
	out, err := in.run(ctx, ev, input)
	if errors.Is(err, errInputRefused) {
		healthy = true
		return holdfast.Decision{}, err
	}
	if err != nil {
		return holdfast.Decision{}, err
	}
	var rs wasmDecision
	err = json.Unmarshal(out, &rs) // out is the instance's memory: decoded before put
	healthy = err == nil
	if err != nil {
		return holdfast.Decision{}, fmt.Errorf("decision: %w", err)
	}
	if len(rs) == 0 || rs[0].D == nil {
		return holdfast.Decision{}, errors.New("the decision document is undefined")
	}
	d := holdfast.Decision{Allow: rs[0].D.Allow, Reasons: rs[0].D.Reasons, Rules: rs[0].D.Rules}
	if len(d.Reasons) == 0 {
		d.Reasons = nil
	}
	if len(d.Rules) == 0 {
		d.Rules = nil
	}
	return withDefaultReason(d), nil
}

// run writes input past the catalog, evaluates, and returns the result's
// JSON, which stays valid until the instance's next evaluation.
func (in *wasmInstance) run(ctx context.Context, ev *wasmEvaluator, input map[string]any) ([]byte, error) {
	buf, err := appendJSON(in.buf[:0], input)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInputRefused, err)
	}
	if cap(buf) <= wasmKeepBuffer {
		in.buf = buf
	} else {
		in.buf = nil // a rare huge input: do not keep its buffer
	}
	end := uint64(in.heapBase) + uint64(len(buf))
	if end > uint64(wasmMaxPages)<<16 {
		return nil, fmt.Errorf("%w: %d bytes of input", errInputRefused, len(buf))
	}
	if size := uint64(in.mem.Size()); end > size {
		if _, ok := in.mem.Grow(uint32((end - size + 0xffff) >> 16)); !ok {
			return nil, fmt.Errorf("%w: %d bytes of input", errInputRefused, len(buf))
		}
	}
	if !in.mem.Write(in.heapBase, buf) {
		return nil, errors.New("input does not fit in memory")
	}
	ctx = context.WithValue(ctx, wasmInstanceKey{}, in)
	res, err := in.eval.Call(ctx, 0, 0, uint64(in.dataAddr), uint64(in.heapBase), uint64(len(buf)), end, 0)
	if err != nil {
		return nil, err
	}
	if res[0] == 0 {
		return nil, errors.New("the module returned no result")
	}
	return cBytes(in.mem, uint32(res[0])), nil
}

// errInputRefused is an input the instance did not evaluate: it cannot be
// encoded faithfully, or does not fit. The instance is unharmed.
var errInputRefused = errors.New("input not evaluated in wasm")

// cBytes returns the NUL-terminated string at addr, as a view of mem.
func cBytes(mem api.Memory, addr uint32) []byte {
	size := mem.Size()
	if addr >= size {
		return nil
	}
	b, _ := mem.Read(addr, size-addr)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return b
}

// cString copies the NUL-terminated string at addr.
func cString(mem api.Memory, addr uint32) string { return string(cBytes(mem, addr)) }
