package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	define(&command{name: "quantize", summary: "quantize a checkpoint's linear weights to int8/int4 (RTN or GPTQ) into a new directory",
		usage: "--model MODEL --out DIR [--bits 8|4 --granularity tensor|channel|group=N --method rtn|gptq --calib FILE]", run: cmdQuantize})
}

// quantizeResult is the summary of `divellm quantize`.
type quantizeResult struct {
	Out          string       `json:"out"`
	Bits         int          `json:"bits"`
	Granularity  string       `json:"granularity"`
	Method       string       `json:"method"`
	FloatBytes   int          `json:"float_bytes"`
	QuantBytes   int          `json:"quant_bytes"`
	Compression  float64      `json:"compression"`
	CalibTokens  int          `json:"calib_tokens"`
	MeanSNRdB    float64      `json:"mean_snr_db"`
	WorstLayer   string       `json:"worst_layer"`
	WorstSNRdB   float64      `json:"worst_snr_db"`
	Layers       []layerError `json:"layers,omitempty"`
	PlainTensors int          `json:"plain_tensor_bytes"`
}

func (r quantizeResult) writeText(w io.Writer) error {
	calib := ""
	if r.CalibTokens > 0 {
		calib = fmt.Sprintf(", calibrated on %d tokens", r.CalibTokens)
	}
	err := writeTable(w, [][]string{
		{"written", r.Out},
		{"scheme", fmt.Sprintf("int%d, %s, %s%s", r.Bits, r.Granularity, r.Method, calib)},
		{"linear weights", fmt.Sprintf("%s float32 → %s quantized (%.2f× smaller); %s of other tensors stay float32",
			humanBytes(int64(r.FloatBytes)), humanBytes(int64(r.QuantBytes)), r.Compression, humanBytes(int64(r.PlainTensors)))},
		{"weight SNR", fmt.Sprintf("mean %.1f dB, worst %.1f dB (%s)", r.MeanSNRdB, r.WorstSNRdB, r.WorstLayer)},
	}, 2)
	if err != nil || len(r.Layers) == 0 {
		return err
	}
	rows := [][]string{{"\nlayer", "rows×cols", "SNR dB", "cosine", "max |err|"}}
	for _, l := range r.Layers {
		rows = append(rows, []string{l.Name, fmt.Sprintf("%d×%d", l.Rows, l.Cols), fmt.Sprintf("%.1f", l.SNRdB), fmt.Sprintf("%.5f", l.Cosine), fmt.Sprintf("%.3g", l.MaxAbs)})
	}
	return writeTable(w, rows, 2)
}

type layerError struct {
	Name   string  `json:"name"`
	Rows   int     `json:"rows"`
	Cols   int     `json:"cols"`
	MSE    float64 `json:"mse"`
	MaxAbs float64 `json:"max_abs_err"`
	SNRdB  float64 `json:"snr_db"`
	Cosine float64 `json:"cosine"`
}

// parseGranularity reads tensor | channel | group=N.
func parseGranularity(s string) (quant.Granularity, int, error) {
	switch {
	case s == "tensor":
		return quant.PerTensor, 0, nil
	case s == "channel":
		return quant.PerChannel, 0, nil
	case strings.HasPrefix(s, "group="):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "group="))
		if err != nil || n <= 0 {
			return 0, 0, usagef("--granularity %q: group size must be a positive integer (e.g. group=32)", s)
		}
		return quant.PerGroup, n, nil
	}
	return 0, 0, usagef("--granularity %q: want tensor, channel or group=N", s)
}

