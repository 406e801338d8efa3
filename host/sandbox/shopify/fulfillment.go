package shopify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

func (s *Sim) listFulfillmentOrders(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	_, ok := s.st.orders[id]
	var out []FulfillmentOrder
	if ok {
		for _, fo := range s.st.fulfillment {
			if fo.OrderID == id {
				out = append(out, *fo)
			}
		}
	}
	s.mu.Unlock()
	if err != nil || !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	slices.SortFunc(out, func(a, b FulfillmentOrder) int { return cmpInt(a.ID, b.ID) })
	if out == nil {
		out = []FulfillmentOrder{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"fulfillment_orders": out})
}

func (s *Sim) listFulfillments(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	o, ok := s.Order(id)
	if err != nil || !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"fulfillments": o.Fulfillments})
}

// fulfillmentRequest is the body of POST /fulfillments.json.
type fulfillmentRequest struct {
	Fulfillment *struct {
		LineItemsByFulfillmentOrder []struct {
			FulfillmentOrderID json.Number `json:"fulfillment_order_id"`
			LineItems          []struct {
				ID       json.Number `json:"id"`
				Quantity int         `json:"quantity"`
			} `json:"fulfillment_order_line_items"`
		} `json:"line_items_by_fulfillment_order"`
		TrackingInfo *struct {
			Number  string `json:"number"`
			Company string `json:"company"`
			URL     string `json:"url"`
		} `json:"tracking_info"`
		NotifyCustomer bool   `json:"notify_customer"`
		Message        string `json:"message"`
	} `json:"fulfillment"`
}

// createFulfillment fulfils the listed fulfillment orders (all their
// remaining lines, or the quantities given), as POST /fulfillments.json
// does, and delivers orders/updated and, once nothing is left to ship,
// orders/fulfilled.
func (s *Sim) createFulfillment(w http.ResponseWriter, r *http.Request) {
	var req fulfillmentRequest
	if !decodeBody(w, r, &req) {
		return
	}
	f := req.Fulfillment
	if f == nil {
		fieldError(w, http.StatusBadRequest, "fulfillment", "Required parameter missing or invalid")
		return
	}
	if len(f.LineItemsByFulfillmentOrder) == 0 {
		fieldError(w, http.StatusUnprocessableEntity, "line_items_by_fulfillment_order", "can't be blank")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Check everything before changing anything, so a refused request
	// leaves the shop as it was.
	type take struct {
		fo  *FulfillmentOrder
		qty map[int64]int // fulfillment order line id → quantity
	}
	var takes []take
	var order *Order
	for i, group := range f.LineItemsByFulfillmentOrder {
		foID, _ := group.FulfillmentOrderID.Int64()
		fo, ok := s.st.fulfillment[foID]
		if !ok {
			fieldError(w, http.StatusNotFound, "fulfillment_order_id", fmt.Sprintf("fulfillment order %s does not exist", group.FulfillmentOrderID))
			return
		}
		if fo.Status != "open" && fo.Status != "in_progress" {
			writeErrors(w, http.StatusUnprocessableEntity, map[string][]string{"base": {fmt.Sprintf("Fulfillment order %d has an unfulfillable status= %s.", fo.ID, fo.Status)}})
			return
		}
		if i > 0 && (fo.OrderID != takes[0].fo.OrderID || fo.AssignedLocationID != takes[0].fo.AssignedLocationID) {
			writeErrors(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"All fulfillment orders must belong to the same order and location."}})
			return
		}
		t := take{fo: fo, qty: map[int64]int{}}
		if len(group.LineItems) == 0 {
			for _, li := range fo.LineItems {
				if li.FulfillableQuantity > 0 {
					t.qty[li.ID] = li.FulfillableQuantity
				}
			}
		}
		for _, want := range group.LineItems {
			id, _ := want.ID.Int64()
			j := slices.IndexFunc(fo.LineItems, func(li FulfillmentOrderLineItem) bool { return li.ID == id })
			if j < 0 || want.Quantity <= 0 || want.Quantity > fo.LineItems[j].FulfillableQuantity {
				writeErrors(w, http.StatusUnprocessableEntity, map[string][]string{"base": {fmt.Sprintf("Invalid fulfillment order line item quantity requested for line item %s.", want.ID)}})
				return
			}
			t.qty[id] = want.Quantity
		}
		takes = append(takes, t)
		order = s.st.orders[fo.OrderID]
	}

	now := s.opts.Now().Truncate(time.Second)
	id := s.newID()
	ful := Fulfillment{
		ID: id, AdminGraphQLAPIID: gid("Fulfillment", id), CreatedAt: stamp(now), UpdatedAt: stamp(now),
		LocationID: takes[0].fo.AssignedLocationID, Name: fmt.Sprintf("%s.%d", order.Name, len(order.Fulfillments)+1),
		OrderID: order.ID, Receipt: map[string]any{}, Service: "manual", Status: "success",
		TrackingNumbers: []string{}, TrackingURLs: []string{}, LineItems: []LineItem{},
	}
	if ti := f.TrackingInfo; ti != nil {
		if ti.Number != "" {
			ful.TrackingNumber, ful.TrackingNumbers = ptr(ti.Number), []string{ti.Number}
		}
		if ti.Company != "" {
			ful.TrackingCompany = ptr(ti.Company)
		}
		if ti.URL != "" {
			ful.TrackingURL, ful.TrackingURLs = ptr(ti.URL), []string{ti.URL}
		}
	}
	for _, t := range takes {
		left := 0
		for j := range t.fo.LineItems {
			foli := &t.fo.LineItems[j]
			q := t.qty[foli.ID]
			foli.FulfillableQuantity -= q
			left += foli.FulfillableQuantity
			if q == 0 {
				continue
			}
			k := slices.IndexFunc(order.LineItems, func(li LineItem) bool { return li.ID == foli.LineItemID })
			li := &order.LineItems[k]
			li.FulfillableQuantity -= q
			status := "partial"
			if li.FulfillableQuantity == 0 {
				status = "fulfilled"
			}
			li.FulfillmentStatus = ptr(status)
			shipped := *li
			shipped.Quantity = q
			ful.LineItems = append(ful.LineItems, shipped)
		}
		t.fo.Status = "in_progress"
		if left == 0 {
			t.fo.Status, t.fo.SupportedActions = "closed", []string{}
		}
		t.fo.UpdatedAt = stamp(now)
	}
	order.Fulfillments = append(order.Fulfillments, ful)
	complete := true
	for _, li := range order.LineItems {
		if li.RequiresShipping && li.FulfillableQuantity > 0 {
			complete = false
		}
	}
	order.FulfillmentStatus = ptr("partial")
	if complete {
		order.FulfillmentStatus = ptr("fulfilled")
	}
	s.touch(order)
	pending := s.queue("orders/updated", order)
	if complete {
		pending = append(pending, s.queue("orders/fulfilled", order)...)
	}
	// send only starts the deliveries; each takes the lock to record its
	// answer once this handler has released it.
	s.send(r.Context(), pending)
	writeJSON(w, http.StatusCreated, map[string]any{"fulfillment": ful})
}
