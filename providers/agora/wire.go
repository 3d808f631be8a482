package agora

import (
	"encoding/json"
	"strings"
)

// Request and response bodies of the Cloud Recording RESTful API. Field
// order matches Agora's documentation and SDK so bodies read like theirs.

// acquireRequest is the body of POST …/acquire.
type acquireRequest struct {
	Cname         string               `json:"cname"`
	UID           string               `json:"uid"`
	ClientRequest acquireClientRequest `json:"clientRequest"`
}

type acquireClientRequest struct {
	Scene               int   `json:"scene"`
	ResourceExpiredHour int64 `json:"resourceExpiredHour,omitempty"`
}

type acquireResponse struct {
	ResourceID string `json:"resourceId"`
}

// startRequest is the body of POST …/resourceid/{rid}/mode/{mode}/start.
type startRequest struct {
	Cname         string             `json:"cname"`
	UID           string             `json:"uid"`
	ClientRequest startClientRequest `json:"clientRequest"`
}

type startClientRequest struct {
	Token               string               `json:"token,omitempty"`
	RecordingConfig     *recordingConfig     `json:"recordingConfig,omitempty"`
	RecordingFileConfig *recordingFileConfig `json:"recordingFileConfig,omitempty"`
	StorageConfig       *storageConfig       `json:"storageConfig,omitempty"`
}

type recordingConfig struct {
	ChannelType int   `json:"channelType"`
	StreamTypes int   `json:"streamTypes"`
	MaxIdleTime int64 `json:"maxIdleTime,omitempty"`
}

type recordingFileConfig struct {
	AvFileType []string `json:"avFileType"`
}

type storageConfig struct {
	Vendor         int64    `json:"vendor"`
	Region         int64    `json:"region"`
	Bucket         string   `json:"bucket"`
	AccessKey      string   `json:"accessKey"`
	SecretKey      string   `json:"secretKey"`
	FileNamePrefix []string `json:"fileNamePrefix,omitempty"`
}

type startResponse struct {
	Cname      string `json:"cname"`
	UID        string `json:"uid"`
	ResourceID string `json:"resourceId"`
	SID        string `json:"sid"`
}

// stopRequest is the body of POST …/sid/{sid}/mode/{mode}/stop.
type stopRequest struct {
	Cname         string            `json:"cname"`
	UID           string            `json:"uid"`
	ClientRequest stopClientRequest `json:"clientRequest"`
}

type stopClientRequest struct {
	AsyncStop bool `json:"async_stop"`
}

// serverResponse is the common part of query and stop answers.
type serverResponse struct {
	Status                int                     `json:"status,omitempty"`
	FileListMode          string                  `json:"fileListMode,omitempty"`
	FileList              json.RawMessage         `json:"fileList,omitempty"`
	UploadingStatus       string                  `json:"uploadingStatus,omitempty"`
	SliceStartTime        int64                   `json:"sliceStartTime,omitempty"`
	ExtensionServiceState []extensionServiceState `json:"extensionServiceState,omitempty"`
}

type extensionServiceState struct {
	ServiceName string `json:"serviceName"`
	Payload     struct {
		State    string `json:"state,omitempty"`
		FileList []struct {
			Filename       string `json:"filename"`
			SliceStartTime int64  `json:"sliceStartTime,omitempty"`
		} `json:"fileList,omitempty"`
	} `json:"payload"`
}

// sessionResponse is the answer of query and stop.
type sessionResponse struct {
	Cname          string         `json:"cname,omitempty"`
	UID            string         `json:"uid,omitempty"`
	ResourceID     string         `json:"resourceId"`
	SID            string         `json:"sid"`
	ServerResponse serverResponse `json:"serverResponse"`
}

// fileEntry is one element of fileList when fileListMode is "json".
type fileEntry struct {
	FileName       string `json:"fileName"`
	TrackType      string `json:"trackType,omitempty"`
	UID            string `json:"uid,omitempty"`
	MixedAllUser   bool   `json:"mixedAllUser"`
	IsPlayable     bool   `json:"isPlayable"`
	SliceStartTime int64  `json:"sliceStartTime,omitempty"`
}

// errorBody covers both error forms: gateway {"message"} and service {"code","reason"}.
type errorBody struct {
	Code    *int   `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// files extracts the recorded file names from a serverResponse, whatever
// form fileList takes (string, JSON array, or web mode's extension state).
func (s serverResponse) files() []string {
	var out []string
	raw := strings.TrimSpace(string(s.FileList))
	switch {
	case strings.HasPrefix(raw, `"`):
		var one string
		if json.Unmarshal(s.FileList, &one) == nil && one != "" {
			out = append(out, one)
		}
	case strings.HasPrefix(raw, "["):
		var many []fileEntry
		if json.Unmarshal(s.FileList, &many) == nil {
			for _, f := range many {
				if f.FileName != "" {
					out = append(out, f.FileName)
				}
			}
		}
	}
	for _, ext := range s.ExtensionServiceState {
		for _, f := range ext.Payload.FileList {
			if f.Filename != "" {
				out = append(out, f.Filename)
			}
		}
	}
	return out
}
