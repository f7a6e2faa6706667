package authz

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/holdfast/holdfast/storage/sqlite"
)

// engines returns a Wasm and a topdown engine on one empty store.
func engines(t *testing.T) (wasm, topdown *Engine) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if wasm, err = New(ctx, Options{Store: store}); err != nil {
		t.Fatal(err)
	}
	if topdown, err = New(ctx, Options{Store: store, Evaluator: EvaluatorTopdown}); err != nil {
		t.Fatal(err)
	}
	if wasm.Evaluator() != EvaluatorWasm || topdown.Evaluator() != EvaluatorTopdown {
		t.Fatalf("evaluators %s, %s", wasm.Evaluator(), topdown.Evaluator())
	}
	return wasm, topdown
}

func TestUnknownEvaluator(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := New(ctx, Options{Store: store, Evaluator: "jit"}); err == nil || !strings.Contains(err.Error(), `unknown evaluator "jit"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestWasmMatchesTopdown: the typical inputs, allowed and denied (the
// denials call sprintf, which the module asks the host for).
func TestWasmMatchesTopdown(t *testing.T) {
	wasm, topdown := engines(t)
	ctx := context.Background()
	for _, c := range evalCases(wasm) {
		w, err := wasm.eval(ctx, c.input)
		if err != nil {
			t.Fatal(err)
		}
		td, err := topdown.eval(ctx, c.input)
		if err != nil {
			t.Fatal(err)
		}
		if w.Allow != c.allow || w.Allow != td.Allow || !slices.Equal(w.Reasons, td.Reasons) || !slices.Equal(w.Rules, td.Rules) {
			t.Errorf("%s: wasm %+v, topdown %+v", c.name, w, td)
		}
		if !c.allow && len(w.Reasons) == 0 {
			t.Errorf("%s: a denial without reasons", c.name)
		}
	}
	if wasm.WasmFallbacks() != 0 {
		t.Fatalf("%d fallbacks", wasm.WasmFallbacks())
	}
}

// TestWasmFallsBack: an input the Wasm instance cannot hold is decided
// by topdown, and counted.
func TestWasmFallsBack(t *testing.T) {
	wasm, topdown := engines(t)
	ctx := context.Background()
	cases := evalCases(wasm)
	c := cases[len(cases)-1] // the multi-rule denial
	c.input["context"] = map[string]any{"padding": strings.Repeat("x", wasmMaxPages<<16)}
	w, err := wasm.eval(ctx, c.input)
	if err != nil {
		t.Fatal(err)
	}
	if n := wasm.WasmFallbacks(); n != 1 {
		t.Fatalf("fallbacks = %d, want 1", n)
	}
	td, err := topdown.eval(ctx, c.input)
	if err != nil {
		t.Fatal(err)
	}
	if w.Allow || !slices.Equal(w.Rules, td.Rules) || !slices.Equal(w.Rules, c.rules) {
		t.Fatalf("fallback decided %+v, want rules %q", w, c.rules)
	}
	// The pool still works after the failed instance was dropped.
	delete(c.input, "context")
	if _, err := wasm.eval(ctx, c.input); err != nil || wasm.WasmFallbacks() != 1 {
		t.Fatalf("after the fallback: %v, %d fallbacks", err, wasm.WasmFallbacks())
	}
}

// TestWasmConcurrent: instances are never shared by two evaluations at
// once (run with -race).
func TestWasmConcurrent(t *testing.T) {
	wasm, topdown := engines(t)
	ctx := context.Background()
	cases := evalCases(wasm)
	want := make([][]string, len(cases))
	for i, c := range cases {
		d, err := topdown.eval(ctx, c.input)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d.Reasons
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(cases)
				d, err := wasm.eval(ctx, cases[k].input)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allow != cases[k].allow || !slices.Equal(d.Reasons, want[k]) {
					t.Errorf("%s: %+v", cases[k].name, d)
					return
				}
			}
		})
	}
	wg.Wait()
	if wasm.WasmFallbacks() != 0 {
		t.Fatalf("%d fallbacks", wasm.WasmFallbacks())
	}
	if n := len(wasm.wasm.free); n > cap(wasm.wasm.sem)+1 {
		t.Fatalf("%d idle instances, more than the bound %d", n, cap(wasm.wasm.sem))
	}
}

// TestWasmValueText: builtin results go back to the module as JSON, or as
// Rego value syntax when they hold a set (which JSON cannot say).
func TestWasmValueText(t *testing.T) {
	for _, c := range []struct {
		term   string
		text   string
		asJSON bool
	}{
		{`"a \"b\""`, `"a \"b\""`, true},
		{`[1, {"k": "v"}]`, `[1,{"k":"v"}]`, true},
		{`9007199254740993`, `9007199254740993`, true}, // beyond float64's integers: kept exactly
		{`{"k": [null, true, 2.5e-3, "\u00e9"]}`, `{"k":[null,true,2.5e-3,"é"]}`, true},
		{`{"a", "b"}`, `{"a", "b"}`, false},
		{`{"k": {1}}`, `{"k": {1}}`, false},
	} {
		text, asJSON, err := wasmValueText(ast.MustParseTerm(c.term))
		if err != nil || string(text) != c.text || asJSON != c.asJSON {
			t.Errorf("%s: %s %v %v, want %s %v", c.term, text, asJSON, err, c.text, c.asJSON)
		}
		back, err := parseWasmValue(text)
		if err != nil || !back.Equal(ast.MustParseTerm(c.term)) {
			t.Errorf("%s: read back as %v (%v)", c.term, back, err)
		}
	}
}

// TestWasmHeapIsReused: every evaluation starts its heap past its input,
// so an instance's memory does not grow with the number of evaluations.
func TestWasmHeapIsReused(t *testing.T) {
	wasm, _ := engines(t)
	ctx := context.Background()
	cases := evalCases(wasm)
	c := cases[len(cases)-1] // the multi-rule denial: sprintf on the host
	if _, err := wasm.eval(ctx, c.input); err != nil {
		t.Fatal(err)
	}
	in, err := wasm.wasm.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	size := in.mem.Size()
	wasm.wasm.put(in)
	for range 2000 {
		if _, err := wasm.eval(ctx, c.input); err != nil {
			t.Fatal(err)
		}
	}
	in, err = wasm.wasm.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer wasm.wasm.put(in)
	if in.mem.Size() != size {
		t.Fatalf("memory grew from %d to %d bytes over 2,000 evaluations", size, in.mem.Size())
	}
}

// TestWasmDropsGrownInstances: an instance whose memory a big input grew
// past wasmKeepMemory is closed, not pooled at its peak.
func TestWasmDropsGrownInstances(t *testing.T) {
	wasm, _ := engines(t)
	ctx := context.Background()
	c := evalCases(wasm)[0]
	c.input["context"] = map[string]any{"padding": strings.Repeat("x", 2*wasmKeepMemory)}
	if _, err := wasm.eval(ctx, c.input); err != nil {
		t.Fatal(err)
	}
	if n := wasm.WasmFallbacks(); n != 0 {
		t.Fatalf("%d fallbacks: the input fits and should run in wasm", n)
	}
	wasm.wasm.mu.Lock()
	defer wasm.wasm.mu.Unlock()
	for _, in := range wasm.wasm.free {
		if in.mem.Size() > wasmKeepMemory {
			t.Fatalf("a pooled instance keeps %d bytes of memory", in.mem.Size())
		}
	}
	if len(wasm.wasm.sem) != 0 {
		t.Fatalf("%d pool slots still taken", len(wasm.wasm.sem))
	}
}
