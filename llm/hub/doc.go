// Package hub fetches real checkpoints (bert-base-chinese,
// uer/roberta-base-chinese-extractive-qa, uer/gpt2-chinese-cluecorpussmall, …) from the
// Hugging Face hub, using go-huggingface's client and the cache layout that Python's
// huggingface_hub uses, so a model downloaded from either side is found by the other:
//
//	~/.cache/huggingface/hub/                       ($HF_HUB_CACHE, or $HF_HOME/hub)
//	  models--uer--roberta-base-chinese-extractive-qa/
//	    refs/main                                   the commit hash "main" points to
//	    blobs/<etag>                                file contents, named by hash
//	    snapshots/<commit>/config.json → ../../blobs/<etag>
//
// A model repository holds many files (README, TensorFlow and Flax weights, ONNX
// exports…). [Download] takes only what [llm.Load] reads: config.json, model.safetensors
// and the tokenizer files ([ModelFiles]). It refuses repositories that ship only
// pytorch_model.bin — unpickling can run arbitrary code — and says how to convert them.
//
// Without network the cache is used as is; when the model is not there the error says
// exactly which files to fetch on another machine and where to put them ([OfflineHelp]).
// Nothing in this package's tests touches the network: they run a local server that
// answers the two hub API paths go-huggingface calls:
//
//	GET  /api/models/OWNER/NAME/revision/REV?blobs=true   → {"sha": COMMIT, "siblings": [{"rfilename": …}]}
//	HEAD /OWNER/NAME/resolve/COMMIT/FILE                   → ETag / X-Linked-Etag, X-Repo-Commit
//	GET  /OWNER/NAME/resolve/COMMIT/FILE                   → the bytes
package hub
