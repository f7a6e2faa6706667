package main

import (
	"encoding/csv"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReportsAPI runs the reports through serve with the real engine, on
// SQLite and on PostgreSQL: a backed-up laptop and a phone never backed
// up, as JSON pages with charts and as CSV, and bad requests refused
// naming the field.
func TestReportsAPI(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReportsAPI(t, map[string]string{}) })
	t.Run("postgres", func(t *testing.T) { testReportsAPI(t, map[string]string{envDB: postgresDB(t)}) })
}

type reportPage struct {
	Rows  []map[string]any `json:"rows"`
	Total int              `json:"total"`
	Next  string           `json:"next_cursor"`
	Chart *struct {
		Kind   string `json:"kind"`
		Series []struct {
			Name   string `json:"name"`
			Points []struct {
				X string `json:"x"`
				Y int64  `json:"y"`
			} `json:"points"`
		} `json:"series"`
	} `json:"chart"`
}

func testReportsAPI(t *testing.T, env map[string]string) {
	dataDir := t.TempDir()
	env[envDataDir], env[envBootstrapEmail], env[envBootstrapPassword], env[envBootstrapToken] = dataDir, "root@example.com", testPassword, testToken
	inst := startServe(t, env)
	for _, u := range []string{"ann", "bo"} {
		var user struct {
			ID string `json:"id"`
		}
		if code, body := call(t, "POST", inst.url+"/api/v1/users", testToken, map[string]any{"email": u + "@example.com", "name": "=" + u}, &user); code != http.StatusCreated {
			t.Fatalf("create user = %d %s", code, body)
		}
		name := map[string]string{"ann": "laptop", "bo": "phone"}[u]
		if code, body := call(t, "POST", inst.url+"/api/v1/devices", testToken, map[string]any{"user_id": user.ID, "name": name, "kind": "endpoint", "workload": "endpoints"}, nil); code != http.StatusCreated {
			t.Fatalf("create device = %d %s", code, body)
		}
	}
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), []byte("report me"))
	if _, errOut, err := runCmd(t, env, "backup", "--server", inst.url, "--token", testToken, "--user", "ann@example.com",
		"--device", "laptop", "--cache-dir", t.TempDir(), src); err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut)
	}

	var list struct {
		Reports []struct{ ID string } `json:"reports"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/reports", testToken, nil, &list); code != 200 || len(list.Reports) != 8 {
		t.Fatalf("list = %d %s", code, body)
	}
	var last reportPage
	if code, body := call(t, "GET", inst.url+"/api/v1/reports/last_backup", testToken, nil, &last); code != 200 || last.Total != 2 ||
		last.Rows[0]["device"] != "laptop" || last.Rows[0]["status"] != "backed_up" || last.Rows[1]["status"] != "never" || last.Chart == nil {
		t.Fatalf("last_backup = %d %s", code, body)
	}
	var late reportPage
	if code, body := call(t, "GET", inst.url+"/api/v1/reports/non_compliant?days=1", testToken, nil, &late); code != 200 || late.Total != 1 || late.Rows[0]["device"] != "phone" {
		t.Errorf("non_compliant = %d %s", code, body)
	}
	var act reportPage
	today := time.Now().UTC().Format(time.DateOnly)
	if code, body := call(t, "GET", inst.url+"/api/v1/reports/backup_activity", testToken, nil, &act); code != 200 || act.Total != 1 || act.Chart == nil {
		t.Fatalf("backup_activity = %d %s", code, body)
	}
	pts := act.Chart.Series[0].Points
	if i := slices.IndexFunc(pts, func(p struct {
		X string `json:"x"`
		Y int64  `json:"y"`
	}) bool {
		return p.X == today
	}); i < 0 || pts[i].Y != 1 {
		t.Errorf("activity chart %+v, want 1 backup on %s", pts, today)
	}

	resp, err := http.DefaultClient.Do(authed(t, inst.url+"/api/v1/reports/users?format=csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(recs) != 3 {
		t.Fatalf("users CSV = %d %v %v", resp.StatusCode, recs, err)
	}
	if recs[1][1] != "ann@example.com" || recs[1][2] != "'=ann" {
		t.Errorf("CSV row %q: a formula cell not neutralized", recs[1])
	}

	for path, field := range map[string]string{"/api/v1/reports/users?colour=red": `"field":"colour"`,
		"/api/v1/reports/users?offset=2": `"field":"offset"`, "/api/v1/reports/non_compliant?days=0": `"field":"days"`,
		"/api/v1/reports/users?format=csv&colour=red": `"field":"colour"`} {
		if code, body := call(t, "GET", inst.url+path, testToken, nil, nil); code != 422 || !strings.Contains(body, field) {
			t.Errorf("GET %s = %d %s, want 422 naming %s", path, code, body, field)
		}
	}
	if code, _ := call(t, "GET", inst.url+"/api/v1/reports/nothing", testToken, nil, nil); code != 404 {
		t.Errorf("unknown report = %d", code)
	}
	if code, _ := call(t, "GET", inst.url+"/api/v1/reports/users", "", nil, nil); code != 401 {
		t.Errorf("without a token = %d", code)
	}
	testScheduleAPI(t, inst.url)
}

// testScheduleAPI: a report schedule is created, listed, replaced and
// deleted through the API, and bad settings are 422 naming the field.
func testScheduleAPI(t *testing.T, base string) {
	in := map[string]any{"name": "Weekly", "report": "non_compliant", "query": map[string]string{"days": "7"}, "format": "csv",
		"frequency": "weekly", "recipients": []string{"ops@example.com"}}
	var rs struct {
		ID      string `json:"id"`
		NextRun string `json:"next_run"`
	}
	if code, body := call(t, "POST", base+"/api/v1/report-schedules", testToken, in, &rs); code != 201 || rs.ID == "" {
		t.Fatalf("create schedule = %d %s", code, body)
	}
	if code, body := call(t, "POST", base+"/api/v1/report-schedules", testToken, in, nil); code != 409 {
		t.Errorf("the same name again = %d %s", code, body)
	}
	bad := map[string]any{"name": "Bad", "report": "users", "format": "pdf", "frequency": "weekly", "recipients": []string{"nobody"}}
	if code, body := call(t, "POST", base+"/api/v1/report-schedules", testToken, bad, nil); code != 422 ||
		!strings.Contains(body, `"field":"format"`) || !strings.Contains(body, `"field":"recipients[0]"`) {
		t.Errorf("bad schedule = %d %s", code, body)
	}
	var list struct {
		Total int `json:"total"`
	}
	if code, body := call(t, "GET", base+"/api/v1/report-schedules", testToken, nil, &list); code != 200 || list.Total != 1 {
		t.Errorf("list = %d %s", code, body)
	}
	in["frequency"] = "daily"
	if code, body := call(t, "PUT", base+"/api/v1/report-schedules/"+rs.ID, testToken, in, nil); code != 200 || !strings.Contains(body, `"frequency":"daily"`) {
		t.Errorf("replace = %d %s", code, body)
	}
	if code, body := call(t, "GET", base+"/api/v1/report-schedules/"+rs.ID+"/runs", testToken, nil, nil); code != 200 || !strings.Contains(body, `"total":0`) {
		t.Errorf("runs = %d %s", code, body)
	}
	if code, body := call(t, "DELETE", base+"/api/v1/report-schedules/"+rs.ID, testToken, nil, nil); code != 204 {
		t.Errorf("delete = %d %s", code, body)
	}
	if code, _ := call(t, "GET", base+"/api/v1/report-schedules/"+rs.ID+"/runs", testToken, nil, nil); code != 404 {
		t.Errorf("runs of a deleted schedule = %d", code)
	}
}

func authed(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}
