package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hubhq/hub/host/sandbox/shiprocket"
	"github.com/hubhq/hub/host/sandbox/shopify"
	"github.com/hubhq/hub/host/sandbox/warehouse"
	"github.com/hubhq/hub/host/sandbox/woocommerce"
)

// defaultSandboxAddr is where hub sandbox listens unless told otherwise.
const defaultSandboxAddr = "127.0.0.1:8481"

// simulator is one application of the sandbox.
type simulator interface {
	Handler() http.Handler
	Control() http.Handler
	Reset()
}

// sandbox holds every simulator, mounted under its name: the API at
// /<name>/..., its test switches at /_sandbox/<name>/....
type sandbox struct {
	sims  map[string]simulator
	order []string
}

func newSandbox() *sandbox {
	return &sandbox{
		sims: map[string]simulator{
			"shopify":     shopify.New(shopify.Options{}),
			"woocommerce": woocommerce.New(woocommerce.Options{}),
			"shiprocket":  shiprocket.New(shiprocket.Options{}),
			"warehouse":   warehouse.New(warehouse.Options{}),
		},
		order: []string{"shopify", "woocommerce", "shiprocket", "warehouse"},
	}
}

func (s *sandbox) handler() http.Handler {
	mux := http.NewServeMux()
	for name, sim := range s.sims {
		mux.Handle("/"+name+"/", http.StripPrefix("/"+name, sim.Handler()))
		mux.Handle("/_sandbox/"+name+"/", http.StripPrefix("/_sandbox/"+name, sim.Control()))
	}
	mux.HandleFunc("POST /_sandbox/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.reset()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"reset": s.order})
	})
	mux.HandleFunc("GET /_sandbox", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.describe("http://" + r.Host))
	})
	return mux
}

func (s *sandbox) reset() {
	for _, name := range s.order {
		s.sims[name].Reset()
	}
}

// sandboxApp is what hub sandbox prints about one simulator.
type sandboxApp struct {
	Name        string            `json:"name"`
	BaseURL     string            `json:"base_url"`
	Control     string            `json:"control"`
	Credentials map[string]string `json:"credentials"`
}

func (s *sandbox) describe(base string) []sandboxApp {
	creds := map[string]map[string]string{
		"shopify":     {"shop": shopify.DefaultShop, "access_token": shopify.DefaultAccessToken, "client_secret": shopify.DefaultClientSecret},
		"woocommerce": {"consumer_key": woocommerce.DefaultConsumerKey, "consumer_secret": woocommerce.DefaultConsumerSecret},
		"shiprocket":  {"email": shiprocket.SeedEmail, "password": shiprocket.SeedPassword},
		"warehouse":   {"token": warehouse.DefaultToken},
	}
	var out []sandboxApp
	for _, name := range s.order {
		out = append(out, sandboxApp{Name: name, BaseURL: base + "/" + name, Control: base + "/_sandbox/" + name, Credentials: creds[name]})
	}
	return out
}

// runSandbox serves the simulators (hub sandbox [-addr]) or resets a
// running sandbox (hub sandbox reset [-addr]).
func runSandbox(e *env, args []string) error {
	if len(args) > 0 && args[0] == "reset" {
		return sandboxReset(e, args[1:])
	}
	fs := newFlags(e, "sandbox")
	addr := fs.String("addr", defaultSandboxAddr, "the address to serve the simulators on (loopback by default)")
	asJSON := fs.Bool("json", false, "print the applications as JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	sb := newSandbox()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	apps := sb.describe(base)
	if *asJSON {
		if err := printJSON(e.stdout, apps); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "hub sandbox: simulators on %s (test data only; hub sandbox reset restores it)\n\n", base)
		for _, a := range apps {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(a.Credentials)) {
				kv = append(kv, k+"="+a.Credentials[k])
			}
			fmt.Fprintf(e.stdout, "  %-12s %s   (%s)\n", a.Name, a.BaseURL, strings.Join(kv, ", "))
		}
		fmt.Fprintln(e.stdout)
	}
	srv := &http.Server{Handler: sb.handler(), ReadHeaderTimeout: 10 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-sigs:
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

func sandboxReset(e *env, args []string) error {
	fs := newFlags(e, "sandbox reset")
	addr := fs.String("addr", defaultSandboxAddr, "the running sandbox's address")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	base, err := baseURL(*addr)
	if err != nil {
		return usageErr("-addr %q: %v", *addr, err)
	}
	resp, err := http.Post(base+"/_sandbox/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("no hub sandbox at %s: %w", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hub sandbox at %s answered %s", base, resp.Status)
	}
	fmt.Fprintln(e.stdout, "Sandbox reset: every simulator is back to its seeded state.")
	return nil
}
