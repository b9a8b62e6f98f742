package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons/data"
)

// Supervised fine-tuning (SFT) and preference (DPO) data for gpt-tiny-zh: ops questions
// whose answer depends only on the alert kind and the intent of the question, written
// 问：question答：answer in at most sftMaxRunes characters. The test split holds
// questions out two ways: a phrasing no training question uses, or hosts, services,
// domains and topics no training question (nor the corpus) names.

// sftMaxRunes bounds 问：question答：answer (and 问：question答：rejected): the model has
// 128 positions, and the rest is room for an end token and generation.
const sftMaxRunes = data.SFTMaxRunes

// sftIntents are what a question asks, in output order.
var sftIntents = []string{"handle", "cause", "first", "restart", "prevent"}

// sftKind is one ops kind's answers.
type sftKind struct {
	key                    string
	ask                    []string // alert descriptions
	answers                map[string]string
	unsafe                 string
	hostKinds              []hostRole // roles that raise this kind
	causeList, preventList []string
}

// Loaded from tables/sft.txt.
var (
	sftKinds                                       []sftKind
	sftTrainQ, sftTestQ                            map[string][]string // intent → phrasings with {A}
	sftTestServices, sftTestDomains, sftTestTopics []string
	sftVague                                       []string
	sftCauseAnswer, sftPreventAnswer               string // {LIST}: short causes, fixes
)

func loadSFT(t *treader) {
	h := t.f.head
	sftTestServices, sftTestDomains, sftTestTopics = t.words(h, "test_services"), t.words(h, "test_domains"), t.words(h, "test_topics")
	sftVague = t.list(h, "vague")
	sftCauseAnswer, sftPreventAnswer = t.str(h, "cause_answer"), t.str(h, "prevent_answer")
	sftTrainQ, sftTestQ = map[string][]string{}, map[string][]string{}
	for _, in := range sftIntents {
		sftTrainQ[in], sftTestQ[in] = t.list(h, "q_"+in), t.list(h, "q_"+in+"_test")
	}
	sftKinds = nil
	for _, r := range t.f.recs {
		k := kindByKey(r.id)
		if k == nil {
			t.failf(r.line, r, "not an ops kind of tables/ops.txt")
			continue
		}
		sk := sftKind{key: r.id, ask: t.list(r, "ask"), unsafe: t.str(r, "unsafe"), answers: map[string]string{
			"handle": t.str(r, "handle"), "first": t.str(r, "first"), "restart": t.str(r, "restart"),
			"cause":   fill(sftCauseAnswer, "LIST", strings.Join(k.short[:min(3, len(k.short))], "、")),
			"prevent": preventAnswer(k.fixes),
		}}
		for _, role := range hostRoles {
			for _, kk := range role.kinds {
				if kk == r.id {
					sk.hostKinds = append(sk.hostKinds, role)
				}
			}
		}
		if len(sk.hostKinds) == 0 {
			t.failf(r.line, r, "no host role of tables/hosts.txt raises this kind")
		}
		sftKinds = append(sftKinds, sk)
	}
}

// preventAnswer fills sftPreventAnswer with two fixes (建议：fix1；fix2。), or one when two
// make it longer than 45 characters.
func preventAnswer(fixes []string) string {
	a := fill(sftPreventAnswer, "LIST", strings.Join(fixes[:min(2, len(fixes))], "；"))
	if utf8.RuneCountInString(a) > 45 {
		a = fill(sftPreventAnswer, "LIST", fixes[0])
	}
	return a
}

type sftItem struct {
	question, answer, kind, intent, holdout string
}

type dpoItem struct {
	question, chosen, rejected, rejectedKind, kind, intent, holdout string
}

func sftLine(question, answer string) string {
	return data.QuestionPrefix + question + data.AnswerPrefix + answer
}

// sftDescribe fills an alert description: training values, or held-out ones (hosts 50–99,
// the test_* names).
func sftDescribe(g *rng, k sftKind, desc string, heldOut bool) string {
	role := k.hostKinds[g.r.IntN(len(k.hostKinds))]
	num := g.between(1, 48)
	svcs, doms, topics := services, domains, topicsMQ
	if heldOut {
		num = g.between(50, 99)
		svcs, doms, topics = sftTestServices, sftTestDomains, sftTestTopics
	}
	return fill(desc, "H", fmt.Sprintf("%s-%02d", role.prefix, num), "M", g.pick(role.mounts), "S", g.pick(svcs),
		"D", g.pick(doms), "Q", g.pick(topics), "P", fmt.Sprint(g.between(85, 99)), "N", fmt.Sprint(g.between(2, 60)),
		"MS", fmt.Sprint(g.between(300, 5000)))
}

