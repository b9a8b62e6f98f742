package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Week 2 classification data: an alert text → its root cause. Templates, hosts and
// services differ from the corpus's alert lines. About a third of the examples are hard
// on purpose (they borrow another class's vocabulary: 数据库连接超时 caused by packet loss,
// a service that exits because its disk is full, 已排除磁盘问题 …) and a few are vague
// symptom reports whose label the text cannot decide, so a bag-of-characters model does
// not reach 100%.

type alert struct{ text, label, labelZH string }

// alertClass is one root cause with its clear and hard message templates.
type alertClass struct {
	label, zh   string
	ruledOut    string // how an engineer says this cause was ruled out: 已排除{ruledOut}
	clear, hard []string
}

var alertClasses = []alertClass{
	{"disk_full", "磁盘满", "磁盘空间问题", lines(`
		磁盘使用率 {P}%，{M} 剩余 {G}GB
		{M} 分区已满（100%），写入失败
		No space left on device，{M} 无法写入
		数据盘 {M} 使用率达到 {P}%，预计 {N} 小时内写满
		日志目录 {M} 占用 {G2}GB，磁盘即将写满
		df -h 显示 {M} 使用率 100%
		binlog 占满数据盘，{M} 剩余 0
		Kafka 日志目录所在磁盘使用率 {P}%
		/var/lib/docker 使用率 {P}%，镜像无法拉取
		ES 节点磁盘水位超过 {P}%，索引被设置为只读
		磁盘空间不足，{M} 可用空间低于 1%
		根分区 / 使用率 {P}%，系统日志写不进去`), lines(`
		数据库写入失败：Error writing file (Errcode: 28 - No space left on device)
		服务异常退出，排查发现 {M} 已满，日志无法写入
		接口超时增多，机器 IO 等待很高，{M} 使用率 {P}%
		内存正常，CPU 正常，但是 {M} 使用率达到 {P}%
		备份任务失败，目标目录空间不足
		上传文件报错“磁盘空间不足”，连接数正常
		{S} 启动失败：无法创建临时文件，{M} 已写满
		MySQL 只读了：数据目录所在磁盘满，连接正常但写请求全部失败
		容器被驱逐，原因是节点磁盘压力（DiskPressure）
		core dump 文件把 {M} 写满，导致新进程无法启动`)},
	{"oom", "内存不足", "内存问题", lines(`
		内存使用率 {P}%，可用内存 {MB}MB
		Out of memory: Killed process {PID} (java)
		容器 {S} 状态 OOMKilled，退出码 137
		java.lang.OutOfMemoryError: Java heap space
		JVM 老年代使用率 {P}%，Full GC 后无法回收
		可用内存只剩 {MB}MB，swap 使用率 {P}%
		OOM command not allowed when used memory > maxmemory
		进程 RSS 持续增长到 {G}GB，疑似内存泄漏
		Pod {S} 内存达到 limit，被 kubelet 驱逐
		内存不足，无法分配 {MB}MB 的缓冲区
		fatal error: runtime: out of memory
		节点内存压力（MemoryPressure），新的 Pod 无法调度`), lines(`
		{S} 进程退出，dmesg 中出现 Out of memory 记录
		频繁 Full GC，CPU 使用率 {P}%，接口响应变慢
		数据库连接正常，但应用堆内存耗尽，请求处理失败
		服务重启了 {N} 次，原因均为 OOMKilled
		磁盘空间充足，内存只剩 {MB}MB，系统开始使用 swap
		报表导出时进程被内核杀掉，退出码 137
		{S} 健康检查失败，查看发现进程被 OOM killer 终止
		网络正常，请求到达后服务因堆内存溢出返回 500
		CPU 只有 {P2}%，但内存占用一路涨到 {P}%
		Redis 内存打满，写入报错，读请求还能正常返回`)},
	{"cpu_high", "CPU 过载", "CPU 问题", lines(`
		CPU 使用率 {P}%，持续 {T} 分钟
		load average {LOAD}，是 CPU 核数的 {X} 倍
		CPU steal 占比 {P2}%，虚拟机 CPU 被宿主机抢占
		{S} 单个线程占用 100% CPU
		容器 CPU 被限流（throttled），限流比例 {P2}%
		top 显示 {PROC} 进程 CPU 占用 {CPUP}%
		CPU user 占用 {P}%，iowait 正常
		所有核的 CPU 使用率都在 {P}% 以上
		CPU 使用率突增到 {P}%，上下文切换次数暴涨
		pprof 显示 {P2}% 的 CPU 时间花在正则匹配上`), lines(`
		接口响应变慢，P99 {MS}ms，机器 CPU 使用率 {P}%
		健康检查超时，节点 CPU 使用率 {P}%
		数据库服务器 CPU 使用率 {P}%，查询排队
		内存正常，CPU 使用率持续 {P}%，正则匹配耗时过长
		批处理任务运行期间，机器 CPU 一直打满，其他服务变慢
		负载均衡后面的一台机器 CPU 使用率 {P}%，其余机器正常
		网络和磁盘都正常，load average 达到 {LOAD}
		加密计算太多，TLS 握手把 CPU 吃满了
		{S} 因为死循环把 CPU 打到 100%，请求超时
		连接数不高，但是 CPU 使用率 {P}%，线程都在计算`)},
	{"network", "网络超时", "网络问题", lines(`
		到 {IP} 的丢包率 {P2}%，延迟 {MS}ms
		connect timeout: {IP}:{PORT}
		跨机房专线延迟从 2ms 升高到 {MS}ms
		DNS 解析失败：{D} name resolution failed
		TCP 重传率 {P3}%，网卡出现大量错误包
		交换机端口 down，机柜 {RACK} 内的机器全部失联
		read tcp {IP}:{PORT}: i/o timeout
		ping {IP} 超时，丢包 100%
		负载均衡到后端的连接建立超时
		Connection reset by peer，网络抖动
		网络延迟突增，到 {IP} 平均 {MS}ms
		出口带宽打满，入方向丢包 {P2}%`), lines(`
		连接数据库超时（connect timeout），数据库本身负载正常，交换机端口有丢包
		调用下游 {S} 超时，下游服务自身监控正常
		HTTPS 请求失败，TCP 建连阶段就超时了
		Redis 连接超时，Redis 服务器的 CPU 和内存都正常
		{S} 健康检查失败，但本机访问正常，跨机房网络延迟 {MS}ms
		消息队列消费变慢，broker 之间网络丢包 {P2}%
		服务没有报错，但是用户请求大量超时，traceroute 显示运营商节点丢包
		数据库主从复制中断，原因是机房之间的网络断开
		证书检查正常，访问 {D} 时 DNS 返回了错误的地址
		k8s 节点 NotReady，kubelet 与 apiserver 之间网络不通`)},
	{"db_conn", "数据库连接", "数据库连接问题", lines(`
		MySQL 连接数 {N2}/{MAX}，使用率超过 90%
		Too many connections
		连接池耗尽：获取数据库连接超时（等待 {N} 秒）
		HikariPool-1 - Connection is not available, request timed out after 30000ms
		数据库活跃连接 {N2}，大量连接处于 Sleep 状态
		could not obtain connection from pool: pool exhausted
		FATAL: remaining connection slots are reserved for superuser
		数据库连接泄漏，连接池使用率持续 100%
		连接池等待队列长度 {N2}，平均等待 {MS}ms
		max_connections 已满，新连接被拒绝`), lines(`
		接口大量超时，日志显示获取数据库连接等待超时
		{S} 扩容后数据库连接数翻倍，达到 max_connections 上限
		慢查询占满连接，新请求拿不到连接，CPU 正常
		连接池满，{S} 健康检查失败被摘除
		数据库的内存和磁盘都正常，但是连接数打满了
		网络正常，应用报错 Cannot get a connection, pool error Timeout waiting for idle object
		服务没有挂，但是每个请求都卡在获取数据库连接上
		事务未提交一直占着连接，连接池逐渐耗尽
		Redis 连接池耗尽：pool timeout，Redis 服务端正常
		重启应用后暂时恢复，几个小时后连接池再次用满`)},
	{"cert_expired", "证书过期", "证书问题", lines(`
		证书 {D} 已过期
		x509: certificate has expired or is not yet valid
		SSL 证书将在 {DAYS} 天后过期：{D}
		浏览器提示“您的连接不是私密连接”，证书到期日是昨天
		certificate verify failed: certificate has expired
		TLS 握手失败：证书过期（{D}）
		客户端证书过期，双向 TLS 认证失败
		内部 CA 签发的证书已到期，服务之间的 mTLS 调用失败
		证书有效期至 {DATE}，今天已超过有效期
		拨测告警：{D} 的 HTTPS 证书已失效`), lines(`
		HTTPS 请求全部失败，网络连通正常，握手时报 certificate expired
		支付回调失败，对方提示我方证书无效，证书到期时间为 {DATE}
		{S} 调用下游报错 handshake failure，检查发现证书昨天到期
		App 无法登录，服务端一切正常，原因是接口域名的证书过期
		kubectl 连接集群失败：certificate has expired，集群本身运行正常
		邮件服务发信失败，SMTP 的 TLS 证书过期
		服务没有挂，CPU 和内存都正常，只是 HTTPS 证书到期了
		数据库 SSL 连接失败，服务端证书已过期`)},
	{"config_error", "配置错误", "配置问题", lines(`
		配置文件解析失败：{FILE} 第 {LINE} 行格式错误
		启动参数错误：未知选项 --{OPT}
		配置项 {KEY} 的值非法：{VAL}
		yaml: line {LINE}: did not find expected key
		环境变量 {ENV} 未设置
		配置中心下发的 {KEY} 为空，功能异常
		发布后配置项 {KEY} 被改成了 {VAL}，与预期不符
		nginx -t 检查失败：unknown directive
		配置校验失败：{NUMKEY} 必须是正整数
		灰度配置写错，新功能对全部用户打开了`), lines(`
		服务启动后立即退出，日志显示配置项 {KEY} 缺失
		数据库连接失败：配置里的密码错误（Access denied for user）
		证书已续期，但 nginx 配置仍指向旧的证书文件
		超时时间被误配置成 {N} 毫秒，大量请求超时
		JVM 参数 -Xmx 误写成 -Xmx512k，服务一启动就内存不足
		负载均衡权重配置错误，所有流量打到一台机器上，CPU 使用率 {P}%
		数据库地址配置成了测试环境，线上数据写错了库
		日志路径配置错误，日志全部写到了根分区
		防火墙规则配置错误，放行端口写成了 {PORT}
		{S} 的连接池大小被配置成 1，请求排队`)},
	{"service_down", "服务宕机", "进程退出的可能", lines(`
		{S} 健康检查失败，连续 {N} 次无响应
		进程 {S} 不存在，端口 {PORT} 无监听
		{S} 所有实例下线，可用实例数 0
		connection refused: {IP}:{PORT}
		systemd: {S}.service: Main process exited, code=exited, status=1/FAILURE
		服务 {S} 已停止，自动拉起失败
		{S} 返回 503 Service Unavailable
		进程崩溃：segmentation fault (core dumped)
		拨测失败：{D} 首页无法访问
		服务宕机，进程在 {TIME} 退出，之后没有任何日志`), lines(`
		接口超时以后服务进程退出，重启后恢复
		服务进程退出，内存和磁盘都正常，日志最后一行是 panic: runtime error: index out of range
		{S} 无法访问，数据库连接正常，进程已经不存在
		服务挂了，CPU 使用率降到 0%
		网关返回 502，后端 {S} 进程已退出
		机器宕机，无法 ping 通，带外管理显示电源故障
		发布过程中旧实例全部被停止，新实例没有起来
		{S} 卡死，端口还在监听但不再响应任何请求
		容器反复重启（CrashLoopBackOff），退出码 1，日志显示 panic
		连接数为 0，请求量为 0，进程已经不在了`)},
}

