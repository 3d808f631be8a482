package agoraemu

// Wire facts of Agora Cloud Recording's RESTful API (agora.md), kept here
// rather than imported from the client so the emulator checks the client
// instead of agreeing with it by construction.

// Service codes of the answers ({"code": N, "reason": "..."}).
const (
	codeInvalidParam    = 2
	codeRepeatStart     = 7
	codeBadRequest      = 8
	codeRepeatStop      = 49
	codeUIDBusy         = 53
	codeTokenExpired    = 109
	codeTokenInvalid    = 110
	codeNotFound        = 404
	codeParamMismatch   = 432
	codeResourceExpired = 433
	codeNoFile          = 435
	codeResourceDecrypt = 1001
	codeBadChannel      = 1013
)

// maxUID is the largest recording uid (32-bit unsigned).
const maxUID = 1<<32 - 1

// acquireRequest is the body of POST …/acquire.
type acquireRequest struct {
	Cname         string `json:"cname"`
	UID           string `json:"uid"`
	ClientRequest struct {
		Scene               int   `json:"scene"`
		ResourceExpiredHour int64 `json:"resourceExpiredHour,omitempty"`
	} `json:"clientRequest"`
}

type acquireResponse struct {
	ResourceID string `json:"resourceId"`
}

// startRequest is the part of POST …/mode/{mode}/start's body the emulator reads.
type startRequest struct {
	Cname         string `json:"cname"`
	UID           string `json:"uid"`
	ClientRequest struct {
		Token           string `json:"token,omitempty"`
		RecordingConfig *struct {
			ChannelType int   `json:"channelType"`
			StreamTypes int   `json:"streamTypes"`
			MaxIdleTime int64 `json:"maxIdleTime,omitempty"`
		} `json:"recordingConfig,omitempty"`
		RecordingFileConfig *struct {
			AvFileType []string `json:"avFileType"`
		} `json:"recordingFileConfig,omitempty"`
		StorageConfig *struct {
			Vendor         int64    `json:"vendor"`
			Region         int64    `json:"region"`
			Bucket         string   `json:"bucket"`
			AccessKey      string   `json:"accessKey"`
			SecretKey      string   `json:"secretKey"`
			FileNamePrefix []string `json:"fileNamePrefix,omitempty"`
		} `json:"storageConfig,omitempty"`
	} `json:"clientRequest"`
}

type startResponse struct {
	Cname      string `json:"cname"`
	UID        string `json:"uid"`
	ResourceID string `json:"resourceId"`
	SID        string `json:"sid"`
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
