package spec

import "time"

// This file holds the tables that the decoder, the cross-document validator
// and the JSON Schema generator all read, so that they cannot drift apart.

// ConflictHorizon is how far ahead Build looks for two Recordings that would
// record the same stream at the same time.
const ConflictHorizon = 14 * 24 * time.Hour

// Keys allowed in each mapping of a document, in the order the schema lists them.
var (
	docKeys           = []string{"apiVersion", "kind", "metadata", "spec"}
	metadataKeys      = []string{"name", "labels"}
	recordingSpecKeys = []string{"provider", "stream", "schedule", "windows", "continuous", "options"}
	streamKeys        = []string{"domain", "app", "name", "channel"}
	scheduleKeys      = []string{"cron", "duration", "timezone", "padding", "exclude"}
	windowKeys        = []string{"start", "end", "padding"}
	windowRequired    = []string{"start", "end"}
	paddingKeys       = []string{"before", "after"}
	secretRefKeys     = []string{"env", "file"}
)

// allCredentialNames is the union of every type's credential names.
func allCredentialNames() []string {
	var out []string
	for _, t := range registeredTypes() {
		for _, c := range t.Schema().Credentials {
			if !contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Limits of the common fields.
const (
	nameMaxLen    = 63
	channelMaxLen = 64
	// maxPadding bounds schedule.padding.before and .after.
	maxPadding = 24 * time.Hour
)

// Patterns shared by the validator and the schema (RE2 and ECMA-262 compatible).
const (
	namePattern     = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	envNamePattern  = `^[A-Za-z_][A-Za-z0-9_]*$`
	regionPattern   = `^[a-z][a-z0-9-]*[a-z0-9]$`
	domainPattern   = `^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$`
	pathPartPattern = `^[^/\s?#]+$`
	// channelPattern is Agora's channel-name alphabet.
	channelPattern  = `^[A-Za-z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]+$`
	endpointPattern = `^(https://[^/?#@\s]+|http://(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?)(/[^?#\s]*)?$`
)
