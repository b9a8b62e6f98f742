// Package pins keeps the pinned module versions in go.mod while packages that use them
// are being written; delete an import here once real code imports the module.
package pins

import (
	_ "github.com/go-echarts/go-echarts/v2/charts"
	_ "github.com/gomlx/go-huggingface/models/safetensors"
	_ "github.com/gomlx/go-huggingface/tokenizers"
	_ "github.com/gomlx/gomlx/core/graph"
	_ "github.com/gomlx/gomlx/ml/model"
)
