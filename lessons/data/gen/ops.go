package main

import (
	"fmt"
	"strings"
)

// Operations text: alert log bursts, runbooks, incident reviews (故障复盘) and on-call
// handover notes. All share one vocabulary of hosts, services and alert kinds so that a
// tiny GPT can learn the structure of an alert line.

var (
	services = []string{"order-service", "payment-service", "user-service", "search-api", "inventory-service",
		"gateway", "notify-service", "auth-service", "cart-service", "report-job"}
	oncallNames = []string{"张伟", "李娜", "王磊", "刘洋", "陈静", "杨帆", "赵强", "黄丽", "周杰", "吴敏", "徐涛", "孙悦"}
	peers       = []string{"10.20.3.15", "10.20.8.41", "10.30.1.7", "172.16.5.22", "172.16.9.130", "192.168.10.4"}
	domains     = []string{"api.example.com", "pay.example.com", "m.example.com", "admin.example.com", "open.example.com"}
	topicsMQ    = []string{"order-events", "payment-callback", "user-sync", "notify-push", "log-collect"}
	procs       = []string{"java", "python3", "node", "mysqld", "redis-server", "nginx", "report-worker"}
)

// hostRole is a kind of machine; hosts are prefix-NN, e.g. db-prod-03.
type hostRole struct {
	prefix, role string
	mounts       []string
	kinds        []string
}

