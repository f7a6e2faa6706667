package authz_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/authz/opatest"
	"github.com/holdfast/holdfast/storage/storagetest"
)

type opaDecision struct {
	Allow   bool     `json:"allow"`
	Reasons []string `json:"reasons"`
	Rules   []string `json:"rules"`
}

func askOPA(client *http.Client, base string, req holdfast.DecisionRequest) (opaDecision, error) {
	body, err := json.Marshal(map[string]any{"input": req})
	if err != nil {
		return opaDecision{}, err
	}
	resp, err := client.Post(base+"/v1/data/holdfast/bundle/decision", "application/json", bytes.NewReader(body))
	if err != nil {
		return opaDecision{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Result *opaDecision `json:"result"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return opaDecision{}, fmt.Errorf("opa: %s: %s", resp.Status, b)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return opaDecision{}, err
	}
	if out.Result == nil {
		return opaDecision{}, fmt.Errorf("opa: decision undefined: %s", b)
	}
	return *out.Result, nil
}

// TestBundleMatchesEngine exports each table's account as a bundle, loads
// it into stock OPA and requires OPA's decisions, reasons and rules to equal
// the engine's on every case.
func TestBundleMatchesEngine(t *testing.T) {
	bin, err := opatest.Binary()
	if err != nil {
		storagetest.SkipOrFail(t, "opa", err.Error())
		return
	}
	total := 0
	for name, f := range loadDecisionFiles(t) {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, holdfast.Edition(f.Edition), f.Addons...)
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "bundle.tar.gz")
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := fx.engine.WriteBundle(ctx, fx.acct.ID, out); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			base := opatest.Serve(t, bin, path)
			client := &http.Client{Timeout: 10 * time.Second}
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				errs []string
				next = make(chan decisionCase)
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for c := range next {
						req := c.request(fx.acct.ID)
						want, err := fx.engine.Decide(ctx, req)
						var got opaDecision
						if err == nil {
							req.AccountID = ""
							got, err = askOPA(client, base, req)
						}
						msg := ""
						switch {
						case err != nil:
							msg = fmt.Sprintf("%s: %v", c, err)
						case got.Allow != want.Allow || !slices.Equal(got.Reasons, want.Reasons) || !slices.Equal(got.Rules, want.Rules):
							msg = fmt.Sprintf("%s: opa %v %q %q, engine %v %q %q", c, got.Allow, got.Reasons, got.Rules, want.Allow, want.Reasons, want.Rules)
						}
						if msg != "" {
							mu.Lock()
							errs = append(errs, msg)
							mu.Unlock()
						}
					}
				}()
			}
			for _, c := range f.Cases {
				next <- c
			}
			close(next)
			wg.Wait()
			slices.Sort(errs)
			for i, e := range errs {
				if i == 20 {
					t.Errorf("... and %d more", len(errs)-20)
					break
				}
				t.Error(e)
			}
			total += len(f.Cases)
		})
	}
	t.Logf("%d cases compared with stock OPA", total)
}

// TestBundleLayout checks the bundle's files: a manifest owning the
// holdfast root, both data documents, and no test policies.
func TestBundleLayout(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	var buf bytes.Buffer
	if err := fx.engine.WriteBundle(context.Background(), fx.acct.ID, &buf); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	var manifest struct {
		Revision    string   `json:"revision"`
		Roots       []string `json:"roots"`
		RegoVersion int      `json:"rego_version"`
	}
	if err := json.Unmarshal(files["/.manifest"], &manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if !slices.Equal(manifest.Roots, []string{"holdfast"}) || manifest.RegoVersion != 1 || manifest.Revision == "" {
		t.Errorf("manifest = %+v", manifest)
	}
	for _, name := range []string{"/holdfast/catalog/data.json", "/holdfast/account/data.json"} {
		if len(files[name]) == 0 {
			t.Errorf("bundle lacks %s", name)
		}
	}
	rego := 0
	for name := range files {
		if strings.HasSuffix(name, "_test.rego") {
			t.Errorf("bundle ships test policy %s", name)
		}
		if strings.HasSuffix(name, ".rego") {
			rego++
		}
	}
	if rego == 0 {
		t.Error("bundle has no policies")
	}
	var account map[string]any
	if err := json.Unmarshal(files["/holdfast/account/data.json"], &account); err != nil {
		t.Fatal(err)
	}
	admins, _ := account["subjects"].(map[string]any)
	if len(admins) != len(fixtureAdmins) {
		t.Errorf("bundle has %d administrators, want %d", len(admins), len(fixtureAdmins))
	}
	_ = authz.BundleQuery
}

// askOPABatch asks stock OPA the bundle's batch document for reqs.
func askOPABatch(client *http.Client, base string, reqs []holdfast.DecisionRequest) ([]opaDecision, error) {
	body, err := json.Marshal(map[string]any{"input": map[string]any{"evaluations": reqs}})
	if err != nil {
		return nil, err
	}
	resp, err := client.Post(base+"/v1/data/holdfast/bundle/batch", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("opa: %s: %s", resp.Status, b)
	}
	var out struct {
		Result []opaDecision `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if len(out.Result) != len(reqs) {
		return nil, fmt.Errorf("opa: %d answers to %d requests", len(out.Result), len(reqs))
	}
	return out.Result, nil
}

// TestBundleMatchesEngineGrid asks stock OPA, on each edition and add-on
// variant's exported bundle, the whole decision grid (every administrator
// of every predefined and custom role x every right, on resources in and
// out of profile, workload (SaaS sub-apps included) and legal-hold-type
// scopes, administrators under the minimum-holders rule, roles, and the
// account, which carries the rights the sign-in rules name), and requires
// OPA's decisions, reasons and rules to equal the engine's batch answers
// made without any cache.
func TestBundleMatchesEngineGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("the grid asks OPA tens of thousands of requests")
	}
	bin, err := opatest.Binary()
	if err != nil {
		storagetest.SkipOrFail(t, "opa", err.Error())
		return
	}
	ctx := context.Background()
	client := &http.Client{Timeout: 60 * time.Second}
	total := 0
	for _, v := range matrixVariants {
		t.Run(v.name, func(t *testing.T) {
			fx := newFixture(t, v.edition, v.addons...)
			cold, err := authz.New(ctx, authz.Options{Store: fx.store, CacheBytes: -1, NoAttributeCache: true})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "bundle.tar.gz")
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := cold.WriteBundle(ctx, fx.acct.ID, out); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			base := opatest.Serve(t, bin, path)
			cases := gridCases(t, v.name, fx)
			bad := 0
			for chunk := range slices.Chunk(cases, 100) {
				reqs := make([]holdfast.DecisionRequest, len(chunk))
				for i, c := range chunk {
					reqs[i] = c.req
				}
				want := cold.DecideBatch(ctx, reqs)
				for i := range reqs {
					reqs[i].AccountID = ""
				}
				got, err := askOPABatch(client, base, reqs)
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range chunk {
					w := want[i].Decision
					if want[i].Err != nil {
						t.Fatalf("%s: %v", c.label, want[i].Err)
					}
					if g := got[i]; g.Allow != w.Allow || !slices.Equal(g.Reasons, w.Reasons) || !slices.Equal(g.Rules, w.Rules) {
						if bad++; bad <= 20 {
							t.Errorf("%s: opa %v %q %q, engine %v %q %q", c.label, g.Allow, g.Reasons, g.Rules, w.Allow, w.Reasons, w.Rules)
						}
					}
				}
			}
			if bad > 20 {
				t.Errorf("... %d differences in all", bad)
			}
			total += len(cases)
		})
	}
	t.Logf("%d grid requests compared with stock OPA", total)
}
