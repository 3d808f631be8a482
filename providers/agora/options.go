package agora

import (
	"fmt"
	"strconv"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// Defaults for a Recording's agora options (DESIGN.md names the fields).
const (
	DefaultMode                = "mix"
	DefaultUID                 = 527841 // recorder uid when options.uid is unset
	DefaultBackupUID           = 527842 // alternate uid when options.backupUid is unset
	DefaultMaxIdleTime         = 600    // seconds; the API's 30 s ends recordings in short breaks (seed 004)
	DefaultResourceExpiredHour = 24
	maxUID                     = 1<<32 - 1
)

// recOptions are one Recording's options with defaults applied. Secrets
// stay as references here; they are resolved only to build a start body.
type recOptions struct {
	Mode                string
	UID, BackupUID      int64
	Token               *spec.SecretRef
	MaxIdleTime         int64
	ResourceExpiredHour int64
	Storage             *Storage
}

// scene is acquire's clientRequest.scene: 1 for web recording, else 0.
func (o recOptions) scene() int {
	if o.Mode == "web" {
		return 1
	}
	return 0
}

// optionsOf returns a Recording's agora options (zero when unset).
func optionsOf(r *spec.Recording) Options { return spec.OptionsOf[Options](r) }

// parseOptions checks a Recording's agora options (decoded documents are
// checked already; hand-made ones are not) and fills defaults. Errors are
// Permanent: the Recording must change.
func parseOptions(opt Options) (recOptions, error) {
	o := recOptions{
		Mode:                DefaultMode,
		UID:                 DefaultUID,
		BackupUID:           DefaultBackupUID,
		Token:               opt.Token,
		MaxIdleTime:         DefaultMaxIdleTime,
		ResourceExpiredHour: DefaultResourceExpiredHour,
		Storage:             opt.Storage,
	}
	bad := func(format string, a ...any) (recOptions, error) {
		return recOptions{}, &providers.Error{Class: providers.Permanent, Provider: Type, Op: "options",
			Message: fmt.Sprintf(format, a...)}
	}
	if opt.Mode != "" {
		o.Mode = opt.Mode
	}
	switch o.Mode {
	case "mix", "individual", "web":
	default:
		return bad("options.mode %q is not supported: use mix, individual or web", opt.Mode)
	}
	if opt.UID != nil {
		o.UID = *opt.UID
		o.BackupUID = o.UID + 1 // a neighbour, unless backupUid says otherwise
		if o.BackupUID > maxUID {
			o.BackupUID = o.UID - 1
		}
	}
	if opt.BackupUID != nil {
		o.BackupUID = *opt.BackupUID
	}
	for _, u := range []struct {
		name string
		v    int64
	}{{"uid", o.UID}, {"backupUid", o.BackupUID}} {
		if u.v < 1 || u.v > maxUID {
			return bad("options.%s %d is out of range: Agora uids are 1..4294967295 and must not be used by anyone in the channel", u.name, u.v)
		}
	}
	if o.UID == o.BackupUID {
		return bad("options.backupUid must differ from options.uid (both %d): the two alternate so recorders never kick each other", o.UID)
	}
	if opt.MaxIdleTime != nil {
		o.MaxIdleTime = *opt.MaxIdleTime
	}
	if o.MaxIdleTime < 5 || o.MaxIdleTime > 259200 {
		return bad("options.maxIdleTime %d is out of range: 5..259200 seconds", o.MaxIdleTime)
	}
	if opt.ResourceExpiredHour != nil {
		o.ResourceExpiredHour = *opt.ResourceExpiredHour
	}
	if o.ResourceExpiredHour < 1 || o.ResourceExpiredHour > 720 {
		return bad("options.resourceExpiredHour %d is out of range: 1..720", o.ResourceExpiredHour)
	}
	if o.Storage == nil {
		return bad("options.storage is required: Agora uploads recordings to your bucket (vendor, region, bucket, accessKey, secretKey)")
	}
	if o.Storage.Bucket == "" || o.Storage.AccessKey.IsZero() || o.Storage.SecretKey.IsZero() {
		return bad("options.storage needs bucket, accessKey and secretKey")
	}
	return o, nil
}

// uidOrder returns the uids to try, first choice first: the one the
// previous task did not use, so a restarted recorder never kicks its
// predecessor out of the channel (seed 004: alternate primary and backup).
func (o recOptions) uidOrder(prev *providers.Task) [2]string {
	p, b := strconv.FormatInt(o.UID, 10), strconv.FormatInt(o.BackupUID, 10)
	if prev != nil && prev.Handle["uid"] == p {
		return [2]string{b, p}
	}
	return [2]string{p, b}
}

// startBody resolves the token and storage secrets and builds the start
// clientRequest. The values live only in the returned struct (and the
// redactor); errors name the reference, never a value.
func (p *Provider) startBody(o recOptions) (startClientRequest, error) {
	resolve := func(field string, r spec.SecretRef) (string, error) {
		v, err := r.Resolve()
		if err != nil {
			return "", &providers.Error{Class: providers.Permanent, Provider: Type, Op: "options",
				Message: fmt.Sprintf("options.%s: %v", field, err)}
		}
		p.red.add(v)
		return v, nil
	}
	var cr startClientRequest
	if o.Token != nil && !o.Token.IsZero() {
		tok, err := resolve("token", *o.Token)
		if err != nil {
			return cr, err
		}
		cr.Token = tok
	}
	ak, err := resolve("storage.accessKey", o.Storage.AccessKey)
	if err != nil {
		return cr, err
	}
	sk, err := resolve("storage.secretKey", o.Storage.SecretKey)
	if err != nil {
		return cr, err
	}
	if o.Mode != "web" {
		cr.RecordingConfig = &recordingConfig{ChannelType: 1, StreamTypes: 2, MaxIdleTime: o.MaxIdleTime}
	}
	cr.RecordingFileConfig = &recordingFileConfig{AvFileType: []string{"hls"}}
	cr.StorageConfig = &storageConfig{
		Vendor: o.Storage.Vendor, Region: o.Storage.Region, Bucket: o.Storage.Bucket,
		AccessKey: ak, SecretKey: sk, FileNamePrefix: o.Storage.FileNamePrefix,
	}
	return cr, nil
}
