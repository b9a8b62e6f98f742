// Command gen writes divellm's own Chinese datasets into lessons/data:
//
//	corpus/train.txt, corpus/val.txt   pretraining corpus (one paragraph or log line per line)
//	probes/mlm_probes.tsv              fill-mask probes for a tiny BERT
//	alerts/{train,val,test}.jsonl      alert log → root cause classification (Week 2)
//	alerts/hard.jsonl                  a hard alert test set from unseen templates and names
//	sft/{train,test}.jsonl             ops questions and answers for supervised fine-tuning
//	dpo/{train,test}.jsonl             preference pairs (chosen vs rejected answer) for DPO
//	qa/{train,val,test,long}.jsonl     SQuAD-style extractive question answering
//	seq2seq/{alerts,dates}_{train,test}.jsonl  toy tasks for a tiny encoder-decoder
//
// Every sentence comes from templates and building blocks written for this project, kept
// in the embedded data files under tables/ (format in tables.go), and from a math/rand/v2
// PCG generator with constant seeds, so the output is the same on every machine. The Go
// files hold only the logic that combines them. Run it from the repository root:
//
//	go run ./lessons/data/gen
//
// The package test (main_test.go) regenerates everything in memory and compares it byte
// for byte with the committed files.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Seeds of the independent random streams. Each dataset has its own stream so that
// editing one part of the generator leaves the others unchanged.
const (
	seedCorpus = 20260314
	seedAlerts = 20260315
	seedStream = 0x64697665 // "dive"

	// Seeds of the datasets added later; each has its own stream, so the files above
	// stay byte for byte what the shipped models were trained on.
	seedHard = 20260316
	seedSFT  = 20260317
	seedQA   = 20260318
	seedS2S  = 20260319
)

func main() {
	out := flag.String("out", "lessons/data", "directory that holds corpus/, probes/ and alerts/")
	flag.Parse()
	files, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(*out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("%-26s %8d bytes\n", name, len(files[name]))
	}
}

// Generate builds every dataset file in memory, keyed by its slash-separated path
// relative to lessons/data.
func Generate() (map[string][]byte, error) {
	d, err := build()
	if err != nil {
		return nil, err
	}
	return d.files, nil
}

// dataset is what build makes: the files, and the records the tests inspect.
type dataset struct {
	files             map[string][]byte
	alerts            map[string][]alert // "train", "val", "test", "hard"
	sftTrain, sftTest []sftItem
	dpoTrain, dpoTest []dpoItem
	qa                map[string][]qaItem  // "train", "val", "test", "long"
	s2s               map[string][]s2sPair // "alerts_train", "alerts_test", "dates_train", "dates_test"
}

func build() (*dataset, error) {
	if err := loadTables(); err != nil {
		return nil, err
	}
	probes := mlmProbes()
	if err := checkProbes(probes); err != nil {
		return nil, err
	}
	train, val := buildCorpus(newRNG(seedCorpus), probes)
	files := map[string][]byte{
		"corpus/train.txt":      joinLines(train),
		"corpus/val.txt":        joinLines(val),
		"probes/mlm_probes.tsv": probesTSV(probes),
	}
	corpusLines := make(map[string]bool, len(train)+len(val))
	for _, l := range train {
		corpusLines[l] = true
	}
	for _, l := range val {
		corpusLines[l] = true
	}
	splits, err := buildAlerts(newRNG(seedAlerts), corpusLines)
	if err != nil {
		return nil, err
	}
	avoid := maps.Clone(corpusLines)
	for _, s := range []string{"train", "val", "test"} {
		files["alerts/"+s+".jsonl"] = alertsJSONL(splits[s])
		for _, a := range splits[s] {
			avoid[a.text] = true
		}
	}
	hard, err := buildHard(newRNG(seedHard), avoid)
	if err != nil {
		return nil, err
	}
	splits["hard"] = hard
	files["alerts/hard.jsonl"] = alertsJSONL(hard)
	d := &dataset{files: files, alerts: splits}

	g := newRNG(seedSFT)
	if d.sftTrain, d.sftTest, err = buildSFT(g, append(append([]string(nil), train...), val...)); err != nil {
		return nil, err
	}
	trainLines := map[string]bool{}
	for _, l := range train {
		trainLines[l] = true
	}
	if d.dpoTrain, d.dpoTest, err = buildDPO(g, d.sftTrain, d.sftTest, trainLines); err != nil {
		return nil, err
	}
	files["sft/train.jsonl"], files["sft/test.jsonl"] = sftJSONL("train", d.sftTrain), sftJSONL("test", d.sftTest)
	files["dpo/train.jsonl"], files["dpo/test.jsonl"] = dpoJSONL("train", d.dpoTrain), dpoJSONL("test", d.dpoTest)

	vocab := map[rune]bool{}
	for _, l := range train {
		for _, r := range l {
			vocab[r] = true
		}
	}
	if d.qa, err = buildQA(newRNG(seedQA), vocab); err != nil {
		return nil, err
	}
	for _, s := range []string{"train", "val", "test", "long"} {
		files["qa/"+s+".jsonl"] = qaJSONL(s, d.qa[s])
	}

	if d.s2s, err = buildSeq2Seq(newRNG(seedS2S)); err != nil {
		return nil, err
	}
	for name, pairs := range d.s2s {
		files["seq2seq/"+name+".jsonl"] = s2sJSONL(name, pairs)
	}
	return d, nil
}

func joinLines(lines []string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// rng wraps a PCG-seeded generator with the few helpers the templates need.
type rng struct{ r *rand.Rand }

func newRNG(seed uint64) *rng { return &rng{rand.New(rand.NewPCG(seed, seedStream))} }

// pick returns a uniformly chosen element of xs.
func (g *rng) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// between returns an integer in [lo, hi].
func (g *rng) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// chance reports true with probability p.
func (g *rng) chance(p float64) bool { return g.r.Float64() < p }

// pickN returns n distinct elements of xs in random order (n is capped at len(xs)).
func (g *rng) pickN(xs []string, n int) []string {
	idx := g.r.Perm(len(xs))
	if n > len(xs) {
		n = len(xs)
	}
	out := make([]string, n)
	for i := range n {
		out[i] = xs[idx[i]]
	}
	return out
}

// fill replaces {KEY} placeholders: fill("去{L}", "L", "银行") == "去银行".
func fill(tmpl string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// jsonLines encodes each value on one line, without HTML escaping.
func jsonLines[T any](xs []T) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, x := range xs {
		_ = enc.Encode(x) // cannot fail: the values are structs of strings and numbers
	}
	return b.Bytes()
}
