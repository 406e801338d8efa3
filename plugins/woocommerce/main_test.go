package main

import (
	"testing"

	"github.com/hubhq/hub/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, connector())
}
