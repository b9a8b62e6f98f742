package main

import (
	"fmt"
	"strings"
	"sync"
)

// loadTables reads every file under tables/ into the package's tables (topics, places,
// opsKinds, alertClasses, …) once; Generate calls it first. The error names the file and
// line of the first problem.
var loadTables = sync.OnceValue(func() error {
	for _, l := range []struct {
		file string
		load func(t *treader)
	}{
		{"tech.txt", loadTech},
		{"everyday.txt", loadEveryday},
		{"qa.txt", loadQA},
		{"probes.txt", loadProbes},
		{"hosts.txt", loadHosts},
		{"ops.txt", loadOps},
		{"alerts.txt", loadAlerts},
		{"hard_alerts.txt", loadHard},
		{"sft.txt", loadSFT},
		{"squad_contexts.txt", loadSquadContexts},
		{"squad_questions.txt", loadSquadQuestions},
		{"squad_facts.txt", loadSquadFacts},
		{"seq2seq.txt", loadSeq2Seq},
	} {
		t, err := readTable(l.file)
		if err != nil {
			return err
		}
		l.load(t)
		if err := t.done(); err != nil {
			return err
		}
	}
	return checkTables()
})

func loadTech(t *treader) {
	h := t.f.head
	openers, connectors, closers = t.list(h, "openers"), t.list(h, "connectors"), t.list(h, "closers")
	topics = nil
	for _, r := range t.f.recs {
		topics = append(topics, topic{name: r.id, en: t.str(r, "en"), domain: t.str(r, "domain"),
			defs: t.list(r, "defs"), facts: t.list(r, "facts"), tips: t.optList(r, "tips")})
	}
}

func loadEveryday(t *treader) {
	h := t.f.head
	people = t.words(h, "people")
	timesPast, timesToday, timesFuture = t.words(h, "times_past"), t.words(h, "times_today"), t.words(h, "times_future")
	shopAdjs = t.words(h, "shop_adjs")
	afterPast, duringPast = t.list(h, "after_past"), t.list(h, "during_past")
	tmplPast, tmplToday, tmplFuture = t.list(h, "tmpl_past"), t.list(h, "tmpl_today"), t.list(h, "tmpl_future")
	tmplTwoPlaces = t.list(h, "tmpl_two_places")
	everydaySentences = t.list(h, "sentences")
	places = nil
	for _, r := range t.f.recs {
		places = append(places, place{name: r.id, shop: t.flag(r, "shop"), acts: t.words(r, "acts"), descs: t.list(r, "descs")})
	}
}

func loadQA(t *treader) {
	qaPairs = nil
	for _, p := range t.cols(t.f.head, "pairs", 2) {
		qaPairs = append(qaPairs, [2]string{p[0], p[1]})
	}
}

func loadProbes(t *treader) {
	probeTable = nil
	for _, p := range t.cols(t.f.head, "probes", 3) {
		probeTable = append(probeTable, probe{p[0], strings.Split(p[1], ","), p[2]})
	}
}

func loadHosts(t *treader) {
	hostRoles = nil
	for _, r := range t.f.recs {
		hostRoles = append(hostRoles, hostRole{prefix: r.id, role: t.str(r, "role"), mounts: t.words(r, "mounts"), kinds: t.words(r, "kinds")})
	}
}

func loadOps(t *treader) {
	h := t.f.head
	services, oncallNames, peers = t.words(h, "services"), t.words(h, "oncall_names"), t.words(h, "peers")
	domains, topicsMQ, procs = t.words(h, "domains"), t.words(h, "mq_topics"), t.words(h, "procs")
	impacts = t.list(h, "impacts")
	opsKinds = nil
	for _, r := range t.f.recs {
		m, ok := kindMetrics[r.id]
		if !ok {
			t.failf(r.line, r, "no metric lines for this kind in ops.go (kindMetrics)")
			continue
		}
		opsKinds = append(opsKinds, opsKind{key: r.id, zh: t.str(r, "zh"), warn: m.warn, crit: m.crit, recover: m.recover,
			acts: t.list(r, "acts"), causes: t.list(r, "causes"), short: t.list(r, "short"), fixes: t.list(r, "fixes"),
			title: t.str(r, "title"), scene: t.str(r, "scene"), steps: t.alts(r, "steps"), notes: t.list(r, "notes")})
	}
}

func loadAlerts(t *treader) {
	h := t.f.head
	alertServices, alertHostPrefix, alertDomains = t.words(h, "services"), t.words(h, "host_prefixes"), t.words(h, "domains")
	alertMounts, alertKeys, alertNumKeys = t.words(h, "mounts"), t.words(h, "keys"), t.words(h, "num_keys")
	alertFiles, alertEnvs, alertOpts, alertVals = t.words(h, "files"), t.words(h, "envs"), t.words(h, "opts"), t.words(h, "vals")
	alertProcs, alertPorts, alertMaxConns = t.words(h, "procs"), t.words(h, "ports"), t.words(h, "max_conns")
	reporters, notePrefixes, monitors = t.words(h, "reporters"), t.words(h, "note_prefixes"), t.words(h, "monitors")
	severities, alertSuffixes, vagueAlerts = t.words(h, "severities"), t.list(h, "suffixes"), t.list(h, "vague")
	alertClasses = nil
	for _, r := range t.f.recs {
		alertClasses = append(alertClasses, alertClass{label: r.id, zh: t.str(r, "zh"), ruledOut: t.str(r, "ruled_out"),
			clear: t.list(r, "clear"), hard: t.list(r, "hard")})
	}
}

// checkTables checks what spans files: every ops kind a host role names exists, every
// kind has metric lines, and the tables the generator indexes are not empty.
func checkTables() error {
	for _, r := range hostRoles {
		for _, k := range r.kinds {
			if kindByKey(k) == nil {
				return fmt.Errorf("tables/hosts.txt: role %q names unknown ops kind %q (see tables/ops.txt)", r.prefix, k)
			}
		}
	}
	for key := range kindMetrics {
		if kindByKey(key) == nil {
			return fmt.Errorf("tables/ops.txt: no record for kind %q, which ops.go's kindMetrics defines", key)
		}
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"tech.txt topics", len(topics)}, {"everyday.txt places", len(places)}, {"hosts.txt roles", len(hostRoles)},
		{"ops.txt kinds", len(opsKinds)}, {"alerts.txt classes", len(alertClasses)}} {
		if c.n < 2 {
			return fmt.Errorf("tables/%s: %d records, want at least 2", c.name, c.n)
		}
	}
	return nil
}
