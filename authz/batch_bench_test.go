package authz_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// BenchmarkDecideBatch measures AuthZEN-sized batches (100 questions) on
// the account of issue 12: 12,000 administrators and 337,000 users with a
// device each (HOLDFAST_BENCH_USERS overrides the users), on SQLite and,
// with HOLDFAST_TEST_POSTGRES_URL (an empty database), on PostgreSQL.
// The batches cycle through distinct questions (100, 10,000, 50,000), so
// past the first cycle a question comes back only once all the others
// were asked:
//
//	go test -run '^$' -bench DecideBatch -benchtime 200x -timeout 60m ./authz
//
// cold: no decision cache and no attribute cache, so every batch reads
// its attributes from the store (one LoadAttributes call) and evaluates
// every question, as the first time; cached: the server's defaults
// (decision cache bounded by memory, attribute cache), after one pass over
// all the distinct questions.
func BenchmarkDecideBatch(b *testing.B) {
	users := 337000
	if v, err := strconv.Atoi(os.Getenv("HOLDFAST_BENCH_USERS")); err == nil && v > 0 {
		users = v
	}
	ctx := context.Background()
	stores := map[string]func() holdfast.MetaStore{
		"sqlite": func() holdfast.MetaStore {
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "batch.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	if dsn := os.Getenv("HOLDFAST_TEST_POSTGRES_URL"); dsn != "" {
		stores["postgres"] = func() holdfast.MetaStore {
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			return s
		}
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		open, ok := stores[kind]
		if !ok {
			continue
		}
		store := open()
		start := time.Now()
		big := fillBigAccount(b, store, "batch", 12000, 1000, users)
		b.Logf("%s: %d administrators, %d users and devices in %v", kind, len(big.admins), len(big.users), time.Since(start).Round(time.Second))
		for _, distinct := range []int{100, 10000, 50000} {
			reqs := big.requests(distinct)
			for _, mode := range []string{"cold", "cached"} {
				opts := authz.Options{Store: store}
				if mode == "cold" {
					opts.CacheBytes, opts.NoAttributeCache = -1, true
				}
				eng, err := authz.New(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				if mode == "cached" {
					for i := 0; i < distinct; i += 100 {
						checkBatch(b, eng.DecideBatch(ctx, reqs[i:min(i+100, distinct)]))
					}
				}
				b.Run(fmt.Sprintf("%s/distinct=%d/%s", kind, distinct, mode), func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					i := 0
					for b.Loop() {
						from := (i * 100) % distinct
						t0 := time.Now()
						checkBatch(b, eng.DecideBatch(ctx, reqs[from:min(from+100, distinct)]))
						lat = append(lat, time.Since(t0))
						i++
					}
					reportLatency(b, lat)
				})
			}
		}
		store.Close()
	}
}

// checkBatch fails on any answer the engine could not make.
func checkBatch(b *testing.B, res []holdfast.DecisionResult) {
	for _, r := range res {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
