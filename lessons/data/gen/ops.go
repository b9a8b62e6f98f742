package main

import (
	"fmt"
	"strings"
)

// Operations text: alert log bursts, runbooks, incident reviews (故障复盘) and on-call
// handover notes. All share one vocabulary of hosts, services and alert kinds so that a
// tiny GPT can learn the structure of an alert line.

// Loaded from tables/ops.txt (names the operations texts use) and tables/hosts.txt
// (hostRoles).
var (
	services, oncallNames, peers []string
	domains, topicsMQ, procs     []string
	impacts                      []string // {P} percent, {N} count, {MIN} minutes
	opsKinds                     []opsKind
	hostRoles                    []hostRole
)

// hostRole is a kind of machine; hosts are prefix-NN, e.g. db-prod-03.
type hostRole struct {
	prefix, role string
	mounts       []string
	kinds        []string
}

type host struct {
	name  string
	role  hostRole
	mount string
	svc   string
}

func randomHost(g *rng) host {
	r := hostRoles[g.r.IntN(len(hostRoles))]
	return host{name: fmt.Sprintf("%s-%02d", r.prefix, g.between(1, 48)), role: r, mount: g.pick(r.mounts), svc: g.pick(services)}
}

// stamp is a point in time; lines of one burst move forward.
type stamp struct{ month, day, sec int }

func randomStamp(g *rng) stamp {
	return stamp{g.between(1, 12), g.between(1, 28), g.between(0, 86399)}
}
func (s stamp) date() string { return fmt.Sprintf("2026-%02d-%02d", s.month, s.day) }
func (s stamp) clock() string {
	return fmt.Sprintf("%02d:%02d:%02d", s.sec/3600, s.sec/60%60, s.sec%60)
}
func (s stamp) hm() string     { return fmt.Sprintf("%02d:%02d", s.sec/3600, s.sec/60%60) }
func (s stamp) String() string { return s.date() + " " + s.clock() }
func (s stamp) add(g *rng, lo, hi int) stamp {
	s.sec += g.between(lo, hi)
	if s.sec >= 86400 {
		s.sec = 86399
	}
	return s
}

func pct1(g *rng, lo, hi int) string { return fmt.Sprintf("%d.%d", g.between(lo, hi), g.between(0, 9)) }

// opsKind is one kind of alert with everything the operations texts say about it.
type opsKind struct {
	key, zh    string
	warn, crit func(g *rng, h host) string
	recover    func(g *rng, h host) string
	acts       []string // {H} host, {S} service, {M} mount, {N} number
	causes     []string // root causes (复盘 根因)
	short      []string // short cause phrases for timelines and handovers
	fixes      []string // improvement items
	title      string
	scene      string
	steps      [][]string // runbook steps; each step lists alternative wordings
	notes      []string
}

func diskFree(g *rng, pct int) string {
	total := []int{100, 200, 500, 1000, 2000}[g.r.IntN(5)]
	return fmt.Sprintf("%.1f", float64(total)*float64(100-pct)/100)
}

