package main

import (
	"strings"
	"unicode"
)

// Explanatory paragraphs on computing, operations, networking, databases and NLP. Each
// topic (tables/tech.txt) has hand-written definitions, facts and tips; a paragraph is an
// opener, one definition, a few facts in random order and sometimes a tip and a closing
// sentence.

type topic struct {
	name, en, domain string
	defs, facts      []string
	tips             []string
}

// Loaded from tables/tech.txt: the topics, and the sentences that open and close a
// paragraph ({N} topic, {E} English name, {D} domain).
var (
	topics                       []topic
	openers, connectors, closers []string
)

// techParagraph writes one explanatory paragraph about t.
func techParagraph(g *rng, t topic) string {
	var b strings.Builder
	def := g.pick(t.defs)
	if g.chance(0.6) {
		op := g.pick(openers)
		if t.name == t.en {
			op = strings.Replace(op, "（{E}）", "", 1)
		}
		b.WriteString(padLatin(fill(op, "N", t.name, "E", t.en, "D", t.domain)))
	} else if t.name != t.en {
		// Without an opener, introduce the English term at the first mention.
		if strings.HasPrefix(def, t.name+" ") {
			def = strings.Replace(def, t.name+" ", t.name+"（"+t.en+"）", 1)
		} else {
			def = strings.Replace(def, t.name, t.name+"（"+t.en+"）", 1)
		}
	}
	b.WriteString(def)
	n := g.between(2, 3)
	for i, f := range g.pickN(t.facts, n) {
		if i > 0 && g.chance(0.35) {
			f = g.pick(connectors) + f
		}
		b.WriteString(f)
	}
	if len(t.tips) > 0 && g.chance(0.5) {
		b.WriteString(g.pick(t.tips))
	} else if g.chance(0.3) {
		b.WriteString(padLatin(fill(g.pick(closers), "N", t.name, "D", t.domain)))
	}
	return b.String()
}

// techDocument is a short article: two to four paragraphs on topics of one domain.
func techDocument(g *rng) []string {
	t0 := topics[g.r.IntN(len(topics))]
	var same []topic
	for _, t := range topics {
		if t.domain == t0.domain && t.name != t0.name {
			same = append(same, t)
		}
	}
	doc := []string{techParagraph(g, t0)}
	for range g.between(1, 3) {
		doc = append(doc, techParagraph(g, same[g.r.IntN(len(same))]))
	}
	return doc
}

// padLatin puts a space between a Chinese character and an adjacent Latin letter or
// digit, the spacing the hand-written sentences use (看 DNS, 用到 softmax 的).
func padLatin(s string) string {
	var b strings.Builder
	var prev rune
	for i, r := range s {
		if i > 0 && (isHan(prev) && isLatin(r) || isLatin(prev) && isHan(r)) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func isHan(r rune) bool   { return unicode.Is(unicode.Han, r) }
func isLatin(r rune) bool { return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }
