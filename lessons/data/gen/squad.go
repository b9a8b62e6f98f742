package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons/data"
)

// A SQuAD-style extractive question-answering set for a character-level BERT with 128
// positions: a short ops context (an alert line, an incident review, a runbook entry, a
// condition and its effects, an on-call handover), a question, and the answer span in
// the context. The material is the corpus's: kindMetrics' alert messages, the causes,
// fixes, titles, scenes, steps and notes of tables/ops.txt, and the effects of
// tables/squad_facts.txt.
//
// train: training context templates and phrasings, training names.
// val:   the same templates and phrasings, held-out names (hosts 50–99, other services,
//        November and December dates): it measures new contexts of a known form.
// test:  held-out context templates AND phrasings AND names, plus the study plan's
//        example; no test context or question appears in training.
// long:  a few 200–600 character contexts (runbook + incident review) for the
//        windows-with-stride demo.

// qaMaxRunes bounds question+context: [CLS] question [SEP] context [SEP] fits in 128.
const qaMaxRunes = data.QAMaxRunes

// Targets: questions per split, and long contexts.
const (
	qaTrainQuestions = 3200
	qaValQuestions   = 400
	qaTestQuestions  = 400
	qaLongContexts   = 16
)

type qaTemplates struct{ train, test []string }

type qaQuestionType struct {
	name, context, answer string // answer: the slot whose value is the span
	phrasings             qaTemplates
}

type qaFact struct {
	key            string
	conds, effects []string
	action         string
}

// Loaded from tables/squad_*.txt.
var (
	qaContexts                           map[string]qaTemplates // context kind → templates
	qaContextKinds                       []string               // in file order
	qaLongTemplate                       string
	qaQuestionTypes                      []qaQuestionType
	qaFacts                              []qaFact
	qaTestServices                       []string
	qaPlanContext, qaPlanQ, qaPlanAnswer string
)

func loadSquadContexts(t *treader) {
	qaLongTemplate = t.str(t.f.head, "long")
	qaContexts, qaContextKinds = map[string]qaTemplates{}, nil
	for _, r := range t.f.recs {
		qaContexts[r.id] = qaTemplates{t.list(r, "train"), t.list(r, "test")}
		qaContextKinds = append(qaContextKinds, r.id)
	}
}

func loadSquadQuestions(t *treader) {
	qaQuestionTypes = nil
	for _, r := range t.f.recs {
		q := qaQuestionType{name: r.id, context: t.str(r, "context"), answer: t.str(r, "answer"),
			phrasings: qaTemplates{t.list(r, "train"), t.list(r, "test")}}
		if _, ok := qaContexts[q.context]; !ok && t.err == nil {
			t.failf(r.line, r, "context %q is not a record of squad_contexts.txt", q.context)
		}
		qaQuestionTypes = append(qaQuestionTypes, q)
	}
}

func loadSquadFacts(t *treader) {
	h := t.f.head
	qaTestServices = t.words(h, "test_services")
	qaPlanContext, qaPlanQ, qaPlanAnswer = t.str(h, "plan_context"), t.str(h, "plan_question"), t.str(h, "plan_answer")
	qaFacts = nil
	for _, r := range t.f.recs {
		f := qaFact{key: r.id, conds: t.list(r, "cond"), effects: t.list(r, "effects"), action: t.str(r, "action")}
		if kindByKey(r.id) == nil {
			t.failf(r.line, r, "not an ops kind of tables/ops.txt")
			continue
		}
		if len(f.effects) < 2 {
			t.failf(r.line, r, "want at least two effects")
		}
		qaFacts = append(qaFacts, f)
	}
}

type qaItem struct {
	context, question, answer string
	start                     int // rune offset of answer in context
	contextKind, qtype        string
}

// qaNames are the names one split draws from.
type qaNames struct {
	heldOut bool
}

// host returns a host (prefix-NN: 01–48 for training, 50–99 held out) whose role raises
// kind key, or any host when key is "".
func (n qaNames) host(g *rng, key string) host {
	var roles []hostRole
	for _, r := range hostRoles {
		if key == "" || slices.Contains(r.kinds, key) {
			roles = append(roles, r)
		}
	}
	r := roles[g.r.IntN(len(roles))]
	num, svcs := g.between(1, 48), services
	if n.heldOut {
		num, svcs = g.between(50, 99), qaTestServices
	}
	return host{name: fmt.Sprintf("%s-%02d", r.prefix, num), role: r, mount: g.pick(r.mounts), svc: g.pick(svcs)}
}

