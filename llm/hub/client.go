package hub

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file is the hub client: two API calls and the cache layout of Python's
// huggingface_hub, written so that no value the server sends can name a path outside
// the cache. The server's answers that become path elements are the commit sha (the
// snapshot directory) and each file's ETag (the blob name); both must be lowercase hex
// of the right length, and every path is checked with filepath.IsLocal against the
// repository's cache folder before use. The downloaded bytes must hash to the ETag
// (sha256 for LFS files, git's blob sha1 for small ones) before the blob gets its name.

// ErrBadRevision is wrapped by the error for a revision that is neither a ref name
// (branch, tag, refs/pr/N) nor a 40-hex commit sha.
var ErrBadRevision = errors.New("invalid revision")

var (
	commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	etagRE   = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)
	refRE    = regexp.MustCompile(`^[A-Za-z0-9._+@-]+$`)
)

// CheckRevision reports a revision that is not a commit sha (40 hex digits) or a ref
// name as git allows it (main, v1.0, refs/pr/1): slash-separated components of letters,
// digits and ._+@-, none empty, starting with '.' or ending with ".lock", no "..", at most
// 255 bytes. Only such revisions are used as cache paths (refs/REVISION) and in URLs.
func CheckRevision(rev string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s; want a branch or tag name (main, v1.0, refs/pr/1) or a 40-hex commit sha", ErrBadRevision, rev, why)
	}
	if commitRE.MatchString(rev) {
		return nil
	}
	switch {
	case rev == "":
		return bad("empty")
	case len(rev) > 255:
		return bad("longer than 255 bytes")
	case rev == "@" || rev == "-" || strings.HasPrefix(rev, "-"):
		return bad("not a ref name")
	case strings.Contains(rev, ".."):
		return bad(`contains ".."`)
	}
	for _, c := range strings.Split(rev, "/") {
		switch {
		case c == "":
			return bad("empty path component")
		case !refRE.MatchString(c):
			return bad("only letters, digits and ._+@- are allowed between slashes")
		case strings.HasPrefix(c, "."), strings.HasSuffix(c, ".lock"), strings.HasSuffix(c, "."):
			return bad(`a component starts with "." or ends with "." or ".lock"`)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(rev)) {
		return bad("not a relative path")
	}
	return nil
}

// inside joins elems to root and checks that the result stays inside root (every
// element is validated before this; this is the last line of defence).
func inside(root string, elems ...string) (string, error) {
	rel := filepath.Join(elems...)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("refusing path %q: it leaves the cache folder %s", rel, root)
	}
	return filepath.Join(root, rel), nil
}

// client talks to one hub endpoint.
type client struct {
	endpoint, token string
	http            *http.Client
	logf            func(string, ...any)
}

func newClient(o Options, logf func(string, ...any)) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute // a server that accepts and never answers
	return &client{endpoint: o.Endpoint, token: o.Token, logf: logf, http: &http.Client{Transport: tr}}
}

// repoInfo is the part of /api/models/ID/revision/REV that the client reads.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		Name string `json:"rfilename"`
		Size int64  `json:"size"`
	} `json:"siblings"`
}

// maxInfoBytes bounds the repository listing (a few kB for model repositories; a
// repository with 100k files is about 10 MB).
const maxInfoBytes = 64 << 20

func (c *client) request(method, u string) (*http.Request, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "divellm (hub client)")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// statusError turns a non-2xx answer into an error with the hub's message.
func statusError(resp *http.Response, what string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var j struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &j) == nil && j.Error != "" {
		msg = j.Error
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return fmt.Errorf("%s: the hub answered %s: %s", what, resp.Status, msg)
}

// info asks which commit revision points to and which files the repository has.
func (c *client) info(modelID, revision string) (*repoInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", c.endpoint, modelID, url.PathEscape(revision))
	req, err := c.request(http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, "repository info")
	}
	var info repoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInfoBytes)).Decode(&info); err != nil {
		return nil, fmt.Errorf("repository info from %s: %w", u, err)
	}
	if !commitRE.MatchString(info.SHA) {
		return nil, fmt.Errorf("the hub answered the commit %q for revision %q, which is not a 40-hex commit sha: refusing to use it", info.SHA, revision)
	}
	if commitRE.MatchString(revision) && info.SHA != revision {
		return nil, fmt.Errorf("asked for commit %s, the hub answered commit %s", revision, info.SHA)
	}
	return &info, nil
}

// fileMeta is what HEAD /ID/resolve/COMMIT/FILE says about a file.
type fileMeta struct {
	etag string
	size int64 // -1 when unknown
}

