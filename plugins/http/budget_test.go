package main

import (
	"testing"
	"time"
)

func TestByteBudget_HoldsBackATakerPastTheLimitUntilBytesComeBack(t *testing.T) {
	b := newByteBudget(100)
	if !b.take(60) {
		t.Fatal("the first take failed")
	}
	taken := make(chan bool, 1)
	go func() { taken <- b.take(60) }() // 60+60 > 100: must wait
	select {
	case <-taken:
		t.Fatal("a take past the limit went through while 60 bytes were held")
	case <-time.After(50 * time.Millisecond):
	}
	b.give(60)
	select {
	case ok := <-taken:
		if !ok {
			t.Fatal("the waiting take failed after the bytes came back")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting take did not go through after the bytes came back")
	}
}

func TestByteBudget_OneTakeLargerThanTheLimitPassesWhenNothingIsHeld(t *testing.T) {
	b := newByteBudget(100)
	if !b.take(500) {
		t.Fatal("a single message larger than the limit must pass when nothing is held")
	}
}

func TestByteBudget_CloseEndsAWait(t *testing.T) {
	b := newByteBudget(10)
	b.take(10)
	done := make(chan bool, 1)
	go func() { done <- b.take(5) }()
	b.close()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("a take ended by close reported success")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not end the wait")
	}
	if b.take(1) {
		t.Fatal("a take after close succeeded")
	}
}
