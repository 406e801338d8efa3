package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runHub runs one hub command to completion, returning its output in the
// error when it fails.
func runHub(ctx context.Context, hub string, args ...string) error {
	cmd := exec.CommandContext(ctx, hub, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", hub, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// serveInfo is <data-dir>/serve.json, which hub serve writes once it
// listens and removes when it exits.
type serveInfo struct {
	Addr string `json:"addr"`
	URL  string `json:"url"`
	PID  int    `json:"pid"`
}

// server is a running hub serve child process.
type server struct {
	cmd     *exec.Cmd
	info    serveInfo
	dataDir string
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// startServe starts hub serve on a free loopback port with its output in
// logPath and waits, up to timeout, until it has written serve.json and
// answers /readyz with 200.
func startServe(ctx context.Context, hub, dir, dataDir, logPath string, timeout time.Duration) (*server, error) {
	infoPath := filepath.Join(dataDir, "serve.json")
	// A hub serve that was killed leaves its serve.json behind; it must not
	// be mistaken for this one's.
	if err := os.Remove(infoPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale %s: %w", infoPath, err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create serve log: %w", err)
	}
	cmd := exec.Command(hub, "serve", "-dir", dir, "-data-dir", dataDir, "-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s serve: %w", hub, err)
	}
	s := &server{cmd: cmd, dataDir: dataDir, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.waitReady(ctx, infoPath); err != nil {
		s.kill()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return s, nil
}

func (s *server) waitReady(ctx context.Context, infoPath string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("hub serve exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			if s.info.URL == "" {
				return fmt.Errorf("hub serve wrote no %s: %w", infoPath, ctx.Err())
			}
			return fmt.Errorf("hub serve at %s never answered /readyz with 200: %w", s.info.URL, ctx.Err())
		case <-tick.C:
		}
		if s.info.URL == "" {
			b, err := os.ReadFile(infoPath)
			if err != nil {
				continue // not written yet
			}
			var info serveInfo
			if json.Unmarshal(b, &info) != nil || info.URL == "" {
				continue // being written
			}
			if info.PID != 0 && info.PID != s.cmd.Process.Pid {
				return fmt.Errorf("%s names pid %d, but the hub serve started is %d: is another hub serve using %s?",
					infoPath, info.PID, s.cmd.Process.Pid, s.dataDir)
			}
			s.info = info
		}
		resp, err := client.Get(s.info.URL + "/readyz")
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// webhook is what GET /v1/webhooks says of one workflow's endpoint.
type webhook struct {
	Workflow   string `json:"workflow"`
	Connection string `json:"connection"`
	Trigger    string `json:"trigger"`
	URL        string `json:"url"`
	Path       string `json:"path"`
	Secret     string `json:"secret"`
}

// apiKey is $HUB_API_KEY when set (hub serve then uses it too), else the
// key hub serve wrote into its data directory.
func (s *server) apiKey() (string, error) {
	if k := os.Getenv("HUB_API_KEY"); k != "" {
		return k, nil
	}
	path := filepath.Join(s.dataDir, "api-key")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the admin API key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// webhook returns the loopback URL and signing secret of workflow's
// webhook.
func (s *server) webhook(ctx context.Context, workflow string) (url, secret string, err error) {
	key, err := s.apiKey()
	if err != nil {
		return "", "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.info.URL+"/v1/webhooks", nil)
	if err != nil {
		return "", "", fmt.Errorf("list webhooks: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", "", fmt.Errorf("list webhooks: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("list webhooks: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("list webhooks: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var list struct {
		Webhooks []webhook `json:"webhooks"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return "", "", fmt.Errorf("list webhooks: decode %s: %w", resp.Status, err)
	}
	for _, w := range list.Webhooks {
		if w.Workflow != workflow {
			continue
		}
		if w.Secret == "" {
			return "", "", fmt.Errorf("webhook of workflow %q has no secret", workflow)
		}
		// The listed url may be the public one; the load is sent over
		// loopback to the address serve.json names.
		path := w.Path
		if path == "" {
			path = "/webhooks/" + workflow
		}
		return s.info.URL + path, w.Secret, nil
	}
	return "", "", fmt.Errorf("GET /v1/webhooks lists no webhook for workflow %q (%d listed)", workflow, len(list.Webhooks))
}

// stop sends SIGTERM and waits up to grace for hub serve to exit, killing
// it after that. It reports an exit that was not clean.
func (s *server) stop(grace time.Duration) error {
	select {
	case <-s.exited:
		return fmt.Errorf("hub serve had already exited: %v", s.waitErr)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop hub serve: %w", err)
	}
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("hub serve exited after SIGTERM: %v", s.waitErr)
		}
		return nil
	case <-time.After(grace):
		s.kill()
		return fmt.Errorf("hub serve did not exit within %s of SIGTERM; killed", grace)
	}
}

// kill ends hub serve at once and waits for it.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// logTail is the end of hub serve's output, for error messages.
func (s *server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	const n = 4 << 10
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return "hub serve output (" + s.logPath + "):\n" + string(bytes.TrimSpace(b))
}
