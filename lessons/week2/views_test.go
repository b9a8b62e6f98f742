package week2

import (
	"strings"
	"testing"
)

func TestCurveTableAndVerdict(t *testing.T) {
	pt := func(init string, f, test, hard float64) CurvePoint {
		return CurvePoint{Init: init, Fraction: f, TrainN: int(f * 100), Test: Metrics{MacroF1: test}, Hard: Metrics{MacroF1: hard}}
	}
	points := []CurvePoint{pt(Pretrained, 0.05, 0.5, 0.3), pt(Pretrained, 1, 0.9, 0.6), pt(Scratch, 0.05, 0.2, 0.35), pt(Scratch, 1, 0.85, 0.4)}
	_, rows, err := CurveTable(points)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][5] != "+30.0" || rows[0][8] != "-5.0" || rows[1][5] != "+5.0" {
		t.Errorf("rows %v", rows)
	}
	v := CurveVerdict(points)
	if len(v) != 2 || !strings.Contains(v[0], "2 个比例中的 2 个") || !strings.Contains(v[0], "5%：+30.0") ||
		!strings.Contains(v[1], "2 个比例中的 1 个") || !strings.Contains(v[1], "5%：-5.0") {
		t.Errorf("verdict %q", v)
	}
	if _, _, err := CurveTable(points[:2]); err == nil {
		t.Error("a curve without scratch points accepted")
	}
	if c := CurveChart(points, "hard"); c.Err() != nil {
		t.Error(c.Err())
	}
}

func TestLoRATables(t *testing.T) {
	_, rows, _ := LoRAShapeTable(128, 8, 16)
	// A is 8×128 and B 128×8: 2048 parameters, 12.5% of W's 16384; α/r = 2.
	if rows[1][2] != "1024" || rows[2][2] != "1024" || rows[4][2] != "12.50%" || !strings.Contains(rows[3][0], "α/r = 2") {
		t.Errorf("rows %v", rows)
	}
	if got := TrainingMemory(100, 10); got != 4*(100+30) {
		t.Errorf("TrainingMemory %d", got)
	}
	full := &Result{Params: 1000, Trainable: 1000, Recipe: FullRecipe()}
	lora := &Result{Params: 1000, Trainable: 50, Recipe: LoRARecipe()}
	_, cr, _ := CompareTable(full, lora)
	if !strings.Contains(cr[0][2], "50 (5.0%)") || !strings.Contains(cr[0][1], "1000 (100.0%)") {
		t.Errorf("compare rows %v", cr)
	}
}
