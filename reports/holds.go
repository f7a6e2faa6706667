package reports

import (
	"context"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/legalhold"
)

// legalHolds: the legal holds p may read (legalhold's list, narrowed to
// p's legal hold types), by name, with their custodians and devices.
func legalHolds() definition {
	return definition{
		Info: Info{ID: "legal_holds", Title: "Legal hold summary", Filters: []string{"type_id"},
			Columns: []Column{{"hold_id", "Hold ID"}, {"name", "Name"}, {"type_id", "Type"}, {"data_access", "Data access"},
				{"sources", "Sources"}, {"custodians", "Custodians"}, {"devices", "Devices"}, {"created_by", "Created by"}, {"created_at", "Created"}}},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			got, err := s.holds.ListHolds(ctx, p, legalhold.HoldQuery{TypeID: q["type_id"]}, pg)
			if change.IsDenied(err) {
				return Result{}, nil // no legal hold right: nothing to summarize
			}
			if err != nil {
				return Result{}, err
			}
			res := Result{Next: got.Next, Total: got.Total}
			for _, h := range got.Items {
				res.Rows = append(res.Rows, Row{"hold_id": h.ID, "name": h.Name, "type_id": h.TypeID, "data_access": h.DataAccess,
					"sources": strings.Join(h.Sources, " "), "custodians": h.CustodianCount, "devices": h.DeviceCount,
					"created_by": h.CreatedBy, "created_at": h.CreatedAt})
			}
			return res, nil
		},
	}
}

// auditTrail: the account's audit records, newest first, filtered by
// actor, action and resource; it needs admins.view as the trail does
// (without it the report is empty).
func auditTrail() definition {
	return definition{
		Info: Info{ID: "audit_trail", Title: "Administrator audit trail", Filters: []string{"actor_id", "action", "resource_type", "resource_id"},
			Columns: []Column{{"seq", "Seq"}, {"time", "Time"}, {"actor_email", "Administrator"}, {"action", "Action"},
				{"resource_type", "Resource type"}, {"resource_id", "Resource"}, {"outcome", "Outcome"}, {"request_id", "Request"}}},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			f := holdfast.AuditFilter{ActorID: q["actor_id"], Action: q["action"], ResourceType: q["resource_type"], ResourceID: q["resource_id"], Newest: true}
			got, err := s.admins.Audit(ctx, p, f, pg)
			if change.IsDenied(err) {
				return Result{}, nil
			}
			if err != nil {
				return Result{}, err
			}
			res := Result{Next: got.Next, Total: got.Total}
			for _, r := range got.Items {
				res.Rows = append(res.Rows, Row{"seq": r.Seq, "time": r.Time, "actor_email": r.ActorEmail, "action": r.Action,
					"resource_type": r.ResourceType, "resource_id": r.ResourceID, "outcome": r.Outcome, "request_id": r.RequestID})
			}
			return res, nil
		},
	}
}
