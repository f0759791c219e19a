package loadtest

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "1234 (node) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 100 1000 200",
			3 * time.Second, false},
		{"name with spaces and parens", "77 (my (weird) proc) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 100 10",
			100 * time.Millisecond, false},
		{"truncated", "77 (x) R 1 2 3", 0, true},
		{"no name", "77 x R", 0, true},
		{"bad number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0 0 20 0 1 0 5 100 10", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"normal", "Name:\tx\nVmPeak:\t 9999 kB\nVmRSS:\t   20480 kB\nRssAnon:\t 1 kB\n", 20480 * 1024, false},
		{"missing", "Name:\tkthreadd\nState:\tS\n", 0, true},
		{"bad unit", "VmRSS:\t 12 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusRSS([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

// TestReadProcFromFiles reads a fake /proc tree.
func TestReadProcFromFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "42 (t) S 1 42 42 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 100 10")
	write("status", "VmRSS:\t 100 kB\n")
	s, err := readProcAt(root, 42)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != 300*time.Millisecond || s.RSS != 100*1024 {
		t.Errorf("got CPU %v RSS %d", s.CPU, s.RSS)
	}
	if _, err := readProcAt(root, 43); err == nil {
		t.Error("missing process: no error")
	}
}

// TestReadProcSelf samples this process before and after burning CPU and allocating.
func TestReadProcSelf(t *testing.T) {
	a, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if a.RSS <= 0 {
		t.Fatalf("RSS %d", a.RSS)
	}
	selfA := selfCPU()
	x := 0
	// Burn 150 ms of CPU time (not wall time: the machine may be busy), 10 s at most.
	for start := time.Now(); selfCPU()-selfA < 150*time.Millisecond && time.Since(start) < 10*time.Second; {
		for i := 0; i < 10000; i++ {
			x += i * i
		}
	}
	// Fresh anonymous pages, so the growth cannot be hidden by memory the Go heap
	// already holds.
	big, err := syscall.Mmap(-1, 0, 64<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(big) })
	for i := 0; i < len(big); i += 4096 {
		big[i] = byte(x | 1)
	}
	b, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in 10 ms ticks; other goroutines of the test binary only add to it.
	if b.CPU-a.CPU < 120*time.Millisecond {
		t.Errorf("/proc CPU grew %v while burning 150 ms", b.CPU-a.CPU)
	}
	if d := selfCPU() - selfA; d < 150*time.Millisecond {
		t.Errorf("selfCPU grew %v, want at least 150 ms", d)
	}
	if b.RSS-a.RSS < 32<<20 {
		t.Errorf("RSS grew %d bytes after touching 64 MiB", b.RSS-a.RSS)
	}
	if _, err := ReadProc(0x7ffffff0); err == nil {
		t.Error("ReadProc of a process that does not exist: no error")
	}
	_ = strconv.Itoa(x)
}
