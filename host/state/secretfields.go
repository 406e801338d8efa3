package state

import "github.com/hubhq/hub/sdk/schema"

// RedactSecretFields redacts every value the connectors' schemas mark
// Secret: connection properties, trigger config and action inputs. A
// literal written in the workspace is as secret as one from secret() when
// the connector says the field holds a secret, so it must not reach a plan
// or the stored state. Fields of connectors without a schema are left as
// they are.
func (s *State) RedactSecretFields(schemas map[string]*schema.Schema) {
	for _, c := range s.Connections {
		if sc := schemas[c.Connector]; sc != nil {
			c.Properties = redactFields(c.Properties, schema.ObjectOf(sc.Properties))
		}
	}
	for _, w := range s.Workflows {
		if w.Trigger != nil {
			if sc := s.schemaOf(schemas, w.Trigger.Connection); sc != nil {
				if tr, ok := sc.Trigger(w.Trigger.Name); ok {
					w.Trigger.Config = redactFields(w.Trigger.Config, schema.ObjectOf(tr.Config))
				}
			}
		}
		for _, st := range w.Steps {
			if sc := s.schemaOf(schemas, st.Connection); sc != nil {
				if a, ok := sc.Action(st.Action); ok {
					st.Input = redactFields(st.Input, a.Input)
				}
			}
		}
	}
}

func (s *State) schemaOf(schemas map[string]*schema.Schema, connection string) *schema.Schema {
	c, ok := s.connection(connection)
	if !ok {
		return nil
	}
	return schemas[c.Connector]
}

// redactFields walks v along f and redacts what f marks Secret. Only
// objects written key by key can be walked; a whole expression for an
// object holding a secret field is redacted whole, since its text or value
// may carry the secret.
func redactFields(v *Value, f *schema.Field) *Value {
	if v == nil || f == nil {
		return v
	}
	if f.Secret {
		return redactAll(v)
	}
	if v.Object == nil {
		if holdsSecret(f) {
			return redactAll(v)
		}
		return v
	}
	for k, fv := range v.Object {
		if p, ok := f.Property(k); ok {
			v.Object[k] = redactFields(fv, p)
		}
	}
	return v
}

// holdsSecret reports whether f has a Secret field anywhere inside.
func holdsSecret(f *schema.Field) bool {
	if f == nil {
		return false
	}
	if f.Secret {
		return true
	}
	for i := range f.Properties {
		if holdsSecret(&f.Properties[i]) {
			return true
		}
	}
	return holdsSecret(f.Items)
}
