package rtc

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func newAPI(t *testing.T, cfg Config) *API {
	t.Helper()
	cfg.LoopbackOnly = true
	cfg.DisconnectedTimeout, cfg.FailedTimeout = time.Second, 2*time.Second
	a, err := New(cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// pair connects an offering and an answering API over loopback.
func pair(t *testing.T, offerer, answerer *API) (*Conn, *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	po, offer, err := offerer.Offer(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(offer, "\n") {
		if strings.HasPrefix(line, "a=candidate:") && !strings.Contains(line, " 127.0.0.1 ") {
			t.Fatalf("non-loopback candidate in offer: %s", line)
		}
	}
	pa, answer, err := answerer.Answer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := po.Accept(answer); err != nil {
		t.Fatal(err)
	}
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := pa.Wait(ctx); ch <- res{c, err} }()
	co, err := po.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { co.Close(); r.c.Close() })
	return co, r.c
}

func TestLoopbackPair(t *testing.T) {
	a := newAPI(t, Config{})
	b := newAPI(t, Config{MaxBufferedAmount: 64 << 10})
	for _, addr := range a.LocalAddrs() {
		if !strings.HasPrefix(addr.String(), "127.") {
			t.Fatalf("listening on %s", addr)
		}
	}
	co, ca := pair(t, a, b)
	if ra := co.RemoteAddr(); !strings.HasPrefix(ra, "127.0.0.1:") {
		t.Errorf("selected remote %q, want loopback", ra)
	}
	// Both ends are ours, so RFC 9653 zero checksum is negotiated both ways.
	if !co.ZeroChecksum() || !ca.ZeroChecksum() {
		t.Errorf("SCTP zero checksum: offerer %v, answerer %v; want both", co.ZeroChecksum(), ca.ZeroChecksum())
	}
	// Many 64 KiB messages through backpressure, in order and intact.
	const n = 64
	go func() {
		for i := range n {
			msg := bytes.Repeat([]byte{byte(i)}, 65535)
			if err := ca.WriteMessage(msg); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	buf := make([]byte, MaxMessageSize)
	for i := range n {
		k, err := co.ReadMessage(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if k != 65535 || buf[0] != byte(i) || buf[k-1] != byte(i) {
			t.Fatalf("message %d: %d bytes starting %d", i, k, buf[0])
		}
	}
	ca.Close()
	select {
	case <-co.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("closing one side did not end the other")
	}
}
