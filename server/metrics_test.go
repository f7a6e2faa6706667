package server

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// countingEngine is an engine whose Wasm evaluator fell back n times.
type countingEngine struct {
	*fakeEngine
	n int64
}

func (e countingEngine) WasmFallbacks() int64 { return e.n }

// TestWasmFallbackMetric: an engine that counts fallbacks has them
// exported; one that does not gets no such series.
func TestWasmFallbackMetric(t *testing.T) {
	scrape := func(e Engine) string {
		m, err := newMetrics(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		m.handler.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		return w.Body.String()
	}
	if body := scrape(countingEngine{&fakeEngine{cat: testCatalog}, 3}); !strings.Contains(body, "holdfast_policy_wasm_fallbacks_total 3\n") {
		t.Errorf("metrics lack the fallback count:\n%s", body)
	}
	if body := scrape(&fakeEngine{cat: testCatalog}); strings.Contains(body, "holdfast_policy_wasm_fallbacks_total") {
		t.Error("an engine without the counter has the series")
	}
}