// head reads a file's ETag the way huggingface_hub does: relative redirects (a renamed
// repository) are followed, a redirect to another host (the CDN serving LFS files) is
// not, because the first answer carries X-Linked-Etag.
func (c *client) head(u string) (*fileMeta, error) {
	req, err := c.request(http.MethodHead, u)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	hc := *c.http
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 || r.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return nil, statusError(resp, "HEAD "+u)
	}
	etag := resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if !etagRE.MatchString(etag) {
		return nil, fmt.Errorf("the hub answered the ETag %q, not a sha256 or git sha1 in hex: refusing to use it as a cache file name", etag)
	}
	m := &fileMeta{etag: etag, size: -1}
	if s := resp.Header.Get("X-Linked-Size"); s != "" {
		m.size, _ = strconv.ParseInt(s, 10, 64)
	} else if resp.StatusCode == http.StatusOK && resp.ContentLength >= 0 {
		m.size = resp.ContentLength
	}
	return m, nil
}

// blobHash returns the hash the ETag of a file is: sha256 of the contents for LFS files
// (64 hex digits), git's blob sha1 (of "blob SIZE\x00" + contents) for the others.
func blobHash(etag string, size int64) hash.Hash {
	if len(etag) == 64 {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// download fetches u into blobPath: into a temporary file beside it, checked against the
// ETag (size and hash), then renamed, so a blob only ever has its name when its bytes
// are the ones the ETag names.
func (c *client) download(u, blobPath string, m *fileMeta) error {
	req, err := c.request(http.MethodGet, u)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req) // redirects followed; Go drops Authorization for other hosts
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp, "GET "+u)
	}
	size := m.size
	if size < 0 {
		size = resp.ContentLength
	}
	if size < 0 && len(m.etag) == 40 {
		return fmt.Errorf("GET %s: no size to check the git hash %s against", u, m.etag)
	}
	if err := os.MkdirAll(filepath.Dir(blobPath), 0o755); err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := blobPath + ".incomplete-" + hex.EncodeToString(rnd[:])
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename there is nothing left to remove
	h := blobHash(m.etag, size)
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("GET %s: received %d bytes, the hub announced %d", u, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.etag {
		return fmt.Errorf("GET %s: the downloaded bytes (hash %s) do not match the hub's ETag %s: corrupted in transit or a misbehaving mirror; try again", u, got, m.etag)
	}
	return os.Rename(tmp, blobPath)
}

// linkSnapshot makes snap (snapshots/COMMIT/FILE) point at blob: a relative symbolic link
// as huggingface_hub makes, or a hard link or a copy where symbolic links fail.
func linkSnapshot(snap, blob string) error {
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(snap), blob)
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := snap + ".tmp-" + hex.EncodeToString(rnd[:])
	if err := os.Symlink(rel, tmp); err != nil {
		if err := os.Link(blob, tmp); err != nil {
			if err := copyFile(blob, tmp); err != nil {
				return err
			}
		}
	}
	if err := os.Rename(tmp, snap); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// fetch downloads the files of modelID at o.Revision that divellm needs into the cache.
func fetch(modelID string, o Options, logf func(string, ...any)) (*Result, error) {
	c := newClient(o, logf)
	logf("asking %s for %s (revision %s)", o.Endpoint, modelID, o.Revision)
	info, err := c.info(modelID, o.Revision)
	if err != nil {
		return nil, err
	}
	var names []string
	sizes := map[string]int64{}
	for _, s := range info.Siblings {
		names = append(names, s.Name)
		sizes[s.Name] = s.Size
	}
	files, err := chooseFiles(modelID, names)
	if err != nil {
		return nil, err
	}
	if sz := sizes[WeightsFile]; sz > 0 {
		logf("fetching %d files (%s: %.1f MB) into %s", len(files), WeightsFile, float64(sz)/1e6, o.CacheDir)
	}
	repo := RepoDir(o.CacheDir, modelID)
	snap, err := inside(repo, "snapshots", info.SHA)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		dst, err := inside(snap, f)
		if err != nil {
			return nil, err
		}
		if regularFile(dst) {
			logf("  %s (cached)", f)
			continue
		}
		u := fmt.Sprintf("%s/%s/resolve/%s/%s", o.Endpoint, modelID, info.SHA, url.PathEscape(f))
		m, err := c.head(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		blob, err := inside(repo, "blobs", m.etag)
		if err != nil {
			return nil, err
		}
		if !regularFile(blob) {
			if err := c.download(u, blob, m); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
		}
		if err := linkSnapshot(dst, blob); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		logf("  %s", f)
	}
	// Python's huggingface_hub finds snapshots through refs/REVISION: write it so the cache
	// is usable from both sides (and offline).
	if o.Revision != info.SHA {
		ref, err := inside(repo, "refs", filepath.FromSlash(o.Revision))
		if err != nil {
			return nil, err
		}
		if err := writeAtomic(ref, []byte(info.SHA)); err != nil {
			return nil, fmt.Errorf("write %s: %w", ref, err)
		}
	}
	return &Result{Dir: snap, Snapshot: snap, Commit: info.SHA, Files: files}, nil
}

// regularFile reports whether path is (or links to) a regular file.
func regularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
