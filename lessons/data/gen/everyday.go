package main

// Everyday Chinese: who went where to do what. These sentences give a tiny BERT the
// place/activity structure that the fill-mask probes ask about (去银行取钱, 去图书馆借书 …).

// place is somewhere people go, the things they do there and a few sentences about it.
type place struct {
	name  string
	shop  bool     // can take 大/小/附近的 … in front of it
	acts  []string // verb phrases: 去{name}{act}
	descs []string // sentences about the place
}

// Loaded from tables/everyday.txt. Templates: {P} person, {T} time, {L} place,
// {A} activity, {AFTER}/{DURING} a clause about the trip.
var (
	places                             []place
	people                             []string
	timesPast, timesToday, timesFuture []string
	shopAdjs                           []string // can stand before a shop: 大超市, 楼下的超市
	afterPast, duringPast              []string
	tmplPast, tmplToday, tmplFuture    []string
	tmplTwoPlaces                      []string // {L1}{A1} then {L2}{A2}
	everydaySentences                  []string // hand-written: weather, food, family, a few ambiguous ones
)

// everydaySentence composes one everyday sentence.
func everydaySentence(g *rng) string {
	pl := places[g.r.IntN(len(places))]
	name := pl.name
	if pl.shop && g.chance(0.3) {
		name = g.pick(shopAdjs) + name
	}
	var tmpls, times []string
	switch g.r.IntN(3) {
	case 0:
		tmpls, times = tmplPast, timesPast
	case 1:
		tmpls, times = tmplToday, timesToday
	default:
		tmpls, times = tmplFuture, timesFuture
	}
	return fill(g.pick(tmpls), "P", g.pick(people), "T", g.pick(times), "L", name,
		"A", g.pick(pl.acts), "AFTER", g.pick(afterPast), "DURING", g.pick(duringPast))
}

// everydayLines returns n distinct everyday lines: the hand-written sentences once each,
// then templated sentences, sometimes joined into a two-sentence mini diary.
func everydayLines(g *rng, n int) []string {
	out := append([]string(nil), everydaySentences...)
	for len(out) < n {
		switch {
		case g.chance(0.12):
			pl := places[g.r.IntN(len(places))]
			out = append(out, g.pick(pl.descs))
		case g.chance(0.2):
			out = append(out, twoPlaces(g))
		default:
			out = append(out, everydaySentence(g))
		}
	}
	return out
}

// twoPlaces is one person's errands: 他昨天先去银行取钱，又去超市买了水果。
func twoPlaces(g *rng) string {
	i := g.r.IntN(len(places))
	j := g.r.IntN(len(places) - 1)
	if j >= i {
		j++
	}
	a, b := places[i], places[j]
	t := g.pick(tmplTwoPlaces)
	return fill(t, "P", g.pick(people), "T", g.pick(timesPast), "L1", a.name, "A1", g.pick(a.acts),
		"L2", b.name, "A2", g.pick(b.acts))
}
