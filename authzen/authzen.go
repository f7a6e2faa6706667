// Package authzen serves the AuthZEN 1.0 decision API (OpenID AuthZEN
// Authorization API; spec/protocols.md §1) over the decision engine: the
// discovery document, and single and batch evaluations. The decision
// endpoints take a caller's API token (the server authenticates and
// mounts them); the token's account confines every subject and resource,
// and its owner must be allowed admins.view on the account. Unknown
// members are ignored, as the specification requires.
package authzen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/httpapi"
)

// The AuthZEN default paths.
const (
	EvaluationPath  = "/access/v1/evaluation"
	EvaluationsPath = "/access/v1/evaluations"
	// ConfigurationPath is the discovery document.
	ConfigurationPath = "/.well-known/authzen-configuration"
)

// Options configure a Handler.
type Options struct {
	// Engine decides every evaluation; required.
	Engine holdfast.Authorizer
	// Decided counts each decision answered (the server's metrics); nil
	// counts none.
	Decided func(allow bool)
	// Authorize refuses a caller who may not ask about other
	// administrators (the caller's right to view the account's
	// administrators: asking about them is as much as reading them); it is
	// not asked when every subject is the caller. Required.
	Authorize func(ctx context.Context) error
	// Edge is the server the handler is mounted in; required.
	Edge httpapi.Edge
	// Logger logs an evaluation that failed inside a batch; nil discards.
	Logger *slog.Logger
}

// Handler serves AuthZEN. It is safe for concurrent use.
type Handler struct {
	engine    holdfast.Authorizer
	decided   func(allow bool)
	authorize func(ctx context.Context) error
	edge      httpapi.Edge
	log       *slog.Logger
}

// New returns the handler over opts.
func New(opts Options) *Handler {
	h := &Handler{engine: opts.Engine, decided: opts.Decided, authorize: opts.Authorize, edge: opts.Edge, log: opts.Logger}
	if h.decided == nil {
		h.decided = func(bool) {}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Evaluation semantics of a batch request.
const (
	semanticExecuteAll          = "execute_all"
	semanticDenyOnFirstDeny     = "deny_on_first_deny"
	semanticPermitOnFirstPermit = "permit_on_first_permit"
)

// Config is the discovery document.
type Config struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint"`
}

// Configuration serves GET /.well-known/authzen-configuration. It
// names no search endpoints: they are not supported.
func (h *Handler) Configuration(w http.ResponseWriter, r *http.Request) {
	base := h.edge.BaseURL(r)
	w.Header().Set("Cache-Control", "public, max-age=300")
	if err := httpapi.WriteJSON(w, http.StatusOK, Config{
		PolicyDecisionPoint:       base,
		AccessEvaluationEndpoint:  base + EvaluationPath,
		AccessEvaluationsEndpoint: base + EvaluationsPath,
	}); err != nil {
		h.edge.WriteError(w, r, err)
	}
}

// Response is one AuthZEN decision.
type Response struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// BatchResponse is the body of a batch answer.
type BatchResponse struct {
	Evaluations []Response `json:"evaluations"`
}

// Evaluation serves POST /access/v1/evaluation. A deny is 200 with
// {"decision":false}; the context holds the decision id and reasons.
func (h *Handler) Evaluation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, release, err := h.read(w, r)
	if err != nil {
		return err
	}
	defer release()
	m := evalMembers(body, nil)
	if err := h.mayAsk(ctx, m.subject); err != nil {
		return err
	}
	req, err := parseEvaluation(m)
	if err != nil {
		return err
	}
	return h.answerOne(ctx, w, req)
}

// answerOne decides one request and writes it in the single style.
func (h *Handler) answerOne(ctx context.Context, w http.ResponseWriter, req holdfast.DecisionRequest) error {
	d, err := h.evaluate(ctx, req)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, Response{Decision: d.Allow, Context: decisionContext(d)})
}

