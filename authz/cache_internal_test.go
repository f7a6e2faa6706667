package authz

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
)

// cachedDecision is a decision as the engine caches it, with strings of
// its own (as each evaluation makes them).
func cachedDecision(i int) (string, holdfast.Decision) {
	key := cacheKey("acct_0123456789", "0123456789abcdef.p1.d42", holdfast.DecisionRequest{
		Subject:  holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: fmt.Sprintf("adm_%d", i)},
		Action:   holdfast.Action{Name: "restores.manage"},
		Resource: holdfast.Entity{Type: holdfast.ResourceDevice, ID: fmt.Sprintf("dev_%d", i)},
	})
	return key, holdfast.Decision{
		Reasons:  []string{strings.Clone("Help Desk Administrator cannot manage restores of devices outside its profiles")},
		Rules:    []string{strings.Clone("scope.profile"), strings.Clone("role.right")},
		Revision: fmt.Sprintf("0123456789abcdef.p1.d%d", 42),
	}
}

// heapAfter returns the live heap after fill, less the live heap before.
func heapAfter(fill func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestDecisionCacheMemory: the cache's weights are at least the heap its
// entries hold (so a budget in bytes is a budget of memory), and however
// many distinct decisions are put, the cache stays within its budget,
// weights and heap alike.
func TestDecisionCacheMemory(t *testing.T) {
	const n = 50000
	var big *decisionCache
	held := heapAfter(func() {
		big = newDecisionCache(1 << 30)
		for i := range n {
			big.put(cachedDecision(i))
		}
	})
	weight := int64(big.weight())
	if got := big.c.EstimatedSize(); got != n {
		t.Fatalf("a 1 GiB cache kept %d of %d entries", got, n)
	}
	t.Logf("%d entries: %d bytes weighed, %d bytes of heap (%d / %d per entry)", n, weight, held, weight/n, held/n)
	if held > weight {
		t.Errorf("entries hold %d bytes of heap but weigh %d: the weights understate memory", held, weight)
	}
	runtime.KeepAlive(big)

	const budget = 2 << 20
	var small *decisionCache
	held = heapAfter(func() {
		small = newDecisionCache(budget)
		for i := range 4 * n {
			small.put(cachedDecision(i))
		}
		small.weight()
	})
	if w := small.weight(); w > budget || w < budget/2 {
		t.Errorf("a %d-byte cache weighs %d after %d puts", budget, w, 4*n)
	}
	if held > budget*5/4 {
		t.Errorf("a %d-byte cache holds %d bytes of heap", budget, held)
	}
	t.Logf("%d-byte cache after %d puts: %d entries, %d bytes of heap", budget, 4*n, small.c.EstimatedSize(), held)
	runtime.KeepAlive(small)
}
