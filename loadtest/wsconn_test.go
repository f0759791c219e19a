package loadtest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// serverFrame builds a frame as a server sends it (unmasked unless mask is given).
func serverFrame(op byte, fin, rsv1 bool, payload []byte, mask []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	var f []byte
	mbit := byte(0)
	if mask != nil {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = []byte{b0, mbit | byte(n)}
	case n <= 0xFFFF:
		f = []byte{b0, mbit | 126, byte(n >> 8), byte(n)}
	default:
		f = binary.BigEndian.AppendUint64([]byte{b0, mbit | 127}, uint64(n))
	}
	if mask != nil {
		f = append(f, mask...)
		m := append([]byte(nil), payload...)
		for i := range m {
			m[i] ^= mask[i%4]
		}
		return append(f, m...)
	}
	return append(f, payload...)
}

func deflateRaw(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// pipeConn returns a wsConn reading what the returned writer sends, through a real
// socket pair so that partial reads happen.
func pipeConn(t *testing.T, bufSize int, deflate bool) (*wsConn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &wsConn{nc: a, fd: -1, buf: make([]byte, bufSize), deflate: deflate}, b
}

func TestWSConnReadsServerFrames(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 2000) // 20 kB: grows a 512-byte buffer
	type want struct {
		payload string
		err     bool
	}
	tests := []struct {
		name    string
		deflate bool
		frames  [][]byte
		want    []want
		pong    []byte // expected bytes queued for the server
	}{
		{"text", false, [][]byte{serverFrame(opText, true, false, []byte(`{"a":1}`), nil)}, []want{{`{"a":1}`, false}}, nil},
		{"two in one write", false, [][]byte{append(serverFrame(opText, true, false, []byte("one"), nil), serverFrame(opText, true, false, []byte("two"), nil)...)},
			[]want{{"one", false}, {"two", false}}, nil},
		{"larger than the buffer", false, [][]byte{serverFrame(opText, true, false, big, nil)}, []want{{string(big), false}}, nil},
		{"fragmented with a ping inside", false, [][]byte{
			serverFrame(opText, false, false, []byte("hel"), nil),
			serverFrame(opPing, true, false, []byte("pi"), nil),
			serverFrame(opCont, true, false, []byte("lo"), nil),
		}, []want{{"hello", false}}, appendFrame(nil, opPong, false, []byte("pi"))},
		{"masked by the server", false, [][]byte{serverFrame(opText, true, false, []byte("masked"), []byte{1, 2, 3, 4})}, []want{{"masked", false}}, nil},
		{"compressed", true, [][]byte{serverFrame(opText, true, true, deflateRaw(t, big), nil)}, []want{{string(big), false}}, nil},
		{"compressed without negotiation", false, [][]byte{serverFrame(opText, true, true, deflateRaw(t, []byte("x")), nil)}, []want{{"", true}}, nil},
		{"close", false, [][]byte{serverFrame(opClose, true, false, []byte{0x03, 0xE8, 'b', 'y', 'e'}, nil)}, []want{{"", true}},
			appendFrame(nil, opClose, false, nil)},
		{"continuation without start", false, [][]byte{serverFrame(opCont, true, false, []byte("x"), nil)}, []want{{"", true}}, nil},
		{"unknown opcode", false, [][]byte{serverFrame(0x5, true, false, []byte("x"), nil)}, []want{{"", true}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := pipeConn(t, 512, tt.deflate)
			go func() {
				for _, f := range tt.frames {
					// Dribble the bytes to exercise partial frames.
					for len(f) > 0 {
						n := min(len(f), 700)
						if _, err := srv.Write(f[:n]); err != nil {
							return
						}
						f = f[n:]
					}
				}
			}()
			var out []byte
			for i, w := range tt.want {
				_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				p, err := c.next(&out)
				if (err != nil) != w.err {
					t.Fatalf("message %d: err = %v, want error %v", i, err, w.err)
				}
				if err == nil && string(p) != w.payload {
					t.Errorf("message %d: got %d bytes %.40q, want %d bytes %.40q", i, len(p), p, len(w.payload), w.payload)
				}
				if err != nil && errors.Is(err, io.EOF) {
					t.Errorf("message %d: EOF instead of a protocol error", i)
				}
			}
			if !bytes.Equal(out, tt.pong) {
				t.Errorf("queued for the server %x, want %x", out, tt.pong)
			}
		})
	}
}

func TestWSConnComplete(t *testing.T) {
	f := serverFrame(opText, true, false, bytes.Repeat([]byte("x"), 300), nil)
	c := &wsConn{buf: make([]byte, 1024)}
	for n := 0; n <= len(f); n++ {
		c.r, c.w = 0, copy(c.buf, f[:n])
		if got, want := c.complete(), n == len(f); got != want {
			t.Fatalf("complete() with %d of %d bytes = %v", n, len(f), got)
		}
	}
}
