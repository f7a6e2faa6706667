package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/authz/opatest"
	"github.com/holdfast/holdfast/demo"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// authzenTarget is one decision server under load: Holdfast's AuthZEN API
// or stock OPA serving the exported bundle, asked the same questions.
type authzenTarget struct {
	name string
	// single and batch are the URL and body of the i-th single request and
	// of the i-th batch of 100.
	single func(i int) (string, []byte)
	batch  func(i int) (string, []byte)
	header http.Header
}

// BenchmarkAuthZEN measures decisions over loopback HTTP with keep-alive,
// on the demo account: single evaluations and batches of 100, against
// Holdfast and against stock OPA serving the bundle Holdfast exports, with
// the same requests (the resource by id only, so both resolve attributes
// themselves). Before measuring, it checks that both give the same
// decision on every request. Clients and servers share the machine's
// cores, as a sidecar deployment would.
//
//	go test -run='^$' -bench=AuthZEN -benchtime=5s ./server
func BenchmarkAuthZEN(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "holdfast.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	engine, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	demo, err := demo.Load(ctx, store, engine, setup.BootstrapOptions{Token: testToken, AdminPassword: "Bench-Password-123"})
	if err != nil {
		b.Fatal(err)
	}
	acct := demo.Bootstrap.Account.ID
	hfBase := serveBench(b, store, engine)
	// The same server without the decision cache: every request is
	// resolved and evaluated, as when no two requests are alike.
	uncached, err := authz.New(ctx, authz.Options{Store: store, CacheBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	hfUncachedBase := serveBench(b, store, uncached)

	reqs := benchRequests(b, store, acct)
	bodies := make([][]byte, len(reqs))
	opaBodies := make([][]byte, len(reqs))
	for i, r := range reqs {
		bodies[i] = mustJSON(b, r)
		opaBodies[i] = mustJSON(b, map[string]any{"input": r})
	}
	const batchSize = 100
	nBatches := len(reqs) / batchSize
	batches := make([][]byte, nBatches)
	opaBatches := make([][]byte, nBatches)
	for i := range nBatches {
		items := reqs[i*batchSize : (i+1)*batchSize]
		batches[i] = mustJSON(b, map[string]any{"evaluations": items})
		opaBatches[i] = mustJSON(b, map[string]any{"input": map[string]any{"evaluations": items}})
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}}
	hfHeader := http.Header{"Authorization": {"Bearer " + testToken}, "Content-Type": {"application/json"}}
	targets := []authzenTarget{{
		name:   "holdfast",
		header: hfHeader,
		single: func(i int) (string, []byte) { return hfBase + "/access/v1/evaluation", bodies[i%len(bodies)] },
		batch:  func(i int) (string, []byte) { return hfBase + "/access/v1/evaluations", batches[i%nBatches] },
	}, {
		name:   "holdfast-uncached",
		header: hfHeader,
		single: func(i int) (string, []byte) { return hfUncachedBase + "/access/v1/evaluation", bodies[i%len(bodies)] },
		batch:  func(i int) (string, []byte) { return hfUncachedBase + "/access/v1/evaluations", batches[i%nBatches] },
	}}

	bin, err := opatest.Binary()
	if err != nil {
		storagetest.SkipOrFail(b, "opa", err.Error())
	}
	bundle := filepath.Join(b.TempDir(), "bundle.tar.gz")
	f, err := os.Create(bundle)
	if err != nil {
		b.Fatal(err)
	}
	if err := engine.WriteBundle(ctx, acct, f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	opaBase := opatest.Serve(b, bin, bundle)
	targets = append(targets, authzenTarget{
		name:   "opa",
		header: http.Header{"Content-Type": {"application/json"}},
		single: func(i int) (string, []byte) {
			return opaBase + "/v1/data/holdfast/bundle/decision", opaBodies[i%len(opaBodies)]
		},
		batch: func(i int) (string, []byte) {
			return opaBase + "/v1/data/holdfast/bundle/batch", opaBatches[i%nBatches]
		},
	})

	// Same answers first: a fast server that decides differently is no
	// comparison.
	allowed := 0
	for i := range reqs {
		hf := postDecision(b, client, targets[0], targets[0].single, i)
		for _, t := range targets[1:] {
			if got := postDecision(b, client, t, t.single, i); got != hf {
				b.Fatalf("request %d %s: holdfast %v, %s %v", i, bodies[i], hf, t.name, got)
			}
		}
		if hf {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(reqs) {
		b.Fatalf("the request set must mix allows and denies: %d of %d allowed", allowed, len(reqs))
	}

	rates := map[string]float64{}
	for _, mode := range []struct {
		name  string
		per   int
		build func(t authzenTarget) func(int) (string, []byte)
	}{
		{"single", 1, func(t authzenTarget) func(int) (string, []byte) { return t.single }},
		{"batch100", batchSize, func(t authzenTarget) func(int) (string, []byte) { return t.batch }},
	} {
		for _, t := range targets {
			b.Run(mode.name+"/"+t.name, func(b *testing.B) {
				next := mode.build(t)
				var n atomic.Int64
				b.SetParallelism(8)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := int(n.Add(1))
						url, body := next(i)
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
						req.Header = t.header
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("%s: %s", url, resp.Status)
							return
						}
					}
				})
				rate := float64(b.N*mode.per) / time.Since(start).Seconds()
				b.ReportMetric(rate, "decisions/s")
				b.ReportMetric(0, "ns/op")
				rates[mode.name+"/"+t.name] = rate
			})
		}
		if o := rates[mode.name+"/opa"]; o > 0 {
			b.Logf("%s: holdfast %.0f decisions/s (%.0f uncached), opa %.0f decisions/s, ratio %.2f (%.2f uncached)",
				mode.name, rates[mode.name+"/holdfast"], rates[mode.name+"/holdfast-uncached"], o,
				rates[mode.name+"/holdfast"]/o, rates[mode.name+"/holdfast-uncached"]/o)
		}
	}
}