// vague symptoms: the text alone cannot tell the cause; used for a few examples of every
// class so that no model can be perfect.
var vagueAlerts = lines(`
	接口大量超时，用户反馈下单失败
	{S} 响应很慢，请尽快排查
	{S} 错误率升高到 {P2}%
	用户反馈页面一直在转圈
	{S} 告警，请值班同学处理
	订单量突然下降了一半
	{S} 请求失败率 {P2}%，原因待查
	多个接口同时报错，影响范围还在确认`)

var (
	alertServices = []string{"trade-api", "pay-core", "member-svc", "coupon-svc", "search-svc", "im-gateway",
		"risk-engine", "ad-server", "file-svc", "sms-sender"}
	alertHostPrefix = []string{"bj-app", "sh-app", "gz-app", "bj-db", "sh-cache", "gz-node", "hz-web", "edge", "vm-sz"}
	alertDomains    = []string{"shop.demo.cn", "api.demo.cn", "pay.demo.cn", "m.demo.cn", "open.demo.cn", "cdn.demo.cn"}
	alertMounts     = []string{"/data", "/data1", "/home/app/logs", "/var/lib/mysql", "/var/log", "/opt/app", "/tmp"}
	alertKeys       = []string{"db.url", "redis.timeout", "feature.new_checkout", "server.port", "log.level", "mq.brokers", "pool.max_size"}
	alertFiles      = []string{"application.yml", "nginx.conf", "config.toml", "settings.json", "app.properties"}
	alertEnvs       = []string{"DB_PASSWORD", "REDIS_ADDR", "APP_ENV", "KAFKA_BROKERS"}
	alertOpts       = []string{"max-conn", "worker-num", "cache-size", "enable-tls"}
	alertVals       = []string{"0", "true", "localhost", "-1", "空字符串"}
	alertProcs      = []string{"java", "python", "node", "php-fpm", "nginx"}
	alertPorts      = []string{"80", "443", "3306", "6379", "8080", "8443", "9092"}
	reporters       = []string{"客服", "用户", "运营同事", "测试同学", "产品经理"}
	notePrefixes    = []string{"值班记录", "排查记录", "工单备注", "告警详情"}
	monitors        = []string{"夜莺", "Zabbix", "Prometheus", "云监控", "拨测平台"}
	severities      = []string{"P1", "P2", "P3"}
	alertSuffixes   = []string{"", "", "", "，请尽快处理", "，已通知负责人", "（已自动恢复）", "，持续 {T} 分钟", "，影响部分用户"}
)

