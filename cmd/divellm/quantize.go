package main

import (
	"encoding/json"
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
	register("quantize", "quantize a checkpoint's linear weights to int8/int4 (RTN or GPTQ)", cmdQuantize)
}

// quantizeResult is the JSON summary printed by `divellm quantize`.
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

func cmdQuantize(args []string, w io.Writer) error {
	fs := newFlags("quantize")
	modelDir := fs.String("model", "", "checkpoint directory to quantize")
	bits := fs.Int("bits", 8, "8 or 4")
	gran := fs.String("granularity", "channel", "tensor, channel or group=N (scales per output row or per N input columns)")
	method := fs.String("method", "rtn", "rtn (round to nearest) or gptq (Hessian-based error compensation; needs --calib)")
	out := fs.String("out", "", "directory to write the quantized checkpoint")
	calibPath := fs.String("calib", "", "text whose activations calibrate GPTQ (GPT models)")
	calibTokens := fs.Int("calib-tokens", 4096, "calibration tokens to use from --calib")
	asym := fs.Bool("asymmetric", false, "asymmetric scheme with a zero point")
	actOrder := fs.Bool("act-order", false, "GPTQ: quantize columns in order of decreasing activation energy")
	layers := fs.Bool("layers", false, "include per-layer errors in the JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *modelDir == "" || *out == "" {
		return usagef("--model and --out are required")
	}
	if *bits != 8 && *bits != 4 {
		return usagef("--bits must be 8 or 4, got %d", *bits)
	}
	g, group, err := parseGranularity(*gran)
	if err != nil {
		return err
	}
	opt := qmodel.Options{Scheme: quant.Scheme{Bits: *bits, Asymmetric: *asym, Granularity: g, GroupSize: group}}
	switch *method {
	case "rtn":
		opt.Method = qmodel.RTN
	case "gptq":
		opt.Method = qmodel.GPTQ
		opt.GPTQ.ActOrder = *actOrder
		if *calibPath == "" {
			return usagef("--method gptq needs --calib FILE (text to collect layer inputs from)")
		}
	default:
		return usagef("--method %q: want rtn or gptq", *method)
	}
	if err := opt.Scheme.Validate(); err != nil {
		return usagef("%v", err)
	}
	if *calibPath != "" {
		text, err := readTextFile("calib", *calibPath)
		if err != nil {
			return err
		}
		m, err := llm.Load(*modelDir)
		if err != nil {
			return usagef("%v", err)
		}
		if m.Tokenizer == nil {
			return usagef("%s has no tokenizer to read --calib with", *modelDir)
		}
		ids := tokenizer.IDs(m.Tokenizer.Encode(text))
		opt.Calib = ids[:min(len(ids), *calibTokens)]
	}
	rep, err := qmodel.QuantizeDir(*modelDir, *out, opt)
	if err != nil {
		return err
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
		if *layers {
			res.Layers = append(res.Layers, layerError{Name: l.Name, Rows: l.Rows, Cols: l.Cols, MSE: l.Weight.MSE,
				MaxAbs: l.Weight.MaxAbs, SNRdB: l.Weight.SNR, Cosine: l.Weight.Cosine})
		}
	}
	if len(rep.Layers) == 0 {
		return fmt.Errorf("quantize: %s has no linear layers", *modelDir)
	}
	enc := json.NewEncoder(w)
	return enc.Encode(res)
}
