package policies

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// catalogDataFile is the catalog as OPA data, for the opa CLI: `opa test
// policies/` loads it at data.holdfast.catalog, where the engine puts
// RegoData().
var catalogDataFile = filepath.Join("holdfast", "catalog", "data.json")

func TestCatalogDataUpToDate(t *testing.T) {
	want, err := json.MarshalIndent(mustLoad(t).RegoData(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(catalogDataFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(catalogDataFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(catalogDataFile)
	if err != nil {
		t.Fatalf("%v (go test ./policies -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with catalog.yaml; run go test ./policies -update", catalogDataFile)
	}
}
