package shopify

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// seed builds the seeded shop: the catalogue with stock at the main
// location (and a little at a second one), and three orders shaped like
// Shopify's example order 450789469, each with an open fulfillment order.
func (s *Sim) seed() *state {
	st := &state{
		nextID:      1_000_000_000,
		orders:      map[int64]*Order{},
		fulfillment: map[int64]*FulfillmentOrder{},
		levels:      map[[2]int64]*InventoryLevel{},
		webhooks:    map[int64]*Webhook{},
		customers:   map[string]*Customer{},
	}
	catalogued := time.Date(2025, 4, 1, 15, 0, 0, 0, time.UTC)
	for _, p := range seedCatalogue {
		prod := &Product{ID: p.id, Title: p.title, Vendor: p.vendor, ProductType: "", Status: "active",
			Handle: handle(p.title), CreatedAt: stamp(catalogued), UpdatedAt: stamp(catalogued),
			AdminGraphQLAPIID: gid("Product", p.id)}
		for i, v := range p.variants {
			prod.Variants = append(prod.Variants, Variant{
				ID: v.id, ProductID: p.id, Title: v.title, Price: cents(v.price), SKU: v.sku, Position: i + 1,
				InventoryPolicy: "deny", Option1: v.title, Taxable: true, Grams: 200, InventoryItemID: v.inventoryItemID,
				InventoryQuantity: v.stock, RequiresShipping: true, CreatedAt: stamp(catalogued), UpdatedAt: stamp(catalogued),
				AdminGraphQLAPIID: gid("ProductVariant", v.id),
			})
			st.levels[[2]int64{v.inventoryItemID, mainLocationID}] = newLevel(v.inventoryItemID, mainLocationID, v.stock, catalogued)
		}
		st.products = append(st.products, prod)
	}
	// A second location holds stock of one item, so a set without a
	// location is ambiguous there, as it is in a real multi-location shop.
	st.levels[[2]int64{808950810, altLocationID}] = newLevel(808950810, altLocationID, 9, catalogued)

	for _, o := range seedOrders {
		in := NewOrder{Email: o.email, FirstName: o.first, LastName: o.last, FinancialStatus: o.financial, Tags: o.tags}
		for _, l := range o.lines {
			in.LineItems = append(in.LineItems, NewLineItem{VariantID: l.variant, Quantity: l.qty})
		}
		ord, err := buildOrder(st, in, o.created)
		if err != nil {
			// The seed is fixed data; an inconsistency is a bug here.
			panic("shopify sandbox seed: " + err.Error())
		}
		// Keep the published ids so answers read like Shopify's examples.
		ord.ID, ord.AdminGraphQLAPIID = o.id, gid("Order", o.id)
		ord.Number, ord.OrderNumber, ord.Name = o.number, 1000+o.number, "#"+strconv.Itoa(1000+o.number)
		for i := range ord.LineItems {
			ord.LineItems[i].ID = o.lines[i].id
			ord.LineItems[i].AdminGraphQLAPIID = gid("LineItem", o.lines[i].id)
		}
		ord.updated, ord.UpdatedAt = o.updated, stamp(o.updated)
		ord.SourceName, ord.AppID = "web", nil
		st.orders[ord.ID] = ord
		openFulfillmentOrder(st, ord)
	}
	st.nextNumber = len(seedOrders)
	return st
}

func newLevel(item, location int64, available int, at time.Time) *InventoryLevel {
	return &InventoryLevel{InventoryItemID: item, LocationID: location, Available: available, UpdatedAt: stamp(at),
		AdminGraphQLAPIID: "gid://shopify/InventoryLevel/" + strconv.FormatInt(location, 10) + "?inventory_item_id=" + strconv.FormatInt(item, 10)}
}

func handle(title string) string {
	f := strings.FieldsFunc(strings.ToLower(title), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	return strings.Join(f, "-")
}

// variantByID finds a variant of the catalogue; the caller holds s.mu.
func variantByID(st *state, id int64) (*Variant, *Product) {
	for _, p := range st.products {
		for i := range p.Variants {
			if p.Variants[i].ID == id {
				return &p.Variants[i], p
			}
		}
	}
	return nil, nil
}

// variantBySKU finds the variant with sku.
func variantBySKU(st *state, sku string) (*Variant, *Product) {
	for _, p := range st.products {
		for i := range p.Variants {
			if p.Variants[i].SKU == sku {
				return &p.Variants[i], p
			}
		}
	}
	return nil, nil
}

// openFulfillmentOrder gives a new order one fulfillment order at the main
// location covering every line that needs shipping.
func openFulfillmentOrder(st *state, o *Order) {
	st.nextID++
	fo := &FulfillmentOrder{
		ID: st.nextID, CreatedAt: o.CreatedAt, UpdatedAt: o.CreatedAt, ShopID: shopID, OrderID: o.ID,
		AssignedLocationID: mainLocationID, RequestStatus: "unsubmitted", Status: "open",
		SupportedActions: []string{"create_fulfillment", "hold", "move"}, Destination: o.ShippingAddress,
		FulfillmentHolds: []any{}, MerchantRequests: []any{},
		AssignedLocation: AssignedLocation{LocationID: mainLocationID, Name: "Hub Sandbox Warehouse", CountryCode: "US"},
	}
	for _, li := range o.LineItems {
		if !li.RequiresShipping {
			continue
		}
		st.nextID++
		variant := int64(0)
		if li.VariantID != nil {
			variant = *li.VariantID
		}
		fo.LineItems = append(fo.LineItems, FulfillmentOrderLineItem{
			ID: st.nextID, ShopID: shopID, FulfillmentOrderID: fo.ID, Quantity: li.Quantity, LineItemID: li.ID,
			InventoryItemID: li.inventoryItemID, FulfillableQuantity: li.FulfillableQuantity, VariantID: variant,
		})
	}
	if len(fo.LineItems) == 0 {
		return
	}
	st.fulfillment[fo.ID] = fo
}

// sortedOrders returns the orders by id.
func sortedOrders(st *state) []*Order {
	out := make([]*Order, 0, len(st.orders))
	for _, o := range st.orders {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *Order) int { return cmpInt(a.ID, b.ID) })
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
