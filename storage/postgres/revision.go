package postgres

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/holdfast/holdfast/storage/sqlstore"
)

// revisionChannel is the channel migration 0002 notifies with the id of an
// account whose revision changed, "policy" for the policy revision, or "*"
// for everything.
const revisionChannel = "holdfast_revision"

// listenerAppName names the listener's connection in pg_stat_activity.
const listenerAppName = "holdfast-revision-listener"

// watcher keeps a store's [sqlstore.RevisionCache] in step with commits of
// other processes on the same database: it LISTENs on revisionChannel over
// a connection of its own (a pooled one would be returned to the pool and
// stop listening) and invalidates what each notification names.
type watcher struct {
	cfg *pgx.ConnConfig
	// minBackoff and maxBackoff bound the wait between reconnects, which
	// doubles from minBackoff after each failed attempt.
	minBackoff, maxBackoff time.Duration
	// probe is how long the listener waits for a notification before it
	// pings the server, so a connection that died silently (no RST, as
	// behind a NAT or a failed-over address) is noticed within probe plus
	// the ping's timeout, not after TCP keep-alive gives up.
	probe time.Duration
}

// newWatcher returns a watcher connecting as cfg does.
func newWatcher(cfg *pgx.ConnConfig) *watcher {
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = listenerAppName
	return &watcher{cfg: cfg, minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second, probe: 30 * time.Second}
}

// watch is the store's Dialect.Watch: it runs until ctx is done, with the
// cache live only while the listener is connected. The cache starts
// suspended (revisions read from the database) and is suspended again as
// soon as the connection fails, until a reconnect succeeds.
func (w *watcher) watch(ctx context.Context, c *sqlstore.RevisionCache) {
	backoff := w.minBackoff
	for {
		listened := w.listen(ctx, c)
		c.Suspend()
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = w.minBackoff
		}
		// Jitter keeps replicas that lost the server together from
		// reconnecting in lockstep.
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, w.maxBackoff)
	}
}

// listen connects, LISTENs, resumes the cache and applies notifications
// until the connection fails or ctx is done. It reports whether LISTEN
// succeeded.
func (w *watcher) listen(ctx context.Context, c *sqlstore.RevisionCache) bool {
	conn, err := pgx.ConnectConfig(ctx, w.cfg)
	if err != nil {
		return false
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx) // the connection is being dropped either way
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+revisionChannel); err != nil {
		return false
	}
	// From here on every commit notifies this connection, so values read
	// from now on may be cached: Resume forgets anything older.
	c.Resume()
	for {
		wctx, cancel := context.WithTimeout(ctx, w.probe)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || wctx.Err() == nil {
				return true // closing, or the connection failed
			}
			// Quiet for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true
			}
			continue
		}
		switch n.Payload {
		case "*":
			c.Resume()
		case "policy":
			// Also an account's id could be "policy": forget both.
			c.InvalidatePolicy()
			c.Invalidate(n.Payload)
		default:
			c.Invalidate(n.Payload)
		}
	}
}