// fillAlert fills every slot of an alert template with random values.
func fillAlert(g *rng, t string) string {
	return fill(t,
		"P", fmt.Sprint(g.between(85, 99)), "P2", fmt.Sprint(g.between(5, 40)),
		"P3", fmt.Sprintf("%d.%d", g.between(1, 9), g.between(0, 9)),
		"G", fmt.Sprintf("%d.%d", g.between(0, 9), g.between(1, 9)), "G2", fmt.Sprint(g.between(50, 900)),
		"MB", fmt.Sprint(g.between(30, 900)), "N", fmt.Sprint(g.between(2, 30)), "N2", fmt.Sprint(g.between(450, 1990)),
		"MAX", g.pick([]string{"500", "1000", "2000"}), "MS", fmt.Sprint(g.between(300, 5000)),
		"T", fmt.Sprint(g.between(3, 40)), "PID", fmt.Sprint(g.between(1000, 60000)),
		"PORT", g.pick(alertPorts), "IP", fmt.Sprintf("10.%d.%d.%d", g.between(1, 254), g.between(0, 254), g.between(2, 254)),
		"D", g.pick(alertDomains), "DAYS", fmt.Sprint(g.between(1, 14)), "M", g.pick(alertMounts),
		"S", g.pick(alertServices), "KEY", g.pick(alertKeys), "FILE", g.pick(alertFiles),
		"NUMKEY", g.pick([]string{"pool.max_size", "server.port", "redis.timeout", "worker.num"}),
		"LINE", fmt.Sprint(g.between(3, 200)), "ENV", g.pick(alertEnvs), "OPT", g.pick(alertOpts),
		"VAL", g.pick(alertVals), "LOAD", fmt.Sprintf("%d.%02d", g.between(20, 90), g.between(0, 99)),
		"X", fmt.Sprint(g.between(2, 6)), "CPUP", fmt.Sprint(g.between(150, 790)), "PROC", g.pick(alertProcs),
		"RACK", fmt.Sprintf("%c%02d", 'A'+rune(g.r.IntN(6)), g.between(1, 20)),
		"DATE", fmt.Sprintf("2026-%02d-%02d", g.between(1, 12), g.between(1, 28)),
		"TIME", fmt.Sprintf("%02d:%02d", g.between(0, 23), g.between(0, 59)),
	)
}