// kindMetrics writes the metric part of each kind's alert lines: a warning, a critical
// line and a recovery, with random values drawn in a fixed order. The rest of a kind's
// text is in tables/ops.txt.
var kindMetrics = map[string]struct {
	warn, crit, recover func(g *rng, h host) string
}{
	"disk": {
		warn: func(g *rng, h host) string {
			p := g.between(85, 92)
			return fmt.Sprintf("磁盘使用率 %d%%，%s 剩余 %sGB", p, h.mount, diskFree(g, p))
		},
		crit: func(g *rng, h host) string {
			p := g.between(93, 99)
			return fmt.Sprintf("磁盘使用率 %d%%，%s 剩余 %sGB", p, h.mount, diskFree(g, p))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("磁盘使用率恢复至 %d%%，%s 告警解除", g.between(55, 79), h.mount)
		},
	},
	"inode": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s inode 使用率 %d%%，磁盘空间剩余 %d%%", h.mount, g.between(85, 92), g.between(30, 60))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s inode 使用率 %d%%，无法创建新文件", h.mount, g.between(97, 100))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s inode 使用率恢复至 %d%%", h.mount, g.between(40, 70))
		},
	},
	"cpu": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("CPU 使用率 %d%%，持续 %d 分钟，load average %d.%02d", g.between(80, 89), g.between(5, 15), g.between(6, 20), g.between(0, 99))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("CPU 使用率 %d%%，持续 %d 分钟，load average %d.%02d", g.between(95, 100), g.between(10, 30), g.between(20, 64), g.between(0, 99))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("CPU 使用率恢复至 %d%%，load average %d.%02d", g.between(20, 55), g.between(1, 5), g.between(0, 99))
		},
	},
	"mem": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("内存使用率 %d%%，可用内存 %dMB", g.between(85, 92), g.between(600, 2400))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("内存使用率 %d%%，可用内存 %dMB，swap 使用 %dMB", g.between(95, 99), g.between(80, 400), g.between(500, 4000))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("内存使用率恢复至 %d%%", g.between(40, 70))
		},
	},
	"oom": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s 内存使用 %d%%，接近容器上限 %dGi", h.svc, g.between(88, 95), []int{2, 4, 8}[g.r.IntN(3)])
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("进程 %s（PID %d）被 OOM killer 终止，%s 发生重启", g.pick(procs), g.between(1200, 65000), h.svc)
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 已重新启动，内存使用 %d%%", h.svc, g.between(30, 60))
		},
	},
	"net": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("到 %s 的丢包率 %s%%，平均延迟 %dms", g.pick(peers), pct1(g, 1, 5), g.between(20, 80))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("到 %s 的丢包率 %s%%，平均延迟 %dms，连接超时", g.pick(peers), pct1(g, 10, 60), g.between(150, 900))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("到 %s 的网络恢复正常，丢包率 0%%，平均延迟 %dms", g.pick(peers), g.between(1, 3))
		},
	},
	"latency": {
		warn: func(g *rng, h host) string {
			th := []int{200, 300, 500}[g.r.IntN(3)]
			return fmt.Sprintf("%s 接口 P99 延迟 %dms，超过阈值 %dms", h.svc, th+g.between(50, 400), th)
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s 接口 P99 延迟 %dms，超时请求占比 %s%%", h.svc, g.between(1500, 5000), pct1(g, 2, 20))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 接口 P99 延迟恢复至 %dms", h.svc, g.between(60, 180))
		},
	},
	"http5xx": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s 5xx 错误率 %s%%，QPS %d", h.svc, pct1(g, 1, 4), g.between(300, 5000))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s 5xx 错误率 %s%%，其中 502 占 %d%%", h.svc, pct1(g, 10, 60), g.between(50, 95))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 5xx 错误率恢复至 0.%d%%", h.svc, g.between(0, 9))
		},
	},
	"dbconn": {
		warn: func(g *rng, h host) string {
			m := []int{500, 800, 1000, 2000}[g.r.IntN(4)]
			return fmt.Sprintf("MySQL 连接数 %d/%d，活跃连接 %d", m*g.between(80, 90)/100, m, g.between(40, 200))
		},
		crit: func(g *rng, h host) string {
			m := []int{500, 800, 1000, 2000}[g.r.IntN(4)]
			return fmt.Sprintf("MySQL 连接数 %d/%d，新连接报错 Too many connections", m, m)
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("MySQL 连接数回落至 %d", g.between(80, 300))
		},
	},
	"slow": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("慢查询 %d 条/分钟，最长耗时 %d.%d 秒", g.between(20, 80), g.between(2, 9), g.between(0, 9))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("慢查询 %d 条/分钟，最长耗时 %d 秒，活跃连接 %d", g.between(150, 600), g.between(20, 120), g.between(300, 900))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("慢查询恢复至 %d 条/分钟", g.between(0, 5))
		},
	},
	"repl": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("主从复制延迟 %d 秒", g.between(30, 120))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("主从复制延迟 %d 秒，从库 SQL 线程仍在执行大事务", g.between(600, 3600))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("主从复制延迟恢复至 %d 秒", g.between(0, 2))
		},
	},
	"cert": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("证书 %s 将在 %d 天后过期", g.pick(domains), g.between(3, 30))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("证书 %s 已过期，HTTPS 握手失败", g.pick(domains))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("证书 %s 已更新，有效期至 2027-%02d-%02d", g.pick(domains), g.between(1, 12), g.between(1, 28))
		},
	},
	"health": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s 健康检查失败，连续 %d 次无响应", h.svc, g.between(2, 3))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s 健康检查失败，连续 %d 次无响应，已从负载均衡中摘除", h.svc, g.between(5, 10))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 健康检查恢复正常，已重新加入负载均衡", h.svc)
		},
	},
	"pod": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("Pod %s-%s 重启 %d 次", h.svc, podHash(g), g.between(2, 4))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("Pod %s-%s 重启 %d 次，状态 CrashLoopBackOff", h.svc, podHash(g), g.between(6, 30))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("Pod %s-%s 运行正常，已就绪", h.svc, podHash(g))
		},
	},
	"queue": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("消息队列 %s 积压 %d 条消息，消费延迟 %d 秒", g.pick(topicsMQ), g.between(5, 50)*1000, g.between(30, 300))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("消息队列 %s 积压 %d 万条消息，消费者 %d 个实例全部离线", g.pick(topicsMQ), g.between(20, 300), g.between(2, 8))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("消息队列 %s 积压已清空", g.pick(topicsMQ))
		},
	},
	"redis": {
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("Redis 内存使用率 %d%%，键数量 %d 万", g.between(80, 90), g.between(100, 900))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("Redis 内存使用率 %d%%，已开始淘汰键，命中率下降到 %d%%", g.between(96, 100), g.between(40, 70))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("Redis 内存使用率恢复至 %d%%，命中率 %d%%", g.between(50, 70), g.between(95, 99))
		},
	},
}

