package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one Run. Rates and CPU figures cover the steady window only.
// "In" and "out" are from the generator's side: out = announces and answers it sent
// (what the tracker received), in = replies, offers and answers it received (what the
// tracker sent). Messages = in + out, the unit of the per-message CPU figures.
type Result struct {
	Profile   string  `json:"profile"`
	Mode      Mode    `json:"mode"`
	URL       string  `json:"url"`
	Conns     int     `json:"conns"`
	Swarms    int     `json:"swarms"`
	IntervalS float64 `json:"interval_s"`
	Offers    int     `json:"offers"`
	TLS       bool    `json:"tls"`
	Deflate   bool    `json:"deflate"`
	Sources   int     `json:"source_addrs"`
	Engine    string  `json:"engine"`

	RampS   float64 `json:"ramp_s"`
	WindowS float64 `json:"window_s"`

	ConnsOpen  int64 `json:"conns_open"` // at the end of the window
	DialErrors int64 `json:"dial_errors"`
	Closes     int64 `json:"closes"` // connections lost during the run (ramp, warm-up and window)

	MsgsOutPerS float64 `json:"msgs_out_per_s"`
	MsgsInPerS  float64 `json:"msgs_in_per_s"`
	MsgsPerS    float64 `json:"msgs_per_s"`
	BytesOutPS  float64 `json:"bytes_out_per_s"`
	BytesInPS   float64 `json:"bytes_in_per_s"`

	Announces        int64 `json:"announces"`
	Replies          int64 `json:"replies"`
	OffersSent       int64 `json:"offers_sent"`    // offers carried by announces
	OffersRelayed    int64 `json:"offers_relayed"` // offers received
	AnswersSent      int64 `json:"answers_sent"`
	AnswersDelivered int64 `json:"answers_delivered"`
	Failures         int64 `json:"failures"` // "failure reason" messages
	Other            int64 `json:"other"`
	ProtocolErrors   int64 `json:"protocol_errors"`
	MissingReplies   int64 `json:"missing_replies"`
	LateAnnounces    int64 `json:"late_announces"`
	Stalls           int64 `json:"stalls"`
	Errors           int64 `json:"errors"` // failures + protocol errors + closes + dial errors (window and ramp)

	RTTSamples int64   `json:"rtt_samples"`
	RTTP50Ms   float64 `json:"rtt_p50_ms"`
	RTTP95Ms   float64 `json:"rtt_p95_ms"`
	RTTP99Ms   float64 `json:"rtt_p99_ms"`
	RTTMaxMs   float64 `json:"rtt_max_ms"`

	SelfCPUCores   float64 `json:"self_cpu_cores"`
	SelfUsPerMsg   float64 `json:"self_us_per_msg"`
	SelfGoroutines int     `json:"self_goroutines"`

	Server *ServerResult `json:"server,omitempty"`
}

// ServerResult is the tracker process's cost, from /proc/<pid>.
type ServerResult struct {
	PID          int     `json:"pid"`
	CPUCores     float64 `json:"cpu_cores"`
	UsPerMsg     float64 `json:"us_per_msg"`
	RSSBaseMiB   float64 `json:"rss_base_mib"` // before the first connection
	RSSEndMiB    float64 `json:"rss_end_mib"`  // at the end of the window
	KiBPerConn   float64 `json:"kib_per_conn"` // (end − base) / open connections
	CPUToSelfPct float64 `json:"self_cpu_pct_of_server"`
}

