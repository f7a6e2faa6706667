package authz

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

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

// cacheKey builds the key of req in accountID at revision. The common
// request (no properties, no context) is keyed without encoding; the rest
// appends the canonical JSON of its properties (encoding/json sorts keys).
func cacheKey(accountID, revision string, req holdfast.DecisionRequest) string {
	var b strings.Builder
	b.Grow(len(accountID) + len(revision) + len(req.Subject.ID) + len(req.Action.Name) + len(req.Resource.Type) + len(req.Resource.ID) + 8)
	for _, part := range []string{accountID, revision, req.Subject.Type, req.Subject.ID, req.Action.Name, req.Resource.Type, req.Resource.ID} {
		b.WriteString(part)
		b.WriteByte(0)
	}
	if len(req.Action.Properties) > 0 || len(req.Resource.Properties) > 0 || len(req.Context) > 0 {
		extra, err := json.Marshal([]any{req.Action.Properties, req.Resource.Properties, req.Context})
		if err != nil {
			// Unencodable properties cannot be keyed; a unique key makes the
			// entry unreachable rather than wrong.
			return ""
		}
		b.Write(extra)
	}
	return b.String()
}

func (c *decisionCache) enabled() bool { return c.max > 0 }

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

// idSource hands out decision ids: a random per-process prefix and a
// counter, unique across replicas and cheap enough for the warm path.
type idSource struct {
	prefix string
	n      atomic.Uint64
}

func newIDSource() *idSource {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("authz: no randomness for decision ids: " + err.Error())
	}
	return &idSource{prefix: "dec_" + hex.EncodeToString(b[:]) + "_"}
}

func (s *idSource) next() string {
	return s.prefix + strconv.FormatUint(s.n.Add(1), 36)
}
