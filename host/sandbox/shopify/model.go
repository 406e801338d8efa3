package shopify

import (
	"fmt"
	"strconv"
	"time"
)

// The records below carry the field names and shapes of Shopify's REST
// resources (see the Order, Fulfillment, FulfillmentOrder, Product,
// InventoryLevel and Webhook references), limited to the fields a workflow
// is likely to read. Unexported fields hold what the simulator sorts and
// filters by.

// Money is an amount in the shop's currency, as Shopify's decimal strings.
type Money struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

// MoneySet is a price in shop and presentment currency.
type MoneySet struct {
	ShopMoney        Money `json:"shop_money"`
	PresentmentMoney Money `json:"presentment_money"`
}

// NameValue is a note attribute or line item property.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Address is a shipping or billing address.
type Address struct {
	FirstName    string   `json:"first_name"`
	LastName     string   `json:"last_name"`
	Name         string   `json:"name"`
	Company      *string  `json:"company"`
	Address1     string   `json:"address1"`
	Address2     string   `json:"address2"`
	City         string   `json:"city"`
	Province     string   `json:"province"`
	ProvinceCode string   `json:"province_code"`
	Country      string   `json:"country"`
	CountryCode  string   `json:"country_code"`
	Zip          string   `json:"zip"`
	Phone        string   `json:"phone"`
	Latitude     *float64 `json:"latitude"`
	Longitude    *float64 `json:"longitude"`
}

// Customer is the buyer of an order.
type Customer struct {
	ID                int64  `json:"id"`
	Email             string `json:"email"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
	Phone             string `json:"phone"`
	State             string `json:"state"`
	Tags              string `json:"tags"`
	Currency          string `json:"currency"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id"`
}

// LineItem is one line of an order or of a fulfillment.
type LineItem struct {
	ID                         int64       `json:"id"`
	AdminGraphQLAPIID          string      `json:"admin_graphql_api_id"`
	CurrentQuantity            int         `json:"current_quantity"`
	FulfillableQuantity        int         `json:"fulfillable_quantity"`
	FulfillmentService         string      `json:"fulfillment_service"`
	FulfillmentStatus          *string     `json:"fulfillment_status"`
	GiftCard                   bool        `json:"gift_card"`
	Grams                      int         `json:"grams"`
	Name                       string      `json:"name"`
	Price                      string      `json:"price"`
	PriceSet                   MoneySet    `json:"price_set"`
	ProductExists              bool        `json:"product_exists"`
	ProductID                  *int64      `json:"product_id"`
	Properties                 []NameValue `json:"properties"`
	Quantity                   int         `json:"quantity"`
	RequiresShipping           bool        `json:"requires_shipping"`
	SKU                        string      `json:"sku"`
	Taxable                    bool        `json:"taxable"`
	Title                      string      `json:"title"`
	TotalDiscount              string      `json:"total_discount"`
	VariantID                  *int64      `json:"variant_id"`
	VariantInventoryManagement *string     `json:"variant_inventory_management"`
	VariantTitle               *string     `json:"variant_title"`
	Vendor                     *string     `json:"vendor"`
	TaxLines                   []any       `json:"tax_lines"`
	Duties                     []any       `json:"duties"`
	DiscountAllocations        []any       `json:"discount_allocations"`

	inventoryItemID int64
}

// Fulfillment is a shipment of some of an order's line items.
type Fulfillment struct {
	ID                int64          `json:"id"`
	AdminGraphQLAPIID string         `json:"admin_graphql_api_id"`
	CreatedAt         string         `json:"created_at"`
	LocationID        int64          `json:"location_id"`
	Name              string         `json:"name"`
	OrderID           int64          `json:"order_id"`
	OriginAddress     *Address       `json:"origin_address"`
	Receipt           map[string]any `json:"receipt"`
	Service           string         `json:"service"`
	ShipmentStatus    *string        `json:"shipment_status"`
	Status            string         `json:"status"`
	TrackingCompany   *string        `json:"tracking_company"`
	TrackingNumber    *string        `json:"tracking_number"`
	TrackingNumbers   []string       `json:"tracking_numbers"`
	TrackingURL       *string        `json:"tracking_url"`
	TrackingURLs      []string       `json:"tracking_urls"`
	UpdatedAt         string         `json:"updated_at"`
	LineItems         []LineItem     `json:"line_items"`
}

// Order is a customer's order, the REST Order resource; it is also the body
// of orders/* webhooks.
type Order struct {
	ID                    int64         `json:"id"`
	AdminGraphQLAPIID     string        `json:"admin_graphql_api_id"`
	AppID                 *int64        `json:"app_id"`
	BuyerAcceptsMarketing bool          `json:"buyer_accepts_marketing"`
	CancelReason          *string       `json:"cancel_reason"`
	CancelledAt           *string       `json:"cancelled_at"`
	ClosedAt              *string       `json:"closed_at"`
	Confirmed             bool          `json:"confirmed"`
	ContactEmail          *string       `json:"contact_email"`
	CreatedAt             string        `json:"created_at"`
	Currency              string        `json:"currency"`
	CurrentSubtotalPrice  string        `json:"current_subtotal_price"`
	CurrentTotalPrice     string        `json:"current_total_price"`
	CurrentTotalTax       string        `json:"current_total_tax"`
	Email                 string        `json:"email"`
	FinancialStatus       string        `json:"financial_status"`
	FulfillmentStatus     *string       `json:"fulfillment_status"`
	Name                  string        `json:"name"`
	Note                  *string       `json:"note"`
	NoteAttributes        []NameValue   `json:"note_attributes"`
	Number                int           `json:"number"`
	OrderNumber           int           `json:"order_number"`
	OrderStatusURL        string        `json:"order_status_url"`
	Phone                 *string       `json:"phone"`
	PresentmentCurrency   string        `json:"presentment_currency"`
	ProcessedAt           string        `json:"processed_at"`
	SourceName            string        `json:"source_name"`
	SubtotalPrice         string        `json:"subtotal_price"`
	SubtotalPriceSet      MoneySet      `json:"subtotal_price_set"`
	Tags                  string        `json:"tags"`
	TaxesIncluded         bool          `json:"taxes_included"`
	Test                  bool          `json:"test"`
	Token                 string        `json:"token"`
	TotalDiscounts        string        `json:"total_discounts"`
	TotalLineItemsPrice   string        `json:"total_line_items_price"`
	TotalOutstanding      string        `json:"total_outstanding"`
	TotalPrice            string        `json:"total_price"`
	TotalPriceSet         MoneySet      `json:"total_price_set"`
	TotalTax              string        `json:"total_tax"`
	TotalWeight           int           `json:"total_weight"`
	UpdatedAt             string        `json:"updated_at"`
	UserID                *int64        `json:"user_id"`
	BillingAddress        *Address      `json:"billing_address"`
	Customer              *Customer     `json:"customer"`
	Fulfillments          []Fulfillment `json:"fulfillments"`
	LineItems             []LineItem    `json:"line_items"`
	Refunds               []any         `json:"refunds"`
	ShippingAddress       *Address      `json:"shipping_address"`
	ShippingLines         []any         `json:"shipping_lines"`

	created time.Time
	updated time.Time
}

// FulfillmentOrderLineItem is a line of a fulfillment order.
type FulfillmentOrderLineItem struct {
	ID                  int64 `json:"id"`
	ShopID              int64 `json:"shop_id"`
	FulfillmentOrderID  int64 `json:"fulfillment_order_id"`
	Quantity            int   `json:"quantity"`
	LineItemID          int64 `json:"line_item_id"`
	InventoryItemID     int64 `json:"inventory_item_id"`
	FulfillableQuantity int   `json:"fulfillable_quantity"`
	VariantID           int64 `json:"variant_id"`
}