// Evaluations serves POST /access/v1/evaluations: a batch with defaults
// merged per entity (whole-object replacement), answered in request order
// under the requested evaluation semantic. Without items it answers like
// the single endpoint.
func (h *Handler) Evaluations(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, release, err := h.read(w, r)
	if err != nil {
		return err
	}
	defer release()
	b, err := parseBatch(body)
	if err != nil {
		return err
	}
	if err := h.mayAsk(ctx, b.subjects()...); err != nil {
		return err
	}
	if len(b.items) == 0 {
		req, err := parseEvaluation(b.defaults)
		if err != nil {
			return err
		}
		return h.answerOne(ctx, w, req)
	}
	if be, ok := h.engine.(holdfast.BatchAuthorizer); ok {
		return httpapi.WriteJSON(w, http.StatusOK, BatchResponse{Evaluations: h.evaluateBatch(ctx, be, b)})
	}
	out := BatchResponse{Evaluations: make([]Response, 0, len(b.items))}
	for _, item := range b.items {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := h.evaluateItem(ctx, b, item)
		out.Evaluations = append(out.Evaluations, res)
		if b.decides(res) {
			break
		}
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// mayAsk refuses a caller who asks about someone else without the right
// to (h.authorize). Asking only about oneself, the caller's own
// administrator by id or email, needs no right.
func (h *Handler) mayAsk(ctx context.Context, subjects ...*fastjson.Value) error {
	p, _ := holdfast.PrincipalFrom(ctx)
	for _, s := range subjects {
		if !isCaller(s, p) {
			return h.authorize(ctx)
		}
	}
	return nil
}

// isCaller reports whether the subject v is p's own administrator.
func isCaller(v *fastjson.Value, p holdfast.Principal) bool {
	if v == nil || v.Type() != fastjson.TypeObject || p.AdminID == "" {
		return false
	}
	typ, id := member(v, "type"), member(v, "id")
	if typ == nil || id == nil {
		return false
	}
	t, _ := typ.StringBytes()
	i, _ := id.StringBytes()
	return string(t) == holdfast.PrincipalAdmin &&
		(string(i) == p.AdminID || (p.Email != "" && strings.EqualFold(string(i), p.Email)))
}

// subjects are the subjects the batch asks about: each object item's own
// or the default; the default alone when there are no items.
func (b batch) subjects() []*fastjson.Value {
	if len(b.items) == 0 {
		return []*fastjson.Value{b.defaults.subject}
	}
	out := make([]*fastjson.Value, 0, len(b.items))
	for _, item := range b.items {
		if item.Type() == fastjson.TypeObject {
			out = append(out, cmp.Or(member(item, "subject"), b.defaults.subject))
		}
	}
	return out
}

// decides reports whether res ends the batch: short-circuit semantics stop
// at the deciding item, and the answer is truncated there.
func (b batch) decides(res Response) bool {
	return (b.semantic == semanticDenyOnFirstDeny && !res.Decision) ||
		(b.semantic == semanticPermitOnFirstPermit && res.Decision)
}

// evaluateBatch answers the items of b with an engine that decides them
// all at once (it reads what they need together): each merged with the
// batch defaults; a bad item or an engine failure is a denied item
// carrying the error.
func (h *Handler) evaluateBatch(ctx context.Context, engine holdfast.BatchAuthorizer, b batch) []Response {
	out := make([]Response, len(b.items))
	p, _ := holdfast.PrincipalFrom(ctx)
	var (
		reqs  []holdfast.DecisionRequest
		asked []int // the item of each request
	)
	for i, item := range b.items {
		if item.Type() != fastjson.TypeObject {
			out[i] = itemError(http.StatusBadRequest, "an evaluation must be a JSON object")
			continue
		}
		req, err := parseEvaluation(evalMembers(item, &b.defaults))
		if err != nil {
			out[i] = itemError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
			continue
		}
		if req.Subject.Type != holdfast.PrincipalAdmin {
			out[i] = h.answer(ctx, b, unsupportedSubject(h, req), nil)
			continue
		}
		req.AccountID = p.AccountID
		reqs = append(reqs, req)
		asked = append(asked, i)
	}
	if len(reqs) > 0 {
		for k, r := range engine.DecideBatch(ctx, reqs) {
			if r.Err == nil {
				h.decided(r.Decision.Allow)
			} else {
				r.Err = fmt.Errorf("authzen: decide %s: %w", reqs[k].Action.Name, r.Err)
			}
			out[asked[k]] = h.answer(ctx, b, r.Decision, r.Err)
		}
	}
	for i, res := range out {
		if b.decides(res) {
			return out[:i+1]
		}
	}
	return out
}

// evaluateItem merges item with the batch defaults and decides it. A bad
// item or an engine failure is a denied item carrying the error.
func (h *Handler) evaluateItem(ctx context.Context, b batch, item *fastjson.Value) Response {
	if item.Type() != fastjson.TypeObject {
		return itemError(http.StatusBadRequest, "an evaluation must be a JSON object")
	}
	req, err := parseEvaluation(evalMembers(item, &b.defaults))
	if err != nil {
		return itemError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
	}
	d, err := h.evaluate(ctx, req)
	return h.answer(ctx, b, d, err)
}

// answer is the answer of an item the engine was asked about.
func (h *Handler) answer(ctx context.Context, b batch, d holdfast.Decision, err error) Response {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return itemError(499, "canceled")
		}
		h.log.LogAttrs(ctx, slog.LevelError, "authzen evaluation failed",
			slog.String("request_id", h.edge.RequestID(ctx)), slog.String("error", err.Error()))
		return itemError(http.StatusInternalServerError, "internal error")
	}
	res := Response{Decision: d.Allow}
	if b.includeContext {
		res.Context = decisionContext(d)
	}
	return res
}