var hostRoles = []hostRole{
	{"db-prod", "数据库", []string{"/var/lib/mysql", "/data", "/var/log"}, []string{"disk", "cpu", "dbconn", "slow", "repl", "net", "inode"}},
	{"web-prod", "Web 服务器", []string{"/var/log/nginx", "/data", "/"}, []string{"disk", "cpu", "http5xx", "latency", "cert", "health"}},
	{"api-prod", "接口服务", []string{"/data/logs", "/"}, []string{"cpu", "mem", "oom", "latency", "http5xx", "health", "net"}},
	{"cache-prod", "缓存", []string{"/data/redis", "/"}, []string{"redis", "mem", "net", "cpu"}},
	{"mq-prod", "消息队列", []string{"/data/kafka", "/var/log"}, []string{"queue", "disk", "net", "cpu"}},
	{"k8s-node", "容器节点", []string{"/var/lib/docker", "/var/lib/kubelet", "/"}, []string{"pod", "oom", "mem", "disk", "cpu", "health"}},
	{"gw-prod", "网关", []string{"/var/log", "/"}, []string{"net", "latency", "http5xx", "cert", "cpu"}},
	{"log-prod", "日志服务器", []string{"/data/logs", "/var/log", "/data"}, []string{"disk", "inode", "cpu"}},
	{"batch-prod", "批处理", []string{"/data/tmp", "/data"}, []string{"disk", "cpu", "mem", "oom"}},
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

var opsKinds = []opsKind{
	{key: "disk", zh: "磁盘使用率过高",
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
		acts: lines(`
			值班工程师已确认告警，开始清理 {M} 下的过期文件
			执行日志清理脚本，释放空间 {N}GB
			已删除 7 天前的归档日志，释放空间 {N}GB
			已对 {M} 所在的云盘在线扩容 {N}GB`),
		causes: lines(`
			日志轮转配置被误删，应用日志持续写入同一个文件，几天内写满了磁盘
			凌晨的备份任务把临时文件写到了数据盘上，任务失败后临时文件没有被清理
			业务量增长比预期快，数据盘的容量规划没有及时更新
			一个已删除的大日志文件仍被进程占用，空间一直没有释放
			慢查询日志的阈值被调成了 0，所有 SQL 都被记录下来，日志暴涨`),
		short: []string{"日志没有轮转", "备份临时文件未清理", "数据增长超出预期", "已删除文件仍被进程占用", "慢查询日志暴涨"},
		fixes: []string{"为所有服务统一配置日志轮转", "磁盘使用率告警阈值从 90% 调整为 80%", "备份任务结束后自动清理临时文件", "每月检查一次磁盘容量规划", "增加按天预测磁盘写满时间的告警"},
		title: "磁盘使用率告警处理",
		scene: "收到磁盘使用率超过 85% 的告警",
		steps: [][]string{
			{"登录跳板机，再 ssh 到 {H}", "通过跳板机登录 {H}"},
			{"执行 df -h 确认 {M} 的使用率", "用 df -h 查看各分区的使用情况，确认告警的是 {M}"},
			{"用 du -sh {M}/* | sort -h 找出占用空间最大的目录", "用 du 命令逐层查找大目录"},
			{"如果是日志文件，确认已经归档后删除 7 天前的日志", "优先清理过期日志和临时文件，不要删除数据文件"},
			{"执行 lsof | grep deleted，检查是否有已删除但仍被占用的文件", "检查有没有已删除却仍被进程占用的文件"},
			{"清理后再次执行 df -h，确认使用率降到 80% 以下", "确认使用率回落后，在值班群里同步处理结果"},
		},
		notes: []string{"数据库的数据目录下的文件不要手动删除。", "空间无法释放时，联系存储负责人评估扩容。", "清理前先确认文件是否还在被使用。"},
	},
	{key: "inode", zh: "inode 使用率过高",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s inode 使用率 %d%%，磁盘空间剩余 %d%%", h.mount, g.between(85, 92), g.between(30, 60))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s inode 使用率 %d%%，无法创建新文件", h.mount, g.between(97, 100))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s inode 使用率恢复至 %d%%", h.mount, g.between(40, 70))
		},
		acts: lines(`
			发现 {M} 下有大量小文件，开始按日期清理
			已清理过期的会话文件，共删除 {N} 万个文件`),
		causes: lines(`
			程序把每个请求的临时结果都写成一个小文件，而且从不清理
			会话文件的清理任务停止运行了两周，小文件越积越多`),
		short: []string{"小文件过多", "清理任务停止运行"},
		fixes: []string{"增加 inode 使用率监控", "临时文件统一写到带过期清理的目录"},
		title: "inode 耗尽处理",
		scene: "磁盘还有空间，但是程序报错“No space left on device”",
		steps: [][]string{
			{"登录 {H}，执行 df -i 查看 inode 使用率"},
			{"用 find {M} -type f | wc -l 统计文件数量", "找出文件数量最多的目录"},
			{"确认是可以删除的临时文件后，按日期分批删除"},
			{"再次执行 df -i，确认 inode 使用率下降"},
		},
		notes: []string{"一次删除太多文件可能造成 IO 抖动，要分批进行。"},
	},
	{key: "cpu", zh: "CPU 使用率过高",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("CPU 使用率 %d%%，持续 %d 分钟，load average %d.%02d", g.between(80, 89), g.between(5, 15), g.between(6, 20), g.between(0, 99))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("CPU 使用率 %d%%，持续 %d 分钟，load average %d.%02d", g.between(95, 100), g.between(10, 30), g.between(20, 64), g.between(0, 99))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("CPU 使用率恢复至 %d%%，load average %d.%02d", g.between(20, 55), g.between(1, 5), g.between(0, 99))
		},
		acts: lines(`
			值班工程师已确认告警，正在用 top 定位占用 CPU 最高的进程
			发现 {S} 的线程数异常，已保存线程栈用于分析
			已临时扩容 {S} {N} 个实例
			已暂停 report-job 批处理任务，CPU 开始回落`),
		causes: lines(`
			新版本引入了一个低效的正则表达式，在处理长文本时 CPU 占用极高
			批处理任务和业务高峰重叠，抢占了大量 CPU
			缓存失效后，大量请求重新计算同样的结果
			JVM 堆内存设置过小，频繁 Full GC 导致 CPU 持续打满
			一个死循环的 bug 只在特定的参数下触发`),
		short: []string{"低效的正则表达式", "批处理和高峰重叠", "缓存失效", "频繁 Full GC", "死循环"},
		fixes: []string{"批处理任务调整到凌晨两点以后执行", "上线前增加性能回归测试", "为 CPU 使用率增加按服务的告警", "调整 JVM 堆内存参数并开启 GC 日志"},
		title: "CPU 使用率告警处理",
		scene: "机器 CPU 使用率持续超过 90%",
		steps: [][]string{
			{"登录 {H}，执行 top 查看占用 CPU 最高的进程", "通过跳板机登录 {H}，用 top 找出最忙的进程"},
			{"如果是 Java 进程，用 jstack 保存线程栈", "用 perf top 或 pprof 查看热点函数"},
			{"查看最近是否有发布或配置变更"},
			{"如果影响业务，先扩容或摘除这台机器，再慢慢分析", "影响线上业务时先扩容止损"},
			{"把分析结果和线程栈附到告警工单里"},
		},
		notes: []string{"不要直接 kill 进程，先保存现场。", "CPU 高的同时如果 GC 频繁，要一起看内存。"},
	},
	{key: "mem", zh: "内存使用率过高",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("内存使用率 %d%%，可用内存 %dMB", g.between(85, 92), g.between(600, 2400))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("内存使用率 %d%%，可用内存 %dMB，swap 使用 %dMB", g.between(95, 99), g.between(80, 400), g.between(500, 4000))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("内存使用率恢复至 %d%%", g.between(40, 70))
		},
		acts: lines(`
			值班工程师已确认告警，正在查看各进程的内存占用
			已导出 {S} 的堆内存快照，准备分析
			已滚动重启 {S}，内存暂时回落`),
		causes: lines(`
			本地缓存没有设置容量上限，随着数据增多内存不断上涨
			新版本中一个连接对象没有关闭，造成内存泄漏
			一次查询把几十万行数据一次性读进了内存`),
		short: []string{"本地缓存无上限", "内存泄漏", "一次性读取大量数据"},
		fixes: []string{"本地缓存改为有上限的 LRU 缓存", "增加内存增长速度的告警", "大查询改为分页读取"},
		title: "内存使用率告警处理",
		scene: "机器内存使用率超过 90%，或出现 swap",
		steps: [][]string{
			{"登录 {H}，执行 free -m 查看内存和 swap 的使用情况"},
			{"用 ps aux --sort=-rss | head 找出占用内存最多的进程", "用 top 按内存排序，找出占用最多的进程"},
			{"如果是 Java 服务，先用 jmap 导出堆快照再处理", "保存内存快照，便于事后分析"},
			{"确认影响范围后，可以滚动重启该服务临时止损"},
		},
		notes: []string{"重启只能临时缓解，必须找到内存上涨的原因。"},
	},
	{key: "oom", zh: "进程被 OOM 终止",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s 内存使用 %d%%，接近容器上限 %dGi", h.svc, g.between(88, 95), []int{2, 4, 8}[g.r.IntN(3)])
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("进程 %s（PID %d）被 OOM killer 终止，%s 发生重启", g.pick(procs), g.between(1200, 65000), h.svc)
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 已重新启动，内存使用 %d%%", h.svc, g.between(30, 60))
		},
		acts: lines(`
			值班工程师已确认告警，查看 dmesg 确认是 OOM
			已将 {S} 的内存上限从 4Gi 调整为 8Gi
			已回滚 {S} 到上一个版本`),
		causes: lines(`
			容器的内存上限只有 2Gi，而 JVM 的最大堆设置成了 2G，再加上堆外内存，超过了限制
			一个导出接口把整个报表加载到内存里，大客户导出时内存瞬间打满
			新版本的图片处理库存在内存泄漏`),
		short: []string{"内存上限设置不合理", "导出接口占用内存过多", "第三方库内存泄漏"},
		fixes: []string{"JVM 最大堆设置为容器内存上限的 70%", "导出接口改为流式输出", "对 OOMKilled 事件增加告警"},
		title: "进程被 OOM 终止的处理",
		scene: "容器状态为 OOMKilled，或者 dmesg 中出现 Out of memory",
		steps: [][]string{
			{"登录 {H}，执行 dmesg -T | grep -i oom 确认被杀的进程", "用 kubectl describe pod 查看上一次退出的原因"},
			{"对比进程的内存上限和实际使用量"},
			{"检查最近的发布记录，确认是否是新版本引入的问题"},
			{"临时调大内存上限或回滚版本", "必要时先回滚，再分析"},
		},
		notes: []string{"调大内存上限之前，先确认节点还有足够的内存。"},
	},
	{key: "net", zh: "网络丢包",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("到 %s 的丢包率 %s%%，平均延迟 %dms", g.pick(peers), pct1(g, 1, 5), g.between(20, 80))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("到 %s 的丢包率 %s%%，平均延迟 %dms，连接超时", g.pick(peers), pct1(g, 10, 60), g.between(150, 900))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("到 %s 的网络恢复正常，丢包率 0%%，平均延迟 %dms", g.pick(peers), g.between(1, 3))
		},
		acts: lines(`
			值班工程师已确认告警，正在用 mtr 查看每一跳的丢包情况
			已联系网络组排查交换机端口
			已将流量切换到备用线路`),
		causes: lines(`
			机房一台交换机的光模块老化，导致间歇性丢包
			运营商线路出现抖动，跨机房专线延迟明显升高
			防火墙的连接数表满了，新连接被直接丢弃`),
		short: []string{"光模块老化", "运营商线路抖动", "防火墙连接数表满"},
		fixes: []string{"为跨机房专线增加双线路", "增加交换机端口错误计数的监控", "调大防火墙的连接数上限"},
		title: "网络丢包告警处理",
		scene: "机器之间出现丢包或延迟突增",
		steps: [][]string{
			{"在 {H} 上用 ping 和 mtr 测试到目标地址的丢包和延迟"},
			{"确认是单台机器还是整个机柜都有问题", "对比同一网段其他机器的网络情况"},
			{"检查网卡错误计数：ip -s link"},
			{"确认是网络设备问题后，联系网络组处理", "必要时把流量切到备用线路"},
		},
		notes: []string{"网络问题影响面大，确认后要尽快升级。"},
	},
	{key: "latency", zh: "接口延迟升高",
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
		acts: lines(`
			值班工程师已确认告警，正在查看调用链
			发现下游 {S} 响应变慢，已联系负责人
			已开启降级开关，暂停非核心功能`),
		causes: lines(`
			下游服务的数据库出现慢查询，拖慢了整个调用链
			一次配置变更把超时时间从 1 秒改成了 10 秒，请求堆积
			缓存集群的一个节点故障，大量请求回源到数据库`),
		short: []string{"下游慢查询", "超时配置错误", "缓存节点故障"},
		fixes: []string{"为核心接口设置合理的超时和重试", "配置变更必须经过评审", "增加调用链的慢请求采样"},
		title: "接口延迟告警处理",
		scene: "接口 P99 延迟超过阈值",
		steps: [][]string{
			{"在监控面板上确认是所有接口变慢，还是个别接口变慢"},
			{"查看调用链，找出耗时最长的一段"},
			{"检查下游依赖：数据库、缓存和其他服务"},
			{"如果有最近的变更，优先考虑回滚", "必要时开启降级，保护核心功能"},
		},
		notes: []string{"平均延迟正常不代表没有问题，要看 P99。"},
	},
	{key: "http5xx", zh: "5xx 错误率升高",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s 5xx 错误率 %s%%，QPS %d", h.svc, pct1(g, 1, 4), g.between(300, 5000))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s 5xx 错误率 %s%%，其中 502 占 %d%%", h.svc, pct1(g, 10, 60), g.between(50, 95))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 5xx 错误率恢复至 0.%d%%", h.svc, g.between(0, 9))
		},
		acts: lines(`
			值班工程师已确认告警，正在查看网关日志
			已将 {S} 回滚到上一个版本
			已摘除返回 502 的后端节点`),
		causes: lines(`
			新版本的一个空指针错误导致部分请求直接返回 500
			后端实例在发布时被同时重启，网关找不到可用的后端，返回 502
			依赖的第三方接口故障，错误没有被正确处理`),
		short: []string{"空指针错误", "发布时实例同时重启", "第三方接口故障"},
		fixes: []string{"发布改为分批滚动", "对第三方接口增加熔断", "上线前补充异常路径的测试"},
		title: "5xx 错误率告警处理",
		scene: "网关或服务的 5xx 错误率超过 1%",
		steps: [][]string{
			{"在网关日志里按状态码统计，确认是 500、502 还是 504"},
			{"查看 {S} 的错误日志，找出报错最多的接口"},
			{"检查最近十五分钟内是否有发布或配置变更"},
			{"如果和发布有关，立即回滚", "如果是个别后端异常，先摘除再排查"},
		},
		notes: []string{"502 一般是后端不可用，504 一般是后端太慢。"},
	},
	{key: "dbconn", zh: "数据库连接数过高",
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
		acts: lines(`
			值班工程师已确认告警，执行 show processlist 查看连接来源
			发现 {S} 的连接数异常，已通知负责人
			已 kill 长时间空闲的连接 {N} 个`),
		causes: lines(`
			{S} 扩容了一倍实例，每个实例的连接池大小没有调整，总连接数超过了数据库上限
			代码中有一个分支借了连接却没有归还，连接池逐渐耗尽
			慢查询把连接长时间占住，新请求只能不断新建连接`),
		short: []string{"扩容后连接数超限", "连接泄漏", "慢查询占住连接"},
		fixes: []string{"按实例数重新计算连接池大小", "在代码评审中检查连接的归还", "为连接池使用率增加告警"},
		title: "数据库连接数告警处理",
		scene: "MySQL 连接数超过最大连接数的 80%",
		steps: [][]string{
			{"登录 {H}，执行 show processlist 查看当前连接"},
			{"按来源 IP 统计连接数，找出连接最多的服务"},
			{"检查是否有长时间处于 Sleep 或执行中的连接"},
			{"联系对应服务的负责人，确认是否有连接泄漏或扩容"},
		},
		notes: []string{"不要随便调大 max_connections，先找到连接增长的原因。"},
	},
	{key: "slow", zh: "慢查询增多",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("慢查询 %d 条/分钟，最长耗时 %d.%d 秒", g.between(20, 80), g.between(2, 9), g.between(0, 9))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("慢查询 %d 条/分钟，最长耗时 %d 秒，活跃连接 %d", g.between(150, 600), g.between(20, 120), g.between(300, 900))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("慢查询恢复至 %d 条/分钟", g.between(0, 5))
		},
		acts: lines(`
			值班工程师已确认告警，正在分析慢查询日志
			已 kill 执行时间最长的查询（ID {N}）
			已为 orders 表的 user_id 列添加索引`),
		causes: lines(`
			新上线的查询条件没有用上索引，导致全表扫描
			运营同事在生产库上直接执行了一条大查询
			统计信息过期，优化器选择了错误的执行计划`),
		short: []string{"缺少索引", "生产库上的大查询", "执行计划错误"},
		fixes: []string{"上线前用 EXPLAIN 检查新 SQL", "分析类查询改到只读从库执行", "定期更新统计信息"},
		title: "慢查询告警处理",
		scene: "慢查询数量突然增多",
		steps: [][]string{
			{"登录 {H}，查看慢查询日志中最近的 SQL", "用 pt-query-digest 汇总最近的慢查询"},
			{"对最慢的 SQL 执行 EXPLAIN，确认是否用上了索引"},
			{"如果有一条查询拖垮了数据库，先 kill 掉它"},
			{"和开发确认是加索引还是改写 SQL"},
		},
		notes: []string{"在大表上加索引要选择低峰期，并使用在线变更工具。"},
	},
	{key: "repl", zh: "主从复制延迟",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("主从复制延迟 %d 秒", g.between(30, 120))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("主从复制延迟 %d 秒，从库 SQL 线程仍在执行大事务", g.between(600, 3600))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("主从复制延迟恢复至 %d 秒", g.between(0, 2))
		},
		acts: lines(`
			值班工程师已确认告警，正在查看从库的复制状态
			已暂停从库上的报表查询`),
		causes: lines(`
			一次性删除了几百万行数据，生成了一个巨大的事务，从库重放花了很长时间
			从库上运行的报表查询占满了 IO，复制跟不上`),
		short: []string{"大事务", "从库 IO 被占满"},
		fixes: []string{"大批量删除改为分批执行", "报表查询使用单独的从库"},
		title: "主从复制延迟处理",
		scene: "从库复制延迟超过 60 秒",
		steps: [][]string{
			{"登录从库 {H}，执行 show slave status 查看复制状态"},
			{"确认 IO 线程和 SQL 线程是否都在运行"},
			{"查看主库最近是否有大事务或批量操作"},
			{"延迟期间，把对一致性要求高的读请求切回主库"},
		},
		notes: []string{"复制中断时不要随意跳过错误，先评估数据是否一致。"},
	},
	{key: "cert", zh: "证书即将过期",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("证书 %s 将在 %d 天后过期", g.pick(domains), g.between(3, 30))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("证书 %s 已过期，HTTPS 握手失败", g.pick(domains))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("证书 %s 已更新，有效期至 2027-%02d-%02d", g.pick(domains), g.between(1, 12), g.between(1, 28))
		},
		acts: lines(`
			值班工程师已确认告警，正在申请新证书
			新证书已部署到 {H}，正在 reload nginx`),
		causes: lines(`
			证书自动续期的任务因为 DNS 验证失败，已经连续一个月没有成功
			证书是手动申请的，负责人离职后没有人记得续期`),
		short: []string{"自动续期失败", "没有人负责续期"},
		fixes: []string{"所有证书统一接入自动续期", "证书到期前 30 天开始告警"},
		title: "证书过期告警处理",
		scene: "证书有效期少于 30 天，或已经过期",
		steps: [][]string{
			{"用 openssl s_client -connect 域名:443 确认证书的到期时间"},
			{"检查自动续期任务的日志"},
			{"申请或续期证书，并部署到所有相关的机器"},
			{"reload nginx 后再次验证证书"},
		},
		notes: []string{"更新证书时要带上完整的证书链。"},
	},
	{key: "health", zh: "服务健康检查失败",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("%s 健康检查失败，连续 %d 次无响应", h.svc, g.between(2, 3))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("%s 健康检查失败，连续 %d 次无响应，已从负载均衡中摘除", h.svc, g.between(5, 10))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("%s 健康检查恢复正常，已重新加入负载均衡", h.svc)
		},
		acts: lines(`
			值班工程师已确认告警，发现进程已经退出
			已重启 {S}，正在观察
			端口 8080 没有监听，正在查看启动日志`),
		causes: lines(`
			机器重启以后，{S} 没有配置开机自启动
			一个依赖的配置文件路径写错，服务启动后立即退出
			进程卡死在一个外部调用上，不再响应健康检查`),
		short: []string{"没有配置自启动", "配置文件路径错误", "进程卡死"},
		fixes: []string{"所有服务使用 systemd 管理并开启自启动", "健康检查增加依赖检查", "外部调用统一设置超时"},
		title: "服务健康检查失败处理",
		scene: "负载均衡的健康检查连续失败",
		steps: [][]string{
			{"登录 {H}，确认 {S} 的进程是否还在", "用 systemctl status 查看服务状态"},
			{"用 ss -lntp 确认端口是否在监听"},
			{"查看服务的启动日志和错误日志"},
			{"确认原因后重启服务，并观察健康检查是否恢复"},
		},
		notes: []string{"多台机器同时失败时，先怀疑公共依赖或最近的变更。"},
	},
	{key: "pod", zh: "Pod 反复重启",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("Pod %s-%s 重启 %d 次", h.svc, podHash(g), g.between(2, 4))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("Pod %s-%s 重启 %d 次，状态 CrashLoopBackOff", h.svc, podHash(g), g.between(6, 30))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("Pod %s-%s 运行正常，已就绪", h.svc, podHash(g))
		},
		acts: lines(`
			值班工程师已确认告警，执行 kubectl logs --previous 查看崩溃日志
			已回滚 {S} 的 Deployment
			已修正 ConfigMap 中的配置项`),
		causes: lines(`
			新版本读取了一个不存在的环境变量，启动时直接退出
			存活探针的超时时间太短，服务还没启动完就被重启
			容器内存上限太小，启动过程中就被 OOM 终止`),
		short: []string{"缺少环境变量", "探针超时太短", "内存上限太小"},
		fixes: []string{"启动时校验必需的配置并打印清晰的错误", "为慢启动服务配置启动探针", "根据压测结果设置资源限制"},
		title: "Pod 反复重启处理",
		scene: "Pod 状态为 CrashLoopBackOff",
		steps: [][]string{
			{"执行 kubectl describe pod 查看事件和上次退出的原因"},
			{"执行 kubectl logs --previous 查看上一次崩溃前的日志"},
			{"检查最近的镜像版本和 ConfigMap 变更"},
			{"确认原因后回滚或修复配置"},
		},
		notes: []string{"退出码 137 通常表示被 OOM 终止。"},
	},
	{key: "queue", zh: "消息队列积压",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("消息队列 %s 积压 %d 条消息，消费延迟 %d 秒", g.pick(topicsMQ), g.between(5, 50)*1000, g.between(30, 300))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("消息队列 %s 积压 %d 万条消息，消费者 %d 个实例全部离线", g.pick(topicsMQ), g.between(20, 300), g.between(2, 8))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("消息队列 %s 积压已清空", g.pick(topicsMQ))
		},
		acts: lines(`
			值班工程师已确认告警，正在检查消费者的状态
			已将消费者扩容到 {N} 个实例`),
		causes: lines(`
			消费者依赖的数据库变慢，每条消息的处理时间从 5 毫秒涨到了 200 毫秒
			一条格式错误的消息让消费者反复重试，后面的消息全部堵住`),
		short: []string{"消费者处理变慢", "错误消息反复重试"},
		fixes: []string{"处理失败的消息转入死信队列", "为消费延迟增加告警"},
		title: "消息积压处理",
		scene: "消息队列积压持续增长",
		steps: [][]string{
			{"查看消费者组的消费进度，确认积压的分区"},
			{"检查消费者实例是否存活，日志里有没有报错"},
			{"如果是处理变慢，临时扩容消费者"},
			{"跳过或转移无法处理的消息之前，要先和业务方确认"},
		},
		notes: []string{"消费者数量不能超过分区数，否则多出来的实例是空闲的。"},
	},
	{key: "redis", zh: "Redis 内存告警",
		warn: func(g *rng, h host) string {
			return fmt.Sprintf("Redis 内存使用率 %d%%，键数量 %d 万", g.between(80, 90), g.between(100, 900))
		},
		crit: func(g *rng, h host) string {
			return fmt.Sprintf("Redis 内存使用率 %d%%，已开始淘汰键，命中率下降到 %d%%", g.between(96, 100), g.between(40, 70))
		},
		recover: func(g *rng, h host) string {
			return fmt.Sprintf("Redis 内存使用率恢复至 %d%%，命中率 %d%%", g.between(50, 70), g.between(95, 99))
		},
		acts: lines(`
			值班工程师已确认告警，正在用 --bigkeys 扫描大键
			已删除过期的临时键，释放内存 {N}GB`),
		causes: lines(`
			一个新功能把用户的完整浏览记录写进了一个键，并且没有设置过期时间
			缓存的过期时间被误设为永不过期，内存只增不减`),
		short: []string{"大键", "键没有过期时间"},
		fixes: []string{"写缓存的接口强制要求设置过期时间", "定期扫描大键"},
		title: "Redis 内存告警处理",
		scene: "Redis 内存使用率超过 80%",
		steps: [][]string{
			{"登录 {H}，执行 info memory 查看内存情况"},
			{"用 redis-cli --bigkeys 找出大键"},
			{"确认可以删除的键后，用 unlink 异步删除"},
			{"观察命中率和内存是否恢复"},
		},
		notes: []string{"不要在线上执行 keys *，它会阻塞 Redis。"},
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

func kindByKey(key string) *opsKind {
	for i := range opsKinds {
		if opsKinds[i].key == key {
			return &opsKinds[i]
		}
	}
	panic("gen: unknown ops kind " + key)
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

var impacts = lines(`
	约 {P}% 的用户下单失败
	部分用户登录时出现超时
	支付回调延迟，约 {N} 笔订单状态更新不及时
	后台报表无法打开，没有影响线上用户
	搜索接口响应变慢，用户体验下降
	消息推送延迟约 {MIN} 分钟
	部分地区的用户无法访问 App`)

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