// date is in January–October for training, November–December held out.
func (n qaNames) date(g *rng) string {
	if n.heldOut {
		return fmt.Sprintf("2026-%02d-%02d", g.between(11, 12), g.between(1, 28))
	}
	return fmt.Sprintf("2026-%02d-%02d", g.between(1, 10), g.between(1, 28))
}

// qaSlots draws the values of one context of the given kind.
func qaSlots(g *rng, kind string, n qaNames) map[string]string {
	v := map[string]string{}
	switch kind {
	case "alert":
		h := n.host(g, "")
		k := hostKind(g, h)
		v["H"], v["DATE"] = h.name, n.date(g)
		v["TIME"] = fmt.Sprintf("%02d:%02d:%02d", g.between(0, 23), g.between(0, 59), g.between(0, 59))
		if g.chance(0.5) {
			v["LEVEL"], v["MSG"] = "WARNING", k.warn(g, h)
		} else {
			v["LEVEL"], v["MSG"] = "CRITICAL", k.crit(g, h)
		}
	case "incident":
		h := n.host(g, "")
		k := hostKind(g, h)
		v["S"], v["DATE"], v["KZH"] = h.svc, n.date(g), k.zh
		v["CAUSE"], v["FIX"] = fillOps(g, g.pick(k.causes), h), g.pick(k.fixes)
	case "runbook":
		k := &opsKinds[g.r.IntN(len(opsKinds))]
		h := n.host(g, k.key)
		v["TITLE"], v["SCENE"] = k.title, k.scene
		v["STEP"] = fillOps(g, g.pick(k.steps[0]), h)
		v["NOTE"] = strings.TrimSuffix(g.pick(k.notes), "。")
	case "effect":
		f := qaFacts[g.r.IntN(len(qaFacts))]
		h := n.host(g, f.key)
		e := g.pickN(f.effects, 2)
		v["H"], v["C"], v["E1"], v["E2"], v["ACT"] = h.name, g.pick(f.conds), e[0], e[1], f.action
	case "handover":
		h := n.host(g, "")
		k := hostKind(g, h)
		from := g.pick(oncallNames)
		to := g.pick(oncallNames)
		for to == from {
			to = g.pick(oncallNames)
		}
		v["DATE"], v["FROM"], v["TO"], v["H"], v["KZH"], v["SHORT"] = n.date(g), from, to, h.name, spaced(k.zh), g.pick(k.short)
	}
	return v
}

func fillMap(tmpl string, v map[string]string) string {
	kv := make([]string, 0, 2*len(v))
	for _, k := range slices.Sorted(maps.Keys(v)) {
		kv = append(kv, k, v[k])
	}
	return fill(tmpl, kv...)
}

// qaQuestions asks questions about one context (spaced like padLatin): each question type of its kind whose
// answer occurs exactly once in the context (so the span is unambiguous) and whose
// question+context fits qaMaxRunes; at most max of them, in random order.
func qaQuestions(g *rng, kind, context string, v map[string]string, test bool, max int) []qaItem {
	var out []qaItem
	for _, i := range g.r.Perm(len(qaQuestionTypes)) {
		qt := qaQuestionTypes[i]
		if qt.context != kind || len(out) >= max {
			continue
		}
		ans := padLatin(strings.TrimSpace(v[qt.answer]))
		if ans == "" || strings.Count(context, ans) != 1 {
			continue
		}
		phr := qt.phrasings.train
		if test {
			phr = qt.phrasings.test
		}
		q := padLatin(fillMap(g.pick(phr), v))
		if utf8.RuneCountInString(q+context) > qaMaxRunes {
			continue
		}
		start := utf8.RuneCountInString(context[:strings.Index(context, ans)])
		out = append(out, qaItem{context, q, ans, start, kind, qt.name})
	}
	return out
}