func podHash(g *rng) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 5)
	for i := range b {
		b[i] = hex[g.r.IntN(16)]
	}
	return string(b)
}

// kindByKey returns the kind with this key, or nil (loadTables checks that every key a
// host role names exists).
func kindByKey(key string) *opsKind {
	for i := range opsKinds {
		if opsKinds[i].key == key {
			return &opsKinds[i]
		}
	}
	return nil
}

func hostKind(g *rng, h host) *opsKind { return kindByKey(g.pick(h.role.kinds)) }

func fillOps(g *rng, t string, h host) string {
	return fill(t, "H", h.name, "S", h.svc, "M", h.mount, "N", fmt.Sprint(g.between(2, 60)))
}

func logLine(ts stamp, level, hostName, msg string) string {
	return fmt.Sprintf("%s [%s] %s %s", ts, level, hostName, msg)
}

// alertBurst is the log of one incident on one host: warning, escalation, actions, recovery.
func alertBurst(g *rng) []string {
	h := randomHost(g)
	k := hostKind(g, h)
	ts := randomStamp(g)
	var out []string
	out = append(out, logLine(ts, "WARNING", h.name, k.warn(g, h)))
	if g.chance(0.4) {
		ts = ts.add(g, 60, 300)
		out = append(out, logLine(ts, "WARNING", h.name, k.warn(g, h)))
	}
	if g.chance(0.7) {
		ts = ts.add(g, 60, 900)
		out = append(out, logLine(ts, "CRITICAL", h.name, k.crit(g, h)))
	}
	for range g.between(0, 2) {
		ts = ts.add(g, 30, 600)
		out = append(out, logLine(ts, "INFO", h.name, fillOps(g, g.pick(k.acts), h)))
	}
	if g.chance(0.8) {
		ts = ts.add(g, 120, 1800)
		out = append(out, logLine(ts, "INFO", h.name, k.recover(g, h)))
	}
	return out
}

// alertStream is a few unrelated lines from the monitoring system, in time order.
func alertStream(g *rng) []string {
	ts := randomStamp(g)
	var out []string
	for range g.between(3, 6) {
		h := randomHost(g)
		k := hostKind(g, h)
		ts = ts.add(g, 5, 400)
		switch r := g.r.IntN(10); {
		case r < 4:
			out = append(out, logLine(ts, "WARNING", h.name, k.warn(g, h)))
		case r < 7:
			out = append(out, logLine(ts, "CRITICAL", h.name, k.crit(g, h)))
		default:
			out = append(out, logLine(ts, "INFO", h.name, k.recover(g, h)))
		}
	}
	return out
}

