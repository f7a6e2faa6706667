package authz

import (
	"container/list"
	"encoding/json"
	"sync"

	"github.com/holdfast/holdfast"
)

// decisionCache is a bounded LRU of decisions. Its keys carry the policy
// hash, the policy revision and the account's data revision, so an entry can
// never answer for data or rules that changed after it was made: any write
// moves the revision on and old entries simply stop matching.
type decisionCache struct {
	mu    sync.Mutex // guards everything below
	max   int
	ll    *list.List // front = most recently used; values are *cacheEntry
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	d   holdfast.Decision
}

func newDecisionCache(max int) *decisionCache {
	return &decisionCache{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

// cacheKey builds the key for req decided at revision for the resolved
// administrator. encoding/json sorts map keys, so equal requests give equal
// keys.
func cacheKey(revision, adminID string, req holdfast.DecisionRequest) (string, bool) {
	b, err := json.Marshal(struct {
		A string                   `json:"a"`
		R holdfast.DecisionRequest `json:"r"`
	}{adminID, req})
	if err != nil {
		return "", false
	}
	return revision + "\x00" + string(b), true
}

func (c *decisionCache) get(key string) (holdfast.Decision, bool) {
	if c.max <= 0 {
		return holdfast.Decision{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return holdfast.Decision{}, false
	}
	c.ll.MoveToFront(el)
	d := el.Value.(*cacheEntry).d
	d.Reasons = append([]string(nil), d.Reasons...)
	d.Rules = append([]string(nil), d.Rules...)
	return d, true
}

func (c *decisionCache) put(key string, d holdfast.Decision) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*cacheEntry).d = d
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, d: d})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}
