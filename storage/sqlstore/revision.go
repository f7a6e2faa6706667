package sqlstore

import (
	"sync"
	"sync/atomic"
)

// RevisionCache holds committed account revisions and the policy revision
// in memory, so that [Store.Revision] and [Store.PolicyRevision], which a
// decision calls on every request to key its cache, cost a map look-up
// instead of a query.
//
// # Guarantees
//
// Within one process, through any Store sharing the cache:
//   - a read that starts after a write's Tx (or single write) returned sees
//     that write's revision or a later one: the cache never serves a value
//     older than the database's once the writer has returned;
//   - revisions never go backwards: once any read returned r, no later read
//     returns less than r;
//   - values read inside a transaction are never cached, so a revision
//     bumped by a transaction that then rolls back (and that the next
//     commit will reuse) never leaks out of it.
//
// # Ordering argument
//
// A value read from the database may only be cached if no commit of the
// same key could have happened between the read and the store. Writers
// therefore announce a commit before making it and retire it after
// (markCommit, then Commit, then doneCommit); both steps delete the key
// and advance gen, and a key stays "committing" in between. A reader that
// misses notes gen before its query and caches the result only if, at the
// time of the store (under mu), gen has not moved and the key is not
// committing. Take a reader that read revision r before a commit made it
// r+1:
//   - if it stores before markCommit, markCommit deletes the entry;
//   - if it stores after markCommit, either it noted gen before markCommit
//     (gen moved: refused) or after (the key is committing until
//     doneCommit, and doneCommit moves gen: refused).
//
// So from markCommit on the cache never holds r, and after doneCommit it
// holds only values read after the commit. A decision cached under r by a
// reader racing the commit was computed from data at least as new as r,
// and r is never again the database's revision, so no decision is served
// under a revision that the new data reuses. Deleting on commit and
// re-reading lazily is what gives this: there is no version to compare,
// only an absence that forces a read.
//
// # Other processes
//
// Commits made by other processes (replicas on one PostgreSQL database)
// are not announced in advance. A watcher ([Dialect.Watch]) deletes keys as
// the database notifies their commits, so such a commit reaches this
// process's revisions within the notification's delivery time. While the
// watcher cannot promise to see every commit (before it first connects,
// while it reconnects) the cache is suspended: every read goes to the
// database and nothing is cached.
//
// RevisionCache is safe for concurrent use. Invalidating too much is always
// safe: it only costs a query.
type RevisionCache struct {
	accounts sync.Map      // account ID → int64, committed values only
	policy   atomic.Int64  // 0: not cached (revisions start at 1)
	gen      atomic.Uint64 // advanced under mu by every invalidation

	mu            sync.Mutex
	live          bool           // guarded by mu; false: cache nothing
	committing    map[string]int // guarded by mu; account ID → commits in flight
	policyCommits int            // guarded by mu; policy commits in flight
}

func newRevisionCache(live bool) *RevisionCache {
	return &RevisionCache{live: live, committing: make(map[string]int)}
}

// account returns the cached revision of the account.
func (c *RevisionCache) account(id string) (int64, bool) {
	v, ok := c.accounts.Load(id)
	if !ok {
		return 0, false
	}
	return v.(int64), true
}

// policyRevision returns the cached policy revision.
func (c *RevisionCache) policyRevision() (int64, bool) {
	rev := c.policy.Load()
	return rev, rev != 0
}

// snapshot returns the generation a reader notes before querying the
// database for a value to cache.
func (c *RevisionCache) snapshot() uint64 { return c.gen.Load() }

// fillAccount caches rev, read after snapshot returned gen, unless an
// invalidation or a commit of the account may have come in between.
func (c *RevisionCache) fillAccount(gen uint64, id string, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && c.gen.Load() == gen && c.committing[id] == 0 {
		c.accounts.Store(id, rev)
	}
}

// fillPolicy is fillAccount for the policy revision.
func (c *RevisionCache) fillPolicy(gen uint64, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && c.gen.Load() == gen && c.policyCommits == 0 {
		c.policy.Store(rev)
	}
}

// markCommit announces a commit that changes the accounts' revisions and,
// when policy is set, the policy revision. Every markCommit is followed by
// one doneCommit with the same arguments once the commit is over, whether
// it succeeded or not.
func (c *RevisionCache) markCommit(accounts []string, policy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range accounts {
		c.committing[id]++
	}
	if policy {
		c.policyCommits++
	}
	c.invalidateLocked(accounts, policy)
}

// doneCommit retires a commit announced by markCommit.
func (c *RevisionCache) doneCommit(accounts []string, policy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range accounts {
		if c.committing[id]--; c.committing[id] <= 0 {
			delete(c.committing, id)
		}
	}
	if policy {
		c.policyCommits--
	}
	c.invalidateLocked(accounts, policy)
}

// invalidateLocked forgets the accounts' revisions and, when policy is
// set, the policy revision; c.mu is held.
func (c *RevisionCache) invalidateLocked(accounts []string, policy bool) {
	if len(accounts) == 0 && !policy {
		return // a transaction that changed no revision (audit, sign-in)
	}
	c.gen.Add(1)
	for _, id := range accounts {
		c.accounts.Delete(id)
	}
	if policy {
		c.policy.Store(0)
	}
}

// Invalidate forgets the account's revision: another process committed a
// change to it. The next read queries the database.
func (c *RevisionCache) Invalidate(accountID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidateLocked([]string{accountID}, false)
}

// InvalidatePolicy forgets the policy revision: another process committed a
// change to the rules.
func (c *RevisionCache) InvalidatePolicy() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidateLocked(nil, true)
}

// Suspend forgets every revision and stops caching: reads go to the
// database until Resume. A watcher calls it when it may miss commits of
// other processes.
func (c *RevisionCache) Suspend() { c.reset(false) }

// Resume forgets every revision and starts caching again. A watcher calls
// it once it is sure to hear of every later commit (PostgreSQL: once LISTEN
// succeeded), so that values read from then on stay correct.
func (c *RevisionCache) Resume() { c.reset(true) }

// Live reports whether the cache is caching (not suspended).
func (c *RevisionCache) Live() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

func (c *RevisionCache) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.accounts.Clear()
	c.policy.Store(0)
	c.live = live
}
