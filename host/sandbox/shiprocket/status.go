package shiprocket

// Shipment status codes the simulator uses, from Shiprocket's "Shipment
// Status Codes" table (shipment-status-codes.json in the fixtures; 1 and 3
// appear in the published tracking examples).
const (
	StatusAWBAssigned     = 1
	StatusPickupGenerated = 3
	StatusShipped         = 6
	StatusDelivered       = 7
	StatusCanceled        = 8
	StatusOutForDelivery  = 17
	StatusInTransit       = 18
	StatusPickedUp        = 42
)

// statusLabels are the labels tracking answers carry as current_status
// and sr-status-label, for the codes a simulated shipment can reach.
var statusLabels = map[int]string{
	1:  "AWB Assigned",
	3:  "Pickup Generated",
	5:  "Manifest Generated",
	6:  "Shipped",
	7:  "Delivered",
	8:  "Canceled",
	9:  "RTO Initiated",
	10: "RTO Delivered",
	12: "Lost",
	13: "Pickup Error",
	15: "Pickup Rescheduled",
	17: "Out For Delivery",
	18: "In Transit",
	19: "Out For Pickup",
	20: "Pickup Exception",
	21: "Undelivered",
	22: "Delayed",
	38: "REACHED AT DESTINATION HUB",
	42: "PICKED UP",
}

// Progression is the order Advance moves a shipment through: the path of
// the documented webhook sample (picked up, shipped, in transit) followed
// by the last mile.
var Progression = []int{StatusAWBAssigned, StatusPickupGenerated, StatusPickedUp, StatusShipped, StatusInTransit, StatusOutForDelivery, StatusDelivered}

// activityFor is the courier scan a status change records, in the style
// of the documented samples (carrier code, activity text).
var activityFor = map[int][2]string{
	1:  {"AWB", "AWB Assigned"},
	3:  {"FMPUR-101", "Manifested - Pickup scheduled"},
	6:  {"X-PIOM", "In Transit - Shipment Recieved at Origin Center"},
	7:  {"DLVD", "Delivered"},
	8:  {"CAN", "Shipment cancelled"},
	17: {"X-DDD3FD", "Out for delivery"},
	18: {"X-ILL2F", "In Transit - Trip Arrived"},
	42: {"X-PPOM", "In Transit - Shipment picked up"},
}

// StatusLabel returns the label of a status code, or "" when the
// simulator does not know it.
func StatusLabel(code int) string { return statusLabels[code] }
