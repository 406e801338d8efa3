package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// maxResponse bounds a response body read into a step's output; a step's
// output travels in one plugin message.
const maxResponse = 16 << 20

// requestInput is what every action takes.
type requestInput struct {
	Method  string                     `json:"method"`
	Path    string                     `json:"path"`
	Params  map[string]json.RawMessage `json:"params"`
	Query   map[string]json.RawMessage `json:"query"`
	Headers map[string]any             `json:"headers"`
	Body    json.RawMessage            `json:"body"`
	Expect  []int                      `json:"expect"`
	Result  string                     `json:"result"`
}

// requestOutput is what every action returns.
type requestOutput struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
	Result  any               `json:"result"`
}

func requestFields(method string, methods []string) *schema.Field {
	return sdk.Object(
		schema.Field{Name: "method", Type: schema.String, Default: sdk.JSON(method), Enum: sdk.Enum(toAny(methods)...),
			Description: "The HTTP method."},
		schema.Field{Name: "path", Type: schema.String, Required: true,
			Description: "Path appended to the connection's base_url, e.g. \"/api/orders\" or \"/api/orders/{id}\" with params; may carry a query."},
		schema.Field{Name: "params", Type: schema.Object, AdditionalProperties: true,
			Description: "Values for {name} placeholders in path, each a string or number, escaped for a URL path (so an id with '/' or '?' stays one segment)."},
		schema.Field{Name: "query", Type: schema.Object, AdditionalProperties: true,
			Description: "Query parameters, name to a string, number or boolean (a list repeats the parameter)."},
		schema.Field{Name: "headers", Type: schema.Object, AdditionalProperties: true,
			Description: "Request headers, name to string value; they override the connection's."},
		schema.Field{Name: "body", Type: schema.Any,
			Description: "Any JSON value, sent as the JSON request body; leave out for none."},
		schema.Field{Name: "expect", Type: schema.List, Items: &schema.Field{Type: schema.Integer},
			Description: "Statuses that count as success (e.g. [200, 404] to treat \"not found\" as an answer); default any 2xx. Other statuses fail, classified: 401 auth, 429 rate limited, 5xx retryable, 400/422 invalid input."},
		schema.Field{Name: "result", Type: schema.String,
			Description: "JSON path of the part of the answer to return as result, e.g. \"data.order\"; null when the answer has nothing there."},
	)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func requestOutputShape() *schema.Field {
	return sdk.Object(
		schema.Field{Name: "status", Type: schema.Integer, Description: "The HTTP status."},
		schema.Field{Name: "headers", Type: schema.Object, AdditionalProperties: true, Description: "Response headers, canonical name to first value."},
		schema.Field{Name: "body", Type: schema.Any, Description: "The whole answer: decoded JSON, text when it is not JSON, null when empty."},
		schema.Field{Name: "result", Type: schema.Any, Description: "The part of the body at the result path (the whole body without one)."},
	)
}

// requestAction declares one action; they differ in kind, default method
// and whether they send an idempotency key.
func (k *kit) requestAction(name string, kind schema.ActionKind, method string, methods []string, desc string) sdk.Action {
	idempotent := kind == schema.KindRead || kind == schema.KindSearch || kind == schema.KindDelete
	sendKey := kind == schema.KindCreate || kind == schema.KindUpdate
	example := map[string]any{"path": "/api/orders/ord_1001", "result": "data.order"}
	exampleOut := map[string]any{"status": 200, "headers": map[string]string{"Content-Type": "application/json"},
		"body":   map[string]any{"data": map[string]any{"order": map[string]any{"id": "ord_1001", "status": "received"}}},
		"result": map[string]any{"id": "ord_1001", "status": "received"}}
	switch kind {
	case schema.KindSearch:
		example = map[string]any{"path": "/api/orders", "query": map[string]any{"ref": "#1001"}, "result": "data.orders"}
		exampleOut["body"] = map[string]any{"data": map[string]any{"orders": []any{exampleOut["result"]}}}
		exampleOut["result"] = []any{exampleOut["result"]}
	case schema.KindCreate:
		example = map[string]any{"path": "/api/orders", "body": map[string]any{"ref": "#1001", "lines": []any{map[string]any{"sku": "SKU-MUG", "qty": 1}}}, "result": "data.order"}
		exampleOut["status"] = 201
	case schema.KindUpdate:
		example = map[string]any{"path": "/api/orders/ord_1001", "body": map[string]any{"status": "delivered"}, "result": "data.order"}
		exampleOut["result"] = map[string]any{"id": "ord_1001", "status": "delivered"}
		exampleOut["body"] = map[string]any{"data": map[string]any{"order": exampleOut["result"]}}
	case schema.KindDelete:
		example = map[string]any{"path": "/api/webhooks/whk_1"}
		exampleOut = map[string]any{"status": 204, "headers": map[string]string{}, "body": nil, "result": nil}
	}
	if sendKey {
		desc += " The key goes in the connection's idempotency_header (Idempotency-Key by default)."
	}
	return sdk.NewAction(schema.Action{
		Name: name, DisplayName: strings.ToUpper(name[:1]) + name[1:], Kind: kind,
		// Creates and updates are idempotent when the API honours the
		// idempotency key they send; hub cannot know that, so it does
		// not claim it.
		Idempotent:    idempotent,
		Description:   desc,
		Input:         requestFields(method, methods),
		Output:        requestOutputShape(),
		ExampleInput:  sdk.JSON(example),
		ExampleOutput: sdk.JSON(exampleOut),
	}, func(ctx context.Context, c *sdk.Conn, in requestInput, call sdk.ActionCall) (requestOutput, error) {
		e, err := open(c)
		if err != nil {
			return requestOutput{}, err
		}
		var extra map[string]string
		if sendKey && e.props.IdempotencyHeader != "" && call.IdempotencyKey != "" {
			extra = map[string]string{e.props.IdempotencyHeader: call.IdempotencyKey}
		}
		return e.exchange(ctx, in, extra)
	})
}

// exchange sends one request as in says and judges the answer. extra
// headers are set unless the step set them itself.
func (e *endpoint) exchange(ctx context.Context, in requestInput, extra map[string]string) (requestOutput, error) {
	path, err := expandPath(in.Path, in.Params)
	if err != nil {
		return requestOutput{}, err
	}
	u, err := e.resolve(path, "path")
	if err != nil {
		return requestOutput{}, err
	}
	if err := addQuery(u, in.Query, "query"); err != nil {
		return requestOutput{}, err
	}
	var body io.Reader
	hasBody := len(in.Body) > 0 && !bytes.Equal(bytes.TrimSpace(in.Body), []byte("null"))
	if hasBody {
		body = bytes.NewReader(in.Body)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, in.Method, u.String(), body)
	if err != nil {
		return requestOutput{}, sdk.Permanent("build %s %s: %v", in.Method, in.Path, err)
	}
	e.defaultHeaders(req)
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	for _, name := range slices.Sorted(maps.Keys(in.Headers)) {
		v, ok := in.Headers[name].(string)
		if !ok {
			return requestOutput{}, invalidSetting("headers."+name, "must be a string")
		}
		req.Header.Set(name, v)
	}
	resp, err := e.client.Send(req)
	if err != nil {
		return requestOutput{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return requestOutput{}, sdk.Retryable("%s %s: read the answer: %v", in.Method, in.Path, err)
	}
	if len(data) > maxResponse {
		return requestOutput{}, sdk.Permanent("%s %s: the answer is larger than %d MiB", in.Method, in.Path, maxResponse>>20)
	}
	if !expected(resp.StatusCode, in.Expect) {
		if resp.StatusCode >= 400 {
			// The SDK's one classification: 401 auth, 429 rate
			// limited, 5xx retryable, 400/422 invalid input.
			resp.Body = io.NopCloser(bytes.NewReader(data))
			return requestOutput{}, sdk.CheckResponse(resp)
		}
		return requestOutput{}, sdk.Permanent("%s %s answered %s, not one of the expected statuses %v", in.Method, in.Path, resp.Status, expectText(in.Expect))
	}
	out := requestOutput{Status: resp.StatusCode, Headers: map[string]string{}}
	for name, vs := range resp.Header {
		if len(vs) > 0 {
			out.Headers[name] = vs[0]
		}
	}
	if out.Body, err = decodeAnswer(resp.Header.Get("Content-Type"), data); err != nil {
		return requestOutput{}, sdk.Permanent("%s %s answered %s with a body that is not the JSON it claims to be: %v", in.Method, in.Path, resp.Status, err)
	}
	out.Result = out.Body
	if in.Result != "" {
		got, ok, err := lookupPath(out.Body, in.Result, "result")
		if err != nil {
			return requestOutput{}, err
		}
		out.Result = nil
		if ok {
			out.Result = got
		}
	}
	return out, nil
}

// expandPath replaces each {name} in path with params[name], escaped as
// one path segment. A placeholder without a value is an error, so a typo
// does not reach the API as a literal "{id}".
func expandPath(path string, params map[string]json.RawMessage) (string, error) {
	var b strings.Builder
	rest := path
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return "", invalidSetting("path", fmt.Sprintf("%q has a '{' without '}'", path))
		}
		name := rest[open+1 : open+end]
		raw, ok := params[name]
		if !ok {
			return "", invalidSetting("params."+name, fmt.Sprintf("path %q uses {%s}; give its value in params", path, name))
		}
		v, err := schema.DecodeJSON(raw)
		if err != nil {
			return "", invalidSetting("params."+name, err.Error())
		}
		text, err := scalarText(v)
		if err != nil || text == "" {
			return "", invalidSetting("params."+name, "must be a non-empty string or number")
		}
		b.WriteString(rest[:open])
		b.WriteString(url.PathEscape(text))
		rest = rest[open+end+1:]
	}
}

