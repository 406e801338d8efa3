package main

import (
	"encoding/json"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// The shapes below name the fields workflows usually read; every object is
// open (AdditionalProperties) because Shopify's resources carry many more,
// and they pass through exactly as Shopify sent them.

func orderShape() *schema.Field {
	f := sdk.Object(
		schema.Field{Name: "id", Type: schema.Integer, Description: "The order's id."},
		schema.Field{Name: "name", Type: schema.String, Description: `The order's name shown to the merchant, e.g. "#1001".`},
		schema.Field{Name: "order_number", Type: schema.Integer, Description: "The order's number in the shop's sequence."},
		schema.Field{Name: "email", Type: schema.String, Description: "The customer's email address."},
		schema.Field{Name: "financial_status", Type: schema.String, Description: "Payment state: pending, authorized, partially_paid, paid, partially_refunded, refunded or voided."},
		schema.Field{Name: "fulfillment_status", Type: schema.String, Description: "Shipping state: null (nothing shipped), partial or fulfilled."},
		schema.Field{Name: "tags", Type: schema.String, Description: "Comma-separated tags."},
		schema.Field{Name: "note", Type: schema.String, Description: "The merchant's note on the order."},
		schema.Field{Name: "currency", Type: schema.String, Description: "Shop currency code."},
		schema.Field{Name: "total_price", Type: schema.String, Description: "Total in the shop currency, a decimal string."},
		schema.Field{Name: "created_at", Type: schema.String, Description: "When the order was created (ISO 8601)."},
		schema.Field{Name: "updated_at", Type: schema.String, Description: "When the order last changed (ISO 8601)."},
		schema.Field{Name: "customer", Type: schema.Object, AdditionalProperties: true, Description: "The customer: id, email, first_name, last_name and more."},
		schema.Field{Name: "shipping_address", Type: schema.Object, AdditionalProperties: true, Description: "Where to ship: name, address1, city, zip, country_code and more."},
		schema.Field{Name: "line_items", Type: schema.List, Description: "The order's lines.", Items: &schema.Field{
			Type: schema.Object, AdditionalProperties: true, Description: "One line: sku, quantity, price, variant_id, title and more.",
		}},
		schema.Field{Name: "fulfillments", Type: schema.List, Description: "Shipments made so far.", Items: &schema.Field{
			Type: schema.Object, AdditionalProperties: true, Description: "One fulfillment: id, status, tracking_number, tracking_company, tracking_url and more.",
		}},
	)
	f.AdditionalProperties = true
	f.Description = "A Shopify order (the REST Order resource) as Shopify sent it."
	return f
}

func inventoryLevelShape() *schema.Field {
	f := sdk.Object(
		schema.Field{Name: "inventory_item_id", Type: schema.Integer, Description: "The inventory item (one per variant)."},
		schema.Field{Name: "location_id", Type: schema.Integer, Description: "The location holding the stock."},
		schema.Field{Name: "available", Type: schema.Integer, Description: "Quantity available to sell at the location."},
		schema.Field{Name: "updated_at", Type: schema.String, Description: "When the level last changed (ISO 8601)."},
	)
	f.AdditionalProperties = true
	f.Description = "A Shopify inventory level (the REST InventoryLevel resource)."
	return f
}

func fulfillmentShape() *schema.Field {
	f := sdk.Object(
		schema.Field{Name: "id", Type: schema.Integer, Description: "The fulfillment's id."},
		schema.Field{Name: "order_id", Type: schema.Integer, Description: "The order it ships."},
		schema.Field{Name: "name", Type: schema.String, Description: `Its name, e.g. "#1001.1".`},
		schema.Field{Name: "status", Type: schema.String, Description: "success, cancelled, error or failure."},
		schema.Field{Name: "tracking_number", Type: schema.String, Description: "The carrier's tracking number."},
		schema.Field{Name: "tracking_company", Type: schema.String, Description: "The carrier."},
		schema.Field{Name: "tracking_url", Type: schema.String, Description: "Where to track the parcel."},
		schema.Field{Name: "location_id", Type: schema.Integer, Description: "The location it shipped from."},
	)
	f.AdditionalProperties = true
	f.Description = "A Shopify fulfillment (the REST Fulfillment resource)."
	return f
}

func exampleOrder() json.RawMessage {
	return sdk.JSON(map[string]any{
		"id": 450789469, "name": "#1001", "order_number": 1001, "email": "bob.norman@mail.example.com",
		"financial_status": "paid", "fulfillment_status": nil, "tags": "", "currency": "USD", "total_price": "597.00",
		"created_at": "2025-04-02T11:29:59-05:00", "updated_at": "2025-04-02T11:29:59-05:00",
		"line_items": []any{map[string]any{"id": 466157049, "sku": "IPOD2008GREEN", "quantity": 1, "price": "199.00", "variant_id": 39072856}},
	})
}

func exampleInventoryLevel() json.RawMessage {
	return sdk.JSON(map[string]any{"inventory_item_id": 808950810, "location_id": 655441491, "available": 42, "updated_at": "2025-04-02T11:30:13-05:00"})
}

func exampleFulfillment() json.RawMessage {
	return sdk.JSON(map[string]any{"id": 1069019877, "order_id": 450789469, "name": "#1001.1", "status": "success",
		"tracking_number": "MS1562678", "tracking_company": "UPS", "tracking_url": "https://www.my-shipping-company.com?tracking_number=MS1562678", "location_id": 655441491})
}
