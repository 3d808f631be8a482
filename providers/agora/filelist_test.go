package agora

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestFileListShapes: the client reads every documented fileList shape:
// mix hls ("string"), mix hls+mp4 and individual ("json" array), web
// (extensionServiceState).
func TestFileListShapes(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		want []string
	}{
		"mix hls": {`{"fileListMode":"string","fileList":"sid_ch.m3u8","status":5}`, []string{"sid_ch.m3u8"}},
		"mix hls+mp4": {`{"fileListMode":"json","fileList":[
			{"fileName":"sid_ch.m3u8","trackType":"audio_and_video","uid":"0","mixedAllUser":true,"isPlayable":true,"sliceStartTime":1700000000000},
			{"fileName":"sid_ch_0.mp4","trackType":"audio_and_video","uid":"0","mixedAllUser":true,"isPlayable":true,"sliceStartTime":1700000000000}]}`,
			[]string{"sid_ch.m3u8", "sid_ch_0.mp4"}},
		"web": {`{"extensionServiceState":[{"serviceName":"web_recorder_service","payload":{"state":"inProgress",
			"fileList":[{"filename":"sid_ch_0.mp4","sliceStartTime":1700000000000}]}}]}`, []string{"sid_ch_0.mp4"}},
		"none": {`{"status":4}`, nil},
	} {
		var sr serverResponse
		if err := json.Unmarshal([]byte(c.body), &sr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := sr.files(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: files %q, want %q", name, got, c.want)
		}
	}
}
