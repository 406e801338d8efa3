package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hubhq/hub/host/logbus"
)

// DefaultTenant is the tenant of a request that names none.
const DefaultTenant = "default"

// Defaults for Options' zero values.
const (
	DefaultAddr              = "127.0.0.1:8480"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	DefaultWriteTimeout      = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
)

// The webhook routes, also the route label of their metrics.
const (
	routeWebhook       = "POST /webhooks/{workflow}"
	routeTenantWebhook = "POST /t/{tenant}/webhooks/{workflow}"
)

// Options configure a Server. Only APIKey is required.
type Options struct {
	// Addr is the TCP address to listen on; DefaultAddr (loopback) when
	// empty. A port of 0 picks a free one: Listen reports it.
	Addr string
	// APIKey is the bearer token every /v1/ request must carry.
	APIKey string
	// MaxBodyBytes bounds a request body; larger bodies are refused with
	// 413 before the Backend sees them. DefaultMaxBodyBytes when 0.
	MaxBodyBytes int64
	// Logger receives request failures (error), refused webhooks (warn)
	// and one line per request (debug). Discarded when nil.
	Logger hclog.Logger
	// Metrics is served at /metrics, and the server registers its own
	// metrics in it. A new registry holding only those when nil.
	Metrics *prometheus.Registry
	// Logs backs GET /v1/logs; without it that route answers 404.
	Logs *logbus.Bus
	// OAuth serves GET /oauth/{connection}/callback, where authorization
	// servers redirect after a login (host/oauth's Handler).
	OAuth http.Handler

	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response, so it also bounds how long a webhook can wait on
	// the Backend and still answer. The /v1/logs stream lifts it for
	// itself.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
}

// Server serves a Backend over HTTP. Create it with New, then call Listen
// (optional) and Serve; Shutdown stops it.
type Server struct {
	backend Backend
	log     hclog.Logger
	maxBody int64
	keySum  [sha256.Size]byte
	logs    *logbus.Bus
	metrics *metrics
	handler http.Handler
	http    *http.Server
	addr    string

	// streams is cancelled when Shutdown begins: long-lived responses
	// (the log stream) end then, since http.Server.Shutdown waits for
	// every in-flight request and a stream would otherwise never finish.
	streams     context.Context
	stopStreams context.CancelFunc

	mu      sync.Mutex
	ln      net.Listener
	serving bool
	stopped bool
}

