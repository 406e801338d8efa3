// Command hub-connector-shopify is hub's Shopify connector. It talks to a
// shop's REST Admin API with an Admin API access token: webhook triggers for
// orders and inventory (verified with Shopify's HMAC-SHA256 signature), an
// orders poll trigger that follows updated_at with Link-header pagination,
// and actions to read, search, create, tag and fulfil orders and to set
// inventory levels.
package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// version is set at build time with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() { sdk.Serve(connector()) }

// defaultAPIVersion is the Admin API version a connection uses unless it
// names another; Shopify supports each version for at least a year.
const defaultAPIVersion = "2025-07"

// connector declares the Shopify connector.
func connector() *sdk.Connector {
	return &sdk.Connector{
		Name:        "shopify",
		Version:     version,
		DisplayName: "Shopify",
		Description: "Orders, fulfillments and inventory of a Shopify shop through the REST Admin API: order and inventory webhooks verified by HMAC, an orders poll trigger, and order, fulfillment and inventory actions.",
		Homepage:    "https://github.com/hubhq/hub/tree/main/plugins/shopify",
		Categories:  []string{"commerce", "ecommerce"},
		Auth: []schema.AuthScheme{
			{Type: schema.AuthAPIKey,
				Description: "An Admin API access token (shpat_...) of a custom app installed on the shop, sent as X-Shopify-Access-Token. The app needs read_orders, write_orders, read_products, read_inventory, write_inventory and write_merchant_managed_fulfillment_orders.",
				APIKey:      &schema.APIKeySpec{In: schema.InHeader, Name: "X-Shopify-Access-Token"}},
		},
		Properties: []schema.Field{
			{Name: "shop", Type: schema.String, Required: true,
				Description: `The shop's myshopify domain, e.g. "acme.myshopify.com" (a bare "acme" means acme.myshopify.com).`,
				Example:     sdk.JSON("acme.myshopify.com")},
			{Name: "api_version", Type: schema.String, Default: sdk.JSON(defaultAPIVersion),
				Description: `Admin API version in the request paths, e.g. "2025-07".`, Example: sdk.JSON(defaultAPIVersion)},
			{Name: "base_url", Type: schema.String, Format: schema.FormatURI,
				Description: "Where to send API calls instead of https://<shop>, e.g. the hub sandbox's Shopify simulator.",
				Example:     sdk.JSON("http://127.0.0.1:8701")},
		},
		Check: checkConnection,
		Triggers: []sdk.Trigger{
			webhookTrigger("order_created", "Order created", "orders/create", "A new order was placed or created (topic orders/create)."),
			webhookTrigger("order_updated", "Order updated", "orders/updated", "An order changed: tags, notes, payment, fulfillment and so on (topic orders/updated)."),
			webhookTrigger("order_fulfilled", "Order fulfilled", "orders/fulfilled", "Every line of an order that needs shipping was fulfilled (topic orders/fulfilled)."),
			webhookTrigger("inventory_level_updated", "Inventory level updated", "inventory_levels/update", "The available quantity of an inventory item at a location changed (topic inventory_levels/update)."),
			ordersPollTrigger(),
		},
		Actions: []sdk.Action{
			getOrderAction(), searchOrdersAction(), createOrderAction(), updateOrderAction(),
			createFulfillmentAction(), setInventoryLevelAction(), findInventoryItemAction(),
		},
	}
}

// checkConnection proves the token reaches the shop by reading it.
func checkConnection(ctx context.Context, c *sdk.Conn) (string, error) {
	a, err := newAPI(c)
	if err != nil {
		return "", err
	}
	var out struct {
		Shop struct {
			Name            string `json:"name"`
			MyshopifyDomain string `json:"myshopify_domain"`
		} `json:"shop"`
	}
	if _, err := a.call(ctx, http.MethodGet, a.endpoint("shop.json", nil), nil, &out); err != nil {
		return "", err
	}
	return fmt.Sprintf("shop %s (%s)", out.Shop.MyshopifyDomain, out.Shop.Name), nil
}
