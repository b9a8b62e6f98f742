package models

import (
	"fmt"
	"math"
	"time"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// Stage is one timed step of the inference pipeline.
type Stage struct {
	Name     string
	Duration time.Duration
	Detail   string // what came out of the stage
}

// Pipeline is the result of [PipelineTimings].
type Pipeline struct {
	Stages []Stage
	Prompt string
	Output string // the generated continuation
}

// Total is the sum of the stages' durations.
func (p *Pipeline) Total() time.Duration {
	var t time.Duration
	for _, s := range p.Stages {
		t += s.Duration
	}
	return t
}

// Table formats the stages as rows with their share of the total.
func (p *Pipeline) Table() (headers []string, rows [][]string) {
	total := p.Total()
	for _, s := range p.Stages {
		rows = append(rows, []string{s.Name, fmt.Sprintf("%.1f ms", float64(s.Duration.Microseconds())/1000),
			fmt.Sprintf("%.0f%%", 100*s.Duration.Seconds()/total.Seconds()), s.Detail})
	}
	return []string{"阶段 (stage)", "耗时 (time)", "占比 (share)", "产出 (output)"}, rows
}

// PipelineTimings runs the inference pipeline of a GPT model step by step and times each
// stage: load the checkpoint (config, weights, tokenizer) → tokenize the prompt → the first
// forward pass (which compiles the GoMLX graph) → a second forward pass (compiled) → pick
// the next token from the logits → generate maxTokens tokens with the KV cache (greedy) →
// decode the ids back to text. model is a shipped model name (lessons.GPTTinyZH) or a
// checkpoint directory.
func PipelineTimings(model, prompt string, maxTokens int) (*Pipeline, error) {
	p := &Pipeline{Prompt: prompt}
	stage := func(name string, f func() (string, error)) error {
		t0 := time.Now()
		detail, err := f()
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", name, err)
		}
		p.Stages = append(p.Stages, Stage{Name: name, Duration: time.Since(t0), Detail: detail})
		return nil
	}
	var m *llm.Model
	if err := stage("1 加载权重 (load)", func() (string, error) {
		var err error
		if m, err = lessons.LoadModel(model); err != nil {
			return "", err
		}
		if m.Config.Arch != llm.GPT || m.Tokenizer == nil {
			return "", fmt.Errorf("%s is not a GPT model with a tokenizer", model)
		}
		return fmt.Sprintf("%s，%d 层，%.2fM 个参数", archName(m.Config.Arch), m.Config.Layers, float64(paramCount(m))/1e6), nil
	}); err != nil {
		return nil, err
	}
	var ids []int
	if err := stage("2 分词 (tokenize)", func() (string, error) {
		ids = tokenizer.IDs(m.Tokenizer.Encode(prompt))
		if len(ids) == 0 {
			return "", fmt.Errorf("empty prompt")
		}
		return fmt.Sprintf("%d 个 token %v", len(ids), ids), nil
	}); err != nil {
		return nil, err
	}
	var out *llm.Output
	forward := func() (string, error) {
		var err error
		out, err = m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("logits %v", out.Logits.Shape), nil
	}
	if err := stage("3 第一次前向：编译计算图 (first forward: compile)", forward); err != nil {
		return nil, err
	}
	if err := stage("4 前向 (forward, compiled)", forward); err != nil {
		return nil, err
	}
	if err := stage("5 取下一个 token (next token)", func() (string, error) {
		row := out.Logits.Row(0, len(ids)-1)
		best, mx := 0, math.Inf(-1)
		for i, v := range row {
			if float64(v) > mx {
				best, mx = i, float64(v)
			}
		}
		return fmt.Sprintf("概率最大的 id %d = %q", best, m.Tokenizer.IDToToken(best)), nil
	}); err != nil {
		return nil, err
	}
	var gen *llm.GenerateResult
	if err := stage(fmt.Sprintf("6 生成 %d 个 token (KV cache, 贪心)", maxTokens), func() (string, error) {
		var err error
		gen, err = m.GenerateIDs(ids, llm.GenerateOptions{MaxTokens: maxTokens})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("预填充 (prefill) %.0f ms，之后每秒 %.0f 个 token", float64(gen.Prefill.Microseconds())/1000, gen.TokensPerSec()), nil
	}); err != nil {
		return nil, err
	}
	if err := stage("7 解码 (decode)", func() (string, error) {
		p.Output = m.Tokenizer.Decode(gen.IDs)
		return fmt.Sprintf("%q", p.Output), nil
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// View draws the pipeline's stages as bars of milliseconds.
func (p *Pipeline) View() *viz.Chart {
	var names []string
	var ms []float64
	for _, s := range p.Stages {
		names = append(names, s.Name)
		ms = append(ms, float64(s.Duration.Microseconds())/1000)
	}
	return viz.Bars(names, viz.Series{Name: "毫秒 (ms)", Values: ms}).Title("推理流程每一步的耗时 (inference pipeline, ms)")
}
