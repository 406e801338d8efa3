package main

import (
	"encoding/json"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// gmtLayout is how the API writes *_gmt dates: UTC, no zone suffix.
const gmtLayout = "2006-01-02T15:04:05"

// orderHead is the part of an order the connector reads itself.
type orderHead struct {
	ID              int64  `json:"id"`
	DateModifiedGMT string `json:"date_modified_gmt"`
	DateCreatedGMT  string `json:"date_created_gmt"`
	MetaData        []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"meta_data"`
}

func parseGMT(s string) time.Time {
	t, err := time.Parse(gmtLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// looseObject is an object whose declared properties are checked and
// whose other keys pass.
func looseObject(name, description string, props ...schema.Field) schema.Field {
	return schema.Field{Name: name, Type: schema.Object, AdditionalProperties: true, Description: description, Properties: props}
}

func str(name, description string) schema.Field {
	return schema.Field{Name: name, Type: schema.String, Description: description}
}

func integer(name, description string) schema.Field {
	return schema.Field{Name: name, Type: schema.Integer, Description: description}
}

// orderShape is an order as the API returns it; the fields hub's
// workflows use most are declared, the rest pass as they come.
func orderShape(description string) *schema.Field {
	f := looseObject("", description,
		integer("id", "Order id."),
		str("number", "Order number shown to the shopper."),
		str("status", "pending, processing, on-hold, completed, cancelled, refunded, failed or trash."),
		str("currency", "ISO currency code."),
		str("total", "Grand total, as a decimal string."),
		str("date_created_gmt", "When the order was created, UTC."),
		str("date_modified_gmt", "When the order last changed, UTC."),
		looseObject("billing", "Billing address, email and phone."),
		looseObject("shipping", "Shipping address."),
		schema.Field{Name: "line_items", Type: schema.List, Description: "Ordered products.",
			Items: ptr(looseObject("", "One line.",
				integer("product_id", "Product id."),
				integer("variation_id", "Variation id, 0 for a simple product."),
				integer("quantity", "Quantity ordered."),
				str("sku", "The product's SKU."),
				str("name", "Product name.")))},
		schema.Field{Name: "meta_data", Type: schema.List, Description: "Custom fields.",
			Items: ptr(looseObject("", "One custom field.", str("key", "Meta key.")))},
	)
	return &f
}

func ptr[T any](v T) *T { return &v }

// exampleOrder is an order of the shape orderShape declares, for schema
// listings.
func exampleOrder() json.RawMessage {
	return sdk.JSON(map[string]any{
		"id": 727, "number": "727", "status": "processing", "currency": "USD", "total": "29.35",
		"date_created_gmt": "2017-03-22T19:28:02", "date_modified_gmt": "2017-03-22T19:28:08",
		"billing":    map[string]any{"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"},
		"shipping":   map[string]any{"first_name": "John", "last_name": "Doe", "city": "San Francisco", "country": "US"},
		"line_items": []any{map[string]any{"product_id": 22, "variation_id": 23, "quantity": 1, "sku": "Bar3", "name": "Ship Your Idea"}},
		"meta_data":  []any{map[string]any{"id": 13106, "key": "_download_permissions_granted", "value": "yes"}},
	})
}
