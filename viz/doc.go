// Package viz draws the pictures of the course — attention maps, token chips, loss curves,
// quantization errors, confusion matrices, embeddings and serving latencies — as
// interactive Apache ECharts charts in a GoNB notebook cell, or as standalone HTML files.
//
// Every view is one call on plain Go slices that returns a *Chart:
//
//	viz.Init()                                   // first cell: load ECharts once
//	viz.Attention(tokens, probs).Show()          // probs[head][query][key]
//	viz.Histogram(weights, 50, "layer 3 weights").Save("hist.html")
//
// Views (plain slices in, *Chart out; Show, HTML, Save):
//
//   - attention: Attention (head view heatmap), AttentionLines (bertviz line view),
//     AttentionModel (layers × heads grid, click to enlarge), Neuron (q, k, q∘k, q·k/√d,
//     softmax for one query), AttentionDiff (two maps and their difference)
//   - tokenizers: Tokens (coloured chips with ids and byte spans, one row per tokenizer)
//   - training: NewLiveLoss (train/val curve redrawn in place, with a progress bar)
//   - quantization: Histogram, Heatmap, Bars
//   - classification: ConfusionMatrix (with per-class precision/recall), PrecisionRecall
//   - embeddings: Scatter2D, PCA2
//   - serving: LatencyPercentiles, Throughput
//
// Every ECharts chart has a toolbox button that saves it as PNG.
//
// A chart that could not be built (ragged matrix, NaN, mismatched labels) carries the error:
// Show displays it in the cell and returns it, Save returns it, HTML renders it as a message.
// Nothing panics.
//
// # Offline, once per notebook
//
// ECharts (echarts.min.js 5.4.3, ~1 MB, Apache-2.0, fetched by scripts/fetch-echarts.sh) is
// embedded in the Go binary; nothing is loaded from a CDN. GoNB runs each cell as a new
// process, so Go cannot remember whether the library was sent already; the browser page
// can. Init displays the library once (its output is saved in the notebook, so a reopened,
// trusted notebook loads it again from the first cell). Each chart output is small (data +
// a few lines of JS): it renders immediately when window.echarts exists, otherwise it queues
// itself and Init's script draws it when it runs. The library is wrapped as
// (function(define,exports,module){…}).call(window) so RequireJS in the classic notebook
// cannot capture it ("Mismatched anonymous define() module").
//
// # Compact attention data
//
// A 60-token, 12-head attention layer has 43,200 weights. As JSON numbers that would be
// ~300 KB per chart; viz packs them on a square-root scale into 12 bits (2 base64
// characters) or, above the per-chart budget, 6 bits (1 character):
//
//	q = round(√(w / max) · (2^bits − 1)),  w ≈ max · (q / (2^bits − 1))²
//
// which keeps small weights (most of a softmax row) distinguishable. Hover values are shown
// with "≈". The same square-root scale is used for colour, so faint attention stays visible.
package viz