// wrapAlert puts a message into one of the formats alert texts arrive in. The format is
// chosen independently of the class.
func wrapAlert(g *rng, msg string) string {
	msg += fillAlert(g, g.pick(alertSuffixes))
	host := fmt.Sprintf("%s-%d", g.pick(alertHostPrefix), g.between(1, 120))
	svc := g.pick(alertServices)
	switch g.r.IntN(6) {
	case 0:
		return fmt.Sprintf("【%s 告警】%s %s", g.pick(severities), host, msg)
	case 1:
		return fmt.Sprintf("级别=%s 主机=10.%d.%d.%d 服务=%s 内容：%s", g.pick(severities), g.between(1, 254), g.between(0, 254), g.between(2, 254), svc, msg)
	case 2:
		return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02d+08:00 %s %s: %s", g.between(1, 12), g.between(1, 28), g.between(0, 23), g.between(0, 59), g.between(0, 59), host, svc, msg)
	case 3:
		return fmt.Sprintf("%s：%s", g.pick(notePrefixes), msg)
	case 4:
		return fmt.Sprintf("[%s] %s | %s", g.pick(monitors), svc, msg)
	default:
		return msg
	}
}

const (
	alertsPerClass = 300
	alertsVal      = 30 // per class
	alertsTest     = 30 // per class
	pVague         = 0.05
	pHard          = 0.35
	pRuledOut      = 0.12
)

