package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	requests  *prometheus.CounterVec   // http_requests_total{route,method,code}
	duration  *prometheus.HistogramVec // http_request_duration_seconds{route,method}
	decisions *prometheus.CounterVec   // holdfast_decisions_total{decision}
	signIns   *prometheus.CounterVec   // holdfast_sign_ins_total{method,outcome}
	chunks    *prometheus.CounterVec   // holdfast_backup_chunks_total{result}
	chunkData prometheus.Counter       // holdfast_backup_uploaded_bytes_total
	snapshots prometheus.Counter       // holdfast_snapshots_committed_total
	handler   http.Handler             // GET /metrics
}

// fallbackCounter is an engine that counts the policy evaluations its
// compiled (Wasm) evaluator could not finish (*authz.Engine does).
type fallbackCounter interface {
	WasmFallbacks() int64
}

// newMetrics registers the collectors with reg (nil: a new registry).
// Collectors already registered there by another Server are reused.
func newMetrics(reg prometheus.Registerer, engine Engine) (*metrics, error) {
	var gatherer prometheus.Gatherer = prometheus.DefaultGatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		gatherer = g
	}
	m := newCollectors()
	if err := m.registerWith(reg); err != nil {
		return nil, err
	}
	if err := registerFallbacks(reg, engine); err != nil {
		return nil, err
	}
	m.handler = promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})
	return m, nil
}

// newCollectors returns the server's collectors, not yet registered.
func newCollectors() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_decisions_total",
			Help: "Authorization decisions made, by outcome (allow or deny).",
		}, []string{"decision"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_sign_ins_total",
			Help: "Administrator sign-in attempts, by method (password, oidc, saml) and outcome.",
		}, []string{"method", "outcome"}),
		chunks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_backup_chunks_total",
			Help: "Chunks backup clients asked about, by result: present (deduplicated) or missing (to upload).",
		}, []string{"result"}),
		chunkData: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_backup_uploaded_bytes_total",
			Help: "Plaintext bytes of chunks uploaded by backup clients.",
		}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_snapshots_committed_total",
			Help: "Snapshots committed.",
		}),
	}
}

// registerWith registers m's collectors with reg, taking over those
// registered there before, and exports the labels every dashboard needs
// from the start.
func (m *metrics) registerWith(reg prometheus.Registerer) error {
	var err error
	if m.chunks, err = register(reg, m.chunks); err != nil {
		return err
	}
	if m.chunkData, err = register(reg, m.chunkData); err != nil {
		return err
	}
	if m.snapshots, err = register(reg, m.snapshots); err != nil {
		return err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return err
	}
	if m.decisions, err = register(reg, m.decisions); err != nil {
		return err
	}
	if m.signIns, err = register(reg, m.signIns); err != nil {
		return err
	}
	m.chunks.WithLabelValues("present")
	m.chunks.WithLabelValues("missing")
	// Both outcomes are exported from the start, so a rate over them
	// works before the first deny.
	m.decisions.WithLabelValues("allow")
	m.decisions.WithLabelValues("deny")
	return nil
}

// registerFallbacks exports the engine's count of Wasm fallbacks, when it
// keeps one.
func registerFallbacks(reg prometheus.Registerer, engine Engine) error {
	fc, ok := engine.(fallbackCounter)
	if !ok {
		return nil
	}
	fallbacks := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "holdfast_policy_wasm_fallbacks_total",
		Help: "Policy evaluations the Wasm evaluator could not finish, which OPA's interpreter then made.",
	}, func() float64 { return float64(fc.WasmFallbacks()) })
	_, err := register(reg, fallbacks)
	return err
}

// register registers c, or returns the equal collector registered before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// observe counts one served request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// decided counts one decision.
func (m *metrics) decided(allow bool) {
	if allow {
		m.decisions.WithLabelValues("allow").Inc()
	} else {
		m.decisions.WithLabelValues("deny").Inc()
	}
}
