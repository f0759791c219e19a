package hlsgen

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a running ffmpeg, abstracted so the supervisor can be tested with a fake.
type process interface {
	// Wait blocks until the process has exited and returns its exit error. Called once.
	Wait() error
	// Interrupt asks the process to finish (SIGINT: ffmpeg closes its current segment).
	Interrupt()
	// Kill ends the process and its process group at once.
	Kill()
}

// startFunc starts one ffmpeg process.
type startFunc func() (process, error)

// supervisor keeps one ffmpeg running: it restarts it with exponential backoff when it
// exits or stalls, and stops it on shutdown. All fields are static after construction; run
// is called by one goroutine.
type supervisor struct {
	start      startFunc
	progress   <-chan struct{} // a value each time new segments were published
	stallAfter time.Duration   // no new segment for this long: kill and restart
	startGrace time.Duration   // allowance for the first segment of a fresh process
	stopGrace  time.Duration   // SIGINT → SIGKILL delay on shutdown or stall
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
	metrics    *Metrics
}

// exitReason says why one process run ended.
type exitReason int

const (
	reasonUnknown  exitReason = iota
	reasonExited              // the process exited on its own
	reasonStalled             // no new segment within stallAfter
	reasonShutdown            // ctx was cancelled
)

func (r exitReason) String() string {
	switch r {
	case reasonExited:
		return "exited"
	case reasonStalled:
		return "stalled"
	case reasonShutdown:
		return "shutdown"
	}
	return "unknown"
}

// run supervises until ctx is done; it returns only after the last process has exited.
func (s *supervisor) run(ctx context.Context) {
	backoff := s.minBackoff
	first := true
	for ctx.Err() == nil {
		if !first {
			s.metrics.Restarts.Inc()
		}
		first = false
		s.drainProgress()
		p, err := s.start()
		if err != nil {
			s.log.Error("ffmpeg failed to start", "err", err, "retry_in", backoff)
		} else {
			s.metrics.Starts.Inc()
			s.metrics.Running.Set(1)
			reason, produced, err := s.watch(ctx, p)
			s.metrics.Running.Set(0)
			if reason == reasonShutdown {
				s.log.Info("ffmpeg stopped")
				return
			}
			if produced {
				backoff = s.minBackoff
			}
			s.log.Warn("ffmpeg ended, restarting", "reason", reason, "err", err, "retry_in", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
}

// drainProgress discards progress signals left over from the previous process.
func (s *supervisor) drainProgress() {
	for {
		select {
		case <-s.progress:
		default:
			return
		}
	}
}

// watch waits for p to exit, stall or be shut down, and returns only once p has exited.
func (s *supervisor) watch(ctx context.Context, p process) (reason exitReason, produced bool, err error) {
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	limit := s.startGrace // for the first segment; then stallAfter between segments
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case err := <-exited:
			return reasonExited, produced, err
		case <-s.progress:
			produced = true
			limit = s.stallAfter
			timer.Reset(limit)
		case <-timer.C:
			s.metrics.Stalls.Inc()
			s.log.Warn("ffmpeg stalled: no new segment in time", "timeout", limit, "produced_before", produced)
			return reasonStalled, produced, s.stop(p, exited)
		case <-ctx.Done():
			return reasonShutdown, produced, s.stop(p, exited)
		}
	}
}

// stop interrupts p, kills it after stopGrace, and waits for it.
func (s *supervisor) stop(p process, exited <-chan error) error {
	p.Interrupt()
	t := time.NewTimer(s.stopGrace)
	defer t.Stop()
	var err error
	select {
	case err = <-exited:
	case <-t.C:
		s.log.Warn("ffmpeg did not stop after SIGINT, killing it", "grace", s.stopGrace)
		p.Kill()
		err = <-exited
	}
	return err
}

// execProcess is a real ffmpeg in its own process group.
type execProcess struct {
	cmd    *exec.Cmd
	stderr *logWriter
}

// startFFmpeg starts ffmpeg with args in dir; its stderr lines are logged at debug level,
// and the last ones at warn level if it fails.
func startFFmpeg(path string, args []string, dir string, log *slog.Logger) (process, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	lw := &logWriter{log: log}
	cmd.Stdout = lw
	cmd.Stderr = lw
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // its own group: Kill reaches everything it started
		Pdeathsig: syscall.SIGKILL, // never outlive swarmcast, even if it is killed
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	log.Info("ffmpeg started", "pid", cmd.Process.Pid)
	return &execProcess{cmd: cmd, stderr: lw}, nil
}

func (p *execProcess) Wait() error {
	err := p.cmd.Wait()
	if err != nil {
		if tail := p.stderr.tail(); tail != "" {
			err = fmt.Errorf("%w; last output: %s", err, tail)
		}
	}
	return err
}

func (p *execProcess) Interrupt() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT) }

func (p *execProcess) Kill() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }

// logWriter turns ffmpeg's output into debug log lines and keeps the last few. It is
// written by exec's copying goroutine and read by Wait's caller; mu guards its fields.
type logWriter struct {
	log  *slog.Logger
	mu   sync.Mutex
	buf  []byte   // incomplete last line
	last []string // the most recent lines, at most tailLines
}

const tailLines = 5

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexAny(w.buf, "\r\n")
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		if line == "" {
			continue
		}
		w.log.Debug("ffmpeg", "line", line)
		w.last = append(w.last, line)
		if len(w.last) > tailLines {
			w.last = w.last[1:]
		}
	}
	if len(w.buf) > 64<<10 { // a runaway line without a newline
		w.buf = w.buf[:0]
	}
	return len(b), nil
}

func (w *logWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, " | ")
}
