package sdktest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	tc "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
)

// TestTencentGoSDK: Tencent Cloud's official Go common client, unchanged
// (endpoint 127.0.0.1:PORT over HTTP), runs create -> describe -> stop ->
// delete -> describe against the emulator; a wrong key is refused with
// AuthFailure.SignatureFailure. It needs no Node.js, so it runs in make test.
func TestTencentGoSDK(t *testing.T) {
	srv, err := emulate.Start("127.0.0.1", 0, emu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := srv.Settings()["tencent"]
	newClient := func(key string) *tc.Client {
		p := profile.NewClientProfile()
		p.HttpProfile.Endpoint = strings.TrimPrefix(st.Endpoint, "http://")
		p.HttpProfile.Scheme = "HTTP"
		p.HttpProfile.ReqTimeout = 10
		p.NetworkFailureMaxRetries = 0
		return tc.NewCommonClient(tc.NewCredential(st.Credentials["secretId"], key), st.Region, p)
	}
	c := newClient(st.Credentials["secretKey"])
	call := func(c *tc.Client, action string, params map[string]any) (map[string]any, error) {
		req := tchttp.NewCommonRequest("live", "2018-08-01", action)
		if err := req.SetActionParameters(params); err != nil {
			t.Fatal(err)
		}
		resp := tchttp.NewCommonResponse()
		if err := c.Send(req, resp); err != nil {
			return nil, err
		}
		var out struct{ Response map[string]any }
		if err := json.Unmarshal(resp.GetBody(), &out); err != nil {
			t.Fatalf("%s answered %s: %v", action, resp.GetBody(), err)
		}
		return out.Response, nil
	}
	now := time.Now().Unix()
	stream := map[string]any{"DomainName": "push.example.com", "AppName": "live", "StreamName": "sdk-go"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range stream {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	created, err := call(c, "CreateRecordTask", with(map[string]any{"StartTime": now + 600, "EndTime": now + 4200}))
	if err != nil {
		t.Fatal("create:", err)
	}
	id, _ := created["TaskId"].(string)
	if id == "" {
		t.Fatalf("create answered %v", created)
	}
	listed := func() bool {
		d, err := call(c, "DescribeRecordTask", with(map[string]any{"StartTime": now, "EndTime": now + 86400}))
		if err != nil {
			t.Fatal("describe:", err)
		}
		list, _ := d["TaskList"].([]any)
		for _, x := range list {
			if m, _ := x.(map[string]any); m["TaskId"] == id {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Fatal("describe does not list the new task")
	}
	for _, action := range []string{"StopRecordTask", "DeleteRecordTask"} {
		if _, err := call(c, action, map[string]any{"TaskId": id}); err != nil {
			t.Fatal(action, err)
		}
	}
	if listed() {
		t.Fatal("the deleted task is still listed")
	}
	_, err = call(newClient(st.Credentials["secretKey"]+"x"), "StopRecordTask", map[string]any{"TaskId": id})
	var se *tcerr.TencentCloudSDKError
	if !errors.As(err, &se) || se.GetCode() != "AuthFailure.SignatureFailure" {
		t.Fatalf("wrong key: got %v", err)
	}
}
