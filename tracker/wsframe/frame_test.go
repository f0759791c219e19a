package wsframe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// clientFrame builds a masked client frame.
func clientFrame(b0 byte, payload []byte, mask [4]byte) []byte {
	f := AppendClientHeader(nil, b0, len(payload), mask)
	start := len(f)
	f = append(f, payload...)
	Unmask(mask, 0, f[start:])
	return f
}

func TestParseHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name    string
		in      []byte
		wantN   int
		wantLen uint64
		wantOp  byte
		fin     bool
		rsv1    bool
		err     error
	}{
		{"empty", nil, 0, 0, 0, false, false, nil},
		{"one byte", []byte{0x81}, 0, 0, 0, false, false, nil},
		{"short text", clientFrame(0x81, []byte("hi"), mask), 6, 2, OpText, true, false, nil},
		{"mask incomplete", clientFrame(0x81, []byte("hi"), mask)[:5], 0, 0, 0, false, false, nil},
		{"16-bit length", clientFrame(0x81, make([]byte, 300), mask), 8, 300, OpText, true, false, nil},
		{"16-bit length incomplete", clientFrame(0x81, make([]byte, 300), mask)[:3], 0, 0, 0, false, false, nil},
		{"64-bit length", clientFrame(0x01, make([]byte, 70000), mask), 14, 70000, OpText, false, false, nil},
		{"compressed", clientFrame(0xC1, []byte("x"), mask), 6, 1, OpText, true, true, nil},
		{"continuation", clientFrame(0x80, []byte("x"), mask), 6, 1, OpContinuation, true, false, nil},
		{"ping", clientFrame(0x89, []byte("p"), mask), 6, 1, OpPing, true, false, nil},
		{"unmasked", []byte{0x81, 0x01, 'x'}, 2, 1, OpText, true, false, nil},
		{"reserved opcode", clientFrame(0x83, nil, mask), 0, 0, 0, false, false, ErrOpcode},
		{"reserved control opcode", clientFrame(0x8B, nil, mask), 0, 0, 0, false, false, ErrOpcode},
		{"fragmented ping", clientFrame(0x09, nil, mask), 0, 0, 0, false, false, ErrControl},
		{"long close", clientFrame(0x88, make([]byte, 126), mask), 0, 0, 0, false, false, ErrControl},
		{"16-bit length not minimal", []byte{0x81, 0x80 | 126, 0, 125, 0, 0, 0, 0}, 0, 0, 0, false, false, ErrLengthForm},
		{"64-bit length not minimal", append([]byte{0x81, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, 65535)...), 0, 0, 0, false, false, ErrLengthForm},
		{"64-bit length top bit", append([]byte{0x81, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, 1<<63)...), 0, 0, 0, false, false, ErrLengthForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := ParseHeader(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if n != tt.wantN {
				t.Fatalf("n = %d, want %d", n, tt.wantN)
			}
			if n == 0 {
				return
			}
			if h.Length != tt.wantLen || h.Opcode != tt.wantOp || h.Fin != tt.fin || h.RSV1 != tt.rsv1 {
				t.Errorf("header = %+v, want len %d op %d fin %v rsv1 %v", h, tt.wantLen, tt.wantOp, tt.fin, tt.rsv1)
			}
		})
	}
}

func TestAppendClientHeaderBytes(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	tests := []struct {
		b0   byte
		n    int
		want []byte
	}{
		{0x81, 5, []byte{0x81, 0x85, 1, 2, 3, 4}},
		{0xC1, 300, []byte{0xC1, 0xFE, 0x01, 0x2C, 1, 2, 3, 4}},
		{0x02, 70000, []byte{0x02, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		if got := AppendClientHeader(nil, tt.b0, tt.n, mask); !bytes.Equal(got, tt.want) {
			t.Errorf("AppendClientHeader(%#x, %d) = % x, want % x", tt.b0, tt.n, got, tt.want)
		}
	}
}

func TestUnmaskInPieces(t *testing.T) {
	mask := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	payload := []byte("The quick brown fox jumps over the lazy dog, 0123456789!")
	f := clientFrame(0x81, payload, mask)
	_, n, err := ParseHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte(nil), f[n:]...)
	for _, cut := range []int{0, 1, 3, 7, 8, 9, 20, len(body)} {
		got := append([]byte(nil), body...)
		pos := Unmask(mask, 0, got[:cut])
		Unmask(mask, pos, got[cut:])
		if !bytes.Equal(got, payload) {
			t.Errorf("cut at %d: got %q", cut, got)
		}
	}
}

func TestAppendHeaderRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		h := AppendHeader(nil, OpText, n)
		if len(h) != HeaderLen(n) {
			t.Errorf("n=%d: header is %d bytes, HeaderLen says %d", n, len(h), HeaderLen(n))
		}
		ph, hn, err := ParseHeader(h)
		if err != nil || hn != len(h) || ph.Length != uint64(n) || !ph.Fin || ph.Masked || ph.Opcode != OpText {
			t.Errorf("n=%d: parsed %+v, %d, %v", n, ph, hn, err)
		}
	}
}

