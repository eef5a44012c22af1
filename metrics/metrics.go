// Package metrics collects an instance's Prometheus metrics: HTTP requests, queue depths,
// deliveries per peer, streaming connections, Redis round trips and media processing. The
// server and federation packages report to it through small interfaces they declare, so that
// only this package and the composition root import Prometheus.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"watercooler/store"
)

// queueTimeout bounds the Redis reads of one scrape, so that a scrape of an instance whose
// Redis hangs still answers with the figures it has.
const queueTimeout = 2 * time.Second

// Metrics is one process's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec

	deliveries       *prometheus.CounterVec
	deliveryDuration *prometheus.HistogramVec
	retries          *prometheus.CounterVec
	deadLetters      *prometheus.CounterVec

	redisDuration *prometheus.HistogramVec
	redisErrors   *prometheus.CounterVec

	media *prometheus.HistogramVec

	streamsMu sync.Mutex
	streams   func() int
}

// New registers every collector, the Go runtime's and the process's included. The depths of
// the named queues of st and its fan-out backlog are read from Redis at each scrape.
func New(st *store.Store, queueNames ...string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watercooler_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "watercooler_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by method and route pattern (a streaming request lasts as long as its connection).",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watercooler_deliveries_total",
			Help: "ActivityPub delivery attempts, by peer host and outcome (delivered, refused, failed).",
		}, []string{"peer", "outcome"}),
		deliveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "watercooler_delivery_duration_seconds",
			Help:    "Time of one delivery attempt's POST to a peer's inbox, by peer host.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"peer"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watercooler_delivery_retries_total",
			Help: "Failed deliveries put back to be retried later, by peer host.",
		}, []string{"peer"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watercooler_delivery_dead_letters_total",
			Help: "Deliveries given up and moved to the dead-letter stream, by peer host.",
		}, []string{"peer"}),
		redisDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "watercooler_redis_command_duration_seconds",
			Help:    "Redis round trips, by command (\"pipeline\" for a pipeline or transaction); reads that block waiting for jobs are left out.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}, []string{"command"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "watercooler_redis_errors_total",
			Help: "Redis commands that failed (not counting a missing key), by command.",
		}, []string{"command"}),
		media: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "watercooler_media_processing_seconds",
			Help:    "Time to check and re-encode an uploaded image, waiting for a decode turn included, by kind (attachment, avatar, header).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration,
		m.deliveries, m.deliveryDuration, m.retries, m.deadLetters,
		m.redisDuration, m.redisErrors, m.media,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "watercooler_streaming_connections",
			Help: "Open streaming API connections (WebSocket and server-sent events) of this process.",
		}, m.openStreams),
	)
	if st != nil { // nil: the process's own metrics only (the Redis hook's tests)
		m.reg.MustRegister(newQueueCollector(st, queueNames))
	}
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Serve answers /metrics on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	err := srv.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// RequestServed counts one answered HTTP request under its route pattern, never its URL,
// so that the number of series stays that of the routes.
func (m *Metrics) RequestServed(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(method, route).Observe(took.Seconds())
}

// CountStreams sets the function that counts open streaming connections at each scrape.
func (m *Metrics) CountStreams(count func() int) {
	m.streamsMu.Lock()
	defer m.streamsMu.Unlock()
	m.streams = count
}

func (m *Metrics) openStreams() float64 {
	m.streamsMu.Lock()
	count := m.streams
	m.streamsMu.Unlock()
	if count == nil {
		return 0
	}
	return float64(count())
}

// MediaProcessed records how long one uploaded image took to process.
func (m *Metrics) MediaProcessed(kind string, took time.Duration) {
	m.media.WithLabelValues(kind).Observe(took.Seconds())
}

// DeliveryAttempted records one delivery attempt to peer: how long the POST took and its
// outcome (delivered, refused or failed, as federation names them).
func (m *Metrics) DeliveryAttempted(peer string, took time.Duration, outcome string) {
	m.deliveries.WithLabelValues(peer, outcome).Inc()
	m.deliveryDuration.WithLabelValues(peer).Observe(took.Seconds())
}

// DeliveryRetried counts a failed delivery to peer that was put back to retry.
func (m *Metrics) DeliveryRetried(peer string) { m.retries.WithLabelValues(peer).Inc() }

// DeliveryDeadLettered counts a delivery to peer that was given up.
func (m *Metrics) DeliveryDeadLettered(peer string) { m.deadLetters.WithLabelValues(peer).Inc() }

// queueCollector reads queue depths and the fan-out backlog from Redis when scraped, so the
// figures are those of every process sharing the Redis, not only this one's.
type queueCollector struct {
	st         *store.Store
	queues     []*store.Queue
	names      []string
	desc       *prometheus.Desc
	fanOutDesc *prometheus.Desc
}

func newQueueCollector(st *store.Store, names []string) *queueCollector {
	c := &queueCollector{st: st, names: names, desc: prometheus.NewDesc("watercooler_queue_jobs",
		"Jobs in a queue, by state: queued (in the stream, in progress included), in_progress (handed to a worker, not yet settled), retrying (waiting for their next attempt), dead (dead letters kept).",
		[]string{"queue", "state"}, nil),
		fanOutDesc: prometheus.NewDesc("watercooler_fanout_jobs",
			"Fan-out jobs of writes on a Redis Cluster not yet done, by state: recorded (all of them), overdue (past their writer's grace: left by a process that died, waiting for a worker).",
			[]string{"state"}, nil)}
	for _, n := range names {
		c.queues = append(c.queues, st.Queue(n))
	}
	return c
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.fanOutDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueTimeout)
	defer cancel()
	for i, q := range c.queues {
		st, err := q.Stats(ctx)
		if err != nil {
			// Left out: the Redis error counters say why, and the other figures still go out.
			continue
		}
		for _, v := range []struct {
			state string
			n     int64
		}{{"queued", st.Queued}, {"in_progress", st.Pending}, {"retrying", st.Retrying}, {"dead", st.Dead}} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v.n), c.names[i], v.state)
		}
	}
	if recorded, overdue, err := c.st.FanOutBacklog(ctx, time.Now()); err == nil {
		ch <- prometheus.MustNewConstMetric(c.fanOutDesc, prometheus.GaugeValue, float64(recorded), "recorded")
		ch <- prometheus.MustNewConstMetric(c.fanOutDesc, prometheus.GaugeValue, float64(overdue), "overdue")
	}
}
