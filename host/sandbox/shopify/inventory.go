package shopify

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---- GET /products.json

func (s *Sim) listProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, q)
	if !ok {
		return
	}
	filters, after, ok := pageQuery(w, q, []string{"ids", "since_id"})
	if !ok {
		return
	}
	ids := map[int64]bool{}
	for v := range strings.SplitSeq(filters.Get("ids"), ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			ids[id] = true
		}
	}
	sinceID, _ := strconv.ParseInt(filters.Get("since_id"), 10, 64)
	key := func(p *Product) pageKey { return pageKey{p.ID, p.ID} }
	s.mu.Lock()
	var all []*Product
	for _, p := range s.st.products {
		if (len(ids) == 0 || ids[p.ID]) && p.ID > sinceID {
			all = append(all, p)
		}
	}
	slices.SortFunc(all, func(a, b *Product) int { return cmpInt(a.ID, b.ID) })
	items, more := paginate(all, key, false, after, limit)
	page := make([]any, 0, len(items))
	for _, p := range items {
		cp := *p
		cp.Variants = slices.Clone(p.Variants)
		page = append(page, cp)
	}
	s.mu.Unlock()
	if more {
		setNextLink(w, r, filters, key(items[len(items)-1]), limit)
	}
	writeList(w, "products", page, q.Get("fields"))
}

// ---- inventory levels

// InventoryLevel returns the stock of an inventory item at a location.
func (s *Sim) InventoryLevel(item, location int64) (InventoryLevel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.st.levels[[2]int64{item, location}]
	if !ok {
		return InventoryLevel{}, false
	}
	return *l, true
}

// MainLocationID is the location seeded stock and new fulfillment orders
// belong to.
const MainLocationID = mainLocationID

func (s *Sim) sortedLevels() []InventoryLevel {
	out := make([]InventoryLevel, 0, len(s.st.levels))
	for _, l := range s.st.levels {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b InventoryLevel) int {
		if c := cmpInt(a.InventoryItemID, b.InventoryItemID); c != 0 {
			return c
		}
		return cmpInt(a.LocationID, b.LocationID)
	})
	return out
}

func idSet(v string) map[int64]bool {
	out := map[int64]bool{}
	for p := range strings.SplitSeq(v, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil {
			out[id] = true
		}
	}
	return out
}

func (s *Sim) listInventoryLevels(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	items, locations := idSet(q.Get("inventory_item_ids")), idSet(q.Get("location_ids"))
	if len(items) == 0 && len(locations) == 0 {
		writeErrors(w, http.StatusUnprocessableEntity, "inventory_item_ids or location_ids is required")
		return
	}
	s.mu.Lock()
	var out []any
	for _, l := range s.sortedLevels() {
		if (len(items) == 0 || items[l.InventoryItemID]) && (len(locations) == 0 || locations[l.LocationID]) {
			out = append(out, l)
		}
	}
	s.mu.Unlock()
	writeList(w, "inventory_levels", out, q.Get("fields"))
}

// inventorySetRequest is the body of POST /inventory_levels/set.json.
type inventorySetRequest struct {
	LocationID      json.Number `json:"location_id"`
	InventoryItemID json.Number `json:"inventory_item_id"`
	Available       *int        `json:"available"`
}

// setInventoryLevel sets the available quantity of an item at a location,
// connecting the item there if it was not stocked yet, and delivers
// inventory_levels/update.
func (s *Sim) setInventoryLevel(w http.ResponseWriter, r *http.Request) {
	var req inventorySetRequest
	if !decodeBody(w, r, &req) {
		return
	}
	item, err1 := req.InventoryItemID.Int64()
	loc, err2 := req.LocationID.Int64()
	switch {
	case err1 != nil:
		fieldError(w, http.StatusBadRequest, "inventory_item_id", "Required parameter missing or invalid")
		return
	case err2 != nil:
		fieldError(w, http.StatusBadRequest, "location_id", "Required parameter missing or invalid")
		return
	case req.Available == nil:
		fieldError(w, http.StatusBadRequest, "available", "Required parameter missing or invalid")
		return
	}
	s.mu.Lock()
	var variant *Variant
	for _, p := range s.st.products {
		for i := range p.Variants {
			if p.Variants[i].InventoryItemID == item {
				variant = &p.Variants[i]
			}
		}
	}
	if variant == nil {
		s.mu.Unlock()
		writeErrors(w, http.StatusUnprocessableEntity, []string{"Inventory item does not exist"})
		return
	}
	if loc != mainLocationID && loc != altLocationID {
		s.mu.Unlock()
		writeErrors(w, http.StatusUnprocessableEntity, []string{"Location does not exist"})
		return
	}
	now := s.opts.Now().Truncate(time.Second)
	l, ok := s.st.levels[[2]int64{item, loc}]
	if !ok {
		l = newLevel(item, loc, 0, now)
		s.st.levels[[2]int64{item, loc}] = l
	}
	l.Available, l.UpdatedAt = *req.Available, stamp(now)
	total := 0
	for _, other := range s.st.levels {
		if other.InventoryItemID == item {
			total += other.Available
		}
	}
	variant.InventoryQuantity, variant.UpdatedAt = total, stamp(now)
	out := *l
	pending := s.queue("inventory_levels/update", out)
	s.mu.Unlock()
	s.send(r.Context(), pending)
	writeJSON(w, http.StatusOK, map[string]any{"inventory_level": out})
}
