package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// synthNetLog writes a netlog in Chromium's file layout: URL_REQUEST is
// source type 1, HTTP_STREAM_JOB_CONTROLLER 32; the event type numbers are
// arbitrary, as they are in real logs (the constants name them).
func synthNetLog(events []string, complete bool) string {
	var sb strings.Builder
	sb.WriteString(`{"constants":{"logEventTypes":{"REQUEST_ALIVE":2,"URL_REQUEST_START_JOB":7,"UPLOAD_DATA_STREAM_INIT":9,"HTTP_STREAM_JOB_CONTROLLER":11},` +
		`"logSourceType":{"URL_REQUEST":1,"HTTP_STREAM_JOB_CONTROLLER":32}},` + "\n")
	sb.WriteString(`"events": [` + "\n")
	for i, e := range events {
		sb.WriteString(e)
		if i < len(events)-1 || !complete {
			sb.WriteString(",")
		}
		sb.WriteString("\n")
	}
	if complete {
		sb.WriteString("],\n" + `"polledData": {}` + "\n}\n")
	}
	return sb.String()
}

func startJob(id int, method, url, initiator string, upload bool) string {
	up := ""
	if upload {
		up = `,"upload_id":"0"`
	}
	return fmt.Sprintf(`{"params":{"initiator":%q,"method":%q,"network_isolation_key":"k","url":%q%s},"phase":1,"source":{"id":%d,"type":1},"time":"1","type":7}`,
		initiator, method, url, up, id)
}

func TestParseNetLog(t *testing.T) {
	const o = "http://127.0.0.1:8000"
	events := []string{
		`{"params":{"priority":"IDLE","traffic_annotation":35565745,"url":"https://accounts.google.com/ListAccounts"},"phase":1,"source":{"id":3,"type":1},"time":"1","type":2}`,
		startJob(3, "POST", "https://accounts.google.com/ListAccounts", "not an origin", true),
		startJob(5, "GET", o+"/", "not an origin", false),
		startJob(6, "GET", o+"/app.js", o, false),
		startJob(7, "POST", o+"/up", o, false),
		`{"params":{},"phase":1,"source":{"id":7,"type":1},"time":"1","type":9}`,
		startJob(8, "GET", "https://example.com/a", o, false),
		startJob(8, "GET", "https://example.com/b", o, false), // redirect hop
		`{"params":{"is_preconnect":true,"url":"https://fonts.example/"},"phase":1,"source":{"id":9,"type":32},"time":"1","type":11}`,
		startJob(10, "GET", "https://content-autofill.googleapis.com/v1/pages/x", "not an origin", false),
		`{"phase":2,"source":{"id":6,"type":1},"time":"2","type":7}`,
	}
	type want struct {
		n          int
		problems   []string // substrings, one per problem, in order
		browserOwn int
	}
	known := KnownBrowserRequests
	pageProblems := []string{"POST " + o + "/up (upload true)", "another origin: GET https://example.com/a",
		"another origin: GET https://example.com/b", "preconnect to https://fonts.example/", "not in the known list: GET https://content-autofill"}
	tests := []struct {
		name string
		log  string
		want want
		err  string
	}{
		{"complete", synthNetLog(events, true), want{8, pageProblems, 1}, ""},
		{"cut after an event", synthNetLog(events, false), want{8, pageProblems, 1}, ""},
		{"cut inside the last event", synthNetLog(events, false) + `{"params":{"url":"http://x`, want{8, pageProblems, 1}, ""},
		{"only the navigation", synthNetLog(events[2:3], true), want{1, nil, 0}, ""},
		{"known list empty", synthNetLog(events[:2], true), want{1, []string{"not in the known list: POST https://accounts.google.com/ListAccounts (traffic annotation 35565745"}, 0}, ""},
		{"bad event inside", synthNetLog([]string{events[2], `{"params":`, events[3]}, true), want{}, "line 4: bad event"},
		{"not a netlog", "hello\n", want{}, "not a netlog"},
		{"constants without URL_REQUEST", `{"constants":{"logEventTypes":{},"logSourceType":{}},` + "\n", want{}, "no URL_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs, err := ParseNetLog(strings.NewReader(tt.log))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) != tt.want.n {
				t.Fatalf("%d requests, want %d: %+v", len(reqs), tt.want.n, reqs)
			}
			k := known
			if tt.name == "known list empty" {
				k = nil
			}
			problems, own := Audit(reqs, o, k)
			if len(problems) != len(tt.want.problems) {
				t.Fatalf("problems:\n%s\nwant %d: %q", strings.Join(problems, "\n"), len(tt.want.problems), tt.want.problems)
			}
			for i, p := range problems {
				if !strings.Contains(p, tt.want.problems[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p, tt.want.problems[i])
				}
			}
			if len(own) != tt.want.browserOwn {
				t.Errorf("browser's own requests %+v, want %d", own, tt.want.browserOwn)
			}
		})
	}
	reqs, _ := ParseNetLog(strings.NewReader(synthNetLog(events, true)))
	if r := reqs[0]; r.Annotation != 35565745 || r.FromPage() || !r.Upload {
		t.Errorf("ListAccounts request read as %+v", r)
	}
}

// TestNetLogLive runs a page that sends what the privacy check must catch
// (a POST with a body, a fetch to another origin) and checks that the
// browser's netlog shows it, and that the default flags leave no browser
// request outside KnownBrowserRequests.
func TestNetLogLive(t *testing.T) {
	exe := Need(t)
	dir := t.TempDir()
	page := `<!doctype html><html><body><form><input name="q"></form><script>
Promise.allSettled([fetch("/data.txt"), fetch("/up", {method: "POST", body: new Uint8Array(3000)}),
  fetch("http://example.invalid/x")]).then(() => { window.done = 1; });
</script></body></html>`
	for name, body := range map[string]string{"index.html": page, "data.txt": "payload"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := Serve(Files(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	logPath := filepath.Join(t.TempDir(), "net.json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Options{ExecPath: exe, NetLog: logPath})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Navigate(srv.URL+"/index.html", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := Wait[int](b, "window.done", 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, b.ConsoleText())
	}
	b.Close()
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if tail := strings.TrimSpace(string(data)); !strings.Contains(tail, `"polledData"`) || !strings.HasSuffix(tail, "}") {
		t.Errorf("the netlog is not complete after Close: it ends %q", tail[max(0, len(tail)-200):])
	}
	reqs, err := ReadNetLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, r := range reqs {
		urls = append(urls, r.Method+" "+r.URL)
	}
	for _, want := range []string{"GET " + srv.URL + "/index.html", "GET " + srv.URL + "/data.txt", "POST " + srv.URL + "/up", "GET http://example.invalid/x"} {
		if !slices.Contains(urls, want) {
			t.Errorf("netlog lacks %q; it has %q", want, urls)
		}
	}
	problems, own := Audit(reqs, srv.URL, KnownBrowserRequests)
	var planted, other []string
	for _, p := range problems {
		if strings.Contains(p, srv.URL+"/up") || strings.Contains(p, "example.invalid") {
			planted = append(planted, p)
		} else {
			other = append(other, p)
		}
	}
	if len(planted) != 2 {
		t.Errorf("Audit found %q, want the POST with a body and the fetch to example.invalid", planted)
	}
	if len(other) > 0 {
		t.Errorf("unexpected requests:\n%s", strings.Join(other, "\n"))
	}
	for _, r := range own {
		t.Logf("browser's own request (known): %s %s", r.Method, r.URL)
	}
}