// buildQA writes the train, val and test splits and the long contexts. Contexts never
// repeat within or across splits, and a context or question with a character outside
// vocab (the corpus's characters, a character-level model's vocabulary) is drawn again.
func buildQA(g *rng, vocab map[rune]bool) (map[string][]qaItem, error) {
	known := func(s string) bool {
		for _, r := range s {
			if !vocab[r] {
				return false
			}
		}
		return true
	}
	seen := map[string]bool{qaPlanContext: true}
	out := map[string][]qaItem{}
	for _, sp := range []struct {
		name   string
		target int
		names  qaNames
		test   bool
	}{
		{"train", qaTrainQuestions, qaNames{false}, false},
		{"val", qaValQuestions, qaNames{true}, false},
		{"test", qaTestQuestions, qaNames{true}, true},
	} {
		var items []qaItem
		for tries := 0; len(items) < sp.target; tries++ {
			if tries > 20*sp.target {
				return nil, fmt.Errorf("qa %s: only %d questions", sp.name, len(items))
			}
			kind := qaContextKinds[g.r.IntN(len(qaContextKinds))]
			v := qaSlots(g, kind, sp.names)
			tmpls := qaContexts[kind].train
			if sp.test {
				tmpls = qaContexts[kind].test
			}
			context := padLatin(fillMap(g.pick(tmpls), v))
			if seen[context] || !known(context) {
				continue
			}
			qs := qaQuestions(g, kind, context, v, sp.test, g.between(2, 3))
			qs = slices.DeleteFunc(qs, func(it qaItem) bool { return !known(it.question) })
			if len(qs) == 0 {
				continue
			}
			seen[context] = true
			items = append(items, qs...)
		}
		out[sp.name] = items
	}
	// The study plan's example: 磁盘已满会导致什么? → 系统无法写入文件.
	start := strings.Index(qaPlanContext, qaPlanAnswer)
	if start < 0 {
		return nil, fmt.Errorf("tables/squad_facts.txt: plan_answer %q is not in plan_context", qaPlanAnswer)
	}
	out["test"] = append(out["test"], qaItem{qaPlanContext, qaPlanQ, qaPlanAnswer,
		utf8.RuneCountInString(qaPlanContext[:start]), "effect", "effect"})

	long, err := buildLongQA(g, seen, known)
	if err != nil {
		return nil, err
	}
	out["long"] = long
	return out, nil
}

// buildLongQA composes contexts of 200–600 characters (a whole runbook entry followed
// by an incident review of the same kind, held-out names) and asks about their start
// and their end, so that a 128-position model needs several windows.
func buildLongQA(g *rng, seen map[string]bool, known func(string) bool) ([]qaItem, error) {
	n := qaNames{true}
	var out []qaItem
	for tries := 0; len(out) < 2*qaLongContexts; tries++ {
		if tries > 100*qaLongContexts {
			return nil, fmt.Errorf("qa long: only %d questions", len(out))
		}
		k := &opsKinds[g.r.IntN(len(opsKinds))]
		h := n.host(g, k.key)
		v := map[string]string{"TITLE": k.title, "SCENE": k.scene, "S": h.svc, "DATE": n.date(g), "KZH": k.zh,
			"CAUSE": fillOps(g, g.pick(k.causes), h), "FIX": g.pick(k.fixes)}
		var steps []string
		for i, alts := range k.steps {
			s := fillOps(g, g.pick(alts), h)
			if i == 0 {
				v["STEP"] = s
			}
			steps = append(steps, fmt.Sprintf("%d. %s", i+1, s))
		}
		v["STEPS"], v["NOTE"] = strings.Join(steps, "；"), g.pick(k.notes)
		v["HM"] = fmt.Sprintf("%02d:%02d", g.between(0, 23), g.between(0, 59))
		v["MSG"] = k.crit(g, h)
		context := fillMap(qaLongTemplate, v)
		if l := utf8.RuneCountInString(context); l < 200 || l > 600 || seen[context] || !known(context) {
			continue
		}
		var qs []qaItem
		for _, name := range []string{"rb_scene", "rb_first", "inc_cause", "inc_service"} {
			for _, qt := range qaQuestionTypes {
				ans := v[qt.answer]
				if qt.name != name || strings.Count(context, ans) != 1 {
					continue
				}
				start := utf8.RuneCountInString(context[:strings.Index(context, ans)])
				qs = append(qs, qaItem{context, g.pick(qt.phrasings.train), ans, start, "long", qt.name})
			}
		}
		if len(qs) < 4 {
			continue
		}
		seen[context] = true
		// One question about the first part, one about the review at the end.
		out = append(out, qs[g.r.IntN(2)], qs[2+g.r.IntN(2)])
	}
	return out, nil
}

func qaJSONL(split string, xs []qaItem) []byte {
	rs := make([]data.QAExample, len(xs))
	for i, x := range xs {
		rs[i] = data.QAExample{ID: fmt.Sprintf("%s-%05d-%s", split, i+1, x.qtype), Context: x.context, Question: x.question,
			Answers: data.QAAnswers{Text: []string{x.answer}, AnswerStart: []int{x.start}}}
	}
	return jsonLines(rs)
}