// runbook is a 运维手册 entry: title, scene, numbered steps and a caution.
func runbook(g *rng) []string {
	k := &opsKinds[g.r.IntN(len(opsKinds))]
	h := randomHost(g)
	for range 20 { // prefer a host whose role raises this kind of alert
		found := false
		for _, kk := range h.role.kinds {
			found = found || kk == k.key
		}
		if found {
			break
		}
		h = randomHost(g)
	}
	var steps strings.Builder
	steps.WriteString("处理步骤：")
	for i, alts := range k.steps {
		if i > 0 {
			steps.WriteString("；")
		}
		fmt.Fprintf(&steps, "%d. %s", i+1, fillOps(g, g.pick(alts), h))
	}
	steps.WriteString("。")
	doc := []string{
		"运维手册：" + k.title,
		"适用场景：" + k.scene + "，例如：" + logLine(randomStamp(g), "WARNING", h.name, k.warn(g, h)),
		steps.String(),
	}
	if g.chance(0.8) {
		doc = append(doc, "注意事项："+g.pick(k.notes))
	}
	return doc
}

// incident is a 故障复盘 (postmortem) note.
func incident(g *rng) []string {
	h := randomHost(g)
	k := hostKind(g, h)
	ts := randomStamp(g)
	ci := g.r.IntN(len(k.causes))
	si := ci
	if si >= len(k.short) {
		si = len(k.short) - 1
	}
	name := g.pick(oncallNames)
	t1 := ts
	t2 := t1.add(g, 60, 600)
	t3 := t2.add(g, 300, 2400)
	t4 := t3.add(g, 120, 1800)
	dur := (t4.sec - t1.sec) / 60
	impact := fill(g.pick(impacts), "P", fmt.Sprint(g.between(1, 30)), "N", fmt.Sprint(g.between(5, 900)),
		"MIN", fmt.Sprint(g.between(3, max(3, dur))))
	fixes := g.pickN(k.fixes, g.between(2, 3))
	var fx strings.Builder
	for i, f := range fixes {
		if i > 0 {
			fx.WriteString("；")
		}
		fmt.Fprintf(&fx, "%d. %s", i+1, f)
	}
	return []string{
		fmt.Sprintf("故障复盘：%s %s %s", ts.date(), h.svc, k.zh),
		fmt.Sprintf("时间线：%s 监控发出告警，%s；%s 值班工程师%s开始排查；%s 定位到原因是%s；%s %s，服务恢复正常。",
			t1.hm(), k.crit(g, h), t2.hm(), name, t3.hm(), k.short[si], t4.hm(), fillOps(g, g.pick(k.acts), h)),
		fmt.Sprintf("影响：故障持续约 %d 分钟，%s。", dur, impact),
		"根因：" + fillOps(g, k.causes[ci], h) + "。",
		"改进措施：" + fx.String() + "。",
	}
}

// handover is an on-call handover note (值班交接).
func handover(g *rng) []string {
	ts := randomStamp(g)
	from := g.pick(oncallNames)
	to := g.pick(oncallNames)
	for to == from {
		to = g.pick(oncallNames)
	}
	p1 := g.between(0, 3)
	p2 := g.between(1, 8)
	n := g.between(p1+p2+2, 60)
	head := fmt.Sprintf("值班交接（%s，%s → %s）：本班共收到告警 %d 条，其中 P1 %d 条、P2 %d 条，其余为 P3。", ts.date(), from, to, n, p1, p2)
	var items []string
	for range g.between(2, 3) {
		h := randomHost(g)
		k := hostKind(g, h)
		switch g.r.IntN(4) {
		case 0:
			items = append(items, fmt.Sprintf("%s 的%s告警已处理，原因是%s", h.name, spaced(k.zh), g.pick(k.short)))
		case 1:
			items = append(items, fmt.Sprintf("%s 的%s问题暂时缓解，根因还在排查，请继续关注", h.name, spaced(k.zh)))
		case 2:
			items = append(items, fmt.Sprintf("%s 今晚 %02d:00 有发布，请关注错误率和延迟", h.svc, g.between(20, 23)))
		default:
			items = append(items, fmt.Sprintf("%s 的%s告警属于误报，已调整阈值", h.name, spaced(k.zh)))
		}
	}
	out := []string{head + strings.Join(items, "；") + "。"}
	if g.chance(0.7) {
		h := randomHost(g)
		k := hostKind(g, h)
		out = append(out, fmt.Sprintf("待跟进：%s（起因是 %s 的%s）。", g.pick(k.fixes), h.name, spaced(k.zh)))
	}
	return out
}

// spaced puts a space before a phrase that starts with a Latin letter, as the corpus
// does between Chinese and English words: "的" + "CPU 使用率" → "的 CPU 使用率".
func spaced(zh string) string {
	if zh != "" && zh[0] < 0x80 {
		return " " + zh
	}
	return zh
}
