// divellm viz runtime: turns the compact chart specs written by package viz (Go) into
// ECharts options. Loaded once per page (viz.Init or a Save'd file), after echarts.min.js.
// Chart outputs that ran before it queued themselves on window.__divellmQ.
(function () {
  "use strict";
  var V = (window.divellmViz = window.divellmViz || {});
  V.version = 1;
  V.charts = V.charts || [];
  V.errors = V.errors || [];
  V.rendered = V.rendered || 0;

  var FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif";
  var SEQ = ["#ffffff", "#deebf7", "#9ecae1", "#4292c6", "#08519c", "#08306b"];
  var DIV = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"];
  var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var B64I = {};
  for (var i = 0; i < 64; i++) B64I[B64.charAt(i)] = i;

  // esc makes text safe for tooltips, which ECharts renders as HTML.
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  V.esc = esc;

  function num(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
    return String(+v.toPrecision(4));
  }
  V.num = num;

  // decode unpacks a Packed array (see viz/pack.go): each value is 1 or 2 base64url
  // characters (6 or 12 bits) on a square-root scale, signed if p.signed.
  function decode(p) {
    var per = p.bits / 6, n = p.data.length / per, out = new Float64Array(n);
    var levels = (1 << p.bits) - 1;
    for (var i = 0; i < n; i++) {
      var q = 0;
      for (var j = 0; j < per; j++) q = (q << 6) | B64I[p.data.charAt(i * per + j)];
      var v;
      if (p.signed) {
        var half = levels >> 1, d = q - half;
        v = (d < 0 ? -1 : 1) * p.max * Math.pow(Math.abs(d) / half, 2);
      } else {
        v = p.max * Math.pow(q / levels, 2);
      }
      out[i] = v;
    }
    return out;
  }
  V.decode = decode;

  function clamp(x, lo, hi) { return Math.max(lo, Math.min(hi, x)); }

  // Layout numbers shared by the matrix views: cell size and label font scale with the
  // number of tokens so 60-character Chinese sentences stay readable. Key labels (on top)
  // are stacked one character per line when every token is short and Chinese stays upright
  // that way; a Latin token such as [CLS] that is wider than its cell is never stacked: it
  // stays on one line in a smaller font (its brackets dropped if that is not enough).
  // Labels are rotated when some token is long; labels longer than 10 characters are cut
  // with "…" (the tooltip shows the whole token).
  function isCJK(s) {
    for (var i = 0; i < s.length; i++) if (s.charCodeAt(i) <= 0x2e80) return false;
    return s.length > 0;
  }
  // fitLine returns {text, fs}: s on one line in the largest font ≤ fs (≥ 7) that fits w
  // pixels, dropping [ ] around special tokens when that helps.
  function fitLine(s, w, fs) {
    var f = Math.min(fs, Math.floor(w / (textWidth(s, 1) || 1)));
    if (f < 9 && /^\[.*\]$/.test(s)) { s = s.slice(1, -1); f = Math.min(fs, Math.floor(w / (textWidth(s, 1) || 1))); }
    return { text: s, fs: clamp(f, 7, fs) };
  }
  function tokenLayout(tokens, maxPlot) {
    var T = tokens.length;
    var cell = clamp(Math.floor(maxPlot / T), 10, 40);
    var fs = clamp(Math.round(cell * 0.85), 9, 14);
    var maxW = 0, maxChars = 0, labels = [];
    for (var i = 0; i < T; i++) {
      var chars = Array.from(String(tokens[i]));
      if (chars.length > 10) chars = chars.slice(0, 9).concat(["…"]);
      labels.push(chars.join(""));
      maxChars = Math.max(maxChars, chars.length);
      maxW = Math.max(maxW, textWidth(labels[i], fs));
    }
    var mode = maxW <= cell ? "flat" : maxChars <= 6 ? "stack" : "rotate";
    var top = [], xh = fs + 6;
    for (i = 0; i < T; i++) {
      var l = { text: labels[i], fs: fs };
      if (mode === "stack") {
        if (isCJK(labels[i])) l.text = Array.from(labels[i]).join("\n");
        else if (textWidth(labels[i], fs) > cell) l = fitLine(labels[i], cell, fs);
        xh = Math.max(xh, l.text.split("\n").length * (fs + 1) + 6);
      }
      top.push(l);
    }
    if (mode === "rotate") xh = maxW + 8;
    return { T: T, cell: cell, fs: fs, labels: labels, top: top, label: maxW + 8, mode: mode, xh: xh };
  }
  V.tokenLayout = tokenLayout;
  function textWidth(s, fs) {
    var w = 0;
    s = String(s);
    for (var i = 0; i < s.length; i++) w += s.charCodeAt(i) > 0x2e80 ? fs : fs * 0.62;
    return Math.ceil(w);
  }

  function toolbox(name) {
    return { right: 10, top: 0, feature: { saveAsImage: { pixelRatio: 2, name: name || "divellm", title: "PNG" } } };
  }

  function matrixSeries(name, T, vals, off, xi, yi) {
    var data = [];
    for (var q = 0; q < T; q++)
      for (var k = 0; k < T; k++) {
        var v = vals[off + q * T + k];
        data.push([k, q, Math.sqrt(Math.max(v, 0)), v]);
      }
    return {
      name: name, type: "heatmap", data: data, xAxisIndex: xi || 0, yAxisIndex: yi || 0,
      progressive: 0, animation: false, emphasis: { itemStyle: { borderColor: "#000", borderWidth: 1 } }
    };
  }

  // richSizes are rich-text styles f7…fMax, one per font size a fitted label may use.
  function richSizes(max) {
    var r = {};
    for (var f = 7; f <= max; f++) r["f" + f] = { fontSize: f, fontFamily: FONT };
    return r;
  }

  function tokenAxes(tokens, L, gridIndex, showLabels) {
    var labels = L.labels;
    var x = {
      type: "category", data: tokens, position: "top", gridIndex: gridIndex || 0,
      axisTick: { show: false },
      axisLabel: {
        show: showLabels !== false, interval: 0, fontSize: L.fs, fontFamily: FONT, lineHeight: L.fs + 1,
        rotate: L.mode === "rotate" ? 90 : 0, rich: richSizes(L.fs),
        formatter: function (v, i) {
          var t = L.top[i];
          if (t.fs === L.fs || /[{}|]/.test(t.text)) return t.text;
          return "{f" + t.fs + "|" + t.text + "}";
        }
      }
    };
    var y = {
      type: "category", data: tokens, inverse: true, gridIndex: gridIndex || 0, axisTick: { show: false },
      axisLabel: { show: showLabels !== false, interval: 0, fontSize: L.fs, fontFamily: FONT, formatter: function (v, i) { return labels[i]; } }
    };
    return [x, y];
  }

  function sqrtVisualMap(max, extra) {
    var m = {
      type: "continuous", min: 0, max: Math.sqrt(max || 1), dimension: 2, calculable: true,
      right: 10, top: "middle", itemHeight: 160, inRange: { color: SEQ },
      text: ["", ""], formatter: function (v) { return num(v * v); }
    };
    for (var k in extra || {}) m[k] = extra[k];
    return m;
  }

  // attention: one layer's heads on a query × key grid; the legend picks one head.
  function attention(spec, el) {
    var tokens = spec.tokens, T = tokens.length, H = spec.heads.length;
    var w = spec.values || decode(spec.w);
    var L = tokenLayout(tokens, 720);
    var names = spec.heads.slice(), series = [], max = 0;
    for (var h = 0; h < H; h++) series.push(matrixSeries(names[h], T, w, h * T * T));
    for (var i = 0; i < w.length; i++) max = Math.max(max, w[i]);
    if (H > 1) {
      var mean = new Float64Array(T * T);
      for (h = 0; h < H; h++) for (i = 0; i < T * T; i++) mean[i] += w[h * T * T + i] / H;
      names.push("mean");
      series.push(matrixSeries("mean", T, mean, 0));
    }
    var plot = T * L.cell, top = 75 + L.xh;
    var left = L.label + 20, right = 110;
    el.style.height = plot + top + 30 + "px";
    el.style.width = plot + left + right + "px";
    var selected = {};
    for (i = 0; i < names.length; i++) selected[names[i]] = i === (spec.selected || 0);
    var axes = tokenAxes(tokens, L);
    return {
      title: { text: spec.title || "注意力 (attention)", subtext: "行：query（谁在看）· 列：key（被看的）· 在图例里选一个头 (head)", left: 10, top: 0, textStyle: { fontSize: 14 }, subtextStyle: { fontSize: 11 } },
      legend: { type: "scroll", selectedMode: "single", data: names, selected: selected, top: 42, left: 10, right: 40 },
      grid: { left: left, right: right, top: top, bottom: 30 },
      xAxis: axes[0], yAxis: axes[1],
      visualMap: sqrtVisualMap(max, { right: null, left: left + plot + 20, top: top }),
      tooltip: {
        formatter: function (p) {
          var d = p.data;
          return esc(p.seriesName) + "<br>query " + d[1] + " <b>" + esc(tokens[d[1]]) + "</b> → key " + d[0] +
            " <b>" + esc(tokens[d[0]]) + "</b><br>权重 (weight) ≈ " + num(d[3]);
        }
      },
      series: series
    };
  }

  // lines: bertviz's head view — queries left, keys right, one line per weight ≥ 1%,
  // opacity and width ∝ weight, one colour per head; hover a token to focus its lines.
  var HEADC = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a"];
  function lines(spec, el) {
    var tokens = spec.tokens, T = tokens.length, H = spec.heads.length;
    var w = spec.values || decode(spec.w);
    var rowH = clamp(Math.floor(900 / T), 14, 26), fs = clamp(rowH - 4, 10, 14);
    var L = tokenLayout(tokens, 720), lw = 0;
    for (var i = 0; i < T; i++) lw = Math.max(lw, textWidth(L.labels[i], fs));
    var span = 260, top = 80, side = lw + 20;
    el.style.width = 2 * side + span + 40 + "px";
    el.style.height = top + T * rowH + 20 + "px";
    var box = { left: side, right: side + 40, top: top, bottom: 20 };
    function nodes(show) {
      var n = [];
      for (var i = 0; i < T; i++) {
        n.push({ name: "q" + i, x: 0, y: i, label: { show: show, position: "left", formatter: L.labels[i], fontSize: fs, fontFamily: FONT } });
        n.push({ name: "k" + i, x: 1, y: i, label: { show: show, position: "right", formatter: L.labels[i], fontSize: fs, fontFamily: FONT } });
      }
      return n;
    }
    var series = [], selected = {};
    for (var h = 0; h < H; h++) {
      var links = [];
      for (var q = 0; q < T; q++)
        for (var k = 0; k < T; k++) {
          var v = w[h * T * T + q * T + k];
          if (v >= 0.01) links.push({ source: "q" + q, target: "k" + k, value: v, lineStyle: { opacity: Math.min(1, 0.1 + 0.9 * v), width: 0.5 + 3 * v } });
        }
      var s = { name: spec.heads[h], type: "graph", layout: "none", data: nodes(false), links: links, symbolSize: 5, roam: false,
        itemStyle: { color: HEADC[h % HEADC.length] }, lineStyle: { color: HEADC[h % HEADC.length], curveness: 0 },
        emphasis: { focus: "adjacency", lineStyle: { width: 3 } }, animation: false };
      for (var b in box) s[b] = box[b];
      series.push(s);
      selected[spec.heads[h]] = h === (spec.selected || 0);
    }
    var labelsSeries = { name: "tokens", type: "graph", layout: "none", data: nodes(true), links: [], symbolSize: 1, silent: true, animation: false, itemStyle: { color: "#999" } };
    for (b in box) labelsSeries[b] = box[b];
    series.push(labelsSeries);
    return {
      title: { text: spec.title || "注意力 (attention)", subtext: "左：query · 右：key · 线越深权重越大 · 鼠标停在 token 上看它的线", left: 10, top: 0, textStyle: { fontSize: 14 }, subtextStyle: { fontSize: 11 } },
      legend: { type: "scroll", data: spec.heads, selected: selected, top: 42, left: 10, right: 40 },
      tooltip: {
        formatter: function (p) {
          if (p.dataType === "edge") {
            var q = +p.data.source.slice(1), k = +p.data.target.slice(1);
            return esc(p.seriesName) + "<br><b>" + esc(tokens[q]) + "</b> → <b>" + esc(tokens[k]) + "</b><br>权重 (weight) ≈ " + num(p.data.value);
          }
          var j = +p.name.slice(1);
          return (p.name.charAt(0) === "q" ? "query " : "key ") + j + " <b>" + esc(tokens[j]) + "</b>";
        }
      },
      series: series
    };
  }

  // model: a layers × heads grid of thumbnails (drawn as images); click one to enlarge it
  // as a head view underneath.
  function model(spec, el) {
    var tokens = spec.tokens, T = tokens.length, NL = spec.layers.length, NH = spec.heads.length;
    var w = decode(spec.w), max = 0;
    for (var i = 0; i < w.length; i++) max = Math.max(max, w[i]);
    var thumb = clamp(Math.floor(900 / NH) - 8, 40, 110), gap = 8, left = 70, top = 60;
    el.style.width = left + NH * (thumb + gap) + 20 + "px";
    el.style.height = top + NL * (thumb + gap) + 20 + "px";
    var graphic = [], smax = Math.sqrt(max || 1);
    for (var l = 0; l < NL; l++) {
      graphic.push({ type: "text", left: 8, top: top + l * (thumb + gap) + thumb / 2 - 7, style: { text: spec.layers[l], fontSize: 12, fill: "#333" } });
      for (var h = 0; h < NH; h++) {
        var c = document.createElement("canvas"), S = thumb * 2;
        c.width = S; c.height = S;
        var ctx = c.getContext("2d"), img = ctx.createImageData(S, S), off = (l * NH + h) * T * T;
        for (var py = 0; py < S; py++) {
          var q = Math.floor(py * T / S);
          for (var px = 0; px < S; px++) {
            var k = Math.floor(px * T / S), v = Math.sqrt(Math.max(w[off + q * T + k], 0)) / smax;
            var o = (py * S + px) * 4;
            img.data[o] = Math.round(255 - v * (255 - 8));
            img.data[o + 1] = Math.round(255 - v * (255 - 48));
            img.data[o + 2] = Math.round(255 - v * (255 - 107));
            img.data[o + 3] = 255;
          }
        }
        ctx.putImageData(img, 0, 0);
        graphic.push({
          type: "image", left: left + h * (thumb + gap), top: top + l * (thumb + gap),
          style: { image: c, width: thumb, height: thumb }, cursor: "pointer",
          onclick: (function (l, h) { return function () { enlarge(spec, el, w, l, h); }; })(l, h)
        });
        graphic.push({ type: "rect", left: left + h * (thumb + gap), top: top + l * (thumb + gap), silent: true, shape: { width: thumb, height: thumb }, style: { fill: "none", stroke: "#ccc" } });
      }
    }
    for (h = 0; h < NH; h++)
      graphic.push({ type: "text", left: left + h * (thumb + gap) + thumb / 2 - 10, top: top - 18, style: { text: spec.heads[h], fontSize: 11, fill: "#333" } });
    return {
      title: { text: spec.title || "注意力：层 × 头 (layers × heads)，点一个头放大", left: 10, top: 0, textStyle: { fontSize: 14 } },
      graphic: graphic
    };
  }

  function enlarge(spec, el, w, l, h) {
    var T = spec.tokens.length, NH = spec.heads.length, box = el.nextSibling;
    if (!box || !box.className || box.className.indexOf("divellm-viz-zoom") < 0) {
      box = document.createElement("div");
      box.className = "divellm-viz-zoom";
      el.parentNode.insertBefore(box, el.nextSibling);
    }
    var sub = new Float64Array(NH * T * T);
    for (var i = 0; i < NH * T * T; i++) sub[i] = w[l * NH * T * T + i];
    render(box, { kind: "attention", tokens: spec.tokens, heads: spec.heads, values: sub, selected: h, title: (spec.title ? spec.title + " · " : "") + spec.layers[l] });
  }

  // neuron: how one query's q meets every key's k (bertviz neuron view): q, k, q∘k,
  // the scaled dot products q·k/√d and the softmax over keys.
  function neuron(spec, el) {
    var tokens = spec.tokens, T = tokens.length, d = spec.dim;
    var q = decode(spec.q), k = decode(spec.k);
    var L = tokenLayout(tokens, 600), cell = Math.max(L.cell, 12);
    // Fit the output area: the two d-wide matrices take what the label column, the two
    // bar charts and the gaps leave of the element's width (the notebook's output area).
    var avail = Math.min(el.clientWidth || 1000, 1100), top = 50, qh = 16, left = L.label + 20, gap = 40;
    var barw = avail < 900 ? 110 : 150, fixed = left + 2 * barw + 4 * gap + 30;
    var dcell = clamp(Math.floor((avail - fixed) / (2 * d)), 2, 24), mw = d * dcell;
    var plot = T * cell;
    el.style.height = top + qh + 30 + plot + 30 + "px";
    el.style.width = fixed + 2 * mw + "px";
    var qd = [], kd = [], pd = [], kmax = 0, pmax = 0;
    for (var j = 0; j < d; j++) { qd.push([j, 0, q[j]]); kmax = Math.max(kmax, Math.abs(q[j])); }
    for (var t = 0; t < T; t++)
      for (j = 0; j < d; j++) {
        var kv = k[t * d + j], pv = q[j] * kv;
        kd.push([j, t, kv]); pd.push([j, t, pv]);
        kmax = Math.max(kmax, Math.abs(kv)); pmax = Math.max(pmax, Math.abs(pv));
      }
    var x2 = left + mw + gap, x3 = x2 + mw + gap, x4 = x3 + barw + gap;
    var rowsTop = top + qh + 30;
    function g(l, tp, wd, ht) { return { left: l, top: tp, width: wd, height: ht }; }
    var dims = []; for (j = 0; j < d; j++) dims.push(j);
    function hx(gi, name) { return { type: "category", data: dims, gridIndex: gi, name: name, nameLocation: "middle", nameGap: 6, position: "top", axisLabel: { show: false }, axisTick: { show: false } }; }
    function ty(gi, show) { return { type: "category", data: tokens, inverse: true, gridIndex: gi, axisTick: { show: false }, axisLabel: { show: show, interval: 0, fontSize: L.fs, fontFamily: FONT } }; }
    var qtok = tokens[spec.query];
    var masked = spec.masked || [];
    var tip = function (p) {
      var dd = p.data;
      if (p.seriesType === "bar" && masked[p.dataIndex])
        return esc(tokens[p.dataIndex]) + "<br>被掩码遮住 (masked)：分数 → −∞，softmax = 0";
      if (p.seriesType === "bar") return esc(tokens[p.dataIndex]) + "<br>" + esc(p.seriesName) + " = " + num(p.value);
      if (p.seriesIndex === 0) return "q[" + dd[0] + "] = " + num(dd[2]);
      return esc(p.seriesName) + " · key <b>" + esc(tokens[dd[1]]) + "</b> · dim " + dd[0] + " = " + num(dd[2]);
    };
    return {
      title: { text: spec.title || ("神经元视图 (neuron view) · query " + spec.query + " “" + qtok + "”"), left: 10, top: 0, textStyle: { fontSize: 14 } },
      tooltip: { formatter: tip },
      grid: [g(x2, top, mw, qh), g(left, rowsTop, mw, plot), g(x2, rowsTop, mw, plot), g(x3, rowsTop, barw, plot), g(x4, rowsTop, barw, plot)],
      xAxis: [hx(0, "q"), hx(1, "k"), hx(2, "q ∘ k"),
        { type: "value", gridIndex: 3, name: "q·k/√d", nameLocation: "middle", nameGap: 22, position: "top", splitNumber: 2, axisLabel: { fontSize: 10 } },
        { type: "value", gridIndex: 4, name: "softmax", nameLocation: "middle", nameGap: 22, position: "top", min: 0, max: 1, splitNumber: 2, axisLabel: { fontSize: 10 } }],
      yAxis: [{ type: "category", data: [qtok], gridIndex: 0, axisLabel: { show: false }, axisTick: { show: false } }, ty(1, true), ty(2, false), ty(3, false), ty(4, false)],
      visualMap: [
        { type: "continuous", seriesIndex: [0, 1], min: -kmax || -1, max: kmax || 1, dimension: 2, inRange: { color: DIV }, show: false },
        { type: "continuous", seriesIndex: [2], min: -pmax || -1, max: pmax || 1, dimension: 2, inRange: { color: DIV }, show: false }
      ],
      series: [
        { name: "q", type: "heatmap", xAxisIndex: 0, yAxisIndex: 0, data: qd, animation: false },
        { name: "k", type: "heatmap", xAxisIndex: 1, yAxisIndex: 1, data: kd, animation: false },
        { name: "q ∘ k", type: "heatmap", xAxisIndex: 2, yAxisIndex: 2, data: pd, animation: false },
        { name: "q·k/√d", type: "bar", xAxisIndex: 3, yAxisIndex: 3, data: spec.scores, itemStyle: { color: "#888" }, barCategoryGap: "15%" },
        { name: "softmax", type: "bar", xAxisIndex: 4, yAxisIndex: 4, data: spec.probs, itemStyle: { color: "#2171b5" }, barCategoryGap: "15%" }
      ]
    };
  }

  // diff: two attention maps side by side and their difference a − b below.
  function diff(spec, el) {
    var tokens = spec.tokens, T = tokens.length;
    var a = decode(spec.a), b = decode(spec.b), dv = decode(spec.d);
    var big = tokenLayout(tokens, 720), small = tokenLayout(tokens, 360);
    var sp = T * small.cell, bp = T * big.cell;
    var left = big.label + 20, top1 = 60 + small.xh;
    var top2 = top1 + sp + 70 + big.xh;
    var gapB = 40 + small.label;
    el.style.width = Math.max(left + 2 * sp + gapB, left + bp) + 120 + "px";
    el.style.height = top2 + bp + 30 + "px";
    var max = 0, dmax = 0;
    for (var i = 0; i < a.length; i++) { max = Math.max(max, a[i], b[i]); dmax = Math.max(dmax, Math.abs(dv[i])); }
    var g = [
      { left: left, top: top1, width: sp, height: sp },
      { left: left + sp + gapB, top: top1, width: sp, height: sp },
      { left: left, top: top2, width: bp, height: bp }
    ];
    var ax0 = tokenAxes(tokens, small, 0), ax1 = tokenAxes(tokens, small, 1), ax2 = tokenAxes(tokens, big, 2);
    ax0[0].name = spec.labelA; ax1[0].name = spec.labelB;
    ax2[0].name = "差 (difference) = " + spec.labelA + " − " + spec.labelB + "\n蓝：" + spec.labelA + " 看得更多；红：" + spec.labelB + " 看得更多";
    for (var a3 = 0; a3 < 3; a3++) {
      var xa = [ax0, ax1, ax2][a3][0];
      xa.nameLocation = "middle"; xa.nameGap = (a3 < 2 ? small.xh : big.xh) + (a3 < 2 ? 12 : 24);
      // Names wrap inside their panel instead of running past the chart's edge.
      xa.nameTextStyle = { width: a3 < 2 ? sp + gapB - 20 : bp, overflow: "break", lineHeight: 15 };
    }
    var dd = [];
    for (var q = 0; q < T; q++) for (var k = 0; k < T; k++) dd.push([k, q, dv[q * T + k], a[q * T + k], b[q * T + k]]);
    var sa = matrixSeries(spec.labelA, T, a, 0, 0, 0), sb = matrixSeries(spec.labelB, T, b, 0, 1, 1);
    return {
      title: { text: spec.title || ("注意力对比 (attention): " + spec.labelA + " vs " + spec.labelB), left: 10, top: 0, textStyle: { fontSize: 14 } },
      grid: g, xAxis: [ax0[0], ax1[0], ax2[0]], yAxis: [ax0[1], ax1[1], ax2[1]],
      visualMap: [
        sqrtVisualMap(max, { seriesIndex: [0, 1], right: null, left: left + 2 * sp + gapB + 20, top: top1, itemHeight: Math.min(sp, 160) }),
        { type: "continuous", seriesIndex: [2], min: -dmax || -1, max: dmax || 1, dimension: 2, calculable: true, left: left + bp + 20, top: top2, itemHeight: Math.min(bp, 200), inRange: { color: DIV }, formatter: function (v) { return num(v); } }
      ],
      tooltip: {
        formatter: function (p) {
          var d = p.data, s = "query <b>" + esc(tokens[d[1]]) + "</b> → key <b>" + esc(tokens[d[0]]) + "</b><br>";
          if (p.seriesIndex === 2) return s + esc(spec.labelA) + " ≈ " + num(d[3]) + "<br>" + esc(spec.labelB) + " ≈ " + num(d[4]) + "<br>差 (difference) ≈ " + num(d[2]);
          return s + esc(p.seriesName) + " ≈ " + num(d[3]);
        }
      },
      series: [sa, sb, { name: "差 (difference)", type: "heatmap", xAxisIndex: 2, yAxisIndex: 2, data: dd, animation: false, progressive: 0 }]
    };
  }

  // option: a ready ECharts option built in Go (go-echarts); fmt names formatters to attach.
  var formatters = {
    // heatmap cells [x, y, v] over category axes.
    cell: function (opt) {
      var xs = axisData(opt.xAxis), ys = axisData(opt.yAxis);
      return function (p) {
        if (p.seriesType !== "heatmap") return esc(p.name) + "<br>" + esc(p.seriesName) + ": " + num(p.value);
        var v = p.value || p.data.value;
        return esc(ys[v[1]]) + " · " + esc(xs[v[0]]) + "<br>" + esc(p.seriesName) + ": " + num(v[2]);
      };
    },
    // scatter points {name, value:[x,y]}.
    point: function () {
      return function (p) { var v = p.value; return esc(p.name) + "<br>(" + num(v[0]) + ", " + num(v[1]) + ")"; };
    }
  };
  function axisData(ax) { ax = Array.isArray(ax) ? ax[0] : ax; return (ax && ax.data) || []; }

  // wrapCategoryLabels makes every label of a bar or line chart's category x-axis fit its
  // band: it wraps onto several lines (overflow "break") at the band's width, and the grid
  // grows to contain them, so labels neither overlap nor leave the chart.
  function wrapCategoryLabels(opt, el) {
    var series = opt.series || [], cartesian = false;
    for (var i = 0; i < series.length; i++) if (series[i].type === "bar" || series[i].type === "line") cartesian = true;
    if (!cartesian) return;
    var xs = Array.isArray(opt.xAxis) ? opt.xAxis : [opt.xAxis];
    var width = el.clientWidth || 900;
    for (i = 0; i < xs.length; i++) {
      var x = xs[i];
      if (!x || !x.data || !x.data.length || (x.axisLabel && x.axisLabel.rotate)) continue;
      var band = Math.floor(0.8 * width / x.data.length) - 8;
      x.axisLabel = x.axisLabel || {};
      x.axisLabel.interval = 0;
      x.axisLabel.width = Math.max(band, 24);
      x.axisLabel.overflow = "break";
      x.axisLabel.lineHeight = 14;
    }
    if (!Array.isArray(opt.grid)) {
      opt.grid = opt.grid || {};
      opt.grid.containLabel = true;
      if (opt.grid.left === undefined) opt.grid.left = "3%";
      if (opt.grid.right === undefined) opt.grid.right = "4%";
    }
  }

  function optionKind(spec, el) {
    var opt = spec.option;
    wrapCategoryLabels(opt, el);
    if (spec.tooltip && formatters[spec.tooltip]) {
      opt.tooltip = opt.tooltip || {};
      opt.tooltip.formatter = formatters[spec.tooltip](opt);
    }
    if (spec.valueLabels) {
      // Value labels on heatmap cells (confusion matrix counts).
      for (var i = 0; i < opt.series.length; i++)
        if (opt.series[i].type === "heatmap") opt.series[i].label = { show: true, fontSize: 11, formatter: function (p) { return String((p.value || p.data.value)[2]); } };
    }
    return opt;
  }

  var kinds = { attention: attention, lines: lines, model: model, neuron: neuron, diff: diff, option: optionKind };

  // release disposes the charts an update of the same live display replaced. Other
  // detached charts are kept: JupyterLab may detach cells scrolled out of view and
  // re-attach them later.
  function release(live) {
    for (var i = V.charts.length - 1; i >= 0; i--) {
      var c = V.charts[i];
      if (c.__divellmLive === live) { c.dispose(); V.charts.splice(i, 1); }
    }
  }

  // render draws spec into el (replacing its placeholder) and marks el data-rendered="1",
  // or shows the error in el and marks data-rendered="error".
  function render(el, spec) {
    if (!el) return;
    try {
      if (spec.live) release(spec.live);
      var build = kinds[spec.kind];
      if (!build) throw new Error("unknown chart kind " + spec.kind);
      el.innerHTML = "";
      var opt = build(spec, el);
      if (spec.width) el.style.width = spec.width;
      if (spec.height) el.style.height = spec.height;
      if (/px$/.test(el.style.width)) el.style.maxWidth = "none";
      opt.textStyle = opt.textStyle || { fontFamily: FONT };
      if (!opt.toolbox) opt.toolbox = toolbox(spec.name);
      opt.backgroundColor = opt.backgroundColor || "#ffffff";
      if (spec.live) opt.animation = false;
      var old = window.echarts.getInstanceByDom(el);
      if (old) old.dispose();
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(opt);
      if (spec.live) chart.__divellmLive = spec.live;
      V.charts.push(chart);
      V.rendered++;
      el.setAttribute("data-rendered", "1");
    } catch (e) {
      V.errors.push(String(e && e.stack || e));
      el.setAttribute("data-rendered", "error");
      el.innerHTML = '<pre style="color:#b00;white-space:pre-wrap">divellm viz: ' + esc(e && e.message || e) + "</pre>";
    }
  }
  V.render = render;

  if (!V.resizeHooked) {
    V.resizeHooked = true;
    window.addEventListener("resize", function () {
      for (var i = 0; i < V.charts.length; i++) V.charts[i].resize();
    });
  }

  // Draw the charts whose output ran before this runtime was loaded.
  var q = window.__divellmQ || [];
  window.__divellmQ = [];
  for (var j = 0; j < q.length; j++) {
    try { q[j](); } catch (e) { V.errors.push(String(e)); }
  }
})();
