package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// formatV1 is the first byte of an event record; a later layout gets a
// new number so stored events stay readable.
const formatV1 = 1

// encodeEvent returns ev's record (see the package doc); the tenant is
// not in it because it is in the key.
func encodeEvent(ev Event) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(ev.Trigger)+len(ev.ID)+len(ev.Payload))
	b = append(b, formatV1)
	b = binary.AppendVarint(b, ev.ReceivedAt.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(ev.Trigger)))
	b = append(b, ev.Trigger...)
	b = binary.AppendUvarint(b, uint64(len(ev.ID)))
	b = append(b, ev.ID...)
	return append(b, ev.Payload...)
}

// decodeEvent parses a record written by encodeEvent. The payload shares
// b's memory.
func decodeEvent(b []byte) (Event, error) {
	if len(b) == 0 || b[0] != formatV1 {
		return Event{}, errors.New("unknown event record format")
	}
	b = b[1:]
	nanos, n := binary.Varint(b)
	if n <= 0 {
		return Event{}, errors.New("truncated event record: receive time")
	}
	b = b[n:]
	trigger, b, err := readString(b, "trigger")
	if err != nil {
		return Event{}, err
	}
	id, b, err := readString(b, "id")
	if err != nil {
		return Event{}, err
	}
	return Event{Trigger: trigger, ID: id, Payload: b, ReceivedAt: time.Unix(0, nanos).UTC()}, nil
}

func readString(b []byte, what string) (string, []byte, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", nil, fmt.Errorf("truncated event record: %s", what)
	}
	return string(b[n : n+int(l)]), b[n+int(l):], nil
}

// seqID is the key id of seq: fixed-width decimal, so byte order is
// numeric order.
func seqID(seq uint64) string {
	return fmt.Sprintf("%020d", seq)
}

func parseSeqID(id string) (uint64, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || len(id) != 20 {
		return 0, fmt.Errorf("malformed event key id %q", id)
	}
	return seq, nil
}

// The dedup record holds the seq its event was stored under, so a
// duplicate can name the event it repeats.
func encodeSeq(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func decodeSeq(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("malformed dedup record of %d bytes", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