func cmdQuantize(c *cmdCtx) (any, error) {
	modelName := c.String("model", "", modelUsage+"; the float32 checkpoint to quantize")
	bits := c.Int("bits", 8, 4, 8, "8 or 4")
	gran := c.String("granularity", "channel", "tensor, channel or group=N (scales per output row or per N input columns)")
	method := c.String("method", "rtn", "rtn (round to nearest) or gptq (Hessian-based error compensation; needs --calib)")
	out := c.String("out", "", "directory to write the quantized checkpoint: new, empty, or one divellm wrote; never --model (required)")
	calibPath := c.String("calib", "", "text whose activations calibrate GPTQ (GPT models)")
	calibTokens := c.Int("calib-tokens", 4096, 1, 10_000_000, "calibration tokens to use from --calib")
	asym := c.Bool("asymmetric", false, "asymmetric scheme with a zero point")
	actOrder := c.Bool("act-order", false, "GPTQ: quantize columns in order of decreasing activation energy")
	perLayer := c.Bool("per-layer", false, "include per-layer errors in the result")
	c.Alias("layers", "per-layer")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q (the model goes in --model)", rest[0])
	}
	if *modelName == "" || *out == "" {
		return nil, usagef("--model and --out are required")
	}
	if *bits != 8 && *bits != 4 {
		return nil, usagef("--bits must be 8 or 4, got %d", *bits)
	}
	g, group, err := parseGranularity(*gran)
	if err != nil {
		return nil, err
	}
	opt := qmodel.Options{Scheme: quant.Scheme{Bits: *bits, Asymmetric: *asym, Granularity: g, GroupSize: group}}
	switch *method {
	case "rtn":
		opt.Method = qmodel.RTN
	case "gptq":
		opt.Method = qmodel.GPTQ
		opt.GPTQ.ActOrder = *actOrder
		if *calibPath == "" {
			return nil, usagef("--method gptq needs --calib FILE (text to collect layer inputs from)")
		}
	default:
		return nil, usagef("--method %q: want rtn or gptq", *method)
	}
	if err := opt.Scheme.Validate(); err != nil {
		return nil, usagef("%v", err)
	}
	dir, err := resolveModel("model", *modelName)
	if err != nil {
		return nil, err
	}
	if err := checkOutDir("out", *out, dir); err != nil {
		return nil, err
	}
	if err := checkModelFiles(dir); err != nil {
		return nil, err
	}
	if isQuantized(dir) {
		return nil, usagef("--model %s is already a quantized checkpoint (written by divellm quantize): quantize its float32 original", *modelName)
	}
	cfg, err := llm.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if g == quant.PerGroup {
		// Groups run along each layer's input columns: refuse a size that does not divide
		// them all (it used to fall back to per-channel while the report said group=N).
		for _, l := range cfg.Linears() {
			if l.In%group != 0 {
				return nil, usagef("--granularity %s: the group size must divide every layer's input width, and %s has %d inputs; try group=32 or channel", *gran, l.Module, l.In)
			}
		}
		if cfg.DModel%group != 0 {
			return nil, usagef("--granularity %s: the group size must divide the hidden size %d of the heads; try group=32 or channel", *gran, cfg.DModel)
		}
	}
	if *calibPath != "" {
		text, err := readTextFile("calib", *calibPath)
		if err != nil {
			return nil, err
		}
		tok, err := tokenizer.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("--model %s: no tokenizer to read --calib with: %w", *modelName, err)
		}
		ids := tokenizer.IDs(tok.Encode(text))
		opt.Calib = ids[:min(len(ids), *calibTokens)]
	}
	rep, err := qmodel.QuantizeDir(dir, *out, opt)
	if err != nil {
		return nil, err
	}
	if len(rep.Layers) == 0 {
		return nil, fmt.Errorf("quantize: %s has no linear layers", *modelName)
	}
	res := quantizeResult{Out: *out, Bits: *bits, Granularity: *gran, Method: *method, FloatBytes: rep.FloatBytes,
		QuantBytes: rep.QuantBytes, CalibTokens: rep.CalibrationRows, PlainTensors: rep.PlainTensorBytes, WorstSNRdB: math.Inf(1)}
	if rep.QuantBytes > 0 {
		res.Compression = float64(rep.FloatBytes) / float64(rep.QuantBytes)
	}
	for _, l := range rep.Layers {
		res.MeanSNRdB += l.Weight.SNR / float64(len(rep.Layers))
		if l.Weight.SNR < res.WorstSNRdB {
			res.WorstSNRdB, res.WorstLayer = l.Weight.SNR, l.Name
		}
		if *perLayer {
			res.Layers = append(res.Layers, layerError{Name: l.Name, Rows: l.Rows, Cols: l.Cols, MSE: l.Weight.MSE,
				MaxAbs: l.Weight.MaxAbs, SNRdB: l.Weight.SNR, Cosine: l.Weight.Cosine})
		}
	}
	return res, nil
}