// itemError is the answer of a batch item that could not be decided:
// denied, with the error in its context ("decisions default closed").
func itemError(status int, message string) Response {
	return Response{Context: map[string]any{"error": map[string]any{"status": status, "message": message}}}
}

// decisionContext is the context of an answer: the decision id, the
// reasons and, for a deny, the reason in the reason_admin shape.
func decisionContext(d holdfast.Decision) map[string]any {
	c := map[string]any{"reasons": nonNil(d.Reasons)}
	if d.ID != "" {
		c["decision_id"] = d.ID
	}
	if !d.Allow && len(d.Reasons) > 0 {
		c["reason_admin"] = map[string]string{"403": strings.Join(d.Reasons, "; ")}
	}
	return c
}

// evaluate decides req within the caller's account. Subjects other than
// administrators are denied with a reason, without asking the engine.
func (h *Handler) evaluate(ctx context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	p, _ := holdfast.PrincipalFrom(ctx)
	req.AccountID = p.AccountID
	if req.Subject.Type != holdfast.PrincipalAdmin {
		return unsupportedSubject(h, req), nil
	}
	d, err := h.engine.Decide(ctx, req)
	if err != nil {
		return holdfast.Decision{}, fmt.Errorf("authzen: decide %s: %w", req.Action.Name, err)
	}
	h.decided(d.Allow)
	return d, nil
}

// unsupportedSubject is the denial of a subject that is not an
// administrator, made without asking the engine.
func unsupportedSubject(h *Handler, req holdfast.DecisionRequest) holdfast.Decision {
	h.decided(false)
	return holdfast.Decision{Reasons: []string{fmt.Sprintf("subject type %q is not supported; use %q", req.Subject.Type, holdfast.PrincipalAdmin)}}
}

// authzenParsers parse request bodies. A parsed value lives in its
// parser's memory until the parser is returned to the pool, so handlers
// copy every string they keep (parseEvaluation does).
var authzenParsers fastjson.ParserPool

