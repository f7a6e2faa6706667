// Package devices is the device lifecycle domain service: decommissioning
// a device (with a remote wipe queued for its agent), client upgrade
// requests, and the device command queue the agent reads and confirms.
// Every method takes the caller's principal, asks the engine (each right
// is scoped by the device's profile and workload), applies the rules and
// writes the change with its audit record in one transaction
// (change.Runner). Decommissioning never deletes backed-up or held data.
package devices

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// The rights the service asks the engine for.
const (
	rightDecommission = "devices.decommission"
	rightUpgrade      = "devices.upgrade_client"
	rightView         = "users.view"
	// rightAgent is what a device's agent holds today: the right its
	// backups already need (the backup client authenticates as an
	// administrator's API token). A device credential replaces it when
	// activation lands.
	rightAgent = "backups.perform"
)

// ResourceCommand is the audit resource type of device commands.
const ResourceCommand = "device_command"

// maxResult bounds the message an agent reports with a command's result.
const maxResult = 1024

// Scoper returns the profiles and workloads p's role confines it to (nil:
// not confined); directory.Service implements it.
type Scoper interface {
	Scope(ctx context.Context, p holdfast.Principal) (profiles, workloads []string, err error)
}

// Decommissioned is what a Listener hears once a decommission has
// committed.
type Decommissioned struct {
	Device holdfast.Device // as it is now: decommissioned
	// Wipe is the remote wipe queued with it; nil without one.
	Wipe *holdfast.DeviceCommand
	By   holdfast.Principal
	At   time.Time
}

// Listener hears about device lifecycle events after their transaction
// has committed (so never about a change that did not happen). It runs on
// the caller's goroutine and must not block; a listener that has work to
// do queues it.
type Listener interface {
	DeviceDecommissioned(ctx context.Context, e Decommissioned)
}

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(ctx context.Context, e Decommissioned)

// DeviceDecommissioned calls f.
func (f ListenerFunc) DeviceDecommissioned(ctx context.Context, e Decommissioned) { f(ctx, e) }

// Options configure a Service.
type Options struct {
	Runner *change.Runner // required: decides, audits and applies
	Scope  Scoper         // required: narrows lists
}

// Service is the device lifecycle service. It is safe for concurrent use.
type Service struct {
	run   *change.Runner
	store holdfast.MetaStore
	scope Scoper

	mu        sync.Mutex
	listeners []Listener
}

// New returns the service over opts.
func New(opts Options) *Service {
	return &Service{run: opts.Runner, store: opts.Runner.Store(), scope: opts.Scope}
}

// Subscribe adds l to the listeners of device lifecycle events.
func (s *Service) Subscribe(l Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, l)
}

func (s *Service) decommissioned(ctx context.Context, e Decommissioned) {
	s.mu.Lock()
	ls := append([]Listener(nil), s.listeners...)
	s.mu.Unlock()
	for _, l := range ls {
		l.DeviceDecommissioned(ctx, e)
	}
}

// deviceEntity is a device as a decision resource.
func deviceEntity(id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceDevice, ID: id}
}

// versionPattern is a client version an upgrade may name.
var versionPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$`)

// checkResult bounds an agent's message.
func checkResult(v *holdfast.ValidationError, s string) {
	if utf8.RuneCountInString(s) > maxResult {
		v.Add("result", "at most %d characters", maxResult)
	}
}

// conflict is an ErrConflict with a message.
func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", holdfast.ErrConflict, fmt.Sprintf(format, args...))
}
