package main

// qaPairs are hand-written questions and answers (tables/qa.txt), the kind an engineer
// asks in the team chat. Each becomes one corpus line: 问：……答：……
var qaPairs [][2]string

func qaLines() []string {
	out := make([]string, len(qaPairs))
	for i, p := range qaPairs {
		out[i] = "问：" + p[0] + "答：" + p[1]
	}
	return out
}
