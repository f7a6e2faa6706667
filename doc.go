// Package holdfast holds Holdfast's domain types and the seam interfaces that
// several packages implement: the metadata store, the authorizer, the hold
// checker. It imports only the standard library.
//
// Every other package imports this one; only cmd/holdfast picks drivers.
package holdfast
