package spec_test

import (
	"strings"
	"testing"
)

// ruleCase is one validation rule: the files, and every error expected as
// "file:line:col: part of the message" (all of them, sorted).
type ruleCase struct {
	name  string
	files map[string]string
	want  []string
}

// rec1 puts one Recording (spec body starting at line 5) in r.yaml next to tx and ag.
func rec1(body string) map[string]string {
	return map[string]string{"p.yaml": tx + "---\n" + ag, "r.yaml": rec("r", body)}
}

// prov1 puts one Provider (spec body starting at line 5) in p.yaml.
func prov1(body string) map[string]string {
	return map[string]string{"p.yaml": prov("p", body)}
}

const okStream = "  stream: {domain: d.example.com, app: live, name: s}\n"
const okSched = "  schedule: {cron: \"0 19 * * *\", duration: 1h}\n"

var ruleCases = []ruleCase{
	// --- files and YAML ---
	{"yaml scanner error at its line", map[string]string{"a.yaml": "apiVersion: recordctl/v1\nkind: @Provider\n"},
		[]string{"a.yaml:2:1: YAML syntax error: found character that cannot start any token"}},
	{"yaml scanner error on line 1", map[string]string{"a.yaml": "kind: @Provider\n"},
		[]string{"a.yaml:1:1: YAML syntax error: found character that cannot start any token"}},
	{"yaml parser error at its line", map[string]string{"a.yaml": "x: 1\ny: 2\n- z\n"},
		[]string{"a.yaml:3:1: YAML syntax error: did not find expected key"}},
	{"yaml parser error at the line its context starts", map[string]string{"a.yaml": "x: 1\nkind: [Provider\n"},
		[]string{"a.yaml:2:1: YAML syntax error: did not find expected ',' or ']'"}},
	{"yaml control character", map[string]string{"a.yaml": "x: 1\ny: a\x01b\n"},
		[]string{"a.yaml:2:5: YAML syntax error: control characters are not allowed"}},
	{"yaml unknown anchor", map[string]string{"a.yaml": "x: 1\ny: [1, *nope]\n"},
		[]string{"a.yaml:2:8: YAML syntax error: unknown anchor 'nope' referenced"}},
	{"binary file names the file", map[string]string{"bin.yaml": "\x00\x01\x02\xff"},
		[]string{"bin.yaml: not a UTF-8 text file"}},
	{"latin-1 file names the file", map[string]string{"sub/l1.yml": "name: caf\xe9\n"},
		[]string{"sub/l1.yml: not a UTF-8 text file"}},
	{"document must be a mapping", map[string]string{"a.yaml": "- 1\n- 2\n"},
		[]string{"a.yaml:1:1: document must be a mapping"}},
	{"duplicate key", map[string]string{"a.yaml": tx + "kind: Provider\n"},
		[]string{`a.yaml:8:1: document: duplicate field "kind" (first at line 2)`}},

	// --- envelope ---
	{"wrong apiVersion", map[string]string{"a.yaml": strings.Replace(tx, "recordctl/v1", "recordctl/v2", 1)},
		[]string{`a.yaml:1:13: apiVersion "recordctl/v2" is not supported; use recordctl/v1`}},
	{"missing apiVersion", map[string]string{"a.yaml": strings.Replace(tx, "apiVersion: recordctl/v1\n", "", 1)},
		[]string{"a.yaml:1:1: apiVersion is missing; use apiVersion: recordctl/v1"}},
	{"wrong kind", map[string]string{"a.yaml": strings.Replace(tx, "kind: Provider", "kind: Recorder", 1)},
		[]string{`a.yaml:2:7: kind "Recorder" is not known; use Provider or Recording`}},
	{"missing spec", map[string]string{"a.yaml": "apiVersion: recordctl/v1\nkind: Provider\nmetadata: {name: p}\n"},
		[]string{"a.yaml:1:1: spec is missing"}},
	{"unknown top-level field", map[string]string{"a.yaml": tx + "status: {}\n"},
		[]string{`a.yaml:8:1: document: unknown field "status"; allowed: apiVersion, kind, metadata, spec`}},
	{"unknown metadata field", map[string]string{"a.yaml": strings.Replace(tx, "{name: tx}", "{name: tx, namespace: x}", 1)},
		[]string{`a.yaml:3:22: metadata: unknown field "namespace"; allowed: name, labels`}},

	// --- names ---
	{"name not a DNS label", map[string]string{"a.yaml": strings.Replace(tx, "name: tx", "name: Tx_1", 1)},
		[]string{`a.yaml:3:18: metadata.name "Tx_1" is not a valid name`}},
	{"name too long", map[string]string{"a.yaml": strings.Replace(tx, "name: tx", "name: "+strings.Repeat("a", 64), 1)},
		[]string{`a.yaml:3:18: metadata.name "` + strings.Repeat("a", 64) + `" is not a valid name: use at most 63`}},
	{"missing name", map[string]string{"a.yaml": strings.Replace(tx, "{name: tx}", "{labels: {a: b}}", 1)},
		[]string{"a.yaml:3:11: metadata.name is missing"}},
	{"duplicate provider across files reports the second with the first",
		map[string]string{"a.yaml": tx, "b/c.yaml": tx},
		[]string{`b/c.yaml:3:18: duplicate Provider name "tx": already defined at a.yaml:3:18`}},
	{"duplicate recording in one file", map[string]string{"p.yaml": tx,
		"r.yaml": rec("r", "  provider: tx\n"+okStream+okSched) + "---\n" +
			rec("r", "  provider: tx\n  stream: {domain: d.example.com, app: live, name: other}\n"+okSched)},
		[]string{`r.yaml:11:18: duplicate Recording name "r": already defined at r.yaml:3:18`}},
	{"same name in two kinds is fine", map[string]string{"p.yaml": tx,
		"r.yaml": rec("tx", "  provider: tx\n"+okStream+okSched)}, nil},

	// --- provider ---
	{"unknown type", prov1("  type: tencnet\n  credentials: {}\n"),
		[]string{`p.yaml:5:9: spec.type "tencnet" is not a known provider type; use one of agora, aliyun, huawei, tencent`}},
	{"missing type", prov1("  region: ap-guangzhou\n"),
		[]string{"p.yaml:4:1: spec.type is missing"}},
	{"unknown provider field", prov1("  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n  regoin: x\n"),
		[]string{`p.yaml:8:3: spec.regoin is not a field of tencent providers; tencent providers allow: type, region, endpoint, credentials, rateLimit`}},
	{"field of another type", prov1("  type: tencent\n  region: ap-guangzhou\n  appId: x\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:3: spec.appId is not a field of tencent providers; tencent providers allow: type, region, endpoint, credentials, rateLimit"}},
	{"tencent region without recording tasks", prov1("  type: tencent\n  region: ap-shanghai\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{`p.yaml:6:11: spec.region "ap-shanghai" does not serve Tencent Cloud's recording tasks; use one of ap-bangkok, ap-guangzhou, ap-hongkong, ap-jakarta, ap-mumbai, ap-seoul, ap-singapore, ap-tokyo, eu-frankfurt, na-ashburn, na-siliconvalley, na-toronto, sa-saopaulo`}},
	{"huawei takes no options", map[string]string{"p.yaml": prov("hw", "  type: huawei\n  region: cn-north-4\n  projectId: p\n  credentials: {accessKey: {env: A}, secretKey: {env: B}}\n"),
		"r.yaml": rec("r", "  provider: hw\n"+okStream+okSched+"  options: {templateId: 1}\n")},
		[]string{`r.yaml:8:13: spec.options.templateId is not an option for huawei providers (provider "hw"); they take no options`}},
	{"tencent needs region", prov1("  type: tencent\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:4:1: spec.region is required for tencent providers"}},
	{"aliyun needs its credentials", prov1("  type: aliyun\n  region: cn-shanghai\n  credentials: {accessKeyId: {env: A}}\n"),
		[]string{"p.yaml:7:3: spec.credentials.accessKeySecret is required for aliyun providers"}},
	{"huawei needs projectId and region", prov1("  type: huawei\n  credentials: {accessKey: {env: A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:4:1: spec.region is required for huawei providers", "p.yaml:4:1: spec.projectId is required for huawei providers"}},
	{"agora needs appId", prov1("  type: agora\n  credentials: {customerId: {env: A}, customerSecret: {env: B}}\n"),
		[]string{"p.yaml:4:1: spec.appId is required for agora providers"}},
	{"credentials missing", prov1("  type: aliyun\n  region: cn-shanghai\n"),
		[]string{"p.yaml:4:1: spec.credentials is required for aliyun providers: accessKeyId and accessKeySecret"}},
	{"credential of another type", prov1("  type: huawei\n  region: cn-north-4\n  projectId: p\n  credentials: {accessKey: {env: A}, secretKey: {env: B}, secretId: {env: C}}\n"),
		[]string{`p.yaml:8:59: spec.credentials: unknown field "secretId"; allowed: accessKey, secretKey`}},
	{"literal credential", prov1("  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: AKIDx, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:27: spec.credentials.secretId must be a secret reference {env: NAME} or {file: PATH}, not a literal value"}},
	{"both env and file", prov1("  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: {env: A, file: /x}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:27: spec.credentials.secretId: set either env or file, not both"}},
	{"bad env name", prov1("  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: {env: 1A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:33: spec.credentials.secretId.env must be an environment variable name"}},
	{"unknown key in secret reference", prov1("  type: tencent\n  region: ap-guangzhou\n  credentials: {secretId: {value: x}, secretKey: {env: B}}\n"),
		[]string{`p.yaml:7:28: spec.credentials.secretId: unknown field "value"; allowed: env, file`,
			"p.yaml:7:27: spec.credentials.secretId must be a secret reference {env: NAME} or {file: PATH}"}},
	{"endpoint http to a public host", prov1("  type: tencent\n  region: ap-guangzhou\n  endpoint: http://live.example.com\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{`p.yaml:7:13: spec.endpoint uses http to "live.example.com", which is not a loopback host; use https`}},
	{"endpoint http to loopback is fine", prov1("  type: tencent\n  region: ap-guangzhou\n  endpoint: http://127.0.0.1:8080\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"), nil},
	{"endpoint http to ::1 and localhost is fine", prov1("  type: agora\n  appId: a\n  endpoints: [\"http://[::1]:9000\", \"http://localhost:9001/base\"]\n  credentials: {customerId: {env: A}, customerSecret: {env: B}}\n"), nil},
	{"endpoint other scheme", prov1("  type: tencent\n  region: ap-guangzhou\n  endpoint: ftp://x.example.com\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{`p.yaml:7:13: spec.endpoint has scheme "ftp"; use https`}},
	{"endpoint with a password is not echoed", prov1("  type: tencent\n  region: ap-guangzhou\n  endpoint: https://u:hunter2@x.example.com\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:13: spec.endpoint must not carry a user or password"}},
	{"agora endpoints each checked", prov1("  type: agora\n  appId: a\n  endpoints: [https://api.sd-rtn.com, http://api.agora.io]\n  credentials: {customerId: {env: A}, customerSecret: {env: B}}\n"),
		[]string{`p.yaml:7:39: spec.endpoints[1] uses http to "api.agora.io"`}},
	{"agora endpoints empty", prov1("  type: agora\n  appId: a\n  endpoints: []\n  credentials: {customerId: {env: A}, customerSecret: {env: B}}\n"),
		[]string{"p.yaml:7:14: spec.endpoints must list at least one base URL"}},
	{"rateLimit must be > 0", prov1("  type: tencent\n  region: ap-guangzhou\n  rateLimit: 0\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:14: spec.rateLimit must be > 0 requests per second"}},
	{"rateLimit must be a number", prov1("  type: tencent\n  region: ap-guangzhou\n  rateLimit: fast\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		[]string{"p.yaml:7:14: spec.rateLimit must be a number"}},

	// --- recording ---
	{"valid recording", rec1("  provider: tx\n" + okStream + okSched), nil},
	{"unknown recording field", rec1("  provider: tx\n" + okStream + okSched + "  priority: 1\n"),
		[]string{`r.yaml:8:3: spec: unknown field "priority"; allowed: provider, stream, schedule, windows, continuous, options`}},
	{"none of schedule, windows, continuous", rec1("  provider: tx\n" + okStream),
		[]string{"r.yaml:4:1: spec needs exactly one of schedule, windows or continuous: true"}},
	{"continuous false counts as none", rec1("  provider: tx\n" + okStream + "  continuous: false\n"),
		[]string{"r.yaml:4:1: spec needs exactly one of schedule, windows or continuous: true"}},
	{"schedule and continuous", rec1("  provider: tx\n" + okStream + okSched + "  continuous: true\n"),
		[]string{"r.yaml:8:3: spec.continuous: set only one of schedule, windows and continuous: true (spec.schedule is already set at line 7)"}},
	{"missing provider", rec1(okStream + okSched),
		[]string{"r.yaml:4:1: spec.provider is required"}},
	{"provider does not exist", rec1("  provider: nope\n" + okStream + okSched),
		[]string{`r.yaml:5:13: spec.provider: there is no Provider named "nope"; defined Providers: ag, tx`}},
	{"agora stream on tencent", rec1("  provider: tx\n  stream: {channel: c}\n" + okSched),
		[]string{`r.yaml:6:3: spec.stream: tencent provider "tx" records streams by domain, app and name`}},
	{"domain stream on agora", rec1("  provider: ag\n" + okStream + okSched + "  options:\n" + agStorage),
		[]string{`r.yaml:6:3: spec.stream: agora provider "ag" records channels; use stream: {channel: NAME}`}},
	{"incomplete stream", rec1("  provider: tx\n  stream: {domain: d.example.com, name: s}\n" + okSched),
		[]string{"r.yaml:6:11: spec.stream.app is missing"}},
	{"both stream shapes", rec1("  provider: tx\n  stream: {domain: d.example.com, app: a, name: s, channel: c}\n" + okSched),
		[]string{"r.yaml:6:11: spec.stream: set either domain, app and name (aliyun, huawei, tencent) or channel (agora), not both"}},
	{"bad domain", rec1("  provider: tx\n  stream: {domain: \"bad domain\", app: a, name: s}\n" + okSched),
		[]string{`r.yaml:6:20: spec.stream.domain "bad domain" is not a domain name`}},
	{"bad channel", rec1("  provider: ag\n  stream: {channel: \"a/b\"}\n" + okSched + "  options:\n" + agStorage),
		[]string{"r.yaml:6:21: spec.stream.channel must be 1 to 64 characters"}},

	// --- schedule ---
	{"invalid cron at the cron value with the parser's reason", rec1("  provider: tx\n" + okStream + "  schedule:\n    cron: \"0 25 * * *\"\n    duration: 1h\n"),
		[]string{"r.yaml:8:11: spec.schedule.cron: invalid cron expression: end of range (25) above maximum (23): 25; use 5 fields"}},
	{"cron with too many fields", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"* * * * * * *\", duration: 1h}\n"),
		[]string{"r.yaml:7:20: spec.schedule.cron: invalid cron expression: expected 5 to 6 fields, found 7"}},
	{"cron with TZ prefix", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"CRON_TZ=Asia/Tokyo 0 6 * * *\", duration: 1h}\n"),
		[]string{"r.yaml:7:20: spec.schedule.cron: invalid cron expression: a time zone prefix is not allowed here; set spec.schedule.timezone instead"}},
	{"descriptors and seconds are fine", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@every 2h\", duration: 1h}\n"), nil},
	{"duration zero", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\", duration: 0s}\n"),
		[]string{"r.yaml:7:40: spec.schedule.duration must be > 0"}},
	{"duration negative", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\", duration: -1h}\n"),
		[]string{"r.yaml:7:40: spec.schedule.duration must be > 0"}},
	{"duration not a duration", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\", duration: 90}\n"),
		[]string{`r.yaml:7:40: spec.schedule.duration "90" is not a duration; use a Go duration such as 90m or 1h30m`}},
	{"duration missing", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\"}\n"),
		[]string{"r.yaml:7:3: spec.schedule.duration is required"}},
	{"bad timezone", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\", duration: 1h, timezone: Europe/Berlinn}\n"),
		[]string{`r.yaml:7:54: spec.schedule.timezone "Europe/Berlinn" is not an IANA time zone`}},
	{"Local is not a time zone", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\", duration: 1h, timezone: Local}\n"),
		[]string{`r.yaml:7:54: spec.schedule.timezone "Local" is not an IANA time zone`}},
	{"unknown schedule field", rec1("  provider: tx\n" + okStream + "  schedule: {cron: \"@daily\", duration: 1h, tz: UTC}\n"),
		[]string{`r.yaml:7:44: spec.schedule: unknown field "tz"; allowed: cron, duration, timezone`}},

	// --- windows ---
	{"window start after end", rec1("  provider: tx\n" + okStream + "  windows:\n    - {start: \"2026-03-02T10:00:00Z\", end: \"2026-03-02T09:00:00Z\"}\n"),
		[]string{"r.yaml:8:7: spec.windows[0]: start must be before end"}},
	{"window empty", rec1("  provider: tx\n" + okStream + "  windows:\n    - {start: \"2026-03-02T10:00:00Z\", end: \"2026-03-02T10:00:00Z\"}\n"),
		[]string{"r.yaml:8:7: spec.windows[0]: start must be before end"}},
	{"window not RFC 3339", rec1("  provider: tx\n" + okStream + "  windows:\n    - {start: 2026-03-02, end: \"2026-03-02T10:00:00Z\"}\n"),
		[]string{`r.yaml:8:15: spec.windows[0].start "2026-03-02" is not an RFC 3339 time`}},
	{"window missing end", rec1("  provider: tx\n" + okStream + "  windows:\n    - start: 2026-03-02T10:00:00+08:00\n"),
		[]string{"r.yaml:8:7: spec.windows[0].end is missing"}},
	{"windows empty list", rec1("  provider: tx\n" + okStream + "  windows: []\n"),
		[]string{"r.yaml:7:12: spec.windows must be a non-empty list"}},
	{"long tencent window is fine", rec1("  provider: tx\n" + okStream + "  windows:\n    - {start: 2026-03-02T00:00:00Z, end: 2026-03-09T00:00:00Z}\n"), nil},

	// --- options per type ---
	{"tencent options ok", rec1("  provider: tx\n" + okStream + okSched + "  options: {templateId: 7, streamType: 1, extension: x}\n"), nil},
	{"agora option on tencent", rec1("  provider: tx\n" + okStream + okSched + "  options: {templateId: 7, mode: mix}\n"),
		[]string{`r.yaml:8:28: spec.options.mode is not an option for tencent providers (provider "tx"); allowed: templateId, streamType, extension`}},
	{"unknown option", rec1("  provider: tx\n" + okStream + okSched + "  options: {template: 7}\n"),
		[]string{`r.yaml:8:13: spec.options.template is not an option for tencent providers (provider "tx"); allowed: templateId, streamType, extension`}},
	{"streamType 0 or 1", rec1("  provider: tx\n" + okStream + okSched + "  options: {streamType: 2}\n"),
		[]string{"r.yaml:8:25: spec.options.streamType must be 0 (normal push) or 1 (mixed stream), got 2"}},
	{"templateId integer", rec1("  provider: tx\n" + okStream + okSched + "  options: {templateId: abc}\n"),
		[]string{"r.yaml:8:25: spec.options.templateId must be an integer"}},
	{"huawei takes no options", map[string]string{
		"p.yaml": prov("hw", "  type: huawei\n  region: cn-north-4\n  projectId: p\n  credentials: {accessKey: {env: A}, secretKey: {env: B}}\n"),
		"r.yaml": rec("r", "  provider: hw\n"+okStream+okSched+"  options: {templateId: 1}\n")},
		[]string{`r.yaml:8:13: spec.options.templateId is not an option for huawei providers (provider "hw"); they take no options`}},
	{"aliyun finalizeImmediately must be a bool", map[string]string{
		"p.yaml": prov("al", "  type: aliyun\n  region: cn-shanghai\n  credentials: {accessKeyId: {env: A}, accessKeySecret: {env: B}}\n"),
		"r.yaml": rec("r", "  provider: al\n"+okStream+okSched+"  options: {finalizeImmediately: sure}\n")},
		[]string{"r.yaml:8:34: spec.options.finalizeImmediately must be true or false"}},
	{"aliyun option on tencent even when false", rec1("  provider: tx\n" + okStream + okSched + "  options: {finalizeImmediately: false}\n"),
		[]string{"r.yaml:8:13: spec.options.finalizeImmediately is not an option for tencent providers"}},
	{"agora full options ok", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched +
		"  options:\n    mode: web\n    uid: 4294967295\n    backupUid: 1\n    token: {file: /t}\n    maxIdleTime: 5\n    resourceExpiredHour: 720\n" + agStorage), nil},
	{"agora mode", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched + "  options:\n    mode: mixed\n" + agStorage),
		[]string{`r.yaml:9:11: spec.options.mode "mixed" is not an Agora recording mode; use one of mix, individual, web`}},
	{"agora uid range", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched + "  options:\n    uid: 0\n    backupUid: 4294967296\n" + agStorage),
		[]string{"r.yaml:9:10: spec.options.uid must be between 1 and 4294967295, got 0",
			"r.yaml:10:16: spec.options.backupUid must be between 1 and 4294967295, got 4294967296"}},
	{"agora uids differ", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched + "  options:\n    uid: 7\n    backupUid: 7\n" + agStorage),
		[]string{"r.yaml:10:16: spec.options.backupUid must differ from uid (7)"}},
	{"agora literal token", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched + "  options:\n    token: abc\n" + agStorage),
		[]string{"r.yaml:9:12: spec.options.token must be a secret reference {env: NAME} or {file: PATH}, not a literal value"}},
	{"agora maxIdleTime range", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched + "  options:\n    maxIdleTime: 4\n" + agStorage),
		[]string{"r.yaml:9:18: spec.options.maxIdleTime must be between 5 and 259200, got 4"}},
	{"agora resourceExpiredHour range", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched + "  options:\n    resourceExpiredHour: 721\n" + agStorage),
		[]string{"r.yaml:9:26: spec.options.resourceExpiredHour must be between 1 and 720, got 721"}},
	{"agora needs storage", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched),
		[]string{"r.yaml:1:1: spec.options.storage is required for agora recordings"}},
	{"agora storage fields", rec1("  provider: ag\n  stream: {channel: news}\n" + okSched +
		"  options:\n    storage: {vendor: 4, region: -1, accessKey: ak, secretKey: {env: SK}, fileNamePrefix: [ok, no-dash]}\n"),
		[]string{"r.yaml:9:14: spec.options.storage.bucket is required",
			"r.yaml:9:23: spec.options.storage.vendor 4 is not an Agora storage vendor code",
			"r.yaml:9:34: spec.options.storage.region must be >= 0",
			"r.yaml:9:49: spec.options.storage.accessKey must be a secret reference",
			"r.yaml:9:96: spec.options.storage.fileNamePrefix[1] \"no-dash\" may contain only letters and digits"}},

	// --- all at once ---
	{"every problem in one run", map[string]string{
		"a.yaml": prov("p", "  type: tencent\n  credentials: {secretId: x}\n"),
		"b.yaml": rec("r", "  provider: nope\n  stream: {channel: c}\n  schedule: {cron: bad, duration: 0s}\n"),
		"c.yaml": "key: [",
	}, []string{
		"a.yaml:4:1: spec.region is required for tencent providers",
		"a.yaml:6:27: spec.credentials.secretId must be a secret reference",
		"a.yaml:6:3: spec.credentials.secretKey is required for tencent providers",
		"b.yaml:5:13: spec.provider: there is no Provider named \"nope\"",
		"b.yaml:7:20: spec.schedule.cron: invalid cron expression",
		"b.yaml:7:35: spec.schedule.duration must be > 0",
		"c.yaml:1:1: YAML syntax error",
	}},
}

func TestRules(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := loadFiles(t, c.files)
			got := strings.Split(strings.TrimSpace(render(errs)), "\n")
			if len(errs) == 0 {
				got = nil
			}
			want := append([]string(nil), c.want...)
			sortByPos(want)
			if len(got) != len(want) {
				t.Fatalf("got %d errors, want %d:\n%s\nwant:\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s...", i, got[i], want[i])
				}
			}
		})
	}
}
