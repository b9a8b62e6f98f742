package pipeline_test

import (
	"fmt"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
)

// Extractive question answering on a checkpoint laid out like
// uer/roberta-base-chinese-extractive-qa (here a tiny random one, so the answer is not
// meaningful; the same code runs the real model from `divellm download`).
func ExampleQuestionAnswering() {
	m, err := llm.Load("../../testdata/hf/tiny-bert-qa-zh")
	if err != nil {
		fmt.Println(err)
		return
	}
	context := "磁盘已满会导致系统无法写入新文件，程序可能崩溃。"
	ans, err := pipeline.QuestionAnswering(m, "磁盘已满会导致什么？", context, pipeline.QAOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q start=%d end=%d score=%.4f\n", ans.Answer, ans.Start, ans.End, ans.Score)
	fmt.Println(string([]rune(context)[ans.Start:ans.End])) // character offsets, as in Python
	// Output:
	// "统无法写入新文件，" start=8 end=17 score=0.0068
	// 统无法写入新文件，
}

// Fill-mask returns transformers' fields: score, token id, token string and the filled
// sequence (decoded the BERT way, Chinese characters separated by spaces).
func ExampleFillMask() {
	m, err := llm.Load("../../testdata/hf/tiny-bert")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := pipeline.FillMask(m, "我们爱北京，它很[MASK]。", 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res {
		fmt.Printf("%.4f %d %s | %s\n", r.Score, r.Token, r.TokenStr, r.Sequence)
	}
	// Output:
	// 0.0850 68 吃 | 我 们 爱 北 京 ， 它 很 吃 。
	// 0.0722 57 意 | 我 们 爱 北 京 ， 它 很 意 。
}
