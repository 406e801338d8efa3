package config

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const limitsWorkspace = `
hub {
  required_connectors {
    wms = { source = "hub/http", version = "~> 1.0" }
  }
}

variable "burst" {
  type    = number
  default = null
}

environment "sandbox" { rate = 2 }
environment "live" { rate = 20.5 }

connection "written" {
  connector = "wms"
  limits {
    concurrency = 8
    rate        = 20
    burst       = 40
  }
}

connection "from_environment" {
  connector = "wms"
  limits {
    rate  = values.rate
    burst = var.burst
  }
}

connection "partial" {
  connector = "wms"
  limits { concurrency = 2 }
}

connection "none" {
  connector = "wms"
}
`

func TestLimits_DecodeAsWrittenWithNullAsLeftOut(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": limitsWorkspace})
	for env, rate := range map[string]float64{"sandbox": 2, "live": 20.5} {
		ws := mustLoad(t, dir, LoadOptions{Env: env})
		want := map[string]*Limits{
			"written":          {Concurrency: 8, Rate: 20, Burst: 40},
			"from_environment": {Rate: rate},
			"partial":          {Concurrency: 2},
			"none":             nil,
		}
		for name, w := range want {
			c, ok := ws.Connection(name)
			if !ok {
				t.Fatalf("no connection %q", name)
			}
			switch {
			case w == nil && c.Limits != nil:
				t.Errorf("%s: %s: Limits = %+v, want nil", env, name, *c.Limits)
			case w != nil && c.Limits == nil:
				t.Errorf("%s: %s: Limits = nil, want %+v", env, name, *w)
			case w != nil && (c.Limits.Concurrency != w.Concurrency || c.Limits.Rate != w.Rate || c.Limits.Burst != w.Burst):
				t.Errorf("%s: %s: Limits = %+v, want %+v", env, name, *c.Limits, *w)
			case w != nil && c.Limits.DeclRange.Start.Line == 0:
				t.Errorf("%s: %s: Limits has no DeclRange", env, name)
			}
		}
	}
}

func TestLimits_UnknownWithoutAnEnvironmentIsAWarning(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": limitsWorkspace})
	ws, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load without an environment: %s", render(t, ws.Files, diags))
	}
	var warned bool
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && d.Summary == "Unknown rate" && d.Subject != nil && d.Subject.Start.Line > 0 {
			warned = true
		}
	}
	if !warned {
		t.Fatalf("no warning for a rate read from values with no environment selected; got:\n%s", render(t, ws.Files, diags))
	}
	c, _ := ws.Connection("from_environment")
	if c.Limits == nil || c.Limits.Rate != 0 {
		t.Fatalf("Limits = %+v, want a block with Rate 0 (the host's default)", c.Limits)
	}
}
