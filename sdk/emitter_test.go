package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// batches records what an Emitter sends.
type batches struct{ got []wire.StreamBatch }

func (b *batches) Batch(x wire.StreamBatch) error { b.got = append(b.got, x); return nil }
func (b *batches) Keepalive(time.Time) error      { return nil }

func bigEvents(n, size int) []Event {
	pad := bytes.Repeat([]byte("x"), size)
	out := make([]Event, n)
	for i := range out {
		out[i] = Event{ID: fmt.Sprintf("e%d", i), Type: "t", Payload: json.RawMessage(`"` + string(pad) + `"`)}
	}
	return out
}

func TestEmitter_BatchTooLargeForOneMessageGoesInPartsWithThePositionLast(t *testing.T) {
	sink := &batches{}
	e := &Emitter{trigger: "feed", sink: sink}
	events := bigEvents(5, 10<<20) // 50 MiB: more than one message carries
	if err := e.Batch(events, []byte("pos-5")); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) < 2 {
		t.Fatalf("%d batches sent, want the events in parts", len(sink.got))
	}
	var ids []string
	for i, b := range sink.got {
		if n := batchBytes(b.Events); n > maxBatchBytes {
			t.Errorf("part %d is %d bytes, over %d", i, n, maxBatchBytes)
		}
		last := i == len(sink.got)-1
		if last != (string(b.Position) == "pos-5") || (!last && b.Position != nil) {
			t.Errorf("part %d has position %q; only the last may carry it", i, b.Position)
		}
		for _, ev := range b.Events {
			ids = append(ids, ev.ID)
		}
	}
	if fmt.Sprint(ids) != "[e0 e1 e2 e3 e4]" {
		t.Errorf("events sent = %v, want each once, in order", ids)
	}
}

func TestEmitter_SmallBatchGoesWhole(t *testing.T) {
	sink := &batches{}
	e := &Emitter{trigger: "feed", sink: sink}
	if err := e.Batch(bigEvents(3, 100), []byte("p")); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 1 || len(sink.got[0].Events) != 3 || string(sink.got[0].Position) != "p" {
		t.Fatalf("sent %+v, want one batch of 3 with the position", sink.got)
	}
}

func TestEmitter_EventTooLargeForAMessageIsPermanent(t *testing.T) {
	sink := &batches{}
	e := &Emitter{trigger: "feed", sink: sink}
	err := e.Batch(bigEvents(1, maxBatchBytes+1), []byte("p"))
	if fault.KindOf(err) != fault.Permanent || len(sink.got) != 0 {
		t.Fatalf("err = %v (kind %s), %d batches sent; want a permanent error and nothing sent", err, fault.KindOf(err), len(sink.got))
	}
}
