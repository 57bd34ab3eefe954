package transfer

import (
	"encoding/json"
	"testing"
)

// TestOptionsJSONBeforeTheAField: state files and benchmark results written
// before Options.A said how A was used with the train_a / free_a booleans,
// and a CAT row with neither meant a frozen A (the default then). They must
// keep that meaning now that the default is AFree; new JSON round-trips.
func TestOptionsJSONBeforeTheAField(t *testing.T) {
	for _, tc := range []struct{ raw, wantA, wantInit string }{
		{`{"init":"cat","head":"affinity","train":"all","train_a":false,"free_a":false}`, AFrozen, InitCAT},
		{`{"init":"cat","head":"affinity","train":"all","train_a":false}`, AFrozen, InitCAT}, // before free_a
		{`{"init":"","head":"","train":"","train_a":false,"free_a":false}`, AFrozen, ""},
		{`{"init":"cat","head":"affinity","train":"all","train_a":true,"free_a":false}`, ASoftmax, InitCAT},
		{`{"init":"cat","head":"reinit","train":"all","train_a":false,"free_a":true}`, AFree, InitCAT},
		{`{"init":"finetune","head":"reinit","train":"all","train_a":false,"free_a":false}`, "", InitFinetune},
		{`{"init":"cat","a":"softmax","train":"all"}`, ASoftmax, InitCAT},
		{`{}`, "", ""},
	} {
		var o Options
		if err := json.Unmarshal([]byte(tc.raw), &o); err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if o.A != tc.wantA || o.Init != tc.wantInit {
			t.Errorf("%s: A %q, init %q; want %q, %q", tc.raw, o.A, o.Init, tc.wantA, tc.wantInit)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", tc.raw, err)
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back Options
		if err := json.Unmarshal(b, &back); err != nil || back != o {
			t.Errorf("%s: round trip %s gives %+v (%v)", tc.raw, b, back, err)
		}
	}
	if d := (Options{}).withDefaults(); d.A != AFree || d.Head != HeadReinit {
		t.Errorf("zero Options: A %q, head %q; want %s, %s", d.A, d.Head, AFree, HeadReinit)
	}
	if d := (Options{A: AFrozen}).withDefaults(); d.Head != HeadAffinity {
		t.Errorf("frozen A: head %q; want %s", d.Head, HeadAffinity)
	}
	if d := (Options{Train: TrainAffinity}).withDefaults(); d.A != ASoftmax {
		t.Errorf("affinity-only: A %q; want %s", d.A, ASoftmax)
	}
}
