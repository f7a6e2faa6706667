package authzen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/httpapi"
)

// fakeEdge reads bodies as they come; the other methods are not used.
type fakeEdge struct{ httpapi.Edge }

func (fakeEdge) ReadBody(_ http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(r.Body)
}
func (fakeEdge) CheckJSON([]byte) error           { return nil }
func (fakeEdge) RequestID(context.Context) string { return "req-1" }

// fakeEngine allows users.view only and records what it was asked.
type fakeEngine struct{ asked []holdfast.DecisionRequest }

func (e *fakeEngine) Decide(_ context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	e.asked = append(e.asked, req)
	if req.Action.Name == "users.view" {
		return holdfast.Decision{ID: "d1", Allow: true}, nil
	}
	return holdfast.Decision{ID: "d2", Reasons: []string{"cannot view legal holds"}}, nil
}

func post(t *testing.T, h *Handler, fn func(w http.ResponseWriter, r *http.Request) error, body string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest("POST", EvaluationsPath, strings.NewReader(body))
	r = r.WithContext(holdfast.WithPrincipal(r.Context(), holdfast.Principal{AccountID: "acct-1", AdminID: "a1", Email: "me@example.com"}))
	w := httptest.NewRecorder()
	return w, fn(w, r)
}

// TestEvaluations: a batch is decided in the caller's account item by
// item, a subject that is not an administrator is denied without asking
// the engine, deny_on_first_deny stops at the first deny, and every
// answer is counted.
func TestEvaluations(t *testing.T) {
	engine := &fakeEngine{}
	var counted []bool
	h := New(Options{Engine: engine, Authorize: func(context.Context) error { return nil }, Edge: fakeEdge{},
		Decided: func(allow bool) { counted = append(counted, allow) }})
	body := `{"subject":{"type":"administrator","id":"root@example.com"},"resource":{"type":"account","id":"x"},
		"options":{"evaluations_semantic":"deny_on_first_deny"},
		"evaluations":[{"action":{"name":"users.view"}},{"subject":{"type":"user","id":"u"},"action":{"name":"users.view"}},
		{"action":{"name":"legal_holds.view"}}]}`
	w, err := post(t, h, h.Evaluations, body)
	if err != nil {
		t.Fatal(err)
	}
	var got BatchResponse
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Evaluations) != 2 || !got.Evaluations[0].Decision || got.Evaluations[1].Decision {
		t.Fatalf("evaluations = %+v, want allow, then the user subject denied and the batch stopped there", got.Evaluations)
	}
	if len(engine.asked) != 1 || engine.asked[0].AccountID != "acct-1" {
		t.Errorf("engine asked %+v, want one request in acct-1", engine.asked)
	}
	if len(counted) != 2 {
		t.Errorf("counted %v, want two decisions", counted)
	}
}

// TestEvaluationRefused: a caller who may not ask gets the refusal, and
// the engine is not asked; a body that is not an object is a bad request.
func TestEvaluationRefused(t *testing.T) {
	engine := &fakeEngine{}
	denied := &holdfast.DeniedError{}
	h := New(Options{Engine: engine, Authorize: func(context.Context) error { return denied }, Edge: fakeEdge{}})
	if _, err := post(t, h, h.Evaluation, `{}`); !errors.Is(err, denied) || len(engine.asked) != 0 {
		t.Errorf("refused caller: err %v, engine asked %d times", err, len(engine.asked))
	}
	h = New(Options{Engine: engine, Authorize: func(context.Context) error { return nil }, Edge: fakeEdge{}})
	if _, err := post(t, h, h.Evaluation, `[1]`); !errors.Is(err, httpapi.ErrBadRequest) {
		t.Errorf("array body: err %v, want a bad request", err)
	}
}

// batchEngine decides a batch in one call, as *authz.Engine does, and
// counts the calls.
type batchEngine struct {
	fakeEngine
	batches int
}

func (e *batchEngine) DecideBatch(ctx context.Context, reqs []holdfast.DecisionRequest) []holdfast.DecisionResult {
	e.batches++
	out := make([]holdfast.DecisionResult, len(reqs))
	for i, req := range reqs {
		out[i].Decision, out[i].Err = e.Decide(ctx, req)
	}
	return out
}