// buildAlerts generates alertsPerClass distinct examples per class, none equal to a
// corpus line, and splits each class 80/10/10 into train/val/test.
func buildAlerts(g *rng, corpus map[string]bool) (map[string][]alert, error) {
	seen := map[string]bool{}
	splits := map[string][]alert{}
	for _, c := range alertClasses {
		var got []alert
		for tries := 0; len(got) < alertsPerClass; tries++ {
			if tries > 100*alertsPerClass {
				return nil, fmt.Errorf("alerts: only %d distinct examples for %s", len(got), c.label)
			}
			var t string
			switch r := g.r.Float64(); {
			case r < pVague:
				t = g.pick(vagueAlerts)
				if g.chance(0.5) {
					t = g.pick(reporters) + "反馈：" + t
				}
			case r < pVague+pHard:
				t = g.pick(c.hard)
			default:
				t = g.pick(c.clear)
			}
			if g.chance(pRuledOut) {
				other := alertClasses[g.r.IntN(len(alertClasses))]
				if other.label != c.label {
					t = "已排除" + other.ruledOut + "，" + t
				}
			}
			text := wrapAlert(g, fillAlert(g, t))
			if seen[text] || corpus[text] {
				continue
			}
			seen[text] = true
			got = append(got, alert{text, c.label, c.zh})
		}
		splits["val"] = append(splits["val"], got[:alertsVal]...)
		splits["test"] = append(splits["test"], got[alertsVal:alertsVal+alertsTest]...)
		splits["train"] = append(splits["train"], got[alertsVal+alertsTest:]...)
	}
	for _, s := range []string{"train", "val", "test"} {
		xs := splits[s]
		g.r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	}
	return splits, nil
}

func alertsJSONL(as []alert) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, a := range as {
		// Encode cannot fail for a struct of strings.
		_ = enc.Encode(struct {
			Text    string `json:"text"`
			Label   string `json:"label"`
			LabelZH string `json:"label_zh"`
		}{a.text, a.label, a.labelZH})
	}
	return b.Bytes()
}

// alertLabelList is the stable label order, for documentation and checks.
func alertLabelList() string {
	var ls []string
	for _, c := range alertClasses {
		ls = append(ls, c.label)
	}
	return strings.Join(ls, ",")
}
