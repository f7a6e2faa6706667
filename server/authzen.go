package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/holdfast/holdfast"
)

// AuthZEN 1.0 (OpenID AuthZEN Authorization API; spec/protocols.md §1).
// The decision endpoints take a caller's API token; the token's account
// confines every subject and resource, and its owner must be allowed
// admins.view on the account. Unknown members are ignored, as the
// specification requires.

// AuthZEN default paths.
const (
	authzenEvaluationPath  = "/access/v1/evaluation"
	authzenEvaluationsPath = "/access/v1/evaluations"
)

// Evaluation semantics of a batch request.
const (
	semanticExecuteAll          = "execute_all"
	semanticDenyOnFirstDeny     = "deny_on_first_deny"
	semanticPermitOnFirstPermit = "permit_on_first_permit"
)

// authzenConfig is the discovery document.
type authzenConfig struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint"`
}

// authzenConfiguration serves GET /.well-known/authzen-configuration. It
// names no search endpoints: they are not supported.
func (s *Server) authzenConfiguration(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	w.Header().Set("Cache-Control", "public, max-age=300")
	if err := writeJSON(w, http.StatusOK, authzenConfig{
		PolicyDecisionPoint:       base,
		AccessEvaluationEndpoint:  base + authzenEvaluationPath,
		AccessEvaluationsEndpoint: base + authzenEvaluationsPath,
	}); err != nil {
		s.writeError(w, r, err)
	}
}

// baseURL is Options.PublicURL, or else the scheme and host the request
// was made to. A TLS-terminating proxy can say https with
// X-Forwarded-Proto; set PublicURL to not depend on it.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// normalizePublicURL checks Options.PublicURL: an absolute http(s) URL
// without query or fragment. It returns it without a trailing slash.
func normalizePublicURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("server: public URL %q must be an absolute http(s) URL without query or fragment", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// evaluationResponse is one AuthZEN decision.
type evaluationResponse struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// batchResponse is the body of a batch answer.
type batchResponse struct {
	Evaluations []evaluationResponse `json:"evaluations"`
}

// evaluation serves POST /access/v1/evaluation. A deny is 200 with
// {"decision":false}; the context holds the decision id and reasons.
func (s *Server) evaluation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.authorizePEP(ctx); err != nil {
		return err
	}
	body, err := readAuthZEN(w, r)
	if err != nil {
		return err
	}
	req, err := parseEvaluation(body)
	if err != nil {
		return err
	}
	return s.answerOne(ctx, w, req)
}

// answerOne decides one request and writes it in the single style.
func (s *Server) answerOne(ctx context.Context, w http.ResponseWriter, req holdfast.DecisionRequest) error {
	d, err := s.evaluate(ctx, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evaluationResponse{Decision: d.Allow, Context: decisionContext(d)})
}

// evaluations serves POST /access/v1/evaluations: a batch with defaults
// merged per entity (whole-object replacement), answered in request order
// under the requested evaluation semantic. Without items it answers like
// the single endpoint.
func (s *Server) evaluations(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.authorizePEP(ctx); err != nil {
		return err
	}
	body, err := readAuthZEN(w, r)
	if err != nil {
		return err
	}
	b, err := parseBatch(body)
	if err != nil {
		return err
	}
	if len(b.items) == 0 {
		req, err := parseEvaluation(body)
		if err != nil {
			return err
		}
		return s.answerOne(ctx, w, req)
	}
	out := batchResponse{Evaluations: make([]evaluationResponse, 0, len(b.items))}
	for _, item := range b.items {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := s.evaluateItem(ctx, b, item)
		out.Evaluations = append(out.Evaluations, res)
		// Short-circuit semantics stop at the deciding item; the answer is
		// truncated there.
		if (b.semantic == semanticDenyOnFirstDeny && !res.Decision) ||
			(b.semantic == semanticPermitOnFirstPermit && res.Decision) {
			break
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// evaluateItem merges item with the batch defaults and decides it. A bad
// item or an engine failure is a denied item carrying the error.
func (s *Server) evaluateItem(ctx context.Context, b batch, item any) evaluationResponse {
	obj, ok := item.(map[string]any)
	if !ok {
		return itemError(http.StatusBadRequest, "an evaluation must be a JSON object")
	}
	merged := make(map[string]any, 4)
	for _, k := range []string{"subject", "action", "resource", "context"} {
		if v, ok := obj[k]; ok && v != nil {
			merged[k] = v
		} else if v, ok := b.defaults[k]; ok {
			merged[k] = v
		}
	}
	req, err := parseEvaluation(merged)
	if err != nil {
		return itemError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
	}
	d, err := s.evaluate(ctx, req)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return itemError(499, "canceled")
		}
		s.log.LogAttrs(ctx, slog.LevelError, "authzen evaluation failed",
			slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		return itemError(http.StatusInternalServerError, "internal error")
	}
	res := evaluationResponse{Decision: d.Allow}
	if b.includeContext {
		res.Context = decisionContext(d)
	}
	return res
}

// itemError is the answer of a batch item that could not be decided:
// denied, with the error in its context ("decisions default closed").
func itemError(status int, message string) evaluationResponse {
	return evaluationResponse{Context: map[string]any{"error": map[string]any{"status": status, "message": message}}}
}

// decisionContext is the context of an answer: the decision id, the
// reasons and, for a deny, the reason in the reason_admin shape.
func decisionContext(d holdfast.Decision) map[string]any {
	c := map[string]any{"reasons": nonNilSlice(d.Reasons)}
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
func (s *Server) evaluate(ctx context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	req.AccountID = principal(ctx).AccountID
	if req.Subject.Type != holdfast.PrincipalAdmin {
		s.metrics.decided(false)
		return holdfast.Decision{Reasons: []string{fmt.Sprintf("subject type %q is not supported; use %q", req.Subject.Type, holdfast.PrincipalAdmin)}}, nil
	}
	d, err := s.engine.Decide(ctx, req)
	if err != nil {
		return holdfast.Decision{}, fmt.Errorf("authzen: decide %s: %w", req.Action.Name, err)
	}
	s.metrics.decided(d.Allow)
	return d, nil
}

// authorizePEP refuses a caller whose token owner may not view the
// account's administrators: asking about them is as much as reading them.
func (s *Server) authorizePEP(ctx context.Context) error {
	_, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)})
	return err
}