// TestEvaluationsInOneBatch: with an engine that decides batches, every
// administrator item of a batch is decided in one engine call, in the
// caller's account, and the answers come back in the items' order, a bad
// item and a subject that is not an administrator in their places.
func TestEvaluationsInOneBatch(t *testing.T) {
	engine := &batchEngine{}
	h := New(Options{Engine: engine, Authorize: func(context.Context) error { return nil }, Edge: fakeEdge{}})
	body := `{"subject":{"type":"administrator","id":"root@example.com"},"resource":{"type":"account","id":"x"},
		"evaluations":[{"action":{"name":"users.view"}},{"subject":{"type":"user","id":"u"},"action":{"name":"users.view"}},
		7,{"action":{"name":"legal_holds.view"}},{"action":{"name":"users.view"}}]}`
	w, err := post(t, h, h.Evaluations, body)
	if err != nil {
		t.Fatal(err)
	}
	var got BatchResponse
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, false, true}
	if len(got.Evaluations) != len(want) {
		t.Fatalf("evaluations = %+v", got.Evaluations)
	}
	for i, res := range got.Evaluations {
		if res.Decision != want[i] {
			t.Errorf("item %d: %v, want %v", i, res.Decision, want[i])
		}
	}
	if got.Evaluations[2].Context["error"] == nil {
		t.Errorf("the bad item carries no error: %+v", got.Evaluations[2])
	}
	if engine.batches != 1 || len(engine.asked) != 3 || engine.asked[0].AccountID != "acct-1" {
		t.Errorf("engine: %d batches, asked %+v; want one batch of three in acct-1", engine.batches, engine.asked)
	}
}

// TestAskingAboutOneself: a caller without the right to ask about others
// (Authorize refuses) may still ask about itself, by administrator id or
// email, in one batch or one evaluation; a batch that names anyone else,
// in one item or as the default, is refused without asking the engine.
func TestAskingAboutOneself(t *testing.T) {
	engine := &batchEngine{}
	denied := &holdfast.DeniedError{}
	h := New(Options{Engine: engine, Authorize: func(context.Context) error { return denied }, Edge: fakeEdge{}})
	self := `{"subject":{"type":"administrator","id":"a1"},"resource":{"type":"account","id":"acct-1"},"options":{"include_context":true},
		"evaluations":[{"action":{"name":"users.view"}},{"action":{"name":"legal_holds.view"}},
		{"subject":{"type":"administrator","id":"ME@example.com"},"action":{"name":"users.view"}}]}`
	w, err := post(t, h, h.Evaluations, self)
	if err != nil {
		t.Fatalf("asking about oneself: %v", err)
	}
	var got BatchResponse
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Evaluations) != 3 || !got.Evaluations[0].Decision || got.Evaluations[1].Decision || !got.Evaluations[2].Decision {
		t.Fatalf("evaluations = %+v, want allow, deny, allow", got.Evaluations)
	}
	if r := got.Evaluations[1].Context["reasons"]; r == nil {
		t.Errorf("the deny carries no reasons: %+v", got.Evaluations[1])
	}
	if _, err := post(t, h, h.Evaluation, `{"subject":{"type":"administrator","id":"a1"},"action":{"name":"users.view"},"resource":{"type":"account","id":"x"}}`); err != nil {
		t.Errorf("one evaluation about oneself: %v", err)
	}
	asked := len(engine.asked)
	for _, other := range []string{
		`{"subject":{"type":"administrator","id":"a2"},"resource":{"type":"account","id":"x"},"evaluations":[{"action":{"name":"users.view"}}]}`,
		`{"subject":{"type":"administrator","id":"a1"},"resource":{"type":"account","id":"x"},"evaluations":[{"action":{"name":"users.view"}},{"subject":{"type":"administrator","id":"boss@example.com"},"action":{"name":"users.view"}}]}`,
		`{"subject":{"type":"user","id":"a1"},"action":{"name":"users.view"},"resource":{"type":"account","id":"x"}}`,
	} {
		if _, err := post(t, h, h.Evaluations, other); !errors.Is(err, denied) {
			t.Errorf("%s: err %v, want the refusal", other, err)
		}
	}
	if len(engine.asked) != asked {
		t.Errorf("the engine was asked about others: %+v", engine.asked[asked:])
	}
}