// serveBench serves a server over store and engine on a loopback port
// until the benchmark ends, and returns its base URL.
func serveBench(b *testing.B, store holdfast.MetaStore, engine *authz.Engine) string {
	b.Helper()
	srv, err := New(Options{Store: store, Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(l)
	b.Cleanup(func() { hs.Close() })
	return "http://" + l.Addr().String()
}

// benchRequests builds 1,000 requests over the demo account: every
// administrator asks for a spread of rights on users, devices, legal holds
// and other administrators, so policies of every kind run and the answers
// mix allows and denies.
func benchRequests(tb testing.TB, store holdfast.MetaStore, acct string) []holdfast.DecisionRequest {
	tb.Helper()
	ctx := context.Background()
	admins, err := store.ListAdmins(ctx, acct, holdfast.AdminFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	users, err := store.ListUsers(ctx, acct, holdfast.UserFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	devices, err := store.ListDevices(ctx, acct, "")
	if err != nil {
		tb.Fatal(err)
	}
	holds, err := store.ListHolds(ctx, acct)
	if err != nil {
		tb.Fatal(err)
	}
	if len(admins) == 0 || len(users) == 0 || len(devices) == 0 || len(holds) == 0 {
		tb.Fatal("demo account is missing administrators, users, devices or holds")
	}
	type ask struct{ right, typ string }
	asks := []ask{
		{"users.view", holdfast.ResourceUser}, {"users.delete", holdfast.ResourceUser},
		{"restores.manage", holdfast.ResourceDevice}, {"backups.perform", holdfast.ResourceDevice},
		{"legal_holds.view", holdfast.ResourceLegalHold}, {"legal_holds.delete", holdfast.ResourceLegalHold},
		{"admins.edit", holdfast.ResourceAdministrator}, {"admins.view", holdfast.ResourceAdministrator},
	}
	out := make([]holdfast.DecisionRequest, 0, 1000)
	for i := 0; len(out) < 1000; i++ {
		a := admins[i%len(admins)]
		k := asks[(i/len(admins))%len(asks)]
		var id string
		switch k.typ {
		case holdfast.ResourceUser:
			id = users[i%len(users)].ID
		case holdfast.ResourceDevice:
			id = devices[i%len(devices)].ID
		case holdfast.ResourceLegalHold:
			id = holds[i%len(holds)].ID
		case holdfast.ResourceAdministrator:
			id = admins[(i*7+3)%len(admins)].ID
		}
		out = append(out, holdfast.DecisionRequest{
			Subject:  holdfast.Entity{Type: "administrator", ID: a.ID},
			Action:   holdfast.Action{Name: k.right},
			Resource: holdfast.Entity{Type: k.typ, ID: id},
		})
	}
	return out
}

// postDecision sends target's i-th request and returns its decision, from
// either an AuthZEN answer or an OPA Data API answer.
func postDecision(tb testing.TB, client *http.Client, t authzenTarget, next func(int) (string, []byte), i int) bool {
	tb.Helper()
	url, body := next(i)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = t.header
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s: %s: %s", url, resp.Status, raw)
	}
	var out struct {
		Decision *bool `json:"decision"`
		Result   *struct {
			Allow bool `json:"allow"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("%s: %v: %s", url, err, raw)
	}
	switch {
	case out.Decision != nil:
		return *out.Decision
	case out.Result != nil:
		return out.Result.Allow
	}
	tb.Fatalf("%s: no decision in %s", url, raw)
	return false
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(fmt.Errorf("marshal: %w", err))
	}
	return b
}
