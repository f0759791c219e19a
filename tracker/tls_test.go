package tracker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"swarmcast/internal/jsonconf"
)

// testCA is a certificate authority made in the test with crypto/x509.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// issue makes a leaf certificate for 127.0.0.1 (server) or a client; it returns the full
// chain PEM (leaf, then the CA) and the private key as PKCS#8 PEM.
func (ca *testCA) issue(t testing.TB, cn string, client bool) (chainPEM, keyPEM []byte, key *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	return chain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), key
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsConfig is testConfig with TLS from the given files.
func tlsConfig(certFile, keyFile string, mod func(*ServerOptions)) Config {
	return testConfig(func(c *Config) {
		c.Servers[0].Server.CertFile = certFile
		c.Servers[0].Server.KeyFile = keyFile
		if mod != nil {
			mod(&c.Servers[0].Server)
		}
	})
}

// servedCN handshakes with addr and returns the CommonName of the certificate served.
func servedCN(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	d := tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: ioWait}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSServesWSSAndHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "test CA")
	chain, key, _ := ca.issue(t, "tracker-1", false)
	ts := startServer(t, tlsConfig(writeFile(t, dir, "fullchain.pem", chain), writeFile(t, dir, "key.pem", key), nil))
	clientTLS := &tls.Config{RootCAs: ca.pool}

	c, _ := dial(t, &websocket.Dialer{TLSClientConfig: clientTLS}, ts.url(0, "/"), nil)
	if got := roundTrip(t, c, announceFrame); got != announceReply {
		t.Errorf("wss reply = %s", got)
	}
	client := http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}, Timeout: ioWait}
	resp, err := client.Get("https://" + ts.Addrs()[0].String() + "/stats.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("https stats.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The chain is verified by the client against the CA alone: the intermediate-free
	// chain file worked. A plain-TCP client gets no HTTP answer.
	if _, _, err := (&websocket.Dialer{HandshakeTimeout: ioWait}).Dial("ws://"+ts.Addrs()[0].String()+"/", nil); err == nil {
		t.Error("plain ws handshake succeeded on a TLS listener")
	}
}

func TestTLSEncryptedKeys(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "test CA")
	chain, _, key := ca.issue(t, "encrypted", false)
	ecDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", ecDER, []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck // the legacy format under test
	if err != nil {
		t.Fatal(err)
	}
	legacyFile := writeFile(t, dir, "legacy.key", pem.EncodeToMemory(legacy))
	chainFile := writeFile(t, dir, "chain.pem", chain)
	// testdata/tls was made with OpenSSL 3 (see testdata/tls/README.md): PBES2 keys as
	// `openssl req -keyout` and `openssl pkcs8 -topk8 -v2 des3` write them.
	fixtureCert := filepath.Join("testdata", "tls", "pbes2.crt")

	tests := []struct {
		name       string
		cert, key  string
		passphrase string
		wantErrKey string // "" = must serve
	}{
		{"legacy PEM encryption", chainFile, legacyFile, "s3cret", ""},
		{"PKCS#8 PBES2 AES-256 HMAC-SHA256 (openssl)", fixtureCert, filepath.Join("testdata", "tls", "pbes2-aes256.key"), "swarmcast-test", ""},
		{"PKCS#8 PBES2 3DES HMAC-SHA1 (openssl)", fixtureCert, filepath.Join("testdata", "tls", "pbes2-des3-sha1.key"), "swarmcast-test", ""},
		{"legacy, wrong passphrase", chainFile, legacyFile, "nope", "servers[0].server.passphrase"},
		{"PBES2, wrong passphrase", fixtureCert, filepath.Join("testdata", "tls", "pbes2-aes256.key"), "nope", "servers[0].server.passphrase"},
		{"PBES2, no passphrase", fixtureCert, filepath.Join("testdata", "tls", "pbes2-aes256.key"), "", "servers[0].server.passphrase"},
		{"legacy, no passphrase", chainFile, legacyFile, "", "servers[0].server.passphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tlsConfig(tt.cert, tt.key, func(o *ServerOptions) { o.Passphrase = tt.passphrase })
			if tt.wantErrKey != "" {
				_, err := New(cfg, Options{})
				var je *jsonconf.Error
				if !errors.As(err, &je) || je.Key != tt.wantErrKey {
					t.Fatalf("New: %v, want an error naming %s", err, tt.wantErrKey)
				}
				return
			}
			ts := startServer(t, cfg)
			// InsecureSkipVerify: the OpenSSL fixture is self-signed; what is checked is
			// that the decrypted key matches the certificate served.
			cn := servedCN(t, ts.Addrs()[0].String(), &tls.Config{InsecureSkipVerify: true})
			if want := map[bool]string{true: "encrypted", false: "localhost"}[tt.cert == chainFile]; cn != want {
				t.Errorf("served CN %q, want %q", cn, want)
			}
		})
	}
}