// buildSFT writes the training questions (every training phrasing × every description
// of every kind and intent, plus the hand-written corpus pairs that fit) and one test
// question per kind and intent, held out by phrasing or by names in turn. No question
// appears in the corpus, and no test question in training.
func buildSFT(g *rng, corpus []string) (train, test []sftItem, err error) {
	inCorpus := func(q string) bool {
		for _, l := range corpus {
			if strings.Contains(l, q) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	add := func(list *[]sftItem, it sftItem) error {
		if n := utf8.RuneCountInString(sftLine(it.question, it.answer)); n > sftMaxRunes {
			return fmt.Errorf("sft: %s/%s: %q is %d characters, want ≤ %d (shorten tables/sft.txt)", it.kind, it.intent, sftLine(it.question, it.answer), n, sftMaxRunes)
		}
		*list = append(*list, it)
		seen[it.question] = true
		return nil
	}
	draw := func(k sftKind, phrasing, desc string, heldOut bool) (string, bool) {
		for range 50 {
			q := fill(phrasing, "A", sftDescribe(g, k, desc, heldOut))
			if !seen[q] && !inCorpus(q) {
				return q, true
			}
		}
		return "", false
	}
	for _, k := range sftKinds {
		for _, in := range sftIntents {
			for _, ph := range sftTrainQ[in] {
				for _, desc := range k.ask {
					q, ok := draw(k, ph, desc, false)
					if !ok {
						return nil, nil, fmt.Errorf("sft: no new question for %s/%s from %q", k.key, in, desc)
					}
					if err := add(&train, sftItem{q, k.answers[in], k.key, in, ""}); err != nil {
						return nil, nil, err
					}
				}
			}
		}
	}
	for _, p := range qaPairs {
		if utf8.RuneCountInString(sftLine(p[0], p[1])) <= sftMaxRunes && !seen[p[0]] {
			if err := add(&train, sftItem{p[0], p[1], "general", "handwritten", ""}); err != nil {
				return nil, nil, err
			}
		}
	}
	g.r.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	for ki, k := range sftKinds {
		for ii, in := range sftIntents {
			var q string
			var ok bool
			holdout := "phrasing"
			if (ki+ii)%2 == 0 {
				q, ok = draw(k, g.pick(sftTestQ[in]), g.pick(k.ask), false)
			} else {
				holdout = "names"
				var named []string // descriptions with a name to hold out
				for _, d := range k.ask {
					if strings.ContainsAny(d, "{") {
						named = append(named, d)
					}
				}
				q, ok = draw(k, g.pick(sftTrainQ[in]), g.pick(named), true)
			}
			if !ok {
				return nil, nil, fmt.Errorf("sft: no new test question for %s/%s", k.key, in)
			}
			if err := add(&test, sftItem{q, k.answers[in], k.key, in, holdout}); err != nil {
				return nil, nil, err
			}
		}
	}
	return train, test, nil
}

// dpoRejectedKinds are the ways a rejected answer is poor, used in turn: the answer for
// another kind of alert, a vague answer, a reckless one, an everyday sentence.
var dpoRejectedKinds = []string{"wrong", "vague", "unsafe", "off_topic"}

// buildDPO pairs each chosen answer with a poor one. Training pairs come from every
// second SFT training question (the hand-written ones excepted), test pairs from every
// SFT test question, so test prompts are held out too. Off-topic answers are short
// everyday sentences of the training corpus (corpusTrain).
func buildDPO(g *rng, train, test []sftItem, corpusTrain map[string]bool) (dtrain, dtest []dpoItem, err error) {
	var offTopic []string
	for _, s := range everydaySentences {
		if utf8.RuneCountInString(s) <= 30 && corpusTrain[s] {
			offTopic = append(offTopic, s)
		}
	}
	byKey := map[string]sftKind{}
	for _, k := range sftKinds {
		byKey[k.key] = k
	}
	turn := 0
	pair := func(it sftItem) (dpoItem, error) {
		rk := dpoRejectedKinds[turn%len(dpoRejectedKinds)]
		turn++
		if rk == "unsafe" && (it.intent == "cause" || it.intent == "prevent") {
			rk = "wrong" // a reckless action is no answer to 原因 / 怎么避免; use another kind's
		}
		for range 50 {
			var rej string
			switch rk {
			case "wrong":
				other := sftKinds[g.r.IntN(len(sftKinds))]
				rej = other.answers[it.intent]
			case "vague":
				rej = g.pick(sftVague)
			case "unsafe":
				rej = byKey[it.kind].unsafe
			default:
				rej = g.pick(offTopic)
			}
			if rej != it.answer && utf8.RuneCountInString(sftLine(it.question, rej)) <= sftMaxRunes {
				return dpoItem{it.question, it.answer, rej, rk, it.kind, it.intent, it.holdout}, nil
			}
		}
		return dpoItem{}, fmt.Errorf("dpo: no %s answer fits %q", rk, it.question)
	}
	n := 0
	for _, it := range train {
		if it.intent == "handwritten" {
			continue
		}
		n++
		if n%2 == 1 {
			p, err := pair(it)
			if err != nil {
				return nil, nil, err
			}
			dtrain = append(dtrain, p)
		}
	}
	for _, it := range test {
		p, err := pair(it)
		if err != nil {
			return nil, nil, err
		}
		dtest = append(dtest, p)
	}
	return dtrain, dtest, nil
}

func sftJSONL(split string, xs []sftItem) []byte {
	rs := make([]data.SFTExample, len(xs))
	for i, x := range xs {
		rs[i] = data.SFTExample{ID: fmt.Sprintf("sft-%s-%04d", split, i+1), Question: x.question, Answer: x.answer,
			Kind: x.kind, Intent: x.intent, Holdout: x.holdout}
	}
	return jsonLines(rs)
}

func dpoJSONL(split string, xs []dpoItem) []byte {
	rs := make([]data.PreferencePair, len(xs))
	for i, x := range xs {
		rs[i] = data.PreferencePair{ID: fmt.Sprintf("dpo-%s-%04d", split, i+1), Question: x.question, Chosen: x.chosen,
			Rejected: x.rejected, RejectedKind: x.rejectedKind, Kind: x.kind, Intent: x.intent, Holdout: x.holdout}
	}
	return jsonLines(rs)
}