// AssignedLocation is where a fulfillment order is to be fulfilled from.
type AssignedLocation struct {
	LocationID  int64   `json:"location_id"`
	Name        string  `json:"name"`
	Address1    *string `json:"address1"`
	City        *string `json:"city"`
	CountryCode string  `json:"country_code"`
}

// FulfillmentOrder is the group of an order's line items to be fulfilled
// from one location; fulfillments are created against it.
type FulfillmentOrder struct {
	ID                 int64                      `json:"id"`
	CreatedAt          string                     `json:"created_at"`
	UpdatedAt          string                     `json:"updated_at"`
	ShopID             int64                      `json:"shop_id"`
	OrderID            int64                      `json:"order_id"`
	AssignedLocationID int64                      `json:"assigned_location_id"`
	RequestStatus      string                     `json:"request_status"`
	Status             string                     `json:"status"`
	FulfillAt          *string                    `json:"fulfill_at"`
	FulfillBy          *string                    `json:"fulfill_by"`
	SupportedActions   []string                   `json:"supported_actions"`
	Destination        *Address                   `json:"destination"`
	LineItems          []FulfillmentOrderLineItem `json:"line_items"`
	FulfillmentHolds   []any                      `json:"fulfillment_holds"`
	AssignedLocation   AssignedLocation           `json:"assigned_location"`
	MerchantRequests   []any                      `json:"merchant_requests"`
}

// Variant is a product variant; its inventory item carries its stock.
type Variant struct {
	ID                int64  `json:"id"`
	ProductID         int64  `json:"product_id"`
	Title             string `json:"title"`
	Price             string `json:"price"`
	SKU               string `json:"sku"`
	Position          int    `json:"position"`
	InventoryPolicy   string `json:"inventory_policy"`
	Option1           string `json:"option1"`
	Taxable           bool   `json:"taxable"`
	Grams             int    `json:"grams"`
	InventoryItemID   int64  `json:"inventory_item_id"`
	InventoryQuantity int    `json:"inventory_quantity"`
	RequiresShipping  bool   `json:"requires_shipping"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id"`
}

// Product is a product with its variants.
type Product struct {
	ID                int64     `json:"id"`
	Title             string    `json:"title"`
	Vendor            string    `json:"vendor"`
	ProductType       string    `json:"product_type"`
	Handle            string    `json:"handle"`
	Status            string    `json:"status"`
	Tags              string    `json:"tags"`
	CreatedAt         string    `json:"created_at"`
	UpdatedAt         string    `json:"updated_at"`
	Variants          []Variant `json:"variants"`
	AdminGraphQLAPIID string    `json:"admin_graphql_api_id"`
}

// InventoryLevel is the available quantity of an inventory item at a
// location; it is also the body of inventory_levels/update webhooks.
type InventoryLevel struct {
	InventoryItemID   int64  `json:"inventory_item_id"`
	LocationID        int64  `json:"location_id"`
	Available         int    `json:"available"`
	UpdatedAt         string `json:"updated_at"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id"`
}

// Webhook is a webhook subscription of the app.
type Webhook struct {
	ID                         int64    `json:"id"`
	Address                    string   `json:"address"`
	Topic                      string   `json:"topic"`
	CreatedAt                  string   `json:"created_at"`
	UpdatedAt                  string   `json:"updated_at"`
	Format                     string   `json:"format"`
	Fields                     []string `json:"fields"`
	MetafieldNamespaces        []string `json:"metafield_namespaces"`
	APIVersion                 string   `json:"api_version"`
	PrivateMetafieldNamespaces []string `json:"private_metafield_namespaces"`
}

// Shop is the shop the access token belongs to.
type Shop struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	Domain          string `json:"domain"`
	MyshopifyDomain string `json:"myshopify_domain"`
	Currency        string `json:"currency"`
	IanaTimezone    string `json:"iana_timezone"`
	PlanName        string `json:"plan_name"`
}

