package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memory is what /proc/<pid>/status says of a process's memory, in kB.
type memory struct {
	RSS int64 // VmRSS: resident now
	HWM int64 // VmHWM: the peak resident size
	// Anon is RssAnon, the resident memory the process allocated (its
	// heap, stacks, Badger's memtables); File is RssFile, resident pages
	// of files it maps (Badger writes its value log, WAL and tables
	// through mmap, so this grows with the data written and is page
	// cache the kernel can reclaim). Both are -1 on kernels before 4.5.
	Anon, File int64
}

// parseStatus reads VmRSS, VmHWM, RssAnon and RssFile from the text of
// /proc/<pid>/status.
func parseStatus(text string) (memory, error) {
	m := memory{Anon: -1, File: -1}
	var seen int
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM" && name != "RssAnon" && name != "RssFile") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return memory{}, fmt.Errorf("%s: unexpected value %q", name, rest)
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("%s: %w", name, err)
		}
		switch name {
		case "VmRSS":
			m.RSS = n
			seen++
		case "VmHWM":
			m.HWM = n
			seen++
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		}
	}
	if seen != 2 {
		return memory{}, fmt.Errorf("no VmRSS and VmHWM (a kernel thread, or not Linux)")
	}
	return m, nil
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	m, err := parseStatus(string(b))
	if err != nil {
		return memory{}, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	return m, nil
}

// parseStatPPID returns the parent pid from the text of /proc/<pid>/stat,
// whose second field (the command name, in parentheses) may itself hold
// spaces and parentheses.
func parseStatPPID(text string) (int, error) {
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", text)
	}
	fields := strings.Fields(text[i+1:])
	if len(fields) < 2 {
		return 0, fmt.Errorf("stat %q: too short", text)
	}
	return strconv.Atoi(fields[1])
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 for user space on every architecture hub builds for.
const userHZ = 100

// parseStatCPU returns the CPU time (user and system) a process has used,
// from the text of /proc/<pid>/stat (fields 14 and 15, in USER_HZ ticks).
func parseStatCPU(text string) (time.Duration, error) {
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", text)
	}
	// After the name: state (field 3) ... utime (14), stime (15).
	fields := strings.Fields(text[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat %q: too short", text)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: cpu time %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// readCPU is the CPU time pid has used so far.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// children returns the pids of pid's child processes (the connector
// plugins, for hub serve). It reads /proc/<pid>/task/*/children and falls
// back to scanning every process's parent when the kernel lacks that file.
func children(pid int) ([]int, error) {
	files, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	if len(files) > 0 {
		var out []int
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread ended between Glob and ReadFile
			}
			for _, field := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(field); err == nil {
					out = append(out, n)
				}
			}
		}
		return out, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		if ppid, err := parseStatPPID(string(b)); err == nil && ppid == pid {
			out = append(out, n)
		}
	}
	return out, nil
}

// memSample is the largest memory seen of a host process and of its
// children together, and the CPU time they had used at the last sample.
type memSample struct {
	HostRSS   int64 // largest VmRSS of the host
	HostHWM   int64 // the host's VmHWM at the last sample
	HostAnon  int64 // largest RssAnon of the host; -1 if unknown
	HostFile  int64 // largest RssFile of the host; -1 if unknown
	PluginRSS int64 // largest sum of the children's VmRSS
	HostCPU   time.Duration
	PluginCPU time.Duration // of the children alive at the last sample
	Samples   int
}

// sampler reads a process's memory and its children's every interval
// until stopped.
type sampler struct {
	pid      int
	interval time.Duration

	mu     sync.Mutex
	sample memSample
	series []memAt
	cancel context.CancelFunc
	done   chan struct{}
}

func startSampler(pid int, interval time.Duration) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{pid: pid, interval: interval, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx)
	return s
}

func (s *sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.once()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once takes one sample; a process that cannot be read (not Linux, or it
// exited) leaves the figures as they were.
func (s *sampler) once() {
	host, err := readMemory(s.pid)
	if err != nil {
		return
	}
	hostCPU, _ := readCPU(s.pid)
	var plugins int64
	var pluginCPU time.Duration
	kids, _ := children(s.pid)
	for _, k := range kids {
		if m, err := readMemory(k); err == nil {
			plugins += m.RSS
		}
		if c, err := readCPU(k); err == nil {
			pluginCPU += c
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sample.HostCPU = max(s.sample.HostCPU, hostCPU)
	s.sample.PluginCPU = max(s.sample.PluginCPU, pluginCPU)
	s.sample.HostRSS = max(s.sample.HostRSS, host.RSS)
	s.sample.HostHWM = host.HWM
	if s.sample.Samples == 0 {
		s.sample.HostAnon, s.sample.HostFile = host.Anon, host.File
	}
	s.sample.HostAnon = max(s.sample.HostAnon, host.Anon)
	s.sample.HostFile = max(s.sample.HostFile, host.File)
	s.sample.PluginRSS = max(s.sample.PluginRSS, plugins)
	s.sample.Samples++
	s.series = append(s.series, memAt{at: time.Now(), rss: host.RSS, anon: host.Anon})
}

// memAt is one sample of the host's resident size, in kB.
type memAt struct {
	at   time.Time
	rss  int64
	anon int64 // -1 if unknown
}

// rssAt is a value of a series of samples, in kB.
type rssAt struct {
	at  time.Time
	rss int64
}

// hostRSS returns the host's resident size (VmRSS) at every sample taken
// so far.
func (s *sampler) hostRSS() []rssAt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]rssAt, len(s.series))
	for i, m := range s.series {
		out[i] = rssAt{m.at, m.rss}
	}
	return out
}

// hostAnon returns the host's allocated resident memory (RssAnon) at
// every sample taken so far; nil when the kernel does not report it.
func (s *sampler) hostAnon() []rssAt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]rssAt, 0, len(s.series))
	for _, m := range s.series {
		if m.anon < 0 {
			return nil
		}
		out = append(out, rssAt{m.at, m.anon})
	}
	return out
}

// growth compares the host's largest resident size in the second half of
// [from, to] with that in the first half: how many kB it grew, and
// whether it stayed flat, which allows 10% or 8 MiB, whichever is more,
// for the garbage collector's sawtooth. Too few samples in either half
// count as flat with no growth.
func growth(series []rssAt, from, to time.Time) (kb int64, flat bool) {
	mid := from.Add(to.Sub(from) / 2)
	var first, second int64
	for _, r := range series {
		switch {
		case r.at.Before(from) || r.at.After(to):
		case r.at.Before(mid):
			first = max(first, r.rss)
		default:
			second = max(second, r.rss)
		}
	}
	if first == 0 || second == 0 {
		return 0, true
	}
	return second - first, second-first <= max(first/10, 8<<10)
}

// stop takes a last sample, ends sampling and returns what was seen. Call
// it while the process still runs, so VmHWM is its final peak.
func (s *sampler) stop() memSample {
	s.cancel()
	<-s.done
	s.once()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sample
}
