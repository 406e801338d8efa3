// Command hub-connector-shiprocket is hub's connector for Shiprocket
// (https://www.shiprocket.in), India's shipping aggregator: it creates
// custom shipment orders, assigns AWBs, reads orders and tracks parcels,
// and turns tracking changes into events (shipped, out for delivery,
// delivered, ...) by polling or through Shiprocket's tracking webhook.
//
// It follows Shiprocket's external API (https://apidocs.shiprocket.in/):
// a session login (API user email + password exchanged for a JWT valid
// 10 days, sent as "Authorization: Bearer"), JSON bodies, 422 answers
// listing field errors.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// version is set at build time with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() { sdk.Serve(connector()) }

// DefaultBaseURL is Shiprocket's production API.
const DefaultBaseURL = "https://apiv2.shiprocket.in"

// connector declares the Shiprocket connector.
func connector() *sdk.Connector {
	return &sdk.Connector{
		Name:        "shiprocket",
		Version:     version,
		DisplayName: "Shiprocket",
		Description: "Shiprocket shipping: create shipment orders, assign AWBs, track parcels, and react to tracking changes (shipped, out for delivery, delivered).",
		Homepage:    "https://github.com/hubhq/hub/tree/main/plugins/shiprocket",
		Categories:  []string{"shipping", "logistics"},
		Auth:        []schema.AuthScheme{sessionScheme()},
		Properties: []schema.Field{
			{Name: "base_url", Type: schema.String, Format: schema.FormatURI, Default: sdk.JSON(DefaultBaseURL),
				Example:     sdk.JSON("http://127.0.0.1:8490"),
				Description: "Shiprocket API root; point it at the sandbox simulator to try hub without an account."},
		},
		Check:  checkConnection,
		Login:  login,
		Logout: logout,
		Actions: []sdk.Action{
			createOrderAction(), assignAWBAction(), getOrderAction(), trackShipmentAction(),
		},
		Triggers: []sdk.Trigger{trackingStatusTrigger(), trackingUpdateTrigger()},
	}
}

type props struct {
	BaseURL string `json:"base_url"`
}

// baseURL is the connection's API root without a trailing slash.
func baseURL(c *sdk.Conn) (string, error) {
	var p props
	if err := c.Properties(&p); err != nil {
		return "", err
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", sdk.Invalid("base_url is not an http(s) URL", sdk.Violation{Path: "properties.base_url", Message: fmt.Sprintf("%q", p.BaseURL)})
	}
	return strings.TrimRight(p.BaseURL, "/"), nil
}

// maxBody bounds what one answer may hold; tracking answers with long
// scan histories are a few tens of kilobytes.
const maxBody = 8 << 20

// call sends in (when not nil) as JSON to path with the connection's
// session and decodes the answer into out (when not nil). Failures come
// back classified by the SDK (401 auth_expired, 429 rate_limited, 5xx
// retryable, 400/422 invalid_input with the field errors). An answer that
// is not JSON is retryable: Shiprocket's gateways answer overload with
// truncated or HTML bodies, and a later attempt gets the real answer.
func call(ctx context.Context, c *sdk.Conn, method, path string, in, out any) error {
	base, err := baseURL(c)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return sdk.Permanent("encode %s %s body: %v", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return sdk.Permanent("build %s %s request: %v", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return sdk.Retryable("read %s %s answer: %v", method, path, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return sdk.Retryable("%s %s answered %s with a body that is not the expected JSON: %v", method, path, resp.Status, err)
	}
	return nil
}

// ---- check

type pickupAnswer struct {
	Data struct {
		ShippingAddress []struct {
			PickupLocation string `json:"pickup_location"`
		} `json:"shipping_address"`
		CompanyName string `json:"company_name"`
	} `json:"data"`
}

// checkConnection reads the pickup locations (GET
// /v1/external/settings/company/pickup): the cheapest authenticated call,
// and the names create_shipment_order's pickup_location must match.
func checkConnection(ctx context.Context, c *sdk.Conn) (string, error) {
	var ans pickupAnswer
	if err := call(ctx, c, http.MethodGet, "/v1/external/settings/company/pickup", nil, &ans); err != nil {
		return "", err
	}
	names := make([]string, 0, len(ans.Data.ShippingAddress))
	for _, a := range ans.Data.ShippingAddress {
		names = append(names, a.PickupLocation)
	}
	return fmt.Sprintf("Shiprocket company %q (pickup locations: %s)", ans.Data.CompanyName, strings.Join(names, ", ")), nil
}