// Seed identifiers, from Shopify's REST reference examples so that the
// simulator's answers look like the published ones.
const (
	shopID         int64 = 548380009
	mainLocationID int64 = 655441491
	altLocationID  int64 = 487838322
	seedOrderID    int64 = 450789469
	ipodProductID  int64 = 632910392
	shoesProductID int64 = 910489600
	// AppID is the id of the app the access token belongs to; orders the
	// app creates carry it as app_id.
	AppID int64 = 755357713
)

// shopZone is the shop's time zone; Shopify writes timestamps in it.
var shopZone = time.FixedZone("EST", -5*60*60)

func stamp(t time.Time) string { return t.In(shopZone).Format("2006-01-02T15:04:05-07:00") }

func gid(kind string, id int64) string {
	return "gid://shopify/" + kind + "/" + strconv.FormatInt(id, 10)
}

func ptr[T any](v T) *T { return &v }

// cents renders an amount in cents as Shopify's decimal string.
func cents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

func moneySet(amount, currency string) MoneySet {
	m := Money{Amount: amount, CurrencyCode: currency}
	return MoneySet{ShopMoney: m, PresentmentMoney: m}
}

// seedVariant describes one variant of the seeded catalogue.
type seedVariant struct {
	product         int64
	id              int64
	title, sku      string
	price           int64
	inventoryItemID int64
	stock           int
}

var seedCatalogue = []struct {
	id            int64
	title, vendor string
	variants      []seedVariant
}{
	{ipodProductID, "IPod Nano - 8gb", "Apple", []seedVariant{
		{ipodProductID, 39072856, "green", "IPOD2008GREEN", 19900, 39072856, 3},
		{ipodProductID, 49148385, "red", "IPOD2008RED", 19900, 49148385, 2},
		{ipodProductID, 457924702, "black", "IPOD2008BLACK", 19900, 457924702, 4},
	}},
	{shoesProductID, "Crafty Shoes", "Birthday Present Factory", []seedVariant{
		{shoesProductID, 389013007, "Small", "crafty_shoes_red", 1000, 808950810, 1},
	}},
}

// seedOrder is one seeded order: who bought what, and when.
type seedOrder struct {
	id        int64
	number    int
	email     string
	first     string
	last      string
	financial string
	lines     []seedLine
	created   time.Time
	updated   time.Time
	tags      string
}

type seedLine struct {
	id      int64
	variant int64
	qty     int
}

var seedOrders = []seedOrder{
	{seedOrderID, 1, "bob.norman@mail.example.com", "Bob", "Norman", "paid",
		[]seedLine{{466157049, 39072856, 1}, {518995019, 49148385, 1}, {703073504, 457924702, 1}},
		time.Date(2025, 4, 2, 16, 29, 59, 0, time.UTC), time.Date(2025, 4, 2, 16, 29, 59, 0, time.UTC), ""},
	{450789470, 2, "jane.doe@mail.example.com", "Jane", "Doe", "paid",
		[]seedLine{{466157050, 389013007, 2}},
		time.Date(2025, 4, 3, 14, 0, 0, 0, time.UTC), time.Date(2025, 4, 3, 14, 5, 0, 0, time.UTC), "wholesale"},
	{450789471, 3, "ravi.k@mail.example.com", "Ravi", "Kumar", "pending",
		[]seedLine{{466157051, 49148385, 1}},
		time.Date(2025, 4, 4, 9, 30, 0, 0, time.UTC), time.Date(2025, 4, 4, 9, 30, 0, 0, time.UTC), ""},
}

var seedAddress = Address{
	FirstName: "Bob", LastName: "Norman", Name: "Bob Norman", Address1: "Chestnut Street 92",
	City: "Louisville", Province: "Kentucky", ProvinceCode: "KY", Country: "United States",
	CountryCode: "US", Zip: "40202", Phone: "+1(502)-459-2181",
}
