package server

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/holdfast/holdfast"
)

// Stable SAML paths: the SP metadata and its assertion consumer service.
const (
	samlMetadataPath = "/auth/saml/metadata"
	samlACSPath      = "/auth/saml/acs"
	maxMetadataBytes = 1 << 20
)

// samlIdPMetadata returns the IdP's metadata of c: parsed from
// MetadataXML, or fetched from MetadataURL.
func (s *Server) samlIdPMetadata(ctx context.Context, c holdfast.IdPConfig) (*saml.EntityDescriptor, error) {
	data := []byte(c.MetadataXML)
	if c.MetadataURL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.MetadataURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.auth.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", c.MetadataURL, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch %s: %s", c.MetadataURL, resp.Status)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes)); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", c.MetadataURL, err)
		}
	}
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if md.EntityID == "" || len(md.IDPSSODescriptors) == 0 {
		return nil, fmt.Errorf("not the metadata of a SAML identity provider")
	}
	return md, nil
}
