// Agora Cloud Recording's documented RESTful requests (HTTP Basic auth,
// the bodies of Agora's API reference) against recordctl's emulator:
// acquire -> start (mix, avFileType ["hls","mp4"]) -> query -> stop, with
// the documented fileList shapes ("json" array for hls+mp4, "string" for hls
// alone), and a wrong customer secret refused with 401.
// Env: ENDPOINT (http://host:port), APP_ID, CUSTOMER_ID, CUSTOMER_SECRET.
const assert = require("node:assert/strict");

const base = `${process.env.ENDPOINT}/v1/apps/${process.env.APP_ID}/cloud_recording`;

async function call(method, path, body, secret = process.env.CUSTOMER_SECRET) {
  const auth = "Basic " + Buffer.from(`${process.env.CUSTOMER_ID}:${secret}`).toString("base64");
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: auth, "Content-Type": "application/json;charset=utf-8" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

const storageConfig = { vendor: 2, region: 0, bucket: "rec-bucket", accessKey: "ak", secretKey: "sk", fileNamePrefix: ["rec"] };

async function session(cname, uid, avFileType) {
  const acq = await call("POST", "/acquire", { cname, uid, clientRequest: { scene: 0, resourceExpiredHour: 24 } });
  assert.equal(acq.status, 200, JSON.stringify(acq.body));
  const rid = acq.body.resourceId;
  const start = await call("POST", `/resourceid/${rid}/mode/mix/start`, {
    cname, uid, clientRequest: {
      recordingConfig: { channelType: 1, streamTypes: 2, maxIdleTime: 600 },
      recordingFileConfig: { avFileType }, storageConfig,
    },
  });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  assert.equal(start.body.resourceId, rid);
  return { rid, sid: start.body.sid, cname, uid };
}

function checkFiles(sr, mode) {
  assert.equal(sr.fileListMode, mode, JSON.stringify(sr));
  if (mode === "json") {
    assert.ok(Array.isArray(sr.fileList) && sr.fileList.length === 2, JSON.stringify(sr.fileList));
    const names = sr.fileList.map((f) => f.fileName);
    assert.ok(names.some((n) => n.endsWith(".m3u8")) && names.some((n) => n.endsWith(".mp4")), names.join(","));
    for (const f of sr.fileList) {
      assert.equal(typeof f.isPlayable, "boolean");
      assert.equal(typeof f.mixedAllUser, "boolean");
      assert.equal(f.uid, "0");
    }
  } else {
    assert.equal(typeof sr.fileList, "string");
    assert.ok(sr.fileList.endsWith(".m3u8"), sr.fileList);
  }
}

async function lifecycle(cname, uid, avFileType, mode) {
  const s = await session(cname, uid, avFileType);
  console.log("acquire + start", cname, s.sid);
  const q = await call("GET", `/resourceid/${s.rid}/sid/${s.sid}/mode/mix/query`);
  assert.equal(q.status, 200, JSON.stringify(q.body));
  assert.equal(q.body.serverResponse.status, 5);
  checkFiles(q.body.serverResponse, mode);
  console.log("query fileListMode", q.body.serverResponse.fileListMode);
  const st = await call("POST", `/resourceid/${s.rid}/sid/${s.sid}/mode/mix/stop`, { cname, uid, clientRequest: { async_stop: false } });
  assert.equal(st.status, 200, JSON.stringify(st.body));
  checkFiles(st.body.serverResponse, mode);
  console.log("stop fileListMode", st.body.serverResponse.fileListMode);
  const again = await call("POST", `/resourceid/${s.rid}/sid/${s.sid}/mode/mix/stop`, { cname, uid, clientRequest: {} });
  assert.equal(again.body.code, 49, JSON.stringify(again.body));
}

async function main() {
  const d = await fetch(`${process.env.ENDPOINT}/_emulator/start-delay?d=0s`, { method: "POST" });
  assert.equal(d.status, 200);
  await lifecycle("sdk_json", "527841", ["hls", "mp4"], "json");
  await lifecycle("sdk_string", "527841", ["hls"], "string");
  const wrong = await call("POST", "/acquire", { cname: "x", uid: "1", clientRequest: {} }, process.env.CUSTOMER_SECRET + "x");
  assert.equal(wrong.status, 401, JSON.stringify(wrong.body));
  console.log("wrong secret refused:", wrong.status, wrong.body.message);
}

main().catch((e) => {
  console.error("FAIL:", e && (e.stack || e));
  process.exit(1);
});
