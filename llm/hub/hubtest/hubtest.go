// Package hubtest is a fake Hugging Face hub for tests: an httptest server that answers
// the API paths a hub client calls (the repository info and /resolve/), serving files
// from memory, so download code is tested without network.
package hubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Repo is one model repository: file name → contents, at one commit.
type Repo struct {
	Commit string
	Files  map[string][]byte
	// AnyRevision answers every revision name with Commit, as a permissive mirror might
	// (default: only "main" and Commit exist).
	AnyRevision bool
	// ETags overrides the ETag header served for a file (default: the hex sha256 of its
	// contents, what the hub sends for LFS files), to test what a client does with a
	// wrong or hostile one.
	ETags map[string]string
}

// hasRevision reports whether the repository answers to rev.
func (r *Repo) hasRevision(rev string) bool {
	return r.AnyRevision || rev == "main" || rev == r.Commit
}

// Server is a running fake hub. URL is its endpoint (for Options.Endpoint / HF_ENDPOINT).
type Server struct {
	*httptest.Server
	Repos map[string]*Repo // model id → repository

	mu       sync.Mutex
	requests []string
}

// New starts a fake hub serving repos; Close it when done.
func New(repos map[string]*Repo) *Server {
	s := &Server{Repos: repos}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Requests returns "METHOD path" of every request received so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// FromDir reads every regular file of a directory into a Repo.
func FromDir(dir, commit string) (*Repo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	r := &Repo{Commit: commit, Files: map[string][]byte{}}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			r.Files[e.Name()] = b
		}
	}
	return r, nil
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, req.Method+" "+req.URL.Path)
	s.mu.Unlock()
	p := req.URL.Path
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		// /api/models/OWNER/NAME/revision/REV
		i := strings.Index(rest, "/revision/")
		if i < 0 || req.Method != http.MethodGet {
			http.NotFound(w, req)
			return
		}
		s.info(w, rest[:i], rest[i+len("/revision/"):])
		return
	}
	// /OWNER/NAME/resolve/COMMIT/FILE
	i := strings.Index(p, "/resolve/")
	if i < 0 {
		http.NotFound(w, req)
		return
	}
	id := strings.TrimPrefix(p[:i], "/")
	commit, file, _ := strings.Cut(p[i+len("/resolve/"):], "/")
	repo, ok := s.Repos[id]
	if !ok || !repo.hasRevision(commit) {
		writeError(w, http.StatusNotFound, "Repository Not Found")
		return
	}
	data, ok := repo.Files[file]
	if !ok {
		writeError(w, http.StatusNotFound, "Entry not found")
		return
	}
	sum := sha256.Sum256(data)
	etag := hex.EncodeToString(sum[:])
	if e, ok := repo.ETags[file]; ok {
		etag = e
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	w.Header().Set("X-Repo-Commit", repo.Commit)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if req.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

func (s *Server) info(w http.ResponseWriter, id, revision string) {
	repo, ok := s.Repos[id]
	if !ok || !repo.hasRevision(revision) {
		writeError(w, http.StatusNotFound, "Repository not found")
		return
	}
	type sibling struct {
		Name string `json:"rfilename"`
		Size int    `json:"size"`
	}
	names := make([]string, 0, len(repo.Files))
	for n := range repo.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var sibs []sibling
	for _, n := range names {
		sibs = append(sibs, sibling{n, len(repo.Files[n])})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "modelId": id, "sha": repo.Commit, "siblings": sibs})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
