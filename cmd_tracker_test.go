package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// trackerTestCA issues certificates for 127.0.0.1 in tests.
type trackerTestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTrackerTestCA(t *testing.T) *trackerTestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cmd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &trackerTestCA{cert: cert, key: key, pool: pool}
}

// writePair writes a certificate for 127.0.0.1 named cn and its key.
func (ca *trackerTestCA) writePair(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// logLines collects a process's log output and lets a test wait for a line.
type logLines struct {
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
}

func newLogLines(r io.Reader) *logLines {
	l := &logLines{}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.cond.Broadcast()
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.lines = append(l.lines, "<EOF>")
		l.cond.Broadcast()
		l.mu.Unlock()
	}()
	return l
}

// wait returns the first line matching re, failing the test after timeout or at EOF.
func (l *logLines) wait(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	timer := time.AfterFunc(timeout, func() { l.mu.Lock(); l.lines = append(l.lines, "<TIMEOUT>"); l.cond.Broadcast(); l.mu.Unlock() })
	defer timer.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; ; i++ {
		for i >= len(l.lines) {
			l.cond.Wait()
		}
		if m := re.FindStringSubmatch(l.lines[i]); m != nil {
			return m
		}
		if l.lines[i] == "<EOF>" || l.lines[i] == "<TIMEOUT>" {
			t.Fatalf("no log line matching %s; log:\n%s", re, strings.Join(l.lines, "\n"))
		}
	}
}

// TestTrackerCommand runs the built swarmcast binary as `swarmcast tracker config.json`
// with a TLS listener: it serves wss, reloads its certificate on SIGHUP, and on SIGTERM
// sends 1001 to its clients and exits with status 0.
func TestTrackerCommand(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the binary: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "swarmcast")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ca := newTrackerTestCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.writePair(t, certFile, keyFile, "first")
	config := fmt.Sprintf(`{"servers":[{"server":{"host":"127.0.0.1","port":0,"cert_file_name":%q,"key_file_name":%q}}],
		"tracker":{"announceInterval":30},"shutdownTimeout":5,"tlsReloadInterval":0}`, certFile, keyFile)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "tracker", "config.json")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, stderrW := io.Pipe()
	cmd.Stderr = stderrW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		stderrW.Close()
		exited <- err
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	logs := newLogLines(stderr)
	m := logs.wait(t, regexp.MustCompile(`msg="listening 127\.0\.0\.1:0" addr=(127\.0\.0\.1:\d+) scheme=wss`), 30*time.Second)
	addr := m[1]

	clientTLS := &tls.Config{RootCAs: ca.pool}
	d := websocket.Dialer{TLSClientConfig: clientTLS, HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial("wss://"+addr+"/announce", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	announce := `{"action":"announce","info_hash":"abcdefghij0123456789","peer_id":"-PM0203-aaaaaaaaaaaa","event":"started","numwant":5,"offers":[]}`
	if err := ws.WriteMessage(websocket.TextMessage, []byte(announce)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, reply, err := ws.ReadMessage()
	if want := `{"action":"announce","interval":30,"info_hash":"abcdefghij0123456789","complete":0,"incomplete":1}`; err != nil || string(reply) != want {
		t.Fatalf("reply %s, %v; want %s", reply, err, want)
	}

	servedCN := func() string {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, clientTLS)
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := servedCN(); cn != "first" {
		t.Fatalf("served %q, want first", cn)
	}
	ca.writePair(t, certFile, keyFile, "second")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logs.wait(t, regexp.MustCompile(`SIGHUP: TLS certificates reloaded`), 10*time.Second)
	if cn := servedCN(); cn != "second" {
		t.Errorf("after SIGHUP served %q, want second", cn)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("after SIGTERM the client read %v, want close 1001", err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("swarmcast exited with %v, want status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("swarmcast still running 15 s after SIGTERM (shutdownTimeout is 5 s)")
	}
}
