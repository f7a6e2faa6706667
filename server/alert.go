package server

import (
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/alerts"
)

// Alerts (issue 14, alerts.manage): the handlers decode, call one
// alerts.Service method and encode. The evaluation loop is started by
// cmd/holdfast over Server.Alerts.

// AlertOptions configure the alerts service.
type AlertOptions struct {
	// Client sends webhooks: an egress client (nil: webhooks fail).
	Client *http.Client
	// AllowPrivate accepts webhook URLs on loopback, private and
	// link-local hosts (the operator's flag; Client must allow them too).
	AllowPrivate bool
	// Mailer sends email alerts; nil records each attempt as failed.
	Mailer holdfast.Mailer
	// RepeatInterval: zero is alerts.DefaultRepeatInterval.
	RepeatInterval time.Duration
	// Sources: nil is alerts.DefaultSources.
	Sources []alerts.Source
}

// Alerts is the alerts service, whose Run the caller starts.
func (s *Server) Alerts() *alerts.Service { return s.alerts }

// registerAlertRoutes adds the alert routes.
func (s *Server) registerAlertRoutes() {
	s.authed("GET /api/v1/alerts", s.listAlerts)
	s.authed("GET /api/v1/alerts/history", s.alertHistory)
	s.authed("GET /api/v1/alert-subscriptions", s.listAlertSubscriptions)
	s.authed("POST /api/v1/alert-subscriptions", s.createAlertSubscription)
	s.authed("GET /api/v1/alert-subscriptions/{id}", s.getAlertSubscription)
	s.authed("PATCH /api/v1/alert-subscriptions/{id}", s.updateAlertSubscription)
	s.authed("DELETE /api/v1/alert-subscriptions/{id}", s.deleteAlertSubscription)
	s.authed("GET /api/v1/alert-subscriptions/{id}/deliveries", s.listAlertDeliveries)
}

// listAlerts serves GET /api/v1/alerts: one page of the alerts (kind,
// state) by kind and object.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	got, err := s.alerts.ListAlerts(r.Context(), principal(r.Context()), alerts.AlertQuery{Kind: q.Get("kind"), State: q.Get("state")}, page)
	if err != nil {
		return err
	}
	return writePage(w, "alerts", got)
}

// alertHistory serves GET /api/v1/alerts/history: one page of the alert
// history (kind, alert_id), newest first.
func (s *Server) alertHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	got, err := s.alerts.History(r.Context(), principal(r.Context()), alerts.AlertQuery{Kind: q.Get("kind"), AlertID: q.Get("alert_id")}, page)
	if err != nil {
		return err
	}
	return writePage(w, "events", got)
}

// listAlertSubscriptions serves GET /api/v1/alert-subscriptions (admin_id
// narrows to one administrator's).
func (s *Server) listAlertSubscriptions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	got, err := s.alerts.ListSubscriptions(r.Context(), principal(r.Context()), q.Get("admin_id"), page)
	if err != nil {
		return err
	}
	return writePage(w, "subscriptions", got)
}

// createAlertSubscription serves POST /api/v1/alert-subscriptions; the
// answer carries a webhook's signing secret, this once.
func (s *Server) createAlertSubscription(w http.ResponseWriter, r *http.Request) error {
	var in alerts.SubscriptionInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	got, err := s.alerts.CreateSubscription(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, got)
}

// getAlertSubscription serves GET /api/v1/alert-subscriptions/{id}.
func (s *Server) getAlertSubscription(w http.ResponseWriter, r *http.Request) error {
	got, err := s.alerts.GetSubscription(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, got)
}

// updateAlertSubscription serves PATCH /api/v1/alert-subscriptions/{id}.
func (s *Server) updateAlertSubscription(w http.ResponseWriter, r *http.Request) error {
	var in alerts.SubscriptionInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	got, err := s.alerts.UpdateSubscription(r.Context(), principal(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, got)
}

// deleteAlertSubscription serves DELETE /api/v1/alert-subscriptions/{id}.
func (s *Server) deleteAlertSubscription(w http.ResponseWriter, r *http.Request) error {
	if err := s.alerts.DeleteSubscription(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// listAlertDeliveries serves GET /api/v1/alert-subscriptions/{id}/deliveries:
// the subscription's delivery log, newest first.
func (s *Server) listAlertDeliveries(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.alerts.Deliveries(r.Context(), principal(r.Context()), r.PathValue("id"), page)
	if err != nil {
		return err
	}
	return writePage(w, "deliveries", got)
}
