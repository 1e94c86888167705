package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAuditCheckpoint (issue 9, item 10): officials get a signed head of
// the audit chain; handed back, it shows a log whose newest records were
// deleted behind the service's back, which the chain alone cannot; a
// checkpoint changed after signing is refused.
func TestAuditCheckpoint(t *testing.T) {
	e := newEnv(t)
	_, entity := e.newEntity()
	inspector := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	for range 3 {
		e.newEntity()
	}
	cpBody := e.must(200, "GET", "/api/v1/audit/checkpoint", inspector, nil)
	var cp map[string]any
	json.Unmarshal(cpBody.Body, &cp)
	if cp["seq"].(float64) < 4 || !strings.HasPrefix(cp["hash"].(string), "hmac-sha256:") || cp["signature"] == "" || cp["publicKey"] == "" {
		t.Fatalf("checkpoint %v", cp)
	}
	if v := e.must(200, "POST", "/api/v1/audit/verify", e.reg, cp).JSON(); v["ok"] != true || v["checkpoint"] != cp["seq"] {
		t.Fatalf("verify against a fresh checkpoint: %v", v)
	}
	// Verifying is not a write: it adds no record.
	if v := e.must(200, "GET", "/api/v1/audit/verify", e.reg, nil).JSON(); v["records"] != cp["seq"] {
		t.Fatalf("records after a verify: %v, checkpoint at %v", v["records"], cp["seq"])
	}
	runCases(t, e, map[string]authCase{
		"checkpoint/no key": {"GET", "/api/v1/audit/checkpoint", "", nil, 401, "unauthorized"},
		"checkpoint/entity": {"GET", "/api/v1/audit/checkpoint", entity, nil, 403, "forbidden"},
		"verify/entity":     {"POST", "/api/v1/audit/verify", entity, cp, 403, "forbidden"},
		"verify/no body":    {"POST", "/api/v1/audit/verify", e.reg, nil, 400, "invalid"},
	})
	forged := map[string]any{}
	for k, v := range cp {
		forged[k] = v
	}
	forged["seq"] = cp["seq"].(float64) - 2
	if r := e.do("POST", "/api/v1/audit/verify", e.reg, forged); r.Code != 400 || r.errField() != "signature" {
		t.Fatalf("forged checkpoint: %d %s", r.Code, r.Body)
	}

	// An intruder deletes the newest two records.
	if _, err := e.db.W.Exec(`DELETE FROM audit_log WHERE seq > ?`, cp["seq"].(float64)-2); err != nil {
		t.Fatal(err)
	}
	if v := e.must(200, "GET", "/api/v1/audit/verify", e.reg, nil).JSON(); v["ok"] != true {
		t.Fatalf("the truncated chain alone: %v", v)
	}
	v := e.must(200, "POST", "/api/v1/audit/verify", e.reg, cp).JSON()
	if v["ok"] != false || !strings.Contains(v["reason"].(string), "records were deleted") {
		t.Fatalf("truncation against the checkpoint: %v", v)
	}
}
