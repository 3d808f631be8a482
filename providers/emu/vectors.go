package emu

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// VectorsDir is where the vendor-SDK signing vectors live, relative to the
// repository root: the shared folder beside the repository.
const VectorsDir = "../shared/providers/vectors"

// Vectors returns the named vector file (e.g. "tencent.json") for a test,
// found relative to the repository root (the directory holding go.mod), or
// in $RECORDCTL_VECTORS when set (a worktree elsewhere than the clone).
// Without the folder the test is skipped, except in CI (CI=true), where a
// missing folder fails the test: the emulators' verifiers must be pinned.
func Vectors(t testing.TB, name string) []byte {
	t.Helper()
	dir := os.Getenv("RECORDCTL_VECTORS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, VectorsDir)
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("signing vectors %s are missing; CI must check out ../shared beside the repository", path)
		}
		t.Skipf("signing vectors %s not present (set CI=true to make this a failure)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// repoRoot walks up from the working directory to the directory with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("emu: no go.mod above the working directory")
		}
		dir = parent
	}
}
