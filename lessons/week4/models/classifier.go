// Package models holds the week-4 helpers that need the model code (GoMLX), which the
// other week-4 helpers avoid so that their cells compile fast: the alert classifier served
// on /v1/classify ([AlertClassifier]) and the check that our checkpoints have the layout and
// maths real serving engines expect ([CheckHFLayout]).
//
// The classifier is the week-2 checkpoint models/bert-tiny-zh-alerts once it exists,
// otherwise a stand-in built from the shipped bert-tiny-zh encoder with an untrained
// classification head over the eight alert labels of lessons/data: its probabilities carry
// no meaning; it shows the API and the batching.
package models

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/divellm/divellm/lessons/checkout"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week4"
	"github.com/divellm/divellm/llm"
)

// Trained is the directory week 2 writes its fine-tuned alert classifier to.
const Trained = "bert-tiny-zh-alerts"

// AlertClassifier returns the classifier checkpoint to serve and whether it is the trained one. The
// stand-in is written once to .cache/week4/bert-tiny-zh-alerts-untrained.
func AlertClassifier() (dir string, trained bool, err error) {
	if d, err := week4.ModelDir(Trained); err == nil {
		return d, true, nil
	}
	cache, err := checkout.CacheDir("week4")
	if err != nil {
		return "", false, err
	}
	dir = filepath.Join(cache, Trained+"-untrained")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return dir, false, nil
	}
	base, err := week4.ModelDir("bert-tiny-zh")
	if err != nil {
		return "", false, err
	}
	return dir, false, Untrained(base, dir)
}

// Untrained writes to dst the BERT checkpoint in src with a new, randomly initialised
// pooler and classification head over data.AlertLabels (id2label holds their Chinese
// names); every encoder weight is copied unchanged.
func Untrained(src, dst string) error {
	m, err := llm.Load(src)
	if err != nil {
		return err
	}
	if m.Config.Arch != llm.BERT {
		return fmt.Errorf("models: %s is not a BERT checkpoint", src)
	}
	var names []string
	for _, l := range data.AlertLabels() {
		zh, _ := data.AlertLabelZH(l)
		names = append(names, zh)
	}
	if err := m.AddClassifier(names, 1); err != nil {
		return err
	}
	return m.Save(dst)
}
