package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"
	"github.com/redis/go-redis/v9"

	"watercooler/config"
	"watercooler/testrig"
)

// adminOf runs admin commands against a serve process's key space and URL.
func adminOf(t *testing.T, redisURL, prefix, base string) func(args ...string) string {
	env := map[string]string{"REDIS_URL": redisURL, "WATERCOOLER_REDIS_PREFIX": prefix, "WATERCOOLER_URL": base}
	return func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append([]string{"admin"}, args...), func(k string) string { return env[k] }, &out, &errOut, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			t.Fatalf("admin %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
}

// scrape reads a Prometheus text exposition into series ("name{label="value",...}", labels in
// the order the client library writes them: sorted by name) and their values.
func scrape(t *testing.T, u string, header http.Header) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %s %s", u, resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape %s: bad line %q", u, line)
		}
		out[line[:i]] = v
	}
	return out
}

// do sends a request with a token and optional request id, and decodes a JSON answer into out.
func do(t *testing.T, method, u, token, requestID string, form url.Values, out any) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s %q: %v", method, u, resp.Status, b, err)
		}
	}
	return resp
}

// TestServeMetricsAndJSONLogs runs serve with metrics on a listener of their own and JSON logs,
// federates with a department that then goes down, and reads what an operator would: the
// request counters by route, the delivery queue's retry backlog and the retries to the dead
// peer, and log lines that carry a post's request id into its failed delivery.
func TestServeMetricsAndJSONLogs(t *testing.T) {
	ctx := context.Background()
	sales := testrig.StartInstance(t)
	salesHost := strings.TrimPrefix(sales.URL, "http://")
	bob := sales.CreateUser(t, "bob")

	prefix := testrig.Prefix(t, testrig.Redis(t))
	metricsAddr := freeAddr(t, "127.0.0.1")
	var logs testrig.LogBuffer
	eng := startServeOn(t, config.TestRedisURL(), prefix, map[string]string{
		"WATERCOOLER_METRICS_LISTEN": metricsAddr,
		"WATERCOOLER_LOG_FORMAT":     "json",
		"WATERCOOLER_PEER_NETWORKS":  "127.0.0.0/8",
	}, &logs)
	admin := adminOf(t, config.TestRedisURL(), prefix, eng)
	admin("user", "create", "--username", "alice", "--email", "alice@example.com", "--password", "correct horse alice")
	aliceToken := admin("token", "--username", "alice", "--scopes", "read write follow push")

	// Bob follows alice across departments: eng's Accept is a delivery that succeeds.
	bobClient := gomastodon.NewClient(&gomastodon.Config{Server: sales.URL, AccessToken: bob.Token})
	res, err := bobClient.Search(ctx, "alice@"+strings.TrimPrefix(eng, "http://"), true)
	if err != nil || len(res.Accounts) != 1 {
		t.Fatalf("bob resolves alice: %v, %+v", err, res)
	}
	if _, err := bobClient.AccountFollow(ctx, res.Accounts[0].ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, time.Minute, "eng accepts bob's follow", func() bool {
		rels, err := bobClient.GetAccountRelationships(ctx, []string{string(res.Accounts[0].ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})

	// Alice follows bob back; bob's post carries its request id into eng: the delivery sends
	// it along, and eng logs its inbox request under it.
	aliceClient := gomastodon.NewClient(&gomastodon.Config{Server: eng, AccessToken: aliceToken})
	res, err = aliceClient.Search(ctx, "bob@"+salesHost, true)
	if err != nil || len(res.Accounts) != 1 {
		t.Fatalf("alice resolves bob: %v, %+v", err, res)
	}
	if _, err := aliceClient.AccountFollow(ctx, res.Accounts[0].ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, time.Minute, "sales accepts alice's follow", func() bool {
		rels, err := aliceClient.GetAccountRelationships(ctx, []string{string(res.Accounts[0].ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})
	const salesRequestID = "obs-test-sales-0002"
	if resp := do(t, "POST", sales.URL+"/api/v1/statuses", bob.Token, salesRequestID, url.Values{"status": {"hello eng"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("bob posts: %s", resp.Status)
	}
	testrig.Eventually(t, time.Minute, "eng logs the inbox request of bob's post under the id of bob's request", func() bool {
		for _, line := range logs.Lines() {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" && rec["request_id"] == salesRequestID &&
				strings.HasSuffix(fmt.Sprint(rec["route"]), "inbox") && rec["status"] == float64(202) {
				return true
			}
		}
		return false
	})

	sales.Stop() // the peer goes down: deliveries to it fail from now on

	const requestID = "obs-test-0001"
	var posted struct{ ID string }
	resp := do(t, "POST", eng+"/api/v1/statuses", aliceToken, requestID, url.Values{"status": {"hello sales"}}, &posted)
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != requestID {
		t.Fatalf("post: %s, X-Request-Id %q; want 200 answering the request id %q", resp.Status, resp.Header.Get("X-Request-Id"), requestID)
	}
	for range 2 {
		if resp := do(t, "GET", eng+"/api/v1/statuses/"+posted.ID, aliceToken, "", nil, nil); resp.StatusCode != 200 || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(resp.Header.Get("X-Request-Id")) {
			t.Fatalf("get status: %s, X-Request-Id %q; want 200 and a made-up id", resp.Status, resp.Header.Get("X-Request-Id"))
		}
	}
	if resp := do(t, "GET", eng+"/api/v1/statuses/"+posted.ID, aliceToken, "bad id", nil, nil); resp.Header.Get("X-Request-Id") == "bad id" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("a request id with spaces came back as %q; want it replaced", resp.Header.Get("X-Request-Id"))
	}
	// An open stream shows in the connections gauge.
	streamCtx, closeStream := context.WithCancel(ctx)
	defer closeStream()
	req, _ := http.NewRequestWithContext(streamCtx, "GET", eng+"/api/v1/streaming/user", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("open stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	if _, err := bufio.NewReader(stream.Body).ReadString('\n'); err != nil {
		t.Fatalf("stream's first line: %v", err)
	}

	metricsURL := "http://" + metricsAddr + "/metrics"
	peer := fmt.Sprintf("peer=%q", salesHost)
	var m map[string]float64
	testrig.Eventually(t, time.Minute, "metrics show the failed delivery waiting to retry", func() bool {
		m = scrape(t, metricsURL, nil)
		return m[`watercooler_delivery_retries_total{`+peer+`}`] >= 1 && m[`watercooler_queue_jobs{queue="delivery",state="retrying"}`] >= 1
	})
	want := []struct {
		series string
		min    float64
	}{
		{`watercooler_http_requests_total{method="GET",route="/api/v1/statuses/:id",status="200"}`, 3},
		{`watercooler_http_requests_total{method="POST",route="/api/v1/statuses",status="200"}`, 1},
		{`watercooler_http_request_duration_seconds_count{method="POST",route="/api/v1/statuses"}`, 1},
		{`watercooler_queue_jobs{queue="delivery",state="retrying"}`, 1},
		{`watercooler_delivery_retries_total{` + peer + `}`, 1},
		{`watercooler_deliveries_total{outcome="delivered",` + peer + `}`, 1}, // the Accept
		{`watercooler_deliveries_total{outcome="failed",` + peer + `}`, 1},
		{`watercooler_delivery_duration_seconds_count{` + peer + `}`, 2},
		{`watercooler_streaming_connections`, 1},
		{`watercooler_redis_command_duration_seconds_count{command="pipeline"}`, 1},
	}
	for _, w := range want {
		if got, ok := m[w.series]; !ok || got < w.min {
			t.Errorf("%s = %v (present %v), want at least %v", w.series, got, ok, w.min)
		}
	}
	for series := range m {
		if strings.Contains(series, posted.ID) {
			t.Errorf("series %s names a status id: routes must be patterns", series)
		}
	}
	if _, ok := m[`watercooler_queue_jobs{queue="inbox",state="dead"}`]; !ok {
		t.Error("no inbox queue depth in the metrics")
	}
	if got, ok := m[`watercooler_fanout_jobs{state="overdue"}`]; !ok || got != 0 {
		t.Errorf("overdue fan-out jobs = %v (present %v), want 0: a single server leaves none", got, ok)
	}
	if resp := do(t, "GET", eng+"/metrics", "", "", nil, nil); resp.StatusCode != 404 {
		t.Errorf("GET /metrics on the main listener without a token configured = %s, want 404", resp.Status)
	}

	// Every log line is a JSON object; the post's request id is on its request line and on
	// its delivery's failure.
	testrig.Eventually(t, time.Minute, "the delivery's failure is logged with the post's request id", func() bool {
		var requestLine, deliveryLine bool
		for _, line := range logs.Lines() {
			if line == "" {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q: %v", line, err)
			}
			if rec["request_id"] != requestID {
				continue
			}
			requestLine = requestLine || rec["msg"] == "request" && rec["route"] == "/api/v1/statuses" && rec["status"] == float64(200)
			deliveryLine = deliveryLine || rec["msg"] == "delivery failed; will retry" && strings.Contains(fmt.Sprint(rec["inbox"]), salesHost)
		}
		return requestLine && deliveryLine
	})
}

// TestReadyzFollowsRedis runs serve on a Redis of its own, stops that Redis and starts it
// again: /readyz says 503 and why while it is gone and 200 otherwise; /livez stays 200. The
// metrics token opens /metrics on the main listener.
func TestReadyzFollowsRedis(t *testing.T) {
	addr := freeAddr(t, "127.0.0.1")
	_, port, _ := strings.Cut(addr, ":")
	startRedis := func() *exec.Cmd {
		cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Skipf("redis-server: %v", err)
		}
		return cmd
	}
	redisProc := startRedis()
	t.Cleanup(func() { redisProc.Process.Kill(); redisProc.Wait() })
	redisURL := "redis://" + addr + "/0"
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	testrig.Eventually(t, time.Minute, "the test's own redis-server answers", func() bool {
		return rdb.Ping(context.Background()).Err() == nil
	})
	const token = "metrics-token-0123456789"
	base := startServeOn(t, redisURL, "ready", map[string]string{"WATERCOOLER_METRICS_TOKEN": token}, io.Discard)

	type health struct {
		Status   string            `json:"status"`
		Problems map[string]string `json:"problems"`
	}
	probe := func(path string) (int, health) {
		var h health
		resp := do(t, "GET", base+path, "", "", nil, &h)
		return resp.StatusCode, h
	}
	if code, h := probe("/livez"); code != 200 || h.Status != "ok" {
		t.Fatalf("/livez = %d %+v, want 200 ok", code, h)
	}
	testrig.Eventually(t, time.Minute, "/readyz answers 200 once the workers run", func() bool {
		code, h := probe("/readyz")
		return code == 200 && h.Status == "ok"
	})
	healthcheck := func(args ...string) error {
		env := map[string]string{"WATERCOOLER_LISTEN": strings.TrimPrefix(base, "http://")}
		return run(context.Background(), append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, io.Discard, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	for _, c := range []struct {
		args    []string
		wantErr string
	}{
		{nil, ""}, // the /readyz of WATERCOOLER_LISTEN
		{[]string{base + "/livez"}, ""},
		{[]string{base + "/nothing"}, "404"},
		{[]string{"http://" + freeAddr(t, "127.0.0.1") + "/readyz"}, "refused"},
		{[]string{"ftp://example.com"}, "usage"},
	} {
		if err := healthcheck(c.args...); (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Fatalf("healthcheck %v = %v, want error containing %q", c.args, err, c.wantErr)
		}
	}
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong-token-0123456789", 401}, {"Bearer " + token, 200}} {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == 200 && !strings.Contains(string(body), "watercooler_http_requests_total")) {
			t.Fatalf("GET /metrics with %q = %s, want %d with the metrics", c.auth, resp.Status, c.want)
		}
	}

	redisProc.Process.Kill()
	redisProc.Wait()
	var down health
	testrig.Eventually(t, time.Minute, "/readyz answers 503 naming Redis", func() bool {
		var code int
		code, down = probe("/readyz")
		return code == 503 && down.Problems["redis"] != ""
	})
	if down.Status != "unavailable" || strings.Contains(down.Problems["redis"], port) {
		t.Fatalf("/readyz with Redis gone = %+v, want status unavailable and no Redis address", down)
	}
	if code, _ := probe("/livez"); code != 200 {
		t.Fatalf("/livez with Redis gone = %d, want 200: the process is up", code)
	}
	if err := healthcheck(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("healthcheck with Redis gone = %v, want a failure naming 503", err)
	}

	redisProc = startRedis()
	testrig.Eventually(t, time.Minute, "/readyz answers 200 again once Redis is back", func() bool {
		code, _ := probe("/readyz")
		return code == 200
	})
}

func TestWorkerSetReadiness(t *testing.T) {
	var w workerSet
	if err := w.ready(context.Background()); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("ready before start = %v, want not started", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	w.run(ctx, func(ctx context.Context) { <-ctx.Done() }, func(context.Context) { close(stopped) })
	<-stopped
	testrig.Eventually(t, 10*time.Second, "a worker that returned makes the set not ready", func() bool {
		err := w.ready(context.Background())
		return err != nil && strings.Contains(err.Error(), "1 of 2")
	})
	cancel()
	w.wg.Wait()
}