func TestTLSBadFilesNameTheKey(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "test CA")
	chain, key, _ := ca.issue(t, "a", false)
	_, otherKey, _ := ca.issue(t, "b", false)
	chainFile, keyFile := writeFile(t, dir, "chain.pem", chain), writeFile(t, dir, "key.pem", key)
	tests := []struct {
		name, cert, key, ca, wantKey string
	}{
		{"missing cert", filepath.Join(dir, "none.pem"), keyFile, "", "servers[0].server.cert_file_name"},
		{"missing key", chainFile, filepath.Join(dir, "none.pem"), "", "servers[0].server.key_file_name"},
		{"key file holds a certificate", chainFile, chainFile, "", "servers[0].server.key_file_name"},
		{"key of another certificate", chainFile, writeFile(t, dir, "other.pem", otherKey), "", "servers[0].server.cert_file_name"},
		{"missing CA", chainFile, keyFile, filepath.Join(dir, "none.pem"), "servers[0].server.ca_file_name"},
		{"CA file without certificates", chainFile, keyFile, keyFile, "servers[0].server.ca_file_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tlsConfig(tt.cert, tt.key, func(o *ServerOptions) { o.CAFile = tt.ca }), Options{})
			var je *jsonconf.Error
			if !errors.As(err, &je) || je.Key != tt.wantKey {
				t.Fatalf("New: %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}
}

func TestTLSReload(t *testing.T) {
	for _, mode := range []string{"ReloadTLS", "file polling"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			ca := newTestCA(t, "test CA")
			chain, key, _ := ca.issue(t, "before", false)
			certFile, keyFile := writeFile(t, dir, "chain.pem", chain), writeFile(t, dir, "key.pem", key)
			cfg := tlsConfig(certFile, keyFile, nil)
			cfg.TLSReloadInterval = 0
			if mode == "file polling" {
				cfg.TLSReloadInterval = 1
			}
			ts := startServer(t, cfg)
			addr := ts.Addrs()[0].String()
			clientTLS := &tls.Config{RootCAs: ca.pool}
			if cn := servedCN(t, addr, clientTLS); cn != "before" {
				t.Fatalf("served %q, want %q", cn, "before")
			}
			open, _ := dial(t, &websocket.Dialer{TLSClientConfig: clientTLS}, ts.url(0, "/"), nil)

			// A broken pair (new cert, old key) is refused; the old certificate stays.
			chain2, key2, _ := ca.issue(t, "after", false)
			writeFile(t, dir, "chain.pem", chain2)
			if mode == "ReloadTLS" {
				if err := ts.ReloadTLS(); err == nil {
					t.Error("ReloadTLS accepted a certificate with the wrong key")
				}
			}
			if cn := servedCN(t, addr, clientTLS); cn != "before" {
				t.Errorf("after a failed reload served %q, want %q", cn, "before")
			}
			writeFile(t, dir, "key.pem", key2)
			// Make the change visible to mtime polling on coarse-timestamp filesystems.
			future := time.Now().Add(2 * time.Second)
			_ = os.Chtimes(keyFile, future, future)
			if mode == "ReloadTLS" {
				if err := ts.ReloadTLS(); err != nil {
					t.Fatalf("ReloadTLS: %v", err)
				}
			}
			eventually(t, "the new certificate", func() bool { return servedCN(t, addr, clientTLS) == "after" })
			// The connection opened before the reload is untouched.
			if got := roundTrip(t, open, announceFrame); got != announceReply {
				t.Errorf("old connection after reload: %s", got)
			}
			if got := promtest.ToFloat64(ts.metrics.tlsReloads.WithLabelValues("ok")); got != 1 {
				t.Errorf("tls_reloads_total{result=ok} = %v, want 1", got)
			}
			if mode == "ReloadTLS" {
				if got := promtest.ToFloat64(ts.metrics.tlsReloads.WithLabelValues("error")); got != 1 {
					t.Errorf("tls_reloads_total{result=error} = %v, want 1", got)
				}
			}
		})
	}
}

func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "other CA")
	chain, key, _ := serverCA.issue(t, "tracker", false)
	ts := startServer(t, tlsConfig(writeFile(t, dir, "chain.pem", chain), writeFile(t, dir, "key.pem", key), func(o *ServerOptions) {
		o.CAFile = writeFile(t, dir, "clients.pem", clientCA.pem)
	}))
	clientCert := func(ca *testCA) []tls.Certificate {
		chain, key, _ := ca.issue(t, "client", true)
		c, err := tls.X509KeyPair(chain, key)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	tests := []struct {
		name   string
		certs  []tls.Certificate
		wantOK bool
	}{
		{"no client certificate (uSockets accepts it)", nil, true},
		{"certificate from the configured CA", clientCert(clientCA), true},
		{"certificate from another CA", clientCert(otherCA), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: serverCA.pool, MaxVersion: tls.VersionTLS12,
				// Send the certificate even when its CA is not in the server's request
				// (Go's default would silently send none).
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					if len(tt.certs) == 0 {
						return &tls.Certificate{}, nil
					}
					return &tt.certs[0], nil
				}}
			c, _, err := (&websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: ioWait}).Dial(ts.url(0, "/"), nil)
			if err == nil {
				c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Errorf("dial error = %v, want success: %v", err, tt.wantOK)
			}
		})
	}
}

