// Package legalhold holds the rules of legal holds (rights-and-roles.md
// section 7): what a hold policy may say, which labels name its data access
// rule, what of a custodian's data it exposes, adding and removing
// custodians by email and from CSV files, and the WebDAV credentials that
// open one hold.
//
// Service methods take the principal, ask the engine (through a
// change.Runner), apply these rules and write the audit record in the
// change's transaction; the server's handlers decode, call one method and
// encode.
package legalhold

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/storage"
)

// Service is the legal hold domain service over a metadata store. It
// implements holdfast.HoldChecker. It is safe for concurrent use.
type Service struct {
	store   holdfast.MetaStore
	now     func() time.Time
	changes *change.Runner
	known   func(workload string) bool
	data    Snapshots
}

// Snapshots is the part of the dedup store the custodian list reads (the
// size of each custodian's newest backups).
type Snapshots interface {
	Snapshots(ctx context.Context, f storage.SnapshotFilter) ([]storage.Snapshot, error)
}

// Options configure a Service.
type Options struct {
	Now func() time.Time // nil uses time.Now
	// Changes decides, audits and applies changes; required by every
	// method that takes a principal. Its store is the service's store.
	Changes *change.Runner
	// KnownSource reports whether a workload id is one a hold may name;
	// nil accepts any.
	KnownSource func(workload string) bool
	// Snapshots sizes custodians' collected data; nil reports 0 bytes.
	Snapshots Snapshots
}

// New returns the service over store.
func New(store holdfast.MetaStore, opts Options) *Service {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now, changes: opts.Changes, known: opts.KnownSource, data: opts.Snapshots}
}

var _ holdfast.HoldChecker = (*Service)(nil)

// HoldsFor returns every hold the user is a custodian of. A user on several
// holds stays held until removed from all of them. A failure is returned
// as an error, which callers treat as held.
func (s *Service) HoldsFor(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error) {
	holds, err := s.store.HoldsForUser(ctx, accountID, userID)
	if err != nil {
		return nil, fmt.Errorf("legalhold: holds of user %s: %w", userID, err)
	}
	return holds, nil
}

// accessLabels maps every accepted data access label, compared without
// case, to its kind: the ids, the v4 labels, the v3 labels, and the
// misspelling one published schema carries (C24).
var accessLabels = map[string]string{
	holdfast.AccessAllData:     holdfast.AccessAllData,
	holdfast.AccessLastData:    holdfast.AccessLastData,
	holdfast.AccessDateRange:   holdfast.AccessDateRange,
	"all collected data":       holdfast.AccessAllData,
	"last collected data":      holdfast.AccessLastData,
	"data within a date range": holdfast.AccessDateRange,
	"all backup data":          holdfast.AccessAllData,
	"last backup data":         holdfast.AccessLastData,
	"data within a data range": holdfast.AccessDateRange,
}

// ParseDataAccess returns the data access kind a label names: an id
// (all, last, date_range), a v4 label (All Collected Data, Last Collected
// Data, Data within a Date Range) or a v3 label (All Backup Data, Last
// Backup Data). The empty label is all. Anything else is ErrInvalid.
func ParseDataAccess(label string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(label))
	if l == "" {
		return holdfast.AccessAllData, nil
	}
	if k, ok := accessLabels[l]; ok {
		return k, nil
	}
	return "", fmt.Errorf("%w: data access %q is not one of All Collected Data, Last Collected Data, Data within a Date Range", holdfast.ErrInvalid, label)
}

// Field limits of a hold policy.
const (
	MaxNameLength        = 100
	MaxDescriptionLength = 1000
	MaxSources           = 50
)

// Normalize trims h's text fields and checks the policy: a name without
// control characters, a known data access kind, a date range exactly when
// the kind is date_range (From not after To, both kept in UTC), and sources
// from known (nil: any source is accepted), sorted without duplicates. All
// problems are reported together in a *holdfast.ValidationError.
func Normalize(h *holdfast.LegalHold, known func(source string) bool) error {
	var v holdfast.ValidationError
	h.Name = strings.TrimSpace(h.Name)
	switch n := utf8.RuneCountInString(h.Name); {
	case n == 0:
		v.Add("name", "is required")
	case n > MaxNameLength:
		v.Add("name", "must be at most %d characters long", MaxNameLength)
	case strings.ContainsFunc(h.Name, isControl) || strings.ContainsAny(h.Name, "/\\"):
		v.Add("name", "must not contain control characters or slashes")
	}
	h.Description = strings.TrimSpace(h.Description)
	if utf8.RuneCountInString(h.Description) > MaxDescriptionLength {
		v.Add("description", "must be at most %d characters long", MaxDescriptionLength)
	}
	kind, err := ParseDataAccess(h.DataAccess)
	if err != nil {
		v.Add("data_access", "%q is not one of All Collected Data, Last Collected Data, Data within a Date Range", h.DataAccess)
	}
	h.DataAccess = kind
	if kind == holdfast.AccessDateRange {
		switch {
		case h.From == nil || h.To == nil:
			v.Add("date_range", "a start and an end date are required with Data within a Date Range")
		case h.From.After(*h.To):
			v.Add("date_range", "the start date is after the end date")
		default:
			from, to := h.From.UTC(), h.To.UTC()
			h.From, h.To = &from, &to
		}
	} else if kind != "" && (h.From != nil || h.To != nil) {
		v.Add("date_range", "a date range is used only with Data within a Date Range")
	}
	if len(h.Sources) > MaxSources {
		v.Add("sources", "at most %d data sources", MaxSources)
	}
	for _, s := range h.Sources {
		if known != nil && !known(s) {
			v.Add("sources", "%q is not a known data source", s)
		}
	}
	h.Sources = slices.Compact(slices.Sorted(slices.Values(h.Sources)))
	return v.Err()
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }
