// Package shiprocket is the sandbox's in-memory simulator of Shiprocket's
// external API (https://apidocs.shiprocket.in/), the shipping aggregator
// hub's shiprocket connector talks to. It serves, under the real paths:
//
//	POST /v1/external/auth/login              email + password → {"token"}
//	POST /v1/external/auth/logout             ends the token's session
//	GET  /v1/external/settings/company/pickup the pickup locations
//	POST /v1/external/orders/create/adhoc     creates a custom order and its shipment
//	GET  /v1/external/orders                  lists orders (search by order_id or AWB)
//	GET  /v1/external/orders/show/{id}        one order
//	POST /v1/external/courier/assign/awb      assigns an AWB and a courier to a shipment
//	GET  /v1/external/courier/track/awb/{awb} tracking data for one AWB
//
// Payloads use the field names and shapes of Shiprocket's published
// examples (see ../shared/fixtures/shiprocket): 422 field errors as
// {"message", "errors": {"field": ["..."]}, "status_code"}, tracking as
// {"tracking_data": {...}}, tracking webhooks as the documented sample
// body with the operator's token in x-api-key (Shiprocket signs nothing).
//
// Shipments move through a scripted status progression (Advance) or to
// any status code (SetStatus), so tests and the sandbox decide when a
// parcel ships and is delivered. Switches make the API answer 429, 401,
// 5xx or malformed JSON on demand, and expire every token at once.
// Reset returns to the seeded account. The package owns no network
// listener: callers mount Handler and Control where they like.
package shiprocket
