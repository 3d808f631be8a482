package emulate_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
)

// TestDataSurvivesRestart: with a data directory, what a request changed
// is saved, and a new emulator on the same directory starts with it.
func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := emulate.StartWithData("127.0.0.1", 0, emu.Config{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URLs["huawei"][0]+"/_emulator/rules?publish_domain=kept.example.org&app=live&record_type=COMMAND_RECORD", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("add rule: HTTP %d", resp.StatusCode)
	}
	srv.Close()

	again, err := emulate.StartWithData("127.0.0.1", 0, emu.Config{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	found := false
	for _, r := range again.Emulators["huawei"].(*huaweiemu.Emulator).Rules() {
		found = found || r.PublishDomain == "kept.example.org" && r.RecordType == "COMMAND_RECORD"
	}
	if !found {
		t.Fatal("the rule did not survive the restart")
	}

	fresh, err := emulate.Start("127.0.0.1", 0, emu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, r := range fresh.Emulators["huawei"].(*huaweiemu.Emulator).Rules() {
		if r.PublishDomain == "kept.example.org" {
			t.Fatal("an emulator without --data sees saved state")
		}
	}
}

// TestDataRefusesForeignFile: a data file that is not emulator state is an
// error naming the file, never silently replaced.
func TestDataRefusesForeignFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, emulate.StateFile), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := emulate.StartWithData("127.0.0.1", 0, emu.Config{}, dir)
	if err == nil || !strings.Contains(err.Error(), emulate.StateFile) {
		t.Fatalf("got %v", err)
	}
}
