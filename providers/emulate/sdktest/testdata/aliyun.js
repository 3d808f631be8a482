// Alibaba Cloud's official RPC client (@alicloud/pop-core), unchanged,
// against recordctl's emulator: AddLiveAppRecordConfig, then
// RealTimeRecordCommand start (form body) -> start again (query string,
// TaskAlreadyStarted) -> stop -> cancel_delay, DescribeLiveStreamsOnlineList,
// DeleteLiveAppRecordConfig, and a wrong-key call refused with SignatureDoesNotMatch.
// Env: ENDPOINT (http://host:port), ACCESS_KEY_ID, ACCESS_KEY_SECRET.
const RPCClient = require("@alicloud/pop-core").RPCClient;
const assert = require("node:assert/strict");

function client(secret) {
  return new RPCClient({
    accessKeyId: process.env.ACCESS_KEY_ID,
    accessKeySecret: secret,
    endpoint: process.env.ENDPOINT,
    apiVersion: "2016-11-01",
  });
}

async function refused(p, code) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.code, code, String(e));
    return e;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}

async function main() {
  const c = client(process.env.ACCESS_KEY_SECRET);
  const post = { method: "POST" };
  const app = { DomainName: "sdk.example.org", AppName: "live", RegionId: "cn-shanghai" };
  const stream = { ...app, StreamName: "sdk-node" };

  await refused(c.request("RealTimeRecordCommand", { ...stream, Command: "start" }, post), "CodeConfigNotFound");
  console.log("start without a recording configuration refused");
  await c.request("AddLiveAppRecordConfig", { ...app, OssEndpoint: "oss-cn-shanghai.aliyuncs.com", OssBucket: "rec",
    "RecordFormat.1.Format": "m3u8", "RecordFormat.1.OssObjectPrefix": "record/{AppName}/{StreamName}", OnDemand: 7 }, post);
  await refused(c.request("AddLiveAppRecordConfig", { ...app, OssEndpoint: "oss-cn-shanghai.aliyuncs.com", OssBucket: "rec" }, post),
    "CodeConfigAlreadyExists");
  console.log("AddLiveAppRecordConfig");

  await c.request("RealTimeRecordCommand", { ...stream, Command: "start" }, post);
  console.log("start (form body)");
  await refused(c.request("RealTimeRecordCommand", { ...stream, Command: "start" }, { method: "GET" }), "TaskAlreadyStarted");
  console.log("start again (query string): TaskAlreadyStarted");
  const online = await c.request("DescribeLiveStreamsOnlineList", { DomainName: app.DomainName }, post);
  const names = online.OnlineInfo.LiveStreamOnlineInfo.map((s) => s.StreamName);
  assert.ok(names.includes("sdk-node"), `online list ${JSON.stringify(online)}`);
  console.log("DescribeLiveStreamsOnlineList", names.join(","));
  await c.request("RealTimeRecordCommand", { ...stream, Command: "stop" }, post);
  console.log("stop");
  await c.request("RealTimeRecordCommand", { ...stream, Command: "cancel_delay" }, post);
  console.log("cancel_delay");

  await c.request("DeleteLiveAppRecordConfig", app, post);
  await refused(c.request("DeleteLiveAppRecordConfig", app, post), "CodeConfigNotFound");
  console.log("DeleteLiveAppRecordConfig");

  await refused(client(process.env.ACCESS_KEY_SECRET + "x").request("RealTimeRecordCommand", { ...stream, Command: "start" }, post),
    "SignatureDoesNotMatch");
  console.log("wrong key refused: SignatureDoesNotMatch");
}

main().catch((e) => {
  console.error("FAIL:", e && (e.stack || e));
  process.exit(1);
});
