package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/holdfast/holdfast/egress"
	"github.com/holdfast/holdfast/idp/sso"
	"github.com/holdfast/holdfast/server"
)

// sweepEvery is how often inactive administrators are disabled and
// expired sessions removed.
const sweepEvery = time.Hour

// authOptions builds the sign-in configuration: the store keeps the
// sign-in state, mail goes by SMTP or into the outbox, and the SAML SP
// key pair is loaded or kept in the data directory; single sign-on is
// OIDC and SAML (idp/sso) over the egress client.
func authOptions(cfg Config, log *slog.Logger) (server.AuthOptions, error) {
	m, err := cfg.Mail.mailer(cfg.DataDir, nil)
	if err != nil {
		return server.AuthOptions{}, err
	}
	key, crt, err := samlKeyPair(cfg)
	if err != nil {
		return server.AuthOptions{}, err
	}
	providers, err := sso.New(sso.Options{HTTPClient: egress.NewClient(egress.Options{AllowPrivate: cfg.AllowPrivateIdP}),
		SAMLKey: key, SAMLCertificate: crt, Logger: log.With("component", "sso")})
	if err != nil {
		return server.AuthOptions{}, err
	}
	return server.AuthOptions{Enabled: true, Mailer: m, Providers: providers}, nil
}

// samlKeyPair loads the SP key pair from the configured files, or from
// <data-dir>/saml-sp.{key,crt}, creating those on first start so that the
// SP metadata stays the same across restarts.
func samlKeyPair(cfg Config) (crypto.Signer, *x509.Certificate, error) {
	keyFile, crtFile := cfg.SAMLKeyFile, cfg.SAMLCertFile
	if keyFile == "" {
		keyFile, crtFile = filepath.Join(cfg.DataDir, "saml-sp.key"), filepath.Join(cfg.DataDir, "saml-sp.crt")
		if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
			if err := newSAMLKeyPair(keyFile, crtFile); err != nil {
				return nil, nil, err
			}
		}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: %w", err)
	}
	crtPEM, err := os.ReadFile(crtFile)
	if err != nil {
		return nil, nil, fmt.Errorf("saml certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(crtPEM)
	if kb == nil || cb == nil {
		return nil, nil, fmt.Errorf("saml key pair %s, %s: not PEM", keyFile, crtFile)
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
			return nil, nil, fmt.Errorf("saml key %s: %w", keyFile, err)
		}
	}
	crt, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("saml certificate %s: %w", crtFile, err)
	}
	k, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("saml key %s: an RSA key is required", keyFile)
	}
	return k, crt, nil
}

func newSAMLKeyPair(keyFile, crtFile string) error {
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return fmt.Errorf("saml key: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("saml key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return fmt.Errorf("saml key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Holdfast SAML SP"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("saml certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("saml key: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return fmt.Errorf("saml key: %w", err)
	}
	if err := os.WriteFile(crtFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("saml certificate: %w", err)
	}
	return nil
}

// sweep disables inactive administrators and removes expired sessions,
// at start and then every sweepEvery, until ctx ends.
func sweep(ctx context.Context, srv *server.Server, log *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		n, err := srv.SweepInactiveAdmins(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("sweep inactive administrators", "error", err.Error())
		} else if n > 0 {
			log.Info("disabled inactive administrators", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