// New returns a Server for b. It fails without an API key or when the
// server's metrics cannot be registered (e.g. a second Server on the same
// registry).
func New(b Backend, opts Options) (*Server, error) {
	if b == nil {
		return nil, errors.New("new server: no backend")
	}
	if opts.APIKey == "" {
		return nil, errors.New("new server: no API key: the admin API must not be served unauthenticated")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Metrics == nil {
		opts.Metrics = prometheus.NewRegistry()
	}
	opts.ReadHeaderTimeout = orDefault(opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	opts.ReadTimeout = orDefault(opts.ReadTimeout, DefaultReadTimeout)
	opts.WriteTimeout = orDefault(opts.WriteTimeout, DefaultWriteTimeout)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, DefaultIdleTimeout)

	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	s := &Server{
		backend: b,
		log:     opts.Logger,
		maxBody: opts.MaxBodyBytes,
		keySum:  sha256.Sum256([]byte(opts.APIKey)),
		logs:    opts.Logs,
		metrics: m,
		addr:    opts.Addr,
	}
	s.streams, s.stopStreams = context.WithCancel(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc(routeWebhook, s.webhook)
	mux.HandleFunc(routeTenantWebhook, s.webhook)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics, promhttp.HandlerOpts{
		ErrorLog:      opts.Logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	v1 := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requireKey(h)) }
	v1("GET /v1/status", s.status)
	v1("GET /v1/webhooks", s.webhooks)
	v1("GET /v1/runs", s.listRuns)
	v1("GET /v1/runs/{id}", s.run)
	v1("GET /v1/dlq", s.listDead)
	v1("POST /v1/dlq/{id}/replay", s.replayOne)
	v1("POST /v1/dlq/{id}/discard", s.discardOne)
	v1("POST /v1/dlq/replay", s.replayMatching)
	v1("POST /v1/dlq/discard", s.discardMatching)
	v1("GET /v1/logs", s.streamLogs)
	if c, ok := b.(Connections); ok {
		v1("GET /v1/connections", s.listConnections(c))
		v1("POST /v1/connections/{name}/test", s.testConnection(c))
	}
	if a, ok := b.(Authorizer); ok {
		v1("POST /v1/connections/{name}/connect", s.connect(a))
	}
	if opts.OAuth != nil {
		// The provider sends the user's browser here: no API key, the
		// state parameter binds it to a login hub started.
		mux.Handle("GET /oauth/{connection}/callback", opts.OAuth)
	}
	if d, ok := b.(Deployer); ok {
		v1("GET /v1/state", s.appliedState(d))
		v1("POST /v1/apply", s.apply(d))
	}
	s.handler = s.instrument(mux)

	s.http = &http.Server{
		Addr:              opts.Addr,
		Handler:           s.handler,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		ErrorLog:          opts.Logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Handler returns the server's routes with its middleware, for tests and
// for embedding in another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the server's address and returns the bound address (with
// the real port when Addr asked for port 0). Serve calls it when it was
// not called.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil, fmt.Errorf("listen on %s: already listening on %s", s.addr, s.ln.Addr())
	}
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	return s.ln.Addr(), nil
}

func (s *Server) listenLocked() error {
	if s.stopped {
		return fmt.Errorf("listen on %s: %w", s.addr, http.ErrServerClosed)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	s.ln = ln
	return nil
}

// Serve accepts connections until Shutdown; it returns nil after Shutdown
// and the error otherwise.
func (s *Server) Serve() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	if s.serving {
		s.mu.Unlock()
		return errors.New("serve: already serving")
	}
	if s.ln == nil {
		if err := s.listenLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.serving = true
	ln := s.ln
	s.mu.Unlock()

	s.log.Info("serving HTTP", "addr", ln.Addr().String())
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
}

// Shutdown stops accepting connections, ends log streams, and waits for
// in-flight requests (a webhook the Backend is still storing included) to
// finish or for ctx to end, whichever comes first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	// A listener Serve never took is not known to http.Server.
	if s.ln != nil && !s.serving {
		s.ln.Close()
	}
	s.mu.Unlock()

	s.stopStreams()
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	return nil
}

// instrument counts every request by route and status, logs it at debug,
// and turns the mux's plain-text 404 and 405 into JSON errors.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, req: r}
		next.ServeHTTP(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		route := r.Pattern // set by the mux on this same request
		if route == "" {
			route = "unmatched"
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		if route == routeWebhook || route == routeTenantWebhook {
			s.metrics.webhookDuration.WithLabelValues(strconv.Itoa(code)).Observe(time.Since(start).Seconds())
		}
		s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", code, "duration", time.Since(start))
	})
}

// statusWriter records the status code. For a request no route matched
// (the mux's own 404 and 405), it writes a JSON error in place of the
// mux's text body, keeping the mux's Allow header.
type statusWriter struct {
	http.ResponseWriter
	req     *http.Request
	code    int
	replace bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	if w.req.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		w.replace = true
		if code == http.StatusNotFound {
			writeError(w.ResponseWriter, code, CodeNotFound, "no such route: "+w.req.Method+" "+w.req.URL.Path)
		} else {
			writeError(w.ResponseWriter, code, CodeMethodNotAllowed,
				w.req.Method+" is not allowed on "+w.req.URL.Path+"; allowed: "+w.Header().Get("Allow"))
		}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.replace {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// FlushError lets a streaming handler flush through the recorder with
// http.ResponseController and learn of a failed write.
func (w *statusWriter) FlushError() error {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for callers that use http.Flusher.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