func TestCipherList(t *testing.T) {
	tests := []struct {
		list     string
		want     []uint16
		warnings int
	}{
		{"", nil, 0},
		{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, 0},
		// wt-tracker's sample: DHE only, so nothing maps and Go's defaults stay.
		{"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256", nil, 3},
		{"HIGH:!aNULL:ECDHE-ECDSA-CHACHA20-POLY1305,TLS_AES_128_GCM_SHA256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, 3},
		{"AES128-SHA AES128-SHA", []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			got, warnings := mapCiphers(tt.list)
			if !slices.Equal(got, tt.want) || len(warnings) != tt.warnings {
				t.Errorf("mapCiphers = %v, %q; want %v with %d warnings", got, warnings, tt.want, tt.warnings)
			}
		})
	}
}

func TestTLSCiphersApplied(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "test CA")
	chain, key, _ := ca.issue(t, "tracker", false)
	ts := startServer(t, tlsConfig(writeFile(t, dir, "chain.pem", chain), writeFile(t, dir, "key.pem", key), func(o *ServerOptions) {
		o.Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
	}))
	addr := ts.Addrs()[0].String()
	tests := []struct {
		offer  uint16
		wantOK bool
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false},
	}
	for _, tt := range tests {
		t.Run(tls.CipherSuiteName(tt.offer), func(t *testing.T) {
			cfg := &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tt.offer}}
			c, err := (&tls.Dialer{Config: cfg}).Dial("tcp", addr)
			if err == nil {
				if got := c.(*tls.Conn).ConnectionState().CipherSuite; got != tt.offer {
					t.Errorf("negotiated %s", tls.CipherSuiteName(got))
				}
				c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Errorf("handshake error = %v, want success: %v", err, tt.wantOK)
			}
		})
	}
}

// TestLegacyKeyWrongPassphrases: legacy PEM encryption has no integrity check, and about
// one wrong passphrase in 256 passes its padding check; every one must still be reported
// as a wrong passphrase, never as a garbage key handed on to the certificate check.
func TestLegacyKeyWrongPassphrases(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck // the legacy format under test
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	for i := range 2000 {
		if _, err := decryptKeyPEM(data, fmt.Sprintf("wrong-%d", i)); !errors.Is(err, errBadPassphrase) {
			t.Fatalf("passphrase wrong-%d: err = %v, want errBadPassphrase", i, err)
		}
	}
	if _, err := decryptKeyPEM(data, "s3cret"); err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
}
