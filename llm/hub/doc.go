// Package hub fetches real checkpoints (bert-base-chinese,
// uer/roberta-base-chinese-extractive-qa, uer/gpt2-chinese-cluecorpussmall, …) from the
// Hugging Face hub into the cache layout that Python's huggingface_hub uses, so a model
// downloaded from either side is found by the other:
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
// The cache is a place other programs read, so nothing the hub (or a mirror, or the user)
// sends may lead outside it. A revision must be a ref name or a 40-hex commit
// ([CheckRevision]); the commit the server answers must be 40 hex digits, each file's
// ETag (the blob's name) a sha256 or git sha1 in hex; every path is checked with
// filepath.IsLocal before use; and a blob gets its name only after its bytes hash to its
// ETag (sha256 of the contents for LFS files, git's blob sha1 for small files). Offline
// lookups ([CachedSnapshot]) apply the same checks to refs/ files.
//
// Nothing in this package's tests touches the network: they run a local server
// (hubtest) that answers the two hub API paths the client calls:
//
//	GET  /api/models/OWNER/NAME/revision/REV?blobs=true   → {"sha": COMMIT, "siblings": [{"rfilename": …}]}
//	HEAD /OWNER/NAME/resolve/COMMIT/FILE                   → ETag / X-Linked-Etag, X-Repo-Commit
//	GET  /OWNER/NAME/resolve/COMMIT/FILE                   → the bytes
package hub
