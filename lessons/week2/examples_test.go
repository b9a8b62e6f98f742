package week2

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseExamples(t *testing.T) {
	in := `{"text":"磁盘满了","label":"disk_full","label_zh":"磁盘满"}

{"label":"oom","text":"内存不足"}
`
	ex, err := ParseExamples(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"磁盘满了", "disk_full"}, {"内存不足", "oom"}}
	if !slices.Equal(ex, want) {
		t.Fatalf("got %v, want %v", ex, want)
	}
	for _, bad := range []struct{ name, in, msg string }{
		{"not JSON", "{\"text\":\"a\",\"label\":\"b\"}\nnot json\n", "line 2"},
		{"no label", `{"text":"a"}`, `no "label"`},
		{"number label", `{"text":"a","label":3}`, "must be a string"},
		{"empty text", `{"text":"  ","label":"b"}`, `empty "text"`},
		{"array", `["a","b"]`, "line 1"},
		{"empty file", "\n\n", "no examples"},
		{"not UTF-8", "{\"text\":\"\xff\",\"label\":\"b\"}", "UTF-8"},
	} {
		_, err := ParseExamples(strings.NewReader(bad.in))
		if err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%s: error %v, want one containing %q", bad.name, err, bad.msg)
		}
	}
}

func TestReadExamplesFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadExamples(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := ReadExamples(dir); err == nil {
		t.Error("directory accepted")
	}
	p := filepath.Join(dir, "a.jsonl")
	os.WriteFile(p, []byte(`{"text":"x","label":"y"}`+"\n"), 0o644)
	if ex, err := ReadExamples(p); err != nil || len(ex) != 1 {
		t.Errorf("got %v, %v", ex, err)
	}
}

func TestAlertExamplesAndLabelOrder(t *testing.T) {
	train, err := AlertExamples("train")
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 1920 {
		t.Fatalf("%d training alerts, want 1920", len(train))
	}
	// Alert labels come in the dataset's fixed order, whatever order the file has.
	if got := LabelOrder(train); !slices.Equal(got, []string{"disk_full", "oom", "cpu_high", "network", "db_conn", "cert_expired", "config_error", "service_down"}) {
		t.Errorf("alert label order %v", got)
	}
	// Other labels: first appearance.
	if got := LabelOrder([]Example{{"a", "z"}, {"b", "y"}, {"c", "z"}}); !slices.Equal(got, []string{"z", "y"}) {
		t.Errorf("label order %v", got)
	}
	if _, err := ClassIndex([]Example{{"a", "z"}, {"b", "q"}}, []string{"z", "y"}, "eval"); err == nil || !strings.Contains(err.Error(), `eval example 2: label "q"`) {
		t.Errorf("unknown label: %v", err)
	}
}

func TestSubsample(t *testing.T) {
	train, _ := AlertExamples("train")
	for _, c := range []struct {
		frac    float64
		perCls  int
		classes int
	}{{0.05, 12, 8}, {0.01, 2, 8}, {0.001, 1, 8}} {
		sub := Subsample(train, c.frac, 1)
		count := map[string]int{}
		for _, e := range sub {
			count[e.Label]++
		}
		if len(count) != c.classes {
			t.Errorf("frac %g: %d classes", c.frac, len(count))
		}
		for l, n := range count {
			if n != c.perCls {
				t.Errorf("frac %g: %d examples of %s, want %d", c.frac, n, l, c.perCls)
			}
		}
		if again := Subsample(train, c.frac, 1); !slices.Equal(again, sub) {
			t.Errorf("frac %g: not deterministic", c.frac)
		}
	}
	if len(Subsample(train, 1, 1)) != len(train) {
		t.Error("frac 1 dropped examples")
	}
}
