// Package fileio reads files whose paths come from a user (a --model directory, a
// --data corpus, a notebook, a tokenizer file) without trusting what the path names.
//
// os.ReadFile follows a path wherever it leads and reads until end of file. Pointed at
// /dev/zero or /dev/urandom it never ends and grows its buffer until the process dies;
// pointed at a FIFO it blocks in open until some writer appears; pointed at a 40 GB file
// it allocates 40 GB. This package's rule is simple:
//
//   - only regular files are read (symbolic links are followed: the Hugging Face cache
//     links snapshot files to blobs). Devices, FIFOs, sockets and directories are
//     refused with a one-line error wrapping [ErrNotRegular], before any byte is read
//     and without blocking (the file is opened with O_NONBLOCK where the system has it,
//     and its type is checked on the open descriptor, so swapping the path between a
//     check and the open changes nothing);
//   - the size is bounded: a file larger than the caller's maxBytes is refused with an
//     error wrapping [ErrTooLarge] that says both sizes, and [ReadFile] never allocates
//     more than maxBytes (+1 byte, to see a file that grows while it is read). maxBytes
//     ≤ 0 means no limit but the file's own size.
//
// [Open] gives the same guarantees to streaming readers (a corpus read line by line, a
// safetensors file that is memory-mapped): the *os.File it returns is a regular file, and
// it returns the size too.
//
// Typical limits: [MaxJSON] for configuration files (config.json, tokenizer_config.json),
// [MaxText] for vocabularies and corpora held in memory. Callers with other needs pass
// their own.
package fileio
