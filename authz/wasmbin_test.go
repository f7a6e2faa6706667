package authz

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/tetratelabs/wazero"
)

// compiledPolicy compiles a tiny policy with OPA's Wasm compiler.
func compiledPolicy(t *testing.T) []byte {
	t.Helper()
	cr, err := rego.New(rego.Query("x = data.p.v"), rego.Module("p.rego", "package p\nv := input.n + 1"),
		rego.SetRegoVersion(ast.RegoV1)).Compile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cr.Bytes
}

// TestOwnMemory: OPA's module imports env.memory; rewritten, it defines
// its memory, so two instances in one runtime keep separate memories.
func TestOwnMemory(t *testing.T) {
	ctx := context.Background()
	orig := compiledPolicy(t)
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, orig)
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.ImportedMemories()) != 1 {
		t.Fatalf("OPA's module imports %d memories; this test expects it to import one", len(cm.ImportedMemories()))
	}
	min := cm.ImportedMemories()[0].Min()
	out, err := ownMemory(orig)
	if err != nil {
		t.Fatal(err)
	}
	cm2, err := rt.CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cm2.ImportedMemories()); n != 0 {
		t.Fatalf("rewritten module still imports %d memories", n)
	}
	if len(cm2.ImportedFunctions()) != len(cm.ImportedFunctions()) {
		t.Fatalf("function imports: %d, want %d", len(cm2.ImportedFunctions()), len(cm.ImportedFunctions()))
	}
	mems := cm2.ExportedMemories()
	if m, ok := mems["memory"]; !ok || m.Min() != min {
		t.Fatalf("exported memories %v, want one named memory with min %d", mems, min)
	}
	if _, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(uint32) {}).Export("opa_abort").
		NewFunctionBuilder().WithFunc(func(a, b uint32) uint32 { return 0 }).Export("opa_builtin0").
		NewFunctionBuilder().WithFunc(func(a, b, c uint32) uint32 { return 0 }).Export("opa_builtin1").
		NewFunctionBuilder().WithFunc(func(a, b, c, d uint32) uint32 { return 0 }).Export("opa_builtin2").
		NewFunctionBuilder().WithFunc(func(a, b, c, d, e uint32) uint32 { return 0 }).Export("opa_builtin3").
		NewFunctionBuilder().WithFunc(func(a, b, c, d, e, f uint32) uint32 { return 0 }).Export("opa_builtin4").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := rt.InstantiateModule(ctx, cm2, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := rt.InstantiateModule(ctx, cm2, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	a.Memory().WriteByte(100, 7)
	if v, _ := b.Memory().ReadByte(100); v == 7 {
		t.Fatal("the two instances share a memory")
	}
}

func TestOwnMemoryRefusesBadModules(t *testing.T) {
	orig := compiledPolicy(t)
	noImport := append(append([]byte(nil), wasmMagic...), appendSection(nil, 1, []byte{0})...) // an empty type section
	withMemory := append(append([]byte(nil), wasmMagic...), appendSection(nil, wasmSectionMemory, []byte{1, 0, 1})...)
	for name, mod := range map[string][]byte{
		"empty":            nil,
		"not wasm":         []byte("\x7fELF\x02\x01\x01\x00"),
		"truncated":        orig[:len(orig)/2],
		"no memory import": noImport,
		"own memory":       withMemory,
		"bad section size": append(append([]byte(nil), wasmMagic...), 1, 0xff, 0xff, 0xff, 0xff, 0xff),
	} {
		if _, err := ownMemory(mod); err == nil || !strings.HasPrefix(err.Error(), "wasm: ") {
			t.Errorf("%s: err = %v, want a wasm: error", name, err)
		}
	}
}

func TestULEB(t *testing.T) {
	for _, v := range []uint32{0, 1, 127, 128, 300, 1 << 20, 1<<32 - 1} {
		b := appendULEB(nil, v)
		got, n, err := readULEB(b)
		if err != nil || got != v || n != len(b) {
			t.Errorf("%d: %x read back as %d (%d bytes, %v)", v, b, got, n, err)
		}
	}
	if _, _, err := readULEB(bytes.Repeat([]byte{0x80}, 6)); err == nil {
		t.Error("an unterminated number was read")
	}
	if _, _, err := readULEB([]byte{0xff, 0xff, 0xff, 0xff, 0x1f}); err == nil {
		t.Error("a number over 32 bits was read")
	}
}