// read reads a JSON object body. A non-JSON content type, an empty or
// malformed body or a body that is not an object is a bad request. The
// caller must call release when done with the value, and keep nothing of
// it afterwards.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (*fastjson.Value, func(), error) {
	raw, err := h.edge.ReadBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, fmt.Errorf("%w: request body is empty", errBadRequest)
	}
	p := authzenParsers.Get()
	v, err := p.ParseBytes(raw)
	if err != nil {
		authzenParsers.Put(p)
		return nil, nil, h.malformedJSON(raw)
	}
	if v.Type() != fastjson.TypeObject {
		authzenParsers.Put(p)
		return nil, nil, fmt.Errorf("%w: request body must be a JSON object", errBadRequest)
	}
	if err := h.edge.CheckJSON(raw); err != nil {
		authzenParsers.Put(p)
		return nil, nil, err
	}
	return v, func() { authzenParsers.Put(p) }, nil
}

// malformedJSON explains why raw, which the fast parser refused, is not
// one JSON value, in encoding/json's words (a byte offset, truncation, or
// trailing data). This runs only for bad requests.
func (h *Handler) malformedJSON(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var v any
	if err := dec.Decode(&v); err != nil {
		return h.edge.DecodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: request body holds more than one JSON value", errBadRequest)
	}
	return fmt.Errorf("%w: request body is not valid JSON", errBadRequest)
}

// member returns obj's member key, nil when it is absent or null. Like
// encoding/json, the last of duplicate members wins. obj must be an object.
func member(obj *fastjson.Value, key string) *fastjson.Value {
	var found *fastjson.Value
	o, _ := obj.Object()
	o.Visit(func(k []byte, v *fastjson.Value) {
		if string(k) == key {
			found = v
		}
	})
	if found != nil && found.Type() == fastjson.TypeNull {
		return nil
	}
	return found
}

// evalEntities are the four members of an evaluation, each nil when absent.
type evalEntities struct {
	subject, action, resource, context *fastjson.Value
}

// evalMembers reads the members of the evaluation obj; a member obj lacks
// is taken from defaults when given (whole-object replacement).
func evalMembers(obj *fastjson.Value, defaults *evalEntities) evalEntities {
	m := evalEntities{
		subject:  member(obj, "subject"),
		action:   member(obj, "action"),
		resource: member(obj, "resource"),
		context:  member(obj, "context"),
	}
	if defaults != nil {
		m.subject = cmp.Or(m.subject, defaults.subject)
		m.action = cmp.Or(m.action, defaults.action)
		m.resource = cmp.Or(m.resource, defaults.resource)
		m.context = cmp.Or(m.context, defaults.context)
	}
	return m
}

// parseEvaluation reads one complete evaluation: subject, action and
// resource are required with their type/id/name strings; properties and
// context must be objects. Unknown members are ignored; a null member is
// treated as absent.
func parseEvaluation(m evalEntities) (holdfast.DecisionRequest, error) {
	var req holdfast.DecisionRequest
	var err error
	if req.Subject, err = parseEntity(m.subject, "subject"); err != nil {
		return req, err
	}
	if req.Action, err = parseAction(m.action); err != nil {
		return req, err
	}
	if req.Resource, err = parseEntity(m.resource, "resource"); err != nil {
		return req, err
	}
	if req.Context, err = optionalObject(m.context, "context"); err != nil {
		return req, err
	}
	return req, nil
}

// parseEntity reads a subject or resource (name labels it in errors).
func parseEntity(v *fastjson.Value, name string) (holdfast.Entity, error) {
	var e holdfast.Entity
	if err := requiredObject(v, name); err != nil {
		return e, err
	}
	var err error
	if e.Type, err = requiredString(v, name, "type"); err != nil {
		return e, err
	}
	if e.ID, err = requiredString(v, name, "id"); err != nil {
		return e, err
	}
	if e.Properties, err = optionalObject(member(v, "properties"), name+".properties"); err != nil {
		return e, err
	}
	return e, nil
}

// parseAction reads an action.
func parseAction(v *fastjson.Value) (holdfast.Action, error) {
	var a holdfast.Action
	if err := requiredObject(v, "action"); err != nil {
		return a, err
	}
	var err error
	if a.Name, err = requiredString(v, "action", "name"); err != nil {
		return a, err
	}
	if a.Properties, err = optionalObject(member(v, "properties"), "action.properties"); err != nil {
		return a, err
	}
	return a, nil
}

