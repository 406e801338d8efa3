// Package warehouse is the sandbox's in-memory simulator of a warehouse
// management system (WMS) reached through hub's no-code http connector.
// It is not a copy of one vendor: it is the REST API most WMS products
// offer, small and consistent, so docs/no-code.md can build an integration
// against it from scratch and the http connector's tests can run against
// something that behaves like a real third party.
//
// # Authentication
//
// Every /api request but the login carries "Authorization: Bearer <token>":
// the account's API token (Options.Token, "wh_sandbox_token" by default) or
// a session token from
//
//	POST /api/auth/login {"username", "password"} → 200 {"data": {"token", "expires_in"}}
//
// A missing or unknown token is 401.
//
// # Orders
//
//	POST  /api/orders        {"ref", "lines": [{"sku", "qty"}], "shipping_address": {"name", "line1", "line2", "city", "postcode", "country"}}
//	                         → 201 {"data": {"order": Order}}; an Idempotency-Key header makes a retry
//	                         return the first answer (with Idempotent-Replayed: true) instead of a
//	                         second order; the same key with another body is 422. A ref already used
//	                         without a key is 409.
//	GET   /api/orders/{id}   → 200 {"data": {"order": Order}} or 404
//	GET   /api/orders?ref=R  → 200 {"data": {"orders": [Order…]}} (every order when ref is absent)
//	PATCH /api/orders/{id}   {"status"} → 200 {"data": {"order": Order}}
//
// An order's status moves forward only: received → picking → packed →
// shipped → delivered. Each change is appended to the shipment feed and
// delivered to webhooks subscribed to "order.status_changed".
//
// # Feeds (polling)
//
//	GET /api/shipments?since=<seq>&limit=<n>  shipment status changes with seq > since
//	GET /api/stock?since=<seq>&limit=<n>      stock changes by SKU with seq > since
//	PUT /api/stock/{sku} {"qty"}              sets a SKU's stock → 200 {"data": {"stock": {"sku", "qty"}}}
//
// Both feeds answer {"data": {"items": [...], "next_since": <last seq>,
// "has_more": bool}}; seq is monotonic per feed, limit defaults to 50 (at
// most 100). A stock change is delivered to webhooks subscribed to
// "stock.changed".
//
// # Webhooks
//
//	POST   /api/webhooks {"url", "events": [...], "secret"} → 201 {"data": {"webhook": {"id", "url", "events"}}}
//	GET    /api/webhooks                                    → 200 {"data": {"webhooks": [...]}}
//	DELETE /api/webhooks/{id}                               → 204
//
// A delivery is a POST of {"id", "event", "created_at", "data"} with
// X-Warehouse-Event, X-Warehouse-Delivery (the delivery id, the same on a
// redelivery) and X-Warehouse-Signature: "sha256=" + hex(HMAC-SHA256(secret,
// raw body)). Deliveries are made synchronously, right after the change,
// by the goroutine that made it, so a test sees them once its call returns.
//
// # Event stream (WebSocket)
//
//	GET /api/stream?since=<seq>   upgraded to WebSocket
//
// Every change that feeds /api/shipments or /api/stock is also published
// on the stream, as one JSON text message each:
//
//	{"type": "event", "seq": <seq>, "event": {"id", "kind", "data", "at"}}
//
// seq is the feed's seq (monotonic, > since); kind is
// "order.status_changed" or "stock.changed"; data is the very item the
// REST feed returns for that change; at is RFC 3339; id is unique, also
// across Resets. Without since the stream starts at the oldest retained
// event. The server pings every Options.PingInterval (10 s by default),
// answers the client's pings, and drops a peer that leaves a ping
// unanswered for two intervals (at least 5 s).
//
// The token (account or session) comes as "Authorization: Bearer <token>",
// or as ?token=<token> for clients that cannot set headers, or, when
// neither, as the first message {"type": "auth", "token"} within 5 s.
// Afterwards a client may send {"type": "subscribe", "kinds": [...]} to
// receive only those kinds (none: all). Refusals are one error message
// and a close:
//
//	{"type": "error", "code": "unauthorized", "message"}                close 4401
//	{"type": "error", "code": "bad_request", "message"}                 close 4400 (bad since, unknown message or kind)
//	{"type": "error", "code": "position_expired", "message", "oldest"}  close 4410
//
// position_expired answers a since older than the retention
// (SetRetention: the last n events; by default every event since Reset),
// or ahead of the stream after a Reset; oldest is the oldest seq still
// delivered. Publishing never waits for a client: each has a buffer of
// Options.StreamBuffer events, and a client that lets it fill is closed
// with 1008 and resumes with since. Reset closes every stream with 1012.
//
// DropStream closes every stream's TCP connection without a close frame,
// MalformedStream sends each one frame that is not JSON, and PauseStream
// holds events back (pings go on) until it is called with false. The
// upgrade request passes through Fail and the rate limit like any other.
//
// # Errors and test switches
//
// With Options.RateLimit set, every answer carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset, and requests over the
// limit in a one-minute window are 429 with Retry-After.
//
// Errors are {"error": {"code", "message"}} with, for validation failures
// (422), "errors": {"field.path": ["message"]}. Fail makes the next
// requests answer 429 with Retry-After, 500, 401, or a malformed JSON body;
// Advance and SetStock change state as the warehouse floor would; Reset
// returns to the seeded account. Control serves the same switches over
// HTTP for `hub sandbox`.
//
// The package keeps all state in a Sim and opens no listener of its own;
// it must not import the rest of hub.
package warehouse
