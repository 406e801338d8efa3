// Package woocommerce is the sandbox's in-memory simulator of a
// WooCommerce shop's REST API v3 (https://woocommerce.github.io/woocommerce-rest-api-docs/),
// the cart hub's woocommerce connector talks to. It serves, under the real
// paths (Handler, prefix /wp-json/wc/v3):
//
//	GET    /orders                         list (status, search, after, before, modified_after,
//	                                       modified_before, dates_are_gmt, orderby, order, per_page, page)
//	POST   /orders                         create
//	GET    /orders/{id}                    one order
//	PUT    /orders/{id}                    update (status, meta_data, customer_note); POST works too
//	GET    /orders/{id}/notes              an order's notes
//	POST   /orders/{id}/notes              add a note
//	GET    /products                       list; sku=A,B finds products and variations
//	GET    /products/{id}                  one product
//	PUT    /products/{id}                  update stock (manage_stock, stock_quantity)
//	PUT    /products/{pid}/variations/{id} the same for a variation
//	GET    /webhooks, POST /webhooks       webhook registry
//	GET    /webhooks/{id}, DELETE /webhooks/{id}?force=true
//
// Payloads have the field names, order and shapes of the docs' examples.
// Lists carry X-WP-Total, X-WP-TotalPages and a Link header with rel="prev"
// and rel="next". Errors are {"code", "message", "data": {"status"}}.
//
// Authentication follows class-wc-rest-authentication.php: over TLS, HTTP
// Basic (consumer key and secret) or consumer_key/consumer_secret query
// parameters; over plain HTTP, OAuth 1.0a one-legged signatures in the query
// (HMAC-SHA1 or HMAC-SHA256, a 15-minute timestamp window, nonces used
// once). A request with no usable credentials gets 401
// woocommerce_rest_cannot_view, as WordPress answers an anonymous caller.
//
// Webhooks are delivered the way class-wc-webhook.php delivers them: the
// order as the REST API returns it, encoded like wp_json_encode (compact,
// "/" escaped as "\/"), signed with X-WC-Webhook-Signature =
// base64(HMAC-SHA256(body, secret)) and the other X-WC-Webhook-* headers,
// on order.created and order.updated; creating a webhook sends the ping
// (body "webhook_id=<id>", no signature). Deliveries run in the background
// in order; Flush waits for them.
//
// Switches make the API answer 429 (with Retry-After), 401, 5xx or
// malformed JSON on demand. Reset returns to the seeded shop. The package
// owns no listener: callers mount Handler and Control where they like.
package woocommerce
