package main

import "sync"

// maxBufferedBytes bounds the bytes of stream messages read and not yet
// sent to the host: while hub holds a stream back, the connector stops
// reading instead of keeping up to max_batch_messages messages of up to
// max_message_bytes each.
const maxBufferedBytes = 16 << 20

// byteBudget hands out bytes up to a limit. One taker is always served
// when nothing is held, so a single message larger than the limit still
// passes.
type byteBudget struct {
	mu     sync.Mutex
	cond   *sync.Cond
	used   int
	max    int
	closed bool
}

func newByteBudget(max int) *byteBudget {
	b := &byteBudget{max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// take waits until n bytes fit, and holds them; false once closed.
func (b *byteBudget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.used > 0 && b.used+n > b.max {
		b.cond.Wait()
	}
	if b.closed {
		return false
	}
	b.used += n
	return true
}

// give returns n bytes taken before.
func (b *byteBudget) give(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// close ends every wait, now and later.
func (b *byteBudget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}