// readAuthZEN reads a JSON object body. A non-JSON content type, an empty
// or malformed body or a body that is not an object is errBadRequest.
func readAuthZEN(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, fmt.Errorf("%w: Content-Type must be application/json", errBadRequest)
	}
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("%w: request body is empty", errBadRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: request body holds more than one JSON value", errBadRequest)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: request body must be a JSON object", errBadRequest)
	}
	return obj, nil
}

// parseEvaluation reads one complete evaluation: subject, action and
// resource are required with their type/id/name strings; properties and
// context must be objects. Unknown members are ignored; a null member is
// treated as absent.
func parseEvaluation(body map[string]any) (holdfast.DecisionRequest, error) {
	var req holdfast.DecisionRequest
	var err error
	if req.Subject, err = parseEntity(body, "subject"); err != nil {
		return req, err
	}
	if req.Action, err = parseAction(body); err != nil {
		return req, err
	}
	if req.Resource, err = parseEntity(body, "resource"); err != nil {
		return req, err
	}
	if req.Context, err = optionalObject(body, "context"); err != nil {
		return req, err
	}
	return req, nil
}

// parseEntity reads the subject or resource member of body.
func parseEntity(body map[string]any, name string) (holdfast.Entity, error) {
	var e holdfast.Entity
	obj, err := requiredObject(body, name)
	if err != nil {
		return e, err
	}
	if e.Type, err = requiredString(obj, name, "type"); err != nil {
		return e, err
	}
	if e.ID, err = requiredString(obj, name, "id"); err != nil {
		return e, err
	}
	if e.Properties, err = optionalObject(obj, name+".properties"); err != nil {
		return e, err
	}
	return e, nil
}

// parseAction reads the action member of body.
func parseAction(body map[string]any) (holdfast.Action, error) {
	var a holdfast.Action
	obj, err := requiredObject(body, "action")
	if err != nil {
		return a, err
	}
	if a.Name, err = requiredString(obj, "action", "name"); err != nil {
		return a, err
	}
	if a.Properties, err = optionalObject(obj, "action.properties"); err != nil {
		return a, err
	}
	return a, nil
}

func requiredObject(body map[string]any, name string) (map[string]any, error) {
	v, ok := body[name]
	if !ok || v == nil {
		return nil, fmt.Errorf("%w: %s is missing", errBadRequest, name)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s must be a JSON object", errBadRequest, name)
	}
	return obj, nil
}

func requiredString(obj map[string]any, parent, name string) (string, error) {
	v, ok := obj[name]
	if !ok || v == nil {
		return "", fmt.Errorf("%w: %s.%s is missing", errBadRequest, parent, name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s.%s must be a string", errBadRequest, parent, name)
	}
	if s == "" {
		return "", fmt.Errorf("%w: %s.%s must not be empty", errBadRequest, parent, name)
	}
	return s, nil
}

// optionalObject reads member key of obj (label names it in errors).
func optionalObject(obj map[string]any, label string) (map[string]any, error) {
	key := label[strings.LastIndex(label, ".")+1:]
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s must be a JSON object", errBadRequest, label)
	}
	return m, nil
}

// batch is a parsed /access/v1/evaluations request.
type batch struct {
	defaults       map[string]any // top-level subject, action, resource, context
	items          []any
	semantic       string
	includeContext bool
}

// parseBatch reads the batch members: evaluations (an array), options
// (an object with a known evaluations_semantic and a boolean
// include_context) and the defaults, which must be objects when present
// but are checked for completeness only after merging into each item.
func parseBatch(body map[string]any) (batch, error) {
	b := batch{defaults: map[string]any{}, semantic: semanticExecuteAll}
	for _, k := range []string{"subject", "action", "resource", "context"} {
		v, ok := body[k]
		if !ok || v == nil {
			continue
		}
		if _, isObject := v.(map[string]any); !isObject {
			return b, fmt.Errorf("%w: %s must be a JSON object", errBadRequest, k)
		}
		b.defaults[k] = v
	}
	if v, ok := body["evaluations"]; ok && v != nil {
		items, isArray := v.([]any)
		if !isArray {
			return b, fmt.Errorf("%w: evaluations must be a JSON array", errBadRequest)
		}
		b.items = items
	}
	opts, err := optionalObject(body, "options")
	if err != nil {
		return b, err
	}
	if v, ok := opts["evaluations_semantic"]; ok && v != nil {
		sem, _ := v.(string)
		switch sem {
		case semanticExecuteAll, semanticDenyOnFirstDeny, semanticPermitOnFirstPermit:
			b.semantic = sem
		default:
			return b, fmt.Errorf("%w: options.evaluations_semantic must be %s, %s or %s",
				errBadRequest, semanticExecuteAll, semanticDenyOnFirstDeny, semanticPermitOnFirstPermit)
		}
	}
	if v, ok := opts["include_context"]; ok && v != nil {
		inc, isBool := v.(bool)
		if !isBool {
			return b, fmt.Errorf("%w: options.include_context must be a boolean", errBadRequest)
		}
		b.includeContext = inc
	}
	return b, nil
}
