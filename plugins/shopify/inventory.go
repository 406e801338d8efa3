package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// ---- set_inventory_level

type setInventoryInput struct {
	InventoryItemID json.Number `json:"inventory_item_id"`
	LocationID      json.Number `json:"location_id"`
	Available       int         `json:"available"`
}

func setInventoryLevelAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "set_inventory_level", DisplayName: "Set inventory level", Kind: schema.KindUpdate, Idempotent: true,
		Description: "Sets the available quantity of an inventory item at a location (POST /inventory_levels/set.json). Without location_id, the item's only stocked location is used; an item stocked at several locations needs location_id.",
		Input: sdk.Object(
			schema.Field{Name: "inventory_item_id", Type: schema.Integer, Required: true, Description: "The inventory item (see find_inventory_item)."},
			schema.Field{Name: "location_id", Type: schema.Integer, Description: "The location whose stock to set."},
			schema.Field{Name: "available", Type: schema.Integer, Required: true, Description: "The new available quantity."},
		),
		Output:        inventoryLevelShape(),
		ExampleInput:  sdk.JSON(map[string]any{"inventory_item_id": 808950810, "location_id": 655441491, "available": 42}),
		ExampleOutput: exampleInventoryLevel(),
	}, setInventoryLevel)
}

func setInventoryLevel(ctx context.Context, c *sdk.Conn, in setInventoryInput, _ sdk.ActionCall) (json.RawMessage, error) {
	a, err := newAPI(c)
	if err != nil {
		return nil, err
	}
	location := in.LocationID.String()
	if location == "" {
		if location, err = a.onlyLocation(ctx, in.InventoryItemID.String()); err != nil {
			return nil, err
		}
	}
	body := map[string]any{"location_id": json.Number(location), "inventory_item_id": in.InventoryItemID, "available": in.Available}
	var out struct {
		InventoryLevel json.RawMessage `json:"inventory_level"`
	}
	if _, err := a.call(ctx, http.MethodPost, a.endpoint("inventory_levels/set.json", nil), body, &out); err != nil {
		return nil, err
	}
	if len(out.InventoryLevel) == 0 {
		return nil, sdk.Retryable("POST inventory_levels/set.json: the answer has no inventory_level")
	}
	return out.InventoryLevel, nil
}

// onlyLocation returns the one location stocking item.
func (a *api) onlyLocation(ctx context.Context, item string) (string, error) {
	var out struct {
		InventoryLevels []struct {
			LocationID json.Number `json:"location_id"`
		} `json:"inventory_levels"`
	}
	if _, err := a.call(ctx, http.MethodGet, a.endpoint("inventory_levels.json", url.Values{"inventory_item_ids": {item}}), nil, &out); err != nil {
		return "", err
	}
	switch len(out.InventoryLevels) {
	case 1:
		return out.InventoryLevels[0].LocationID.String(), nil
	case 0:
		return "", sdk.Invalid("the item is stocked nowhere", sdk.Violation{Path: "location_id", Message: "inventory item " + item + " has no location; give location_id"})
	}
	var ids []string
	for _, l := range out.InventoryLevels {
		ids = append(ids, l.LocationID.String())
	}
	return "", sdk.Invalid("the item is stocked at several locations", sdk.Violation{Path: "location_id", Message: "required: inventory item " + item + " is stocked at " + strings.Join(ids, ", ")})
}

// ---- find_inventory_item

type findInventoryInput struct {
	SKU string `json:"sku"`
}

// variantHit is a variant found by SKU.
type variantHit struct {
	Found           bool        `json:"found"`
	SKU             string      `json:"sku"`
	InventoryItemID json.Number `json:"inventory_item_id,omitempty"`
	VariantID       json.Number `json:"variant_id,omitempty"`
	ProductID       json.Number `json:"product_id,omitempty"`
	Title           string      `json:"title,omitempty"`
}

func findInventoryItemAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "find_inventory_item", DisplayName: "Find inventory item by SKU", Kind: schema.KindSearch, Idempotent: true,
		Description: "Finds the variant with a SKU and its inventory item. The REST Admin API has no SKU filter, so the connector reads the catalogue (GET /products.json?fields=id,title,variants, 250 products a page, following Link pages) and stops at the first match. found is false when no variant has the SKU.",
		Input: sdk.Object(
			schema.Field{Name: "sku", Type: schema.String, Required: true, Description: "The SKU, compared exactly."},
		),
		Output: sdk.Object(
			schema.Field{Name: "found", Type: schema.Boolean, Description: "Whether a variant has the SKU."},
			schema.Field{Name: "sku", Type: schema.String, Description: "The SKU searched for."},
			schema.Field{Name: "inventory_item_id", Type: schema.Integer, Description: "The variant's inventory item, for set_inventory_level."},
			schema.Field{Name: "variant_id", Type: schema.Integer, Description: "The variant."},
			schema.Field{Name: "product_id", Type: schema.Integer, Description: "The variant's product."},
			schema.Field{Name: "title", Type: schema.String, Description: "Product and variant title."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"sku": "IPOD2008GREEN"}),
		ExampleOutput: sdk.JSON(map[string]any{"found": true, "sku": "IPOD2008GREEN", "inventory_item_id": 39072856, "variant_id": 39072856, "product_id": 632910392, "title": "IPod Nano - 8gb - green"}),
	}, func(ctx context.Context, c *sdk.Conn, in findInventoryInput, _ sdk.ActionCall) (variantHit, error) {
		if strings.TrimSpace(in.SKU) == "" {
			return variantHit{}, sdk.Invalid("sku is empty", sdk.Violation{Path: "sku", Message: "required"})
		}
		a, err := newAPI(c)
		if err != nil {
			return variantHit{}, err
		}
		hit, err := a.variantBySKU(ctx, in.SKU)
		if err != nil || hit == nil {
			return variantHit{SKU: in.SKU}, err
		}
		return *hit, nil
	})
}

// variantBySKU reads the catalogue page by page until a variant has sku.
func (a *api) variantBySKU(ctx context.Context, sku string) (*variantHit, error) {
	q := url.Values{"limit": {strconv.Itoa(maxPageSize)}, "fields": {"id,title,variants"}}
	target := a.endpoint("products.json", q)
	for target != "" {
		var page struct {
			Products []struct {
				ID       json.Number `json:"id"`
				Title    string      `json:"title"`
				Variants []struct {
					ID              json.Number `json:"id"`
					SKU             string      `json:"sku"`
					Title           string      `json:"title"`
					InventoryItemID json.Number `json:"inventory_item_id"`
				} `json:"variants"`
			} `json:"products"`
		}
		h, err := a.call(ctx, http.MethodGet, target, nil, &page)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Products {
			for _, v := range p.Variants {
				if v.SKU == sku {
					return &variantHit{Found: true, SKU: sku, InventoryItemID: v.InventoryItemID, VariantID: v.ID,
						ProductID: p.ID, Title: p.Title + " - " + v.Title}, nil
				}
			}
		}
		target = nextLink(h)
	}
	return nil, nil
}