func TestClose(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 200))
	tests := []struct {
		code    int
		text    string
		wantLen int
	}{
		{0, "", 0},
		{CloseGoingAway, "server shutdown", 17},
		{ClosePolicyViolation, long, MaxControlPayload},
	}
	for _, tt := range tests {
		f := AppendClose(nil, tt.code, tt.text)
		h, n, err := ParseHeader(f)
		if err != nil || h.Opcode != OpClose || int(h.Length) != tt.wantLen || len(f) != n+tt.wantLen {
			t.Fatalf("code %d: %+v n=%d err=%v len=%d", tt.code, h, n, err, len(f))
		}
		code, ok := ParseClosePayload(f[n:])
		want := tt.code
		if want == 0 {
			want = CloseNoStatus
		}
		if !ok || code != want {
			t.Errorf("code %d: parsed back %d, %v", tt.code, code, ok)
		}
	}
	for _, bad := range [][]byte{{0x03}, {0x03, 0xED}, {0x03, 0xEE}, {0x03, 0xE4}, {0x0F, 0xA0}} { // 1 byte, 1005, 1006, 1004, 4000 ok
		code, ok := ParseClosePayload(bad)
		if ok && code != 4000 {
			t.Errorf("close payload % x accepted as %d", bad, code)
		}
	}
}

func TestHandshakeHelpers(t *testing.T) {
	// RFC 6455 section 1.3's example.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q", got)
	}
	for key, want := range map[string]bool{"dGhlIHNhbXBsZSBub25jZQ==": true, "": false, "short": false, "dGhlIHNhbXBsZSBub25jZQ=!": false} {
		if ValidKey(key) != want {
			t.Errorf("ValidKey(%q) = %v", key, !want)
		}
	}
	for _, tt := range []struct {
		in   []string
		want bool
	}{
		{[]string{"permessage-deflate; client_max_window_bits"}, true},
		{[]string{"x-webkit-deflate-frame", "Permessage-Deflate"}, true},
		{[]string{"permessage-deflatex"}, false},
		{nil, false},
	} {
		if OffersDeflate(tt.in) != tt.want {
			t.Errorf("OffersDeflate(%q) = %v", tt.in, !tt.want)
		}
	}
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{[]string{"chat, superchat"}, "chat"},
		{[]string{" , v2"}, "v2"},
		{[]string{"bad\"token"}, ""},
		{nil, ""},
	} {
		if got := FirstProtocol(tt.in); got != tt.want {
			t.Errorf("FirstProtocol(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	resp := string(AppendResponse(nil, "dGhlIHNhbXBsZSBub25jZQ==", "chat", true))
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n" +
		"Sec-WebSocket-Extensions: " + DeflateResponse + "\r\n\r\n"
	if resp != want {
		t.Errorf("response:\n%q\nwant\n%q", resp, want)
	}
}

// FuzzParseHeader checks that any input parses without panicking, that a parsed header
// never claims more header bytes than given, and that a server header for the parsed
// length parses back to the same length.
func FuzzParseHeader(f *testing.F) {
	mask := [4]byte{9, 8, 7, 6}
	f.Add(clientFrame(0x81, []byte("hello"), mask))
	f.Add(clientFrame(0x81, make([]byte, 300), mask))
	f.Add(clientFrame(0x02, make([]byte, 70000), mask)[:20])
	f.Add([]byte{0x88, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err != nil || n == 0 {
			return
		}
		if n > len(b) || n > MaxHeaderLen {
			t.Fatalf("header length %d of %d bytes", n, len(b))
		}
		if h.IsControl() && (h.Length > MaxControlPayload || !h.Fin) {
			t.Fatalf("accepted control frame %+v", h)
		}
		if h.Length < 1<<40 {
			back := AppendHeader(nil, h.Opcode, int(h.Length))
			ph, pn, perr := ParseHeader(back)
			if perr != nil || pn != len(back) || ph.Length != h.Length {
				t.Fatalf("round trip of %+v: %+v %d %v", h, ph, pn, perr)
			}
		}
		p := append([]byte(nil), b[n:]...)
		q := append([]byte(nil), p...)
		Unmask(h.Mask, 0, p)
		Unmask(h.Mask, 0, p)
		if !bytes.Equal(p, q) {
			t.Fatal("unmasking twice is not the identity")
		}
	})
}
