package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/kek"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfig(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", c.Addr)
	assert.Equal(t, "egovkit-data", c.DataDir)
	assert.Equal(t, "sqlite:"+filepath.Join("egovkit-data", "egovkit.db"), c.DB)

	c, err = parseConfig([]string{"-addr", ":9000", "-data", "/srv/x"}, env(map[string]string{
		"EGOVKIT_ADDR": "0.0.0.0:1", "EGOVKIT_DB": "postgres://db/egov", "EGOVKIT_KEK": "k",
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":9000", c.Addr, "flags win over the environment")
	assert.Equal(t, "postgres://db/egov", c.DB)
	assert.Equal(t, "k", c.KEK)

	_, err = parseConfig([]string{"-nope"}, env(nil), io.Discard)
	assert.Error(t, err)
	_, err = parseConfig([]string{"extra"}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "unexpected arguments")
	_, err = parseConfig([]string{"-data", ""}, env(nil), io.Discard)
	assert.Error(t, err)
	_, err = parseConfig([]string{"-h"}, env(nil), io.Discard)
	assert.ErrorIs(t, err, errFlagHelp)

	c, err = parseConfig([]string{"-public-url", "https://gov.example.gr/"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "https://gov.example.gr", c.PublicURL)
	assert.False(t, c.Demo, "no demonstration data unless asked for")
	_, err = parseConfig([]string{"-public-url", "gov.example.gr"}, env(nil), io.Discard)
	assert.Error(t, err)
	c, err = parseConfig(nil, env(map[string]string{"EGOVKIT_DEMO": "false"}), io.Discard)
	require.NoError(t, err)
	assert.False(t, c.Demo)

	c, err = parseConfig(nil, env(map[string]string{"EGOVKIT_SMS_WEBHOOK": "https://sms.example.gr/send", "EGOVKIT_SMS_WEBHOOK_SECRET": "s"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "https://sms.example.gr/send", c.SMSWebhook)
	assert.Equal(t, "s", c.SMSWebhookSecret)
	_, err = parseConfig([]string{"-sms-webhook", "sms.example.gr"}, env(nil), io.Discard)
	assert.Error(t, err)
	_, err = parseConfig(nil, env(map[string]string{"EGOVKIT_ADMIN_TOKEN": "short"}), io.Discard)
	assert.ErrorContains(t, err, "at least 32")
}

// TestDemoIsOptIn: demo mode only when asked for, and never next to an
// SMS gateway or at an address other machines reach.
func TestDemoIsOptIn(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		demo bool
	}{
		{nil, nil, false},
		{[]string{"-demo"}, nil, true},
		{nil, map[string]string{"EGOVKIT_DEMO": "true"}, true},
		{nil, map[string]string{"EGOVKIT_DEMO": "1"}, true},
		{[]string{"-demo=false"}, map[string]string{"EGOVKIT_DEMO": "true"}, false},
		{[]string{"-demo", "-addr", "localhost:8080"}, nil, true},
		{[]string{"-demo", "-addr", "[::1]:8080"}, nil, true},
		{[]string{"-demo", "-public-url", "http://127.0.0.1:8080"}, nil, true},
		{[]string{"-demo", "-addr", "0.0.0.0:8080", "-public-url", "http://localhost:8080"}, nil, true},
	} {
		c, err := parseConfig(tc.args, env(tc.env), io.Discard)
		require.NoError(t, err, "%v %v", tc.args, tc.env)
		assert.Equal(t, tc.demo, c.Demo, "%v %v", tc.args, tc.env)
	}
	_, err := parseConfig(nil, env(map[string]string{"EGOVKIT_DEMO": "yes please"}), io.Discard)
	assert.ErrorContains(t, err, "EGOVKIT_DEMO")

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-demo", "-sms-webhook", "https://sms.example.gr/send"}, nil, "SMS gateway"},
		{[]string{"-sms-webhook", "https://sms.example.gr/send"}, map[string]string{"EGOVKIT_DEMO": "true"}, "SMS gateway"},
		{[]string{"-demo", "-public-url", "https://gov.example.gr"}, nil, "https://gov.example.gr"},
		{[]string{"-demo", "-public-url", "http://10.0.0.5:8080"}, nil, "loopback"},
		{nil, map[string]string{"EGOVKIT_DEMO": "true", "EGOVKIT_PUBLIC_URL": "https://gov.example.gr"}, "loopback"},
		{[]string{"-demo", "-addr", ":8080"}, nil, "listening address :8080"},
		{[]string{"-demo", "-addr", "0.0.0.0:8080"}, nil, "loopback"},
	} {
		_, err := parseConfig(tc.args, env(tc.env), io.Discard)
		assert.ErrorContains(t, err, tc.want, "%v %v", tc.args, tc.env)
		assert.ErrorContains(t, err, "-demo")
	}
}

// TestDemoCitizensFlag: -demo-citizens (or EGOVKIT_DEMO_CITIZENS) takes a
// number from 0 to 10,000, and only in demo mode.
func TestDemoCitizensFlag(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Zero(t, c.DemoCitizens, "none by default")
	c, err = parseConfig([]string{"-demo", "-demo-citizens", "1000"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 1000, c.DemoCitizens)
	c, err = parseConfig([]string{"-demo"}, env(map[string]string{"EGOVKIT_DEMO_CITIZENS": "10000"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 10000, c.DemoCitizens)
	c, err = parseConfig([]string{"-demo", "-demo-citizens", "7"}, env(map[string]string{"EGOVKIT_DEMO_CITIZENS": "3"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 7, c.DemoCitizens, "the flag wins over the environment")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-demo", "-demo-citizens", "10001"}, nil, "between 0 and 10000"},
		{[]string{"-demo", "-demo-citizens", "-1"}, nil, "between 0 and 10000"},
		{[]string{"-demo"}, map[string]string{"EGOVKIT_DEMO_CITIZENS": "many"}, "EGOVKIT_DEMO_CITIZENS must be a whole number"},
		{[]string{"-demo-citizens", "5"}, nil, "needs -demo"},
	} {
		_, err := parseConfig(tc.args, env(tc.env), io.Discard)
		assert.ErrorContains(t, err, tc.want, "%v %v", tc.args, tc.env)
	}
}

func TestKEKCreatedOnceAndReused(t *testing.T) {
	c := config{DataDir: t.TempDir()}
	first, created, err := loadOrCreateKEK(c)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Len(t, first, kek.Size)

	fi, err := os.Stat(filepath.Join(c.DataDir, "kek"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, created, err := loadOrCreateKEK(c)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first, again)
}

func TestKEKRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kek")

	require.NoError(t, os.WriteFile(path, []byte("not base64!"), 0o600))
	_, _, err := loadOrCreateKEK(config{DataDir: dir})
	assert.ErrorIs(t, err, kek.ErrInvalid)

	require.NoError(t, os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600))
	_, _, err = loadOrCreateKEK(config{DataDir: dir})
	assert.ErrorIs(t, err, kek.ErrInvalid)

	require.NoError(t, os.Chmod(path, 0o644))
	_, _, err = loadOrCreateKEK(config{DataDir: dir})
	assert.ErrorContains(t, err, "readable by others")
	b, _ := os.ReadFile(path)
	assert.Equal(t, base64.StdEncoding.EncodeToString(make([]byte, 16)), string(b), "a refused file is left as it was")

	good := base64.StdEncoding.EncodeToString(make([]byte, 32))
	key, created, err := loadOrCreateKEK(config{DataDir: dir, KEK: good})
	require.NoError(t, err, "EGOVKIT_KEK wins over the file")
	assert.False(t, created)
	assert.Len(t, key, 32)
	_, _, err = loadOrCreateKEK(config{DataDir: dir, KEK: "short"})
	assert.ErrorContains(t, err, "EGOVKIT_KEK")
}

func TestPDFSeal(t *testing.T) {
	dir := t.TempDir()
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	c := config{DataDir: dir, Demo: true}
	s, created, err := loadPDFSigner(c, kek)
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := loadPDFSigner(c, kek)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, s.Certificate.Raw, again.Certificate.Raw, "the same seal on every start")
	assert.True(t, again.Key.Public().(*ecdsa.PublicKey).Equal(s.Key.Public()), "and the same key")
	fi, err := os.Stat(filepath.Join(dir, sealFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// The key is encrypted at rest under the KEK: no key in clear in the
	// file, and another KEK does not open it.
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	require.NoError(t, err)
	file, err := os.ReadFile(filepath.Join(dir, sealFile))
	require.NoError(t, err)
	assert.NotContains(t, string(file), "PRIVATE KEY-----")
	assert.False(t, bytes.Contains(file, der), "no key in clear")
	assert.NotContains(t, string(file), base64.StdEncoding.EncodeToString(der[:48]))
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	_, _, err = loadPDFSigner(c, other)
	assert.ErrorContains(t, err, "key-encryption key")

	// A file an earlier version wrote with the key in clear is encrypted
	// in place, and keeps its seal.
	legacy := t.TempDir()
	clear := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	require.NoError(t, os.WriteFile(filepath.Join(legacy, sealFile), clear, 0o600))
	old, created, err := loadPDFSigner(config{DataDir: legacy, Demo: true}, kek)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, s.Certificate.Raw, old.Certificate.Raw)
	file, err = os.ReadFile(filepath.Join(legacy, sealFile))
	require.NoError(t, err)
	assert.NotContains(t, string(file), "PRIVATE KEY-----", "encrypted now")
	_, _, err = loadPDFSigner(config{DataDir: legacy, Demo: true}, kek)
	require.NoError(t, err)

	none, _, err := loadPDFSigner(config{DataDir: t.TempDir()}, kek)
	require.NoError(t, err)
	assert.Nil(t, none, "outside demo mode, no files: unsigned")
	certFile, keyFile := filepath.Join(legacy, "cert.pem"), filepath.Join(legacy, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate.Raw}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	_, _, err = loadPDFSigner(config{DataDir: dir, PDFCert: certFile}, kek)
	assert.Error(t, err, "a certificate without its key")
	files, _, err := loadPDFSigner(config{DataDir: t.TempDir(), PDFCert: certFile, PDFKey: keyFile}, kek)
	require.NoError(t, err)
	assert.Equal(t, s.Certificate.Raw, files.Certificate.Raw)
}
