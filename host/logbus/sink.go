package logbus

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
)

var _ hclog.SinkAdapter = (*Bus)(nil)

// Accept publishes one hclog line, so the bus can be registered as a sink
// of the host's hclog.InterceptLogger. The keys "tenant", "workflow",
// "run", "step" and "attempt" fill the Entry's fields of those names; the
// logger's name goes to Fields["logger"]; every other pair goes to Fields,
// with errors and other values JSON cannot show well turned into text.
// Trace lines are not published: the bus starts at debug.
func (b *Bus) Accept(name string, level hclog.Level, msg string, args ...any) {
	var lv string
	switch level {
	case hclog.Debug:
		lv = LevelDebug
	case hclog.Info:
		lv = LevelInfo
	case hclog.Warn:
		lv = LevelWarn
	case hclog.Error:
		lv = LevelError
	default:
		return
	}
	e := Entry{Time: time.Now(), Level: lv, Message: msg}
	if name != "" {
		e.Fields = map[string]any{"logger": name}
	}
	for i := 0; i < len(args); i += 2 {
		key, ok := args[i].(string)
		if !ok {
			key = fmt.Sprint(args[i])
		}
		var val any
		if i+1 < len(args) {
			val = args[i+1]
		} else {
			// hclog's own name for a value without a key.
			key, val = "EXTRA_VALUE_AT_END", args[i]
		}
		switch key {
		case "tenant":
			e.Tenant = fmt.Sprint(val)
			continue
		case "workflow":
			e.Workflow = fmt.Sprint(val)
			continue
		case "run":
			e.Run = fmt.Sprint(val)
			continue
		case "step":
			e.Step = fmt.Sprint(val)
			continue
		case "attempt":
			if n, ok := toInt(val); ok {
				e.Attempt = n
				continue
			}
		}
		if e.Fields == nil {
			e.Fields = make(map[string]any)
		}
		e.Fields[key] = jsonValue(val)
	}
	b.Publish(e)
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	}
	return 0, false
}

// jsonValue keeps values that marshal to what a reader expects and turns
// the rest into text: an error marshals as {}, a Duration as nanoseconds.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, float32, float64,
		time.Time, json.RawMessage:
		return x
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case hclog.Format:
		if len(x) > 0 {
			if f, ok := x[0].(string); ok {
				return fmt.Sprintf(f, x[1:]...)
			}
		}
		return fmt.Sprint(x...)
	case []string:
		return x
	}
	return fmt.Sprintf("%+v", v)
}
