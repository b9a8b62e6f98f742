package week1

// Task is one family of NLP tasks, for the "NLP on one page" table.
type Task struct {
	Kind     string // 理解 (understanding), 生成 (generation) or 推理 (reasoning)
	Examples string // typical tasks
	Input    string // what goes in → what comes out
	Models   string // model family usually used
}

// Tasks returns the three families of NLP tasks the course meets.
func Tasks() []Task {
	return []Task{
		{"理解 (understanding)", "文本分类 (classification)、命名实体识别 (NER)、情感分析、报警日志归因", "一段文本 → 标签 / 每个 token 的标签", "encoder: BERT"},
		{"生成 (generation)", "续写 (completion)、翻译 (translation)、摘要 (summarization)、对话", "一段文本 → 一段新文本，逐 token 生成", "decoder: GPT；encoder-decoder: T5、BART"},
		{"推理 (reasoning)", "问答 (QA)、数学题、多步排障 (troubleshooting)", "问题 → 中间步骤 + 答案", "大的 decoder + 思维链 (chain of thought)"},
	}
}

// Era is one period of NLP history.
type Era struct {
	Years   string
	Name    string
	Idea    string
	Example string
	Limit   string // what pushed the field to the next era
}

// History returns NLP's three eras: rules, statistical machine learning, Transformers.
func History() []Era {
	return []Era{
		{"1950s–1990s", "规则 (rules)", "专家手写语法和词典", "ELIZA、基于规则的机器翻译", "规则写不完，遇到新说法就失效"},
		{"1990s–2017", "统计机器学习 (statistical ML)", "从数据里数概率：n-gram、HMM、CRF，后来 word2vec + RNN/LSTM", "n-gram 语言模型、统计机器翻译、seq2seq", "要人工设计特征；RNN 逐字处理，长距离依赖难学、难并行"},
		{"2017–", "Transformer", "自注意力 (self-attention) 让每个 token 直接看整句话；先在大语料上预训练 (pretraining)，再微调 (fine-tuning)", "Attention Is All You Need (2017)、BERT (2018)、GPT-2/3 (2019/2020)、ChatGPT (2022)", "算力和数据成本高；这正是本课程后几周要解决的问题"},
	}
}

// TaskRows returns [Tasks] as table rows with headers, ready for a table display.
func TaskRows() (headers []string, rows [][]string) {
	for _, t := range Tasks() {
		rows = append(rows, []string{t.Kind, t.Examples, t.Input, t.Models})
	}
	return []string{"任务 (task)", "例子 (examples)", "输入 → 输出", "常用模型"}, rows
}

// HistoryRows returns [History] as table rows with headers.
func HistoryRows() (headers []string, rows [][]string) {
	for _, e := range History() {
		rows = append(rows, []string{e.Years, e.Name, e.Idea, e.Example, e.Limit})
	}
	return []string{"年代", "范式 (paradigm)", "核心想法", "代表", "局限 → 下一步"}, rows
}