func requiredObject(v *fastjson.Value, name string) error {
	if v == nil {
		return fmt.Errorf("%w: %s is missing", errBadRequest, name)
	}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("%w: %s must be a JSON object", errBadRequest, name)
	}
	return nil
}

// requiredString reads the string member name of obj, as a copy.
func requiredString(obj *fastjson.Value, parent, name string) (string, error) {
	v := member(obj, name)
	if v == nil {
		return "", fmt.Errorf("%w: %s.%s is missing", errBadRequest, parent, name)
	}
	b, err := v.StringBytes()
	if err != nil {
		return "", fmt.Errorf("%w: %s.%s must be a string", errBadRequest, parent, name)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("%w: %s.%s must not be empty", errBadRequest, parent, name)
	}
	return string(b), nil
}

// optionalObject converts v, an object member labelled label, to a map;
// absent (nil) is a nil map.
func optionalObject(v *fastjson.Value, label string) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%w: %s must be a JSON object", errBadRequest, label)
	}
	m, _ := jsonAny(v).(map[string]any)
	return m, nil
}

// jsonAny converts v to the value encoding/json would decode with
// UseNumber: maps, slices, strings, json.Number, bools and nil. Every
// string is copied out of the parser's memory.
func jsonAny(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		o.Visit(func(k []byte, x *fastjson.Value) { m[string(k)] = jsonAny(x) })
		return m
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]any, len(a))
		for i, x := range a {
			out[i] = jsonAny(x)
		}
		return out
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		return json.Number(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

// batch is a parsed /access/v1/evaluations request.
type batch struct {
	defaults       evalEntities // top-level subject, action, resource, context
	items          []*fastjson.Value
	semantic       string
	includeContext bool
}

// parseBatch reads the batch members: evaluations (an array), options
// (an object with a known evaluations_semantic and a boolean
// include_context) and the defaults, which must be objects when present
// but are checked for completeness only after merging into each item.
func parseBatch(body *fastjson.Value) (batch, error) {
	b := batch{defaults: evalMembers(body, nil), semantic: semanticExecuteAll}
	for _, d := range []struct {
		name string
		v    *fastjson.Value
	}{{"subject", b.defaults.subject}, {"action", b.defaults.action}, {"resource", b.defaults.resource}, {"context", b.defaults.context}} {
		if d.v != nil && d.v.Type() != fastjson.TypeObject {
			return b, fmt.Errorf("%w: %s must be a JSON object", errBadRequest, d.name)
		}
	}
	if v := member(body, "evaluations"); v != nil {
		items, err := v.Array()
		if err != nil {
			return b, fmt.Errorf("%w: evaluations must be a JSON array", errBadRequest)
		}
		b.items = items
	}
	opts := member(body, "options")
	if opts == nil {
		return b, nil
	}
	if opts.Type() != fastjson.TypeObject {
		return b, fmt.Errorf("%w: options must be a JSON object", errBadRequest)
	}
	if v := member(opts, "evaluations_semantic"); v != nil {
		sem, _ := v.StringBytes()
		switch string(sem) {
		case semanticExecuteAll, semanticDenyOnFirstDeny, semanticPermitOnFirstPermit:
			b.semantic = string(sem)
		default:
			return b, fmt.Errorf("%w: options.evaluations_semantic must be %s, %s or %s",
				errBadRequest, semanticExecuteAll, semanticDenyOnFirstDeny, semanticPermitOnFirstPermit)
		}
	}
	if v := member(opts, "include_context"); v != nil {
		inc, err := v.Bool()
		if err != nil {
			return b, fmt.Errorf("%w: options.include_context must be a boolean", errBadRequest)
		}
		b.includeContext = inc
	}
	return b, nil
}

// errBadRequest is the server's bad request (400).
var errBadRequest = httpapi.ErrBadRequest

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
