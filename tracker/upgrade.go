package tracker

import (
	"net"
	"net/http"
	"strings"

	"swarmcast/tracker/wsframe"
)

// Transports (servers[].websockets.transport).
const (
	TransportAuto       = "auto"       // event loops for plain ws on Linux, goroutines otherwise
	TransportEventLoop  = "epoll"      // event loops; an error where they are not available
	TransportGoroutines = "goroutines" // gorilla/websocket, a reader goroutine per connection
)

// handshake is a checked WebSocket upgrade request, for the event-loop transport (the
// goroutine transport lets gorilla check it).
type handshake struct {
	key      string
	protocol string
	deflate  bool
}

// checkHandshake validates an upgrade request as RFC 6455 section 4.2.1 asks; on failure
// it returns the HTTP status and the text to send. The Connection and Upgrade tokens are
// not checked again: ServeHTTP routes only requests that websocket.IsWebSocketUpgrade
// accepts.
func checkHandshake(r *http.Request, compression bool) (handshake, int, string) {
	var hs handshake
	switch {
	case r.Method != http.MethodGet:
		return hs, http.StatusMethodNotAllowed, "websocket: the upgrade request must be a GET"
	case r.Header.Get("Sec-Websocket-Version") != "13":
		return hs, http.StatusBadRequest, "websocket: unsupported Sec-WebSocket-Version (want 13)"
	}
	hs.key = strings.TrimSpace(r.Header.Get("Sec-Websocket-Key"))
	if !wsframe.ValidKey(hs.key) {
		return hs, http.StatusBadRequest, "websocket: Sec-WebSocket-Key is not the base64 of 16 bytes"
	}
	hs.protocol = wsframe.FirstProtocol(r.Header.Values("Sec-Websocket-Protocol"))
	hs.deflate = compression && wsframe.OffersDeflate(r.Header.Values("Sec-Websocket-Extensions"))
	return hs, 0, ""
}

// onTCP reports whether the request arrived on a TCP socket (the event loops need its file
// descriptor; tests serve some listeners over in-memory pipes).
func onTCP(r *http.Request) bool {
	_, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	return ok
}

// rejectHandshakeRequest answers a malformed upgrade request like gorilla does.
func (l *listener) rejectHandshakeRequest(w http.ResponseWriter, status int, text string) {
	l.srv.metrics.rejected.WithLabelValues(rejectHandshake).Inc()
	if status == http.StatusBadRequest {
		w.Header().Set("Sec-Websocket-Version", "13")
	}
	http.Error(w, text, status)
}
