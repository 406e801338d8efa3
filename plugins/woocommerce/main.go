// Command hub-connector-woocommerce is hub's connector for WooCommerce
// shops, through the WooCommerce REST API v3
// (https://woocommerce.github.io/woocommerce-rest-api-docs/): order
// webhooks verified with X-WC-Webhook-Signature, an orders poll trigger on
// date_modified_gmt, and actions to read, search, create and update orders
// and to set a product's stock.
package main

import (
	"context"
	"net/http"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// version is set at build time with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() { sdk.Serve(connector()) }

// connector declares the WooCommerce connector.
func connector() *sdk.Connector { return newConnector(nil) }

// wc holds what the handlers share: the base HTTP client for requests that
// must not carry the connection's Basic header (query-string and OAuth 1.0a
// auth). nil means a default client; tests point it at their TLS server.
type wc struct {
	base *http.Client
}

func newConnector(base *http.Client) *sdk.Connector {
	w := &wc{base: base}
	return &sdk.Connector{
		Name:        "woocommerce",
		Version:     version,
		DisplayName: "WooCommerce",
		Description: "WooCommerce shops through the REST API v3: order webhooks and polling, order actions and stock updates.",
		Homepage:    "https://github.com/hubhq/hub/tree/main/plugins/woocommerce",
		Categories:  []string{"commerce", "cart"},
		Auth: []schema.AuthScheme{{
			Type: schema.AuthBasic,
			Description: "A REST API key (WooCommerce → Settings → Advanced → REST API): username = consumer key (ck_…), password = consumer secret (cs_…). " +
				"Over https it is sent as HTTP Basic (or in the query with auth_in_query); over plain http the connector signs requests with OAuth 1.0a instead, as WooCommerce requires.",
		}},
		Properties: []schema.Field{
			{Name: "base_url", Type: schema.String, Required: true, Format: schema.FormatURI,
				Description: "The shop's site URL as WordPress knows it (its home URL), e.g. https://shop.example.com.",
				Example:     sdk.JSON("https://shop.example.com")},
			{Name: "api_prefix", Type: schema.String, Default: sdk.JSON(defaultPrefix),
				Description: "Path of the REST API v3 under the site URL."},
			{Name: "auth_in_query", Type: schema.Boolean, Default: sdk.JSON(false),
				Description: "Send consumer_key and consumer_secret as query parameters instead of an Authorization header, for servers that strip it (https only)."},
		},
		Check:    w.check,
		Triggers: []sdk.Trigger{w.orderWebhook("order_created", "order.created"), w.orderWebhook("order_updated", "order.updated"), w.ordersPoll()},
		Actions:  []sdk.Action{w.getOrder(), w.searchOrders(), w.createOrder(), w.updateOrder(), w.updateStock()},
	}
}

// check lists one order, which needs read access to orders, and names the
// shop.
func (w *wc) check(ctx context.Context, c *sdk.Conn) (string, error) {
	a, err := w.api(c)
	if err != nil {
		return "", err
	}
	var orders []map[string]any
	if _, err := a.do(ctx, http.MethodGet, "/orders", map[string][]string{"per_page": {"1"}}, nil, &orders); err != nil {
		return "", err
	}
	return "WooCommerce shop " + a.site, nil
}
