//go:build !linux

package tracker

import "net/http"

// eventLoopsAvailable reports whether this platform has the event-loop transport (Linux
// only: it is built on epoll).
const eventLoopsAvailable = false

// poller is a stand-in: without epoll every listener uses the goroutine transport.
type poller struct{}

func newPoller(*Server) *poller { return &poller{} }

func (*poller) stop() {}

// acceptFast is never called where event loops are unavailable (ListenerConfig.eventLoops).
func (l *listener) acceptFast(w http.ResponseWriter, _ *http.Request) bool {
	l.reject(w, http.StatusInternalServerError, rejectHandshake)
	return false
}
