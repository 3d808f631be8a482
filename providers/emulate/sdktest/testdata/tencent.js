// Tencent Cloud's official Node.js SDK (common client), unchanged, against
// recordctl's emulator: create -> describe -> stop -> delete -> describe,
// then a wrong-key call that must be refused with AuthFailure.SignatureFailure.
// Env: ENDPOINT (host:port), SECRET_ID, SECRET_KEY. Exit 0 only if every step passed.
const { CommonClient } = require("tencentcloud-sdk-nodejs-common");
const assert = require("node:assert/strict");

function client(secretKey) {
  return new CommonClient(process.env.ENDPOINT, "2018-08-01", {
    credential: { secretId: process.env.SECRET_ID, secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { protocol: "http://", endpoint: process.env.ENDPOINT, reqTimeout: 10 } },
  });
}

async function main() {
  const c = client(process.env.SECRET_KEY);
  const now = Math.floor(Date.now() / 1000);
  const stream = { DomainName: "push.example.com", AppName: "live", StreamName: "sdk-node" };
  const created = await c.request("CreateRecordTask", { ...stream, StartTime: now + 600, EndTime: now + 4200, TemplateId: 0 });
  assert.ok(created.TaskId, "CreateRecordTask returned no TaskId");
  console.log("create", created.TaskId);

  const describe = () => c.request("DescribeRecordTask", { ...stream, StartTime: now, EndTime: now + 86400 });
  let d = await describe();
  const found = (d.TaskList || []).find((t) => t.TaskId === created.TaskId);
  assert.ok(found, "DescribeRecordTask does not list the new task");
  assert.equal(found.StartTime, now + 600);
  console.log("describe", d.TaskList.length);

  await c.request("StopRecordTask", { TaskId: created.TaskId });
  console.log("stop");
  await c.request("DeleteRecordTask", { TaskId: created.TaskId });
  console.log("delete");
  d = await describe();
  assert.ok(!(d.TaskList || []).some((t) => t.TaskId === created.TaskId), "the deleted task is still listed");
  console.log("describe after delete", (d.TaskList || []).length);

  try {
    await client(process.env.SECRET_KEY + "x").request("StopRecordTask", { TaskId: created.TaskId });
    assert.fail("a request signed with the wrong key was accepted");
  } catch (e) {
    assert.equal(e.code, "AuthFailure.SignatureFailure", String(e));
    console.log("wrong key refused", e.code);
  }
}

main().catch((e) => {
  console.error("FAIL:", e && (e.stack || e));
  process.exit(1);
});
