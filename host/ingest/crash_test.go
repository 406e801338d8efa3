package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/store"
)

// crashHelperEnv, when set to a store directory, turns the test binary
// into the process that TestAccept_AcknowledgedEventsSurviveSIGKILL kills.
const crashHelperEnv = "HUB_INGEST_CRASH_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		os.Exit(runCrashHelper(dir))
	}
	os.Exit(m.Run())
}

// runCrashHelper accepts events from 16 goroutines until it is killed,
// printing "ack <id>" for each event only after Accept returned for it,
// as a webhook handler answers 2xx only then. Every fifth call also
// redelivers the previous call's event, as senders retry.
func runCrashHelper(dir string) int {
	st, err := store.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	in := ingest.New(st, ingest.Options{})
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				evs := []ingest.Event{event(fmt.Sprintf("w%d-%d", g, i))}
				if i%5 == 4 {
					evs = append(evs, event(fmt.Sprintf("w%d-%d", g, i-1)))
				}
				if _, err := in.Accept(context.Background(), evs); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				for _, ev := range evs {
					fmt.Fprintf(out, "ack %s\n", ev.ID)
				}
				// Flushed while holding the lock, so what the parent has
				// read was acknowledged.
				err := out.Flush()
				mu.Unlock()
				if err != nil {
					os.Exit(1)
				}
			}
		})
	}
	wg.Wait()
	return 0
}

func TestAccept_AcknowledgedEventsSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	const killAfter = 3000
	acked := make(map[string]bool)
	lines := bufio.NewScanner(stdout)
	deadline := time.Now().Add(30 * time.Second)
	for len(acked) < killAfter && lines.Scan() {
		id, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			t.Fatalf("unexpected helper output %q", lines.Text())
		}
		acked[id] = true
		if time.Now().After(deadline) {
			t.Fatalf("only %d acknowledgements in 30s", len(acked))
		}
	}
	if len(acked) < killAfter {
		t.Fatalf("helper stopped after %d acknowledgements: %v", len(acked), lines.Err())
	}
	// SIGKILL: no deferred function, no Close, no flush runs in the helper.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	// Acknowledgements written before the kill are still in the pipe.
	rest, err := io.ReadAll(stdout)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(rest)), "\n") {
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked[id] = true
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("helper exited cleanly; want killed")
	}

	st := openStore(t, dir)
	defer st.Close()
	in := ingest.New(st, ingest.Options{})
	defer in.Close()
	stored := readAll(t, in, tenant)
	seen := checkStoredOnceInOrder(t, stored)
	lost := 0
	for id := range acked {
		if _, ok := seen["orders/created/"+id]; !ok {
			lost++
			t.Errorf("acknowledged event %s is not stored", id)
		}
	}
	t.Logf("%d acknowledged, %d stored, %d lost", len(acked), len(stored), lost)
}