func expected(status int, expect []int) bool {
	if len(expect) == 0 {
		return status >= 200 && status < 300
	}
	return slices.Contains(expect, status)
}

func expectText(expect []int) string {
	if len(expect) == 0 {
		return "2xx"
	}
	return fmt.Sprint(expect)
}

// decodeAnswer decodes a JSON answer (numbers kept exact), returns other
// text as a string and an empty body as nil. A body that says it is JSON
// but is not is an error; one that does not say is tried as JSON first.
func decodeAnswer(contentType string, data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	claimsJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	v, err := schema.DecodeJSON(data)
	if err == nil {
		return v, nil
	}
	if claimsJSON {
		return nil, err
	}
	return string(data), nil
}

// addQuery adds query parameters to u, decoding each value so long
// numbers keep every digit. at names the setting for errors.
func addQuery(u *url.URL, query map[string]json.RawMessage, at string) error {
	if len(query) == 0 {
		return nil
	}
	q := u.Query()
	for _, name := range slices.Sorted(maps.Keys(query)) {
		v, err := schema.DecodeJSON(query[name])
		if err != nil {
			return invalidSetting(at+"."+name, err.Error())
		}
		vals, err := queryValues(v)
		if err != nil {
			return invalidSetting(at+"."+name, err.Error())
		}
		q.Del(name)
		for _, v := range vals {
			q.Add(name, v)
		}
	}
	u.RawQuery = q.Encode()
	return nil
}

// queryValues renders one query value; null leaves the parameter out.
func queryValues(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []string
		for _, e := range x {
			s, err := scalarText(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	default:
		s, err := scalarText(x)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
}

// scalarText is a JSON scalar as text: a string as is, a number as
// written, a boolean as true/false.
func scalarText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	default:
		return "", fmt.Errorf("must be a string, number or boolean, not %T", v)
	}
}
