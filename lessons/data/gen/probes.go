package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fill-mask probes for a tiny character-level BERT. Each probe masks one Chinese
// character whose answer the corpus teaches through the same structure in other
// sentences; the exact filled-in sentence never appears in the corpus (buildCorpus drops
// any line that contains it).

type probe struct {
	text    string   // contains exactly one [MASK]
	answers []string // acceptable single characters
	note    string
}

const maskToken = "[MASK]"

func mlmProbes() []probe {
	raw := []struct{ text, answers, note string }{
		// 日常：地点和活动的搭配
		{"我今天去[MASK]超市", "大,了,小", "日常：去大超市 / 去了超市"},
		{"我今天去[MASK]行取钱", "银", "日常：取钱的地方是银行"},
		{"他明天要去图书[MASK]还书", "馆", "日常：图书馆"},
		{"奶奶昨天去医[MASK]看病了", "院", "日常：医院"},
		{"我们周末去公[MASK]放风筝", "园", "日常：公园"},
		{"妈妈今天去超[MASK]买鸡蛋", "市", "日常：超市"},
		{"小李昨天去邮[MASK]寄包裹了", "局", "日常：邮局"},
		{"他们今天晚上去电影[MASK]看电影", "院", "日常：电影院"},
		{"爸爸明天去火车[MASK]接人", "站", "日常：火车站"},
		{"我下午去银行[MASK]钱", "取,存", "日常：在银行取钱或存钱"},
		{"她昨天去书店买[MASK]", "书", "日常：书店买书"},
		{"老张昨天在河边钓[MASK]", "鱼", "日常：钓鱼"},
		{"同事小陈明天要去机[MASK]坐飞机", "场", "日常：机场"},
		{"我去药店买感冒[MASK]", "药", "日常：感冒药"},
		{"他周末去健身[MASK]锻炼身体", "房", "日常：健身房"},
		{"我们今天去饭店吃[MASK]锅", "火", "日常：火锅"},
		{"姐姐昨天去理发店剪头[MASK]", "发", "日常：剪头发"},
		{"明天天[MASK]很好", "气", "日常：天气"},
		{"孩子发烧了，我带他去[MASK]院", "医", "日常：看病去医院"},
		{"他每天坐地[MASK]去公司", "铁", "日常：坐地铁"},
		{"外面下[MASK]了，记得带伞", "雨,雪", "日常：天气"},
		{"他在超市门口碰到了老同[MASK]", "学", "日常：老同学"},
		{"我给妈妈打了一个电[MASK]", "话", "日常：打电话"},
		{"周末我们一起去爬[MASK]", "山", "日常：爬山"},
		{"去银行办卡要带身份[MASK]", "证", "日常：身份证"},
		{"商场里的衣服都在打[MASK]", "折", "日常：打折"},
		{"晚上的图书馆里很安[MASK]", "静", "日常：安静"},
		{"她去面包店买生日蛋[MASK]", "糕", "日常：蛋糕"},
		{"我明天去银行还信用[MASK]", "卡", "日常：信用卡"},
		{"他开车去加油站加[MASK]", "油", "日常：加油"},
		{"我们去体育馆打羽毛[MASK]", "球", "日常：羽毛球"},
		{"公园里有很多老人在打太极[MASK]", "拳", "日常：太极拳"},
		{"他打算下周一去医院体[MASK]", "检", "日常：体检"},
		{"我昨天去[MASK]店买了一束花", "花", "日常：花店"},
		// 运维：告警、日志和处理步骤里的固定搭配
		{"服务器的磁[MASK]使用率超过了 90%", "盘", "运维：磁盘使用率"},
		{"db-prod-07 的内存使[MASK]率是 95%", "用", "运维：使用率"},
		{"数据库连接[MASK]已经耗尽", "池", "运维：连接池"},
		{"处理告警前请先登录跳[MASK]机", "板", "运维：跳板机"},
		{"网站的证书已经过[MASK]了", "期", "运维：证书过期"},
		{"请求一直超[MASK]，没有返回", "时", "运维：超时"},
		{"java 进程被 OOM killer 终[MASK]", "止", "运维：被 OOM 终止"},
		{"主从复制延[MASK]超过了 60 秒", "迟", "运维：复制延迟"},
		{"负载均[MASK]器把请求分发到后端", "衡", "运维：负载均衡"},
		{"凌晨三点，值班工程[MASK]被告警叫醒", "师", "运维：值班工程师"},
		{"故障复[MASK]的目的不是追究责任", "盘", "运维：故障复盘"},
		{"这条 SQL 没有用上索[MASK]", "引", "数据库：索引"},
		{"[MASK]志文件把磁盘写满了", "日", "运维：日志"},
		{"先查看 Pod 的崩溃日[MASK]", "志", "运维：日志"},
		{"新版本上线后出了问题，需要回[MASK]", "滚", "运维：回滚"},
		{"CPU 使用率持续 100%，需要扩[MASK]", "容", "运维：扩容"},
		{"网络出现丢[MASK]，延迟升高", "包", "网络：丢包"},
		{"磁盘快满了，需要清理过期的日[MASK]", "志", "运维：清理日志"},
		{"用 df -h 查看磁盘的使[MASK]率", "用", "运维：使用率"},
		{"出了故障要先止损，然后再查原[MASK]", "因", "运维：查原因"},
		{"消息队列积[MASK]了十万条消息", "压", "运维：消息积压"},
		{"从库的复制[MASK]迟越来越大", "延", "数据库：复制延迟"},
		{"这台机器的健康检查连续三次失[MASK]", "败", "运维：健康检查失败"},
		{"重启以后服务恢复正[MASK]", "常", "运维：恢复正常"},
		{"处理完以后请在值班群里同[MASK]结果", "步", "运维：同步处理结果"},
		{"数据[MASK]的连接数超过了上限", "库", "数据库"},
		{"修改配[MASK]之前要先在测试环境验证", "置", "运维：配置"},
		{"这个接口的 P99 延迟太[MASK]了", "高,大,长", "运维：延迟高"},
		// 自然语言处理
		{"Transformer 的核心是自注意[MASK]", "力", "NLP：自注意力"},
		{"模型的损[MASK]一直在下降", "失", "NLP：损失"},
		{"训练时要留出验证[MASK]", "集", "NLP：验证集"},
		{"学习[MASK]太大会导致训练发散", "率", "NLP：学习率"},
		{"分词器把文本切成一个个词[MASK]", "元", "NLP：词元"},
		{"两个词向量可以计算余弦相似[MASK]", "度", "NLP：相似度"},
	}
	out := make([]probe, len(raw))
	for i, r := range raw {
		out[i] = probe{r.text, strings.Split(r.answers, ","), r.note}
	}
	return out
}

// checkProbes enforces the probe format: one [MASK], single Han-character answers.
func checkProbes(ps []probe) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if strings.Count(p.text, maskToken) != 1 {
			return fmt.Errorf("probe %q: want exactly one %s", p.text, maskToken)
		}
		if seen[p.text] {
			return fmt.Errorf("probe %q: duplicate", p.text)
		}
		seen[p.text] = true
		for _, a := range p.answers {
			r, n := utf8.DecodeRuneInString(a)
			if n != len(a) || !unicode.Is(unicode.Han, r) {
				return fmt.Errorf("probe %q: answer %q is not one Chinese character", p.text, a)
			}
		}
	}
	return nil
}

// filledProbes returns every probe sentence with each acceptable answer filled in.
func filledProbes(ps []probe) []string {
	var out []string
	for _, p := range ps {
		for _, a := range p.answers {
			out = append(out, strings.Replace(p.text, maskToken, a, 1))
		}
	}
	return out
}

func probesTSV(ps []probe) []byte {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", p.text, strings.Join(p.answers, ","), p.note)
	}
	return []byte(b.String())
}