func buildResult(cfg *Config, rn *runner, base ProcSample, w0, w1 windowPoint, ramp time.Duration) *Result {
	win := w1.at.Sub(w0.at).Seconds()
	d := w1.ctr.Sub(w0.ctr)
	total := w1.ctr
	rtt := w1.rtt.Sub(w0.rtt)
	r := &Result{
		Profile: cfg.Profile, Mode: cfg.Mode, URL: cfg.URL, Conns: cfg.Conns, Swarms: cfg.Swarms,
		IntervalS: cfg.Interval.Seconds(), Offers: cfg.Offers, TLS: cfg.tlsOn(), Deflate: cfg.Deflate,
		Sources: len(cfg.SourceAddrs), Engine: cfg.engine(), RampS: round(ramp.Seconds(), 3), WindowS: round(win, 3),
		ConnsOpen: d.Connected, DialErrors: total.DialErrors, Closes: total.Closes,
		MsgsOutPerS: round(float64(d.Out())/win, 1), MsgsInPerS: round(float64(d.In())/win, 1),
		MsgsPerS:   round(float64(d.Out()+d.In())/win, 1),
		BytesOutPS: round(float64(d.BytesOut)/win, 0), BytesInPS: round(float64(d.BytesIn)/win, 0),
		Announces: d.SentAnnounces, Replies: d.RecvReplies, OffersSent: d.SentAnnounces * int64(cfg.Offers),
		OffersRelayed: d.RecvOffers, AnswersSent: d.SentAnswers, AnswersDelivered: d.RecvAnswers,
		Failures: d.RecvFailures, Other: d.RecvOther, ProtocolErrors: d.ProtocolErrors,
		MissingReplies: d.MissingReplies, LateAnnounces: d.LateAnnounces, Stalls: d.Stalls,
		RTTSamples: rtt.Count(), RTTP50Ms: ms(rtt.Quantile(0.50)), RTTP95Ms: ms(rtt.Quantile(0.95)),
		RTTP99Ms: ms(rtt.Quantile(0.99)), RTTMaxMs: ms(rtt.Max()),
		SelfGoroutines: runtime.NumGoroutine(),
	}
	r.Errors = total.RecvFailures + total.ProtocolErrors + total.Closes + total.DialErrors
	msgs := float64(d.Out() + d.In())
	self := (w1.self - w0.self).Seconds()
	r.SelfCPUCores = round(self/win, 3)
	if msgs > 0 {
		r.SelfUsPerMsg = round(self*1e6/msgs, 2)
	}
	if cfg.PID != 0 {
		cpu := (w1.proc.CPU - w0.proc.CPU).Seconds()
		procWin := w1.proc.At.Sub(w0.proc.At).Seconds()
		s := &ServerResult{PID: cfg.PID, CPUCores: round(cpu/procWin, 3),
			RSSBaseMiB: round(float64(base.RSS)/(1<<20), 1), RSSEndMiB: round(float64(w1.proc.RSS)/(1<<20), 1)}
		if msgs > 0 {
			s.UsPerMsg = round(cpu*1e6/msgs, 2)
		}
		if d.Connected > 0 {
			s.KiBPerConn = round(float64(w1.proc.RSS-base.RSS)/1024/float64(d.Connected), 2)
		}
		if cpu > 0 {
			s.CPUToSelfPct = round(100*self/cpu, 1)
		}
		r.Server = s
	}
	return r
}

func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }

func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// WriteTable prints the result for people.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	p("profile", "%s (%s): %d conns, %d swarms, interval %gs, %d offers, tls %v, deflate %v, %d source addrs, %s engine",
		r.Profile, r.Mode, r.Conns, r.Swarms, r.IntervalS, r.Offers, r.TLS, r.Deflate, r.Sources, r.Engine)
	p("window", "%.1fs after a %.1fs ramp; %d connections open", r.WindowS, r.RampS, r.ConnsOpen)
	p("messages/s", "%.0f total = %.0f out (announces+answers) + %.0f in (replies+offers+answers)", r.MsgsPerS, r.MsgsOutPerS, r.MsgsInPerS)
	p("bytes/s", "%.0f out, %.0f in", r.BytesOutPS, r.BytesInPS)
	p("announces", "%d sent, %d replies, %d missing replies, %d late", r.Announces, r.Replies, r.MissingReplies, r.LateAnnounces)
	p("offers", "%d sent, %d relayed", r.OffersSent, r.OffersRelayed)
	p("answers", "%d sent, %d delivered", r.AnswersSent, r.AnswersDelivered)
	p("RTT announce→reply", "p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms (%d samples)", r.RTTP50Ms, r.RTTP95Ms, r.RTTP99Ms, r.RTTMaxMs, r.RTTSamples)
	p("errors", "%d total: %d failure replies, %d protocol, %d closes, %d dial errors, %d stalls", r.Errors, r.Failures, r.ProtocolErrors, r.Closes, r.DialErrors, r.Stalls)
	p("generator CPU", "%.3f cores, %.2f µs/msg, %d goroutines", r.SelfCPUCores, r.SelfUsPerMsg, r.SelfGoroutines)
	if s := r.Server; s != nil {
		p("tracker CPU", "%.3f cores, %.2f µs/msg (pid %d; generator uses %.0f%% of it)", s.CPUCores, s.UsPerMsg, s.PID, s.CPUToSelfPct)
		p("tracker RSS", "%.1f MiB → %.1f MiB, %.2f KiB/conn", s.RSSBaseMiB, s.RSSEndMiB, s.KiBPerConn)
	}
	return tw.Flush()
}

// WriteJSON prints the result as one JSON line.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
