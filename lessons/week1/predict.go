package week1

import (
	"fmt"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
)

// HeadPatterns are the answers the head-pattern question accepts.
var HeadPatterns = []string{PatternPrevious, PatternSelf, PatternFirst, PatternSep, PatternFocus}

// RevealPattern is the self-check of an open question: the learner predicts which pattern
// ([HeadPatterns]) the most remarkable head of a model follows — the one with the highest
// lift over its uniform baseline in hr — and this reveals the measured answer. An empty
// prediction is "not done yet"; any other is compared with the measurement, and the
// report shows every pattern's strongest head either way.
func RevealPattern(prediction string, hr *HeadReportResult) exercise.Result {
	if prediction == "" {
		return exercise.Grade("predict the head", []exercise.Case{{Name: "你的预测 (your prediction)", Empty: true}}, "",
			"先想一想再运行：把 myPrediction 设成 week1.PatternPrevious / PatternSelf / PatternFirst / PatternSep / PatternFocus 之一。")
	}
	known := false
	for _, p := range HeadPatterns {
		known = known || prediction == p
	}
	if !known {
		return exercise.Grade("predict the head", []exercise.Case{{Name: "你的预测 (your prediction)", Detail: fmt.Sprintf("%q 不是可选的模式 (not one of week1.HeadPatterns)", prediction)}},
			"用 week1.PatternPrevious 这样的常量，不要自己写字符串。", "")
	}
	if hr == nil || len(hr.Top) == 0 {
		return exercise.Grade("predict the head", []exercise.Case{{Name: "测量 (measurement)", Detail: "没有 head report"}}, "先运行 HeadReport。", "")
	}
	top := hr.Top[0]
	var lines []string
	for _, s := range hr.Top {
		lines = append(lines, fmt.Sprintf("%s：layer %d head %d，倍数 (lift) %.1f×", s.Pattern, s.Layer, s.Head, s.Lift()))
	}
	c := exercise.Case{
		Name:   fmt.Sprintf("你猜 (you predicted)：%s；实测最突出的 (measured)：%s", prediction, top.Pattern),
		Passed: strings.HasPrefix(top.Pattern, prediction),
		Detail: "每种模式最强的头 (strongest head per pattern)：\n" + strings.Join(lines, "\n"),
	}
	r := exercise.Grade("predict the head", []exercise.Case{c},
		"和你的直觉不一样？看上面每种模式最强的头：倍数 (lift) 是它比“平均分配注意力”多几倍。", "")
	if r.Passed() {
		r.Cases[0].Name += "\n      " + strings.ReplaceAll(c.Detail, "\n", "\n      ")
	}
	return r
}
