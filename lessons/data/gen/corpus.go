package main

import (
	"hash/fnv"
	"strings"
)

// Document counts per kind. A document is a group of lines that stays on one side of
// the train/val split.
const (
	nTechDocs     = 220
	nEverydayDocs = 520 // each holds everydayPerDoc lines
	nBursts       = 300
	nStreams      = 60
	nRunbooks     = 100
	nIncidents    = 100
	nHandovers    = 120

	everydayPerDoc = 6
	valEvery       = 20 // one document in valEvery goes to val (≈5%)
)

// buildCorpus generates every document, shuffles them, removes duplicate lines and lines
// that contain a filled-in probe sentence, and splits by document into train and val.
func buildCorpus(g *rng, probes []probe) (train, val []string) {
	var docs [][]string
	for range nTechDocs {
		docs = append(docs, techDocument(g))
	}
	every := everydayLines(g, nEverydayDocs*everydayPerDoc)
	g.r.Shuffle(len(every), func(i, j int) { every[i], every[j] = every[j], every[i] })
	for i := 0; i < len(every); i += everydayPerDoc {
		docs = append(docs, every[i:min(i+everydayPerDoc, len(every))])
	}
	for _, l := range qaLines() {
		docs = append(docs, []string{l})
	}
	for range nBursts {
		docs = append(docs, alertBurst(g))
	}
	for range nStreams {
		docs = append(docs, alertStream(g))
	}
	for range nRunbooks {
		docs = append(docs, runbook(g))
	}
	for range nIncidents {
		docs = append(docs, incident(g))
	}
	for range nHandovers {
		docs = append(docs, handover(g))
	}
	g.r.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })

	banned := filledProbes(probes)
	seen := map[string]bool{}
	for _, doc := range docs {
		var kept []string
		for _, l := range doc {
			if seen[l] || containsAny(l, banned) {
				continue
			}
			seen[l] = true
			kept = append(kept, l)
		}
		if len(kept) == 0 {
			continue
		}
		if isVal(kept[0]) {
			val = append(val, kept...)
		} else {
			train = append(train, kept...)
		}
	}
	return train, val
}

// isVal assigns a document to the validation split by a hash of its first line, so the
// split does not depend on the order in which documents were generated.
func isVal(first string) bool {
	h := fnv.New32a()
	h.Write([]byte(first))
	return h.Sum32()%valEvery == 0
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
