package authz

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/maypok86/otter/v2"

	"github.com/holdfast/holdfast"
)

// decisionCache holds decisions within a memory budget: each entry weighs
// what it keeps on the heap (key, reasons, rules, revision and the cache's
// own bookkeeping), and the cache (otter's W-TinyLFU, which keeps what is
// asked often over what was asked once) evicts past the budget. Its keys
// carry the policy hash, the policy revision and the account's data
// revision, so an entry can never answer for data or rules that changed
// after it was made: any write moves the revision on and old entries
// simply stop matching, then age out.
type decisionCache struct {
	c *otter.Cache[string, holdfast.Decision] // nil: off
}

// DefaultCacheBytes is the decision cache's budget when Options.CacheBytes
// is 0.
const DefaultCacheBytes = 64 << 20

// entryOverhead is what an entry costs besides the bytes of its strings:
// otter's node (key and value headers, links, frequency and weight), its
// hash-table slot, and the decision's slice and string headers; measured
// (TestDecisionCacheMemory) and rounded up.
const entryOverhead = 320

// newDecisionCache returns a cache of at most maxBytes; 0 or less is off.
func newDecisionCache(maxBytes int64) *decisionCache {
	if maxBytes <= 0 {
		return &decisionCache{}
	}
	return &decisionCache{c: otter.Must(&otter.Options[string, holdfast.Decision]{
		MaximumWeight: uint64(maxBytes),
		Weigher:       entryWeight,
	})}
}

// entryWeight is the heap an entry holds, in bytes.
func entryWeight(key string, d holdfast.Decision) uint32 {
	n := entryOverhead + len(key) + len(d.Revision) + 16*(len(d.Reasons)+len(d.Rules))
	for _, s := range d.Reasons {
		n += len(s)
	}
	for _, s := range d.Rules {
		n += len(s)
	}
	return uint32(min(n, 1<<31))
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

func (c *decisionCache) enabled() bool { return c.c != nil }

func (c *decisionCache) get(key string) (holdfast.Decision, bool) {
	if c.c == nil {
		return holdfast.Decision{}, false
	}
	d, ok := c.c.GetIfPresent(key)
	if !ok {
		return holdfast.Decision{}, false
	}
	d.Reasons = append([]string(nil), d.Reasons...)
	d.Rules = append([]string(nil), d.Rules...)
	return d, true
}

func (c *decisionCache) put(key string, d holdfast.Decision) {
	if c.c != nil {
		c.c.Set(key, d)
	}
}

// weight is the cache's current weight in bytes, after pending evictions.
func (c *decisionCache) weight() uint64 {
	if c.c == nil {
		return 0
	}
	c.c.CleanUp()
	return c.c.WeightedSize()
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
