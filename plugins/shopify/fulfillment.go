package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

type createFulfillmentInput struct {
	OrderID         json.Number `json:"order_id"`
	TrackingNumber  string      `json:"tracking_number"`
	TrackingCompany string      `json:"tracking_company"`
	TrackingURL     string      `json:"tracking_url"`
	NotifyCustomer  bool        `json:"notify_customer"`
	LocationID      json.Number `json:"location_id"`
}

type createFulfillmentOutput struct {
	Fulfillment  json.RawMessage   `json:"fulfillment"`
	Fulfillments []json.RawMessage `json:"fulfillments"`
	Created      bool              `json:"created"`
}

// fulfillmentOrder is what create_fulfillment reads of a fulfillment order.
type fulfillmentOrder struct {
	ID                 int64    `json:"id"`
	Status             string   `json:"status"`
	AssignedLocationID int64    `json:"assigned_location_id"`
	LineItems          []foLine `json:"line_items"`
}

type foLine struct {
	FulfillableQuantity int `json:"fulfillable_quantity"`
}

func (f fulfillmentOrder) fulfillable() bool {
	if f.Status != "open" && f.Status != "in_progress" {
		return false
	}
	return slices.ContainsFunc(f.LineItems, func(l foLine) bool { return l.FulfillableQuantity > 0 })
}

func createFulfillmentAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "create_fulfillment", DisplayName: "Create fulfillment", Kind: schema.KindCreate, Idempotent: true,
		Description: "Ships everything left to ship on an order: reads its fulfillment orders (GET /orders/<id>/fulfillment_orders.json) and fulfils the open ones, one fulfillment per location (POST /fulfillments.json with line_items_by_fulfillment_order and tracking_info). When nothing is left open, the order's existing fulfillments are returned with created=false, so a repeated step does not fail or ship twice.",
		Input: sdk.Object(
			schema.Field{Name: "order_id", Type: schema.Integer, Required: true, Description: "The order to fulfil."},
			schema.Field{Name: "tracking_number", Type: schema.String, Description: "The carrier's tracking number (an AWB)."},
			schema.Field{Name: "tracking_company", Type: schema.String, Description: `The carrier, e.g. "UPS" or "Delhivery".`},
			schema.Field{Name: "tracking_url", Type: schema.String, Format: schema.FormatURI, Description: "Where the customer can track the parcel."},
			schema.Field{Name: "notify_customer", Type: schema.Boolean, Default: sdk.JSON(false), Description: "Email the customer a shipping confirmation."},
			schema.Field{Name: "location_id", Type: schema.Integer, Description: "Fulfil only what is assigned to this location."},
		),
		Output: sdk.Object(
			schema.Field{Name: "fulfillment", Type: schema.Object, AdditionalProperties: true, Description: "The first fulfillment made (or found): " + fulfillmentShape().Description},
			schema.Field{Name: "fulfillments", Type: schema.List, Items: fulfillmentShape(), Description: "Every fulfillment made (or found), one per location."},
			schema.Field{Name: "created", Type: schema.Boolean, Description: "False when the order had nothing open and existing fulfillments were returned."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"order_id": 450789469, "tracking_number": "MS1562678", "tracking_company": "UPS"}),
		ExampleOutput: sdk.JSON(map[string]any{"fulfillment": exampleFulfillment(), "fulfillments": []json.RawMessage{exampleFulfillment()}, "created": true}),
	}, createFulfillment)
}

func createFulfillment(ctx context.Context, c *sdk.Conn, in createFulfillmentInput, _ sdk.ActionCall) (createFulfillmentOutput, error) {
	a, err := newAPI(c)
	if err != nil {
		return createFulfillmentOutput{}, err
	}
	id := in.OrderID.String()
	var fos struct {
		FulfillmentOrders []fulfillmentOrder `json:"fulfillment_orders"`
	}
	_, err = a.call(ctx, http.MethodGet, a.endpoint("orders/"+id+"/fulfillment_orders.json", nil), nil, &fos)
	if notFound(err) {
		return createFulfillmentOutput{}, sdk.Invalid("no such order", sdk.Violation{Path: "order_id", Message: "the shop has no order " + id})
	}
	if err != nil {
		return createFulfillmentOutput{}, err
	}
	// Shopify fulfils fulfillment orders of one location per request.
	var locations []int64
	byLocation := map[int64][]map[string]any{}
	for _, fo := range fos.FulfillmentOrders {
		if !fo.fulfillable() || (in.LocationID != "" && strconv.FormatInt(fo.AssignedLocationID, 10) != in.LocationID.String()) {
			continue
		}
		if _, ok := byLocation[fo.AssignedLocationID]; !ok {
			locations = append(locations, fo.AssignedLocationID)
		}
		byLocation[fo.AssignedLocationID] = append(byLocation[fo.AssignedLocationID], map[string]any{"fulfillment_order_id": fo.ID})
	}
	if len(locations) == 0 {
		return existingFulfillments(ctx, a, id, in.TrackingNumber)
	}
	out := createFulfillmentOutput{Created: true}
	for _, loc := range locations {
		f := map[string]any{"line_items_by_fulfillment_order": byLocation[loc], "notify_customer": in.NotifyCustomer}
		tracking := map[string]any{}
		for k, v := range map[string]string{"number": in.TrackingNumber, "company": in.TrackingCompany, "url": in.TrackingURL} {
			if v != "" {
				tracking[k] = v
			}
		}
		if len(tracking) > 0 {
			f["tracking_info"] = tracking
		}
		var res struct {
			Fulfillment json.RawMessage `json:"fulfillment"`
		}
		if _, err := a.call(ctx, http.MethodPost, a.endpoint("fulfillments.json", nil), map[string]any{"fulfillment": f}, &res); err != nil {
			return createFulfillmentOutput{}, err
		}
		out.Fulfillments = append(out.Fulfillments, res.Fulfillment)
	}
	out.Fulfillment = out.Fulfillments[0]
	return out, nil
}

// existingFulfillments answers for an order with nothing left to fulfil:
// its successful fulfillments (those with the tracking number, when one
// was given), or invalid input when it has none.
func existingFulfillments(ctx context.Context, a *api, id, tracking string) (createFulfillmentOutput, error) {
	var list struct {
		Fulfillments []json.RawMessage `json:"fulfillments"`
	}
	if _, err := a.call(ctx, http.MethodGet, a.endpoint("orders/"+id+"/fulfillments.json", nil), nil, &list); err != nil {
		return createFulfillmentOutput{}, err
	}
	out := createFulfillmentOutput{}
	for _, raw := range list.Fulfillments {
		var f struct {
			Status         string `json:"status"`
			TrackingNumber string `json:"tracking_number"`
		}
		if json.Unmarshal(raw, &f) != nil || f.Status != "success" || (tracking != "" && f.TrackingNumber != tracking) {
			continue
		}
		out.Fulfillments = append(out.Fulfillments, raw)
	}
	if len(out.Fulfillments) == 0 {
		return out, sdk.Invalid("nothing to fulfil", sdk.Violation{Path: "order_id", Message: "order " + id + " has no open fulfillment order and no matching fulfillment"})
	}
	out.Fulfillment = out.Fulfillments[0]
	return out, nil
}
