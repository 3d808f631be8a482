// Huawei Cloud's official Node.js SDK core (@huaweicloud/huaweicloud-sdk-core:
// ClientBuilder, BasicCredentials, HcClient with its AK/SK signer), unchanged,
// against recordctl's emulator, sending the requests the Live service client
// sends: CreateRecordRule (COMMAND_RECORD), RunRecord START -> START again
// (LIVE.100011022) -> STOP, DeleteRecordRule, and a wrong-key call refused
// with APIGW.0301. Env: ENDPOINT (http://host:port), AK, SK, PROJECT_ID.
const { BasicCredentials } = require("@huaweicloud/huaweicloud-sdk-core");
const { ClientBuilder } = require("@huaweicloud/huaweicloud-sdk-core/ClientBuilder");
const assert = require("node:assert/strict");

function client(sk) {
  const cred = new BasicCredentials().withAk(process.env.AK).withSk(sk).withProjectId(process.env.PROJECT_ID);
  return new ClientBuilder((hc) => hc).withCredential(cred).withEndpoint(process.env.ENDPOINT).build();
}

function call(c, method, url, queryParams, data) {
  const opts = { method, url, contentType: "application/json", queryParams: queryParams || {}, pathParams: {}, headers: {} };
  if (data) opts.data = data;
  return c.sendRequest(opts);
}

async function refused(p, code) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.errorCode, code, JSON.stringify(e));
    return e;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}

async function main() {
  const c = client(process.env.SK);
  const stream = { publish_domain: "sdk.example.org", app: "live", stream: "sdk-node" };
  const control = (action) => call(c, "POST", "/v1/{project_id}/record/control", { action }, stream);

  await refused(control("START"), "LIVE.100011001");
  console.log("START without a COMMAND_RECORD rule refused");
  const rule = await call(c, "POST", "/v1/{project_id}/record/rules", {}, {
    publish_domain: stream.publish_domain, app: "live", stream: "*", record_type: "COMMAND_RECORD",
    default_record_config: { record_format: ["HLS"], obs_addr: { bucket: "rec", location: "cn-north-4", object: "rec/" } },
  });
  const id = rule.id || (rule.result && rule.result.id);
  assert.ok(id, `CreateRecordRule answered ${JSON.stringify(rule)}`);
  console.log("CreateRecordRule", id);
  const list = await call(c, "GET", "/v1/{project_id}/record/rules", { publish_domain: stream.publish_domain, record_type: "COMMAND_RECORD" });
  assert.equal(list.total, 1, JSON.stringify(list));

  await control("START");
  console.log("START");
  await refused(control("START"), "LIVE.100011022");
  console.log("START again: LIVE.100011022");
  await control("STOP");
  console.log("STOP");

  await call(c, "DELETE", "/v1/{project_id}/record/rules/" + id);
  await refused(call(c, "DELETE", "/v1/{project_id}/record/rules/" + id), "LIVE.100011001");
  console.log("DeleteRecordRule");

  await refused(call(client(process.env.SK + "x"), "POST", "/v1/{project_id}/record/control", { action: "START" }, stream), "APIGW.0301");
  console.log("wrong key refused: APIGW.0301");
}

main().catch((e) => {
  console.error("FAIL:", e && (e.stack || JSON.stringify(e)));
  process.exit(1);
});
