// Package shopify is an in-memory simulator of the parts of Shopify's REST
// Admin API that hub's shopify connector uses, for the connector's tests and
// for `hub sandbox`.
//
// It serves, under /admin/api/<version>/ as the real API does: the shop,
// orders (list with Link/page_info pagination, read, create, update),
// fulfillment orders and fulfillments, products with their variants,
// inventory levels (list and set), and the webhook subscription registry.
// Every request must carry the shop's access token in X-Shopify-Access-Token;
// answers carry X-Shopify-Shop-Api-Call-Limit. Error bodies use Shopify's
// {"errors": ...} shapes.
//
// Changes made through the API, and orders placed with PlaceOrder (a customer
// checking out), are delivered as webhooks to the registered addresses,
// signed the way Shopify signs them: X-Shopify-Hmac-Sha256 is the base64
// HMAC-SHA256 of the raw body under the app's client secret.
//
// Each delivery is made once, in the background; Wait blocks until every
// one has been answered and Deliveries shows the answers. (Shopify retries
// failed deliveries for hours; the simulator does not.)
//
// Kept small on purpose: list answers link to the next page only (no
// rel="previous"), orders do not reserve or decrement stock, order totals
// carry no tax or shipping, and only the topics above are delivered.
//
// Tests make it misbehave on demand (Fail: 429 with Retry-After, 401, 5xx,
// malformed JSON) and return it to its seed with Reset. The seed is written in
// Go and needs no files. The package owns no listener: callers mount Handler
// (the API) and Control (test switches) where they like.
package shopify
