package woocommerce

import "encoding/json"

// Order is an order as the REST API returns it; the field order is the
// docs' (and so the order webhook bodies are encoded in).
type Order struct {
	ID                 int             `json:"id"`
	ParentID           int             `json:"parent_id"`
	Number             string          `json:"number"`
	OrderKey           string          `json:"order_key"`
	CreatedVia         string          `json:"created_via"`
	Version            string          `json:"version"`
	Status             string          `json:"status"`
	Currency           string          `json:"currency"`
	DateCreated        string          `json:"date_created"`
	DateCreatedGMT     string          `json:"date_created_gmt"`
	DateModified       string          `json:"date_modified"`
	DateModifiedGMT    string          `json:"date_modified_gmt"`
	DiscountTotal      string          `json:"discount_total"`
	DiscountTax        string          `json:"discount_tax"`
	ShippingTotal      string          `json:"shipping_total"`
	ShippingTax        string          `json:"shipping_tax"`
	CartTax            string          `json:"cart_tax"`
	Total              string          `json:"total"`
	TotalTax           string          `json:"total_tax"`
	PricesIncludeTax   bool            `json:"prices_include_tax"`
	CustomerID         int             `json:"customer_id"`
	CustomerIPAddress  string          `json:"customer_ip_address"`
	CustomerUserAgent  string          `json:"customer_user_agent"`
	CustomerNote       string          `json:"customer_note"`
	Billing            Billing         `json:"billing"`
	Shipping           Shipping        `json:"shipping"`
	PaymentMethod      string          `json:"payment_method"`
	PaymentMethodTitle string          `json:"payment_method_title"`
	TransactionID      string          `json:"transaction_id"`
	DatePaid           *string         `json:"date_paid"`
	DatePaidGMT        *string         `json:"date_paid_gmt"`
	DateCompleted      *string         `json:"date_completed"`
	DateCompletedGMT   *string         `json:"date_completed_gmt"`
	CartHash           string          `json:"cart_hash"`
	MetaData           []Meta          `json:"meta_data"`
	LineItems          []LineItem      `json:"line_items"`
	TaxLines           []RawList       `json:"tax_lines"`
	ShippingLines      []ShippingLine  `json:"shipping_lines"`
	FeeLines           []RawList       `json:"fee_lines"`
	CouponLines        []RawList       `json:"coupon_lines"`
	Refunds            []RawList       `json:"refunds"`
	Links              json.RawMessage `json:"_links"`
}

// RawList is an element of a list the simulator keeps as it came (tax,
// fee and coupon lines, refunds).
type RawList = json.RawMessage

// Billing is an order's billing address.
type Billing struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// Shipping is an order's shipping address.
type Shipping struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
}

// Meta is one meta_data entry.
type Meta struct {
	ID    int    `json:"id"`
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// LineItem is one product line of an order.
type LineItem struct {
	ID          int       `json:"id"`
	Name        string    `json:"name"`
	ProductID   int       `json:"product_id"`
	VariationID int       `json:"variation_id"`
	Quantity    int       `json:"quantity"`
	TaxClass    string    `json:"tax_class"`
	Subtotal    string    `json:"subtotal"`
	SubtotalTax string    `json:"subtotal_tax"`
	Total       string    `json:"total"`
	TotalTax    string    `json:"total_tax"`
	Taxes       []RawList `json:"taxes"`
	MetaData    []Meta    `json:"meta_data"`
	SKU         string    `json:"sku"`
	Price       float64   `json:"price"`
}

// ShippingLine is one shipping method of an order.
type ShippingLine struct {
	ID          int       `json:"id"`
	MethodTitle string    `json:"method_title"`
	MethodID    string    `json:"method_id"`
	Total       string    `json:"total"`
	TotalTax    string    `json:"total_tax"`
	Taxes       []RawList `json:"taxes"`
	MetaData    []Meta    `json:"meta_data"`
}

// Note is an order note.
type Note struct {
	ID             int    `json:"id"`
	Author         string `json:"author"`
	DateCreated    string `json:"date_created"`
	DateCreatedGMT string `json:"date_created_gmt"`
	Note           string `json:"note"`
	CustomerNote   bool   `json:"customer_note"`
}

// Product is a product or a variation (Type "variation", ParentID set),
// with the fields the simulator keeps.
type Product struct {
	ID              int    `json:"id"`
	Name            string `json:"name"`
	Type            string `json:"type"`
	Status          string `json:"status"`
	SKU             string `json:"sku"`
	Price           string `json:"price"`
	RegularPrice    string `json:"regular_price"`
	ManageStock     bool   `json:"manage_stock"`
	StockQuantity   *int   `json:"stock_quantity"`
	StockStatus     string `json:"stock_status"`
	ParentID        int    `json:"parent_id"`
	DateModified    string `json:"date_modified"`
	DateModifiedGMT string `json:"date_modified_gmt"`
}

// Webhook is a registered webhook as GET /webhooks/{id} returns it.
type Webhook struct {
	ID              int      `json:"id"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	Topic           string   `json:"topic"`
	Resource        string   `json:"resource"`
	Event           string   `json:"event"`
	Hooks           []string `json:"hooks"`
	DeliveryURL     string   `json:"delivery_url"`
	DateCreated     string   `json:"date_created"`
	DateCreatedGMT  string   `json:"date_created_gmt"`
	DateModified    string   `json:"date_modified"`
	DateModifiedGMT string   `json:"date_modified_gmt"`
	// secret signs deliveries; the API never shows it back.
	secret       string
	failureCount int
}

// Delivery records one webhook delivery attempt, for tests and the
// sandbox's inspection.
type Delivery struct {
	WebhookID  int
	Topic      string // "" for the ping
	Ping       bool
	URL        string
	DeliveryID string
	Body       []byte
	// Status is the receiver's HTTP status, 0 when it could not be reached
	// (Err says why).
	Status int
	Err    string
}
