/*
 * zmqperf: the libzmq side of the benchmark comparison.
 *
 * Same sub-commands, arguments and output lines as benchmarks/Reliability.Benchmarks, so
 * compare.sh and breadth.sh can run either program (or one of each) against the other and parse
 * the same lines:
 *
 *   zmqperf thr recv ENDPOINT SIZE COUNT   PULL, binds, receives COUNT messages of SIZE bytes
 *   zmqperf thr send ENDPOINT SIZE COUNT   PUSH, connects, sends COUNT messages, lingers
 *   zmqperf thr inproc SIZE COUNT          both in this process over inproc://, on two threads
 *   zmqperf lat echo ENDPOINT SIZE COUNT   REP, binds, echoes COUNT messages
 *   zmqperf lat ping ENDPOINT SIZE COUNT   REQ, connects, COUNT timed round trips
 *   zmqperf lat inproc SIZE COUNT          both in this process over inproc://, on two threads
 *   zmqperf pubsub pub ENDPOINT SIZE COUNT SUBS
 *       XPUB, binds, waits until SUBS subscribers have subscribed, publishes COUNT messages, then
 *       repeats an end marker until the last subscriber has cancelled
 *   zmqperf pubsub sub ENDPOINT SIZE COUNT
 *       SUB, connects, subscribes to everything, receives until COUNT messages or the end marker
 *   zmqperf keygen                         prints a CURVE key pair: "public: Z85" and "secret: Z85"
 *
 * CURVE (benchmarks/curve.sh): the thr and lat roles over tcp/ipc take one leading option,
 *   --curve-secret-key Z85   (recv, echo) the binder is the CURVE server with this secret key
 *   --curve-server-key Z85   (send, ping) the connecter is a CURVE client with a fresh key pair
 *
 * Output (last line, exact):
 *   thr: COUNT msgs of SIZE B in T s: R msg/s, M Mb/s        (thr recv, thr inproc, pubsub sub)
 *   lat: COUNT round trips of SIZE B: mean X us, p50 Y us, p99 Z us   (lat ping, lat inproc)
 *   pub: COUNT msgs of SIZE B to N subscribers in T s: R msg/s        (pubsub pub)
 * pubsub sub prints "sub: received N of COUNT msgs, D dropped" before its thr line, whose COUNT is N.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad arguments.
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

/* In-process endpoints: one pair per process, so fixed names are enough. */
#define INPROC_THR "inproc://thr"
#define INPROC_LAT "inproc://lat"

/*
 * PUB/SUB: a publisher drops what a subscriber's queue cannot take, so SNDHWM and RCVHWM are
 * COUNT (up to this cap): the publisher's queue for each subscriber can hold the whole run and
 * nothing is dropped (the subscriber would report what it lost). Same rule in the .NET program,
 * whose cap is this one.
 */
#define PUBSUB_MAX_HWM 10000000
#define PUBSUB_MAX_SUBS 64
#define PUBSUB_WAIT_MS 60000 /* for every subscription, and again for every cancel after the end marker */
#define PUBSUB_MARKER_EVERY_MS 10

static void usage(void)
{
    fprintf(stderr,
            "usage: zmqperf thr recv|send ENDPOINT SIZE COUNT\n"
            "       zmqperf thr inproc SIZE COUNT\n"
            "       zmqperf lat echo|ping ENDPOINT SIZE COUNT\n"
            "       zmqperf lat inproc SIZE COUNT\n"
            "       zmqperf pubsub pub ENDPOINT SIZE COUNT SUBS\n"
            "       zmqperf pubsub sub ENDPOINT SIZE COUNT\n"
            "  thr recv: PULL, binds ENDPOINT, receives COUNT messages of SIZE bytes, prints throughput\n"
            "  thr send: PUSH, connects to ENDPOINT, sends COUNT messages of SIZE bytes\n"
            "  lat echo: REP, binds ENDPOINT, echoes COUNT messages\n"
            "  lat ping: REQ, connects to ENDPOINT, times COUNT round trips, prints latency\n"
            "  thr|lat inproc: both sides in this process over inproc://, on two threads\n"
            "  pubsub pub: XPUB, binds ENDPOINT, waits for SUBS (1..64) subscribers, publishes COUNT messages\n"
            "  pubsub sub: SUB, connects to ENDPOINT, receives up to COUNT messages, prints throughput and drops\n"
            "  SIZE >= 0 bytes, COUNT >= 1; example: zmqperf thr recv tcp://127.0.0.1:5555 16 1000000\n"
            "       zmqperf keygen   prints a CURVE key pair\n"
            "  CURVE before thr/lat: --curve-secret-key Z85 (recv|echo, server) or --curve-server-key Z85 (send|ping)\n");
}

/* Monotonic clock in nanoseconds. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Process CPU time (user, system) in seconds. */
static void cpu_now(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU cost of the run on stderr (stdout's last line is the contract), same format as the .NET
 * program: CPU per message is far steadier than wall time on a busy machine.
 */
static void report_cpu(double user0, double sys0, long count)
{
    double user, sys;
    cpu_now(&user, &sys);
    user -= user0;
    sys -= sys0;
    fprintf(stderr, "cpu: %.2f us/msg (user %.3f s, sys %.3f s, %ld msgs)\n", (user + sys) * 1e6 / (double)count, user, sys,
            count);
}

/* Strict decimal parse: the whole string must be digits and fit in [min, max]. */
static int parse_long(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    long value;
    if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "zmqperf: %s: %s\n", what, zmq_strerror(zmq_errno()));
    return 1;
}

/* CURVE keys from the command line (Z85, 40 characters + NUL), empty when the run uses NULL security. */
static char curve_secret[41]; /* the binder's: it is the CURVE server */
static char curve_server[41]; /* the connecter's: the server's public key */

/*
 * Makes SOCK a CURVE server (binder) or client (connecter) when a key was given; inproc sockets
 * (the ipc sender's monitor) stay NULL. The client's own key pair is fresh per socket, as a
 * client with ephemeral keys would have. Returns 0, or 1 after printing why.
 */
static int apply_curve(void *sock, const char *endpoint, int bind)
{
    char public_key[41], secret_key[41];
    int on = 1;

    if (strncmp(endpoint, "inproc://", 9) == 0)
        return 0;
    if (bind && curve_secret[0] != '\0') {
        if (zmq_curve_public(public_key, curve_secret) != 0)
            return fail("zmq_curve_public");
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, curve_secret, 40) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, 40) != 0)
            return fail("zmq_setsockopt (CURVE server)");
    } else if (!bind && curve_server[0] != '\0') {
        if (zmq_curve_keypair(public_key, secret_key) != 0)
            return fail("zmq_curve_keypair");
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, curve_server, 40) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, 40) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, 40) != 0)
            return fail("zmq_setsockopt (CURVE client)");
    }
    return 0;
}

/* Whether this libzmq was built with CURVE (libsodium); says so on stderr when not. */
static int has_curve(void)
{
    if (zmq_has("curve"))
        return 1;
    fprintf(stderr, "zmqperf: this libzmq has no CURVE (zmq_has(\"curve\") is false)\n");
    return 0;
}

/* A socket of TYPE bound to (or connected to) ENDPOINT, or NULL after printing why. */
static void *open_socket(void *ctx, int type, const char *endpoint, int bind)
{
    void *sock = zmq_socket(ctx, type);
    if (sock == NULL) {
        fail("zmq_socket");
        return NULL;
    }
    if (apply_curve(sock, endpoint, bind) != 0) {
        zmq_close(sock);
        return NULL;
    }
    if ((bind ? zmq_bind(sock, endpoint) : zmq_connect(sock, endpoint)) != 0) {
        fail(bind ? "zmq_bind" : "zmq_connect");
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void print_thr(long count, long size, uint64_t elapsed_ns)
{
    double seconds = (double)elapsed_ns / 1e9, rate, mbits;
    /* A single message has no interval; avoid dividing by zero. */
    if (seconds <= 0.0)
        seconds = 1e-9;
    rate = (double)count / seconds;
    mbits = rate * (double)size * 8.0 / 1e6;
    printf("thr: %ld msgs of %ld B in %.3f s: %.0f msg/s, %.1f Mb/s\n", count, size, seconds, rate, mbits);
}

/* Receives COUNT single-frame messages of SIZE bytes; *elapsed_ns runs from the first to the last. */
static int recv_loop(void *sock, long size, long count, uint64_t *elapsed_ns)
{
    zmq_msg_t msg;
    uint64_t start = 0;
    long i;
    int rc = 0;

    zmq_msg_init(&msg);
    for (i = 0; i < count; i++) {
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            rc = fail("zmq_msg_recv");
            break;
        }
        /* The clock starts at the first message so connection setup is not measured. */
        if (i == 0)
            start = now_ns();
        if ((long)zmq_msg_size(&msg) != size || zmq_msg_more(&msg)) {
            fprintf(stderr, "zmqperf: message %ld has %zu bytes%s, expected %ld in one frame\n", i,
                    zmq_msg_size(&msg), zmq_msg_more(&msg) ? " and more frames" : "", size);
            rc = 1;
            break;
        }
    }
    *elapsed_ns = now_ns() - start;
    zmq_msg_close(&msg);
    return rc;
}

/* Sends COUNT messages of SIZE bytes, a fresh one each time as an application would (content is not set). */
static int send_loop(void *sock, long size, long count)
{
    zmq_msg_t msg;
    long i;

    for (i = 0; i < count; i++) {
        if (zmq_msg_init_size(&msg, (size_t)size) != 0)
            return fail("zmq_msg_init_size");
        if (zmq_msg_send(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            return fail("zmq_msg_send");
        }
    }
    return 0;
}

/* Answers COUNT requests with themselves. */
static int echo_loop(void *sock, long size, long count)
{
    zmq_msg_t msg;
    long i;
    int rc = 0;

    zmq_msg_init(&msg);
    for (i = 0; i < count; i++) {
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            rc = fail("zmq_msg_recv");
            break;
        }
        if ((long)zmq_msg_size(&msg) != size) {
            fprintf(stderr, "zmqperf: message %ld has %zu bytes, expected %ld\n", i, zmq_msg_size(&msg), size);
            rc = 1;
            break;
        }
        if (zmq_msg_send(&msg, sock, 0) < 0) {
            rc = fail("zmq_msg_send");
            break;
        }
    }
    zmq_msg_close(&msg);
    return rc;
}

/* Makes COUNT timed round trips; samples[i] is the i-th in nanoseconds. */
static int ping_loop(void *sock, long size, long count, uint64_t *samples)
{
    zmq_msg_t msg;
    long i;

    for (i = 0; i < count; i++) {
        uint64_t t0 = now_ns();
        if (zmq_msg_init_size(&msg, (size_t)size) != 0)
            return fail("zmq_msg_init_size");
        if (zmq_msg_send(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            return fail("zmq_msg_send");
        }
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            return fail("zmq_msg_recv");
        }
        samples[i] = now_ns() - t0;
        if ((long)zmq_msg_size(&msg) != size) {
            fprintf(stderr, "zmqperf: reply %ld has %zu bytes, expected %ld\n", i, zmq_msg_size(&msg), size);
            zmq_msg_close(&msg);
            return 1;
        }
        zmq_msg_close(&msg);
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Nearest-rank percentile over a sorted array (the .NET program uses the same rule). The small
 * tolerance keeps 0.99 * 20000 at rank 19800 although 0.99 is not exact in binary.
 */
static uint64_t percentile(const uint64_t *sorted, long n, double p)
{
    long rank = (long)ceil(p * (double)n - 1e-9);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Sorts the samples and prints the lat line. */
static void print_lat(uint64_t *samples, long count, long size)
{
    double total = 0;
    long i;
    for (i = 0; i < count; i++)
        total += (double)samples[i];
    qsort(samples, (size_t)count, sizeof *samples, cmp_u64);
    printf("lat: %ld round trips of %ld B: mean %.1f us, p50 %.1f us, p99 %.1f us\n", count, size,
           total / (double)count / 1e3, (double)percentile(samples, count, 0.50) / 1e3,
           (double)percentile(samples, count, 0.99) / 1e3);
}

static int thr_recv(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = open_socket(ctx, ZMQ_PULL, endpoint, 1);
    uint64_t elapsed;
    int rc;

    if (sock == NULL)
        return 1;
    rc = recv_loop(sock, size, count, &elapsed);
    if (rc == 0)
        print_thr(count, size, elapsed);
    zmq_close(sock);
    return rc;
}

/*
 * libzmq 4.3 can lose the tail of the stream when an ipc:// sender closes while the unix socket's
 * buffer is full, ZMQ_LINGER notwithstanding (libzmq issue #4660; here about 1% of a 200,000
 * message run, so the receiver never finishes). Over ipc the sender therefore keeps its socket
 * open until the receiver, which closes once it has every message, disconnects. Set up before
 * connecting, so the event cannot be missed; returns the monitor's PAIR socket or NULL.
 */
#define SEND_MONITOR "inproc://thr-send-monitor"
#define SEND_WAIT_MS 100000 /* as the .NET sender's linger */

static void *watch_disconnect(void *ctx, void *sock)
{
    void *monitor;
    int timeout = SEND_WAIT_MS;

    if (zmq_socket_monitor(sock, SEND_MONITOR, ZMQ_EVENT_DISCONNECTED) != 0) {
        fail("zmq_socket_monitor");
        return NULL;
    }
    monitor = open_socket(ctx, ZMQ_PAIR, SEND_MONITOR, 0);
    if (monitor != NULL)
        zmq_setsockopt(monitor, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    return monitor;
}

/* Waits for the DISCONNECTED event (two frames: event and value, then the endpoint). */
static int wait_disconnect(void *monitor)
{
    zmq_msg_t frame;
    int rc = 0;

    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, monitor, 0) < 0)
        rc = fail("waiting for the receiver to disconnect");
    else if (zmq_msg_more(&frame) && zmq_msg_recv(&frame, monitor, 0) < 0)
        rc = fail("zmq_msg_recv (monitor)");
    zmq_msg_close(&frame);
    return rc;
}

static int thr_send(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = zmq_socket(ctx, ZMQ_PUSH);
    void *monitor = NULL;
    int linger = -1; /* close waits until every queued message is written */
    int rc;

    if (sock == NULL)
        return fail("zmq_socket");
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (apply_curve(sock, endpoint, 0) != 0)
        rc = 1;
    else if (strncmp(endpoint, "ipc://", 6) == 0 && (monitor = watch_disconnect(ctx, sock)) == NULL)
        rc = 1;
    else if (zmq_connect(sock, endpoint) != 0)
        rc = fail("zmq_connect");
    else
        rc = send_loop(sock, size, count);
    if (monitor != NULL) {
        if (rc == 0)
            rc = wait_disconnect(monitor);
        /* The receiver has gone: whatever is still queued has nowhere to go. */
        linger = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(monitor);
    }
    zmq_close(sock);
    return rc;
}

/* Give the last reply time to leave before the context is torn down. */
static void close_echo(void *sock)
{
    int linger = 5000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(sock);
}

static int lat_echo(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = open_socket(ctx, ZMQ_REP, endpoint, 1);
    int rc;

    if (sock == NULL)
        return 1;
    rc = echo_loop(sock, size, count);
    close_echo(sock);
    return rc;
}

static int lat_ping(void *ctx, const char *endpoint, long size, long count)
{
    uint64_t *samples = malloc((size_t)count * sizeof *samples);
    void *sock;
    int rc;

    if (samples == NULL) {
        fprintf(stderr, "zmqperf: out of memory\n");
        return 1;
    }
    sock = open_socket(ctx, ZMQ_REQ, endpoint, 0);
    if (sock == NULL) {
        free(samples);
        return 1;
    }
    rc = ping_loop(sock, size, count, samples);
    if (rc == 0)
        print_lat(samples, count, size);
    free(samples);
    zmq_close(sock);
    return rc;
}

/* The second thread of an in-process pair: runs one loop on a socket handed over by the main thread. */
struct peer {
    void *sock;
    long size;
    long count;
    int rc;
};

static void *send_peer(void *arg)
{
    struct peer *p = arg;
    p->rc = send_loop(p->sock, p->size, p->count);
    zmq_close(p->sock);
    return NULL;
}

static void *echo_peer(void *arg)
{
    struct peer *p = arg;
    p->rc = echo_loop(p->sock, p->size, p->count);
    close_echo(p->sock);
    return NULL;
}

/*
 * Runs BODY's loop on the main thread against PEER's loop on a second thread. Both sockets are
 * created here (the binding one first); pthread_create is the full memory barrier that libzmq asks
 * for when a socket moves to another thread. If the main loop fails, shutting the context down
 * makes the peer's blocking call return (ETERM) so the join cannot hang.
 */
static int run_inproc(void *ctx, int bind_type, int connect_type, const char *endpoint, int peer_binds,
                      void *(*peer_main)(void *), long size, long count, int (*body)(void *, void *), void *state)
{
    void *bound = open_socket(ctx, bind_type, endpoint, 1);
    void *connected;
    struct peer peer = {NULL, size, count, 0};
    pthread_t thread;
    int rc;

    if (bound == NULL)
        return 1;
    connected = open_socket(ctx, connect_type, endpoint, 0);
    if (connected == NULL) {
        zmq_close(bound);
        return 1;
    }
    peer.sock = peer_binds ? bound : connected;
    if (pthread_create(&thread, NULL, peer_main, &peer) != 0) {
        fprintf(stderr, "zmqperf: pthread_create failed\n");
        zmq_close(bound);
        zmq_close(connected);
        return 1;
    }
    rc = body(peer_binds ? connected : bound, state);
    if (rc != 0)
        zmq_ctx_shutdown(ctx);
    pthread_join(thread, NULL);
    zmq_close(peer_binds ? connected : bound);
    return rc != 0 ? rc : peer.rc;
}

struct inproc_run {
    long size;
    long count;
    uint64_t elapsed_ns;
    uint64_t *samples;
};

static int thr_inproc_body(void *sock, void *state)
{
    struct inproc_run *r = state;
    return recv_loop(sock, r->size, r->count, &r->elapsed_ns);
}

static int lat_inproc_body(void *sock, void *state)
{
    struct inproc_run *r = state;
    return ping_loop(sock, r->size, r->count, r->samples);
}

/* PULL (binds, measures, main thread) and PUSH (connects, second thread) over inproc://. */
static int thr_inproc(void *ctx, long size, long count)
{
    struct inproc_run r = {size, count, 0, NULL};
    int rc = run_inproc(ctx, ZMQ_PULL, ZMQ_PUSH, INPROC_THR, 0, send_peer, size, count, thr_inproc_body, &r);
    if (rc == 0)
        print_thr(count, size, r.elapsed_ns);
    return rc;
}

/* REP (binds, echoes, second thread) and REQ (connects, times, main thread) over inproc://. */
static int lat_inproc(void *ctx, long size, long count)
{
    struct inproc_run r = {size, count, 0, malloc((size_t)count * sizeof(uint64_t))};
    int rc;

    if (r.samples == NULL) {
        fprintf(stderr, "zmqperf: out of memory\n");
        return 1;
    }
    rc = run_inproc(ctx, ZMQ_REP, ZMQ_REQ, INPROC_LAT, 1, echo_peer, size, count, lat_inproc_body, &r);
    if (rc == 0)
        print_lat(r.samples, count, size);
    free(r.samples);
    return rc;
}

/*
 * The next subscription message on an XPUB within its receive timeout: 1 subscribe, 0 cancel,
 * -1 nothing (timeout, or not a subscription message), -2 error.
 */
static int next_subscription(void *sock)
{
    zmq_msg_t msg;
    int kind = -1;

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        zmq_msg_close(&msg);
        return zmq_errno() == EAGAIN ? -1 : -2;
    }
    if (zmq_msg_size(&msg) >= 1 && ((const unsigned char *)zmq_msg_data(&msg))[0] <= 1)
        kind = ((const unsigned char *)zmq_msg_data(&msg))[0];
    zmq_msg_close(&msg);
    return kind;
}

/*
 * XPUB with XPUB_VERBOSE, so that every subscriber's subscription reaches us: publishing starts
 * only once SUBS of them have arrived, i.e. once the publisher routes to every subscriber. After
 * the COUNT messages, a two-frame end marker (data messages have one frame) is repeated every
 * 10 ms, since the high-water mark may drop it too, until the last subscriber's cancel arrives
 * (XPUB reports a cancel only when no subscriber is left).
 */
static int pubsub_hwm(long count)
{
    return count > PUBSUB_MAX_HWM ? PUBSUB_MAX_HWM : (int)count;
}

static int pubsub_pub(void *ctx, const char *endpoint, long size, long count, long subs)
{
    void *sock = zmq_socket(ctx, ZMQ_XPUB);
    int hwm = pubsub_hwm(count), verbose = 1, timeout = PUBSUB_MARKER_EVERY_MS, linger = 0;
    uint64_t deadline, start, end;
    long subscribed = 0;
    int rc = 0, kind = -1;

    if (sock == NULL)
        return fail("zmq_socket");
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    /* By the end every subscriber has gone: nothing is left to deliver. */
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(sock, endpoint) != 0) {
        rc = fail("zmq_bind");
        goto out;
    }
    deadline = now_ns() + (uint64_t)PUBSUB_WAIT_MS * 1000000u;
    while (subscribed < subs) {
        kind = next_subscription(sock);
        if (kind == -2) {
            rc = fail("zmq_msg_recv");
            goto out;
        }
        if (kind == 1)
            subscribed++;
        else if (now_ns() > deadline) {
            fprintf(stderr, "zmqperf: only %ld of %ld subscribers subscribed within %d ms\n", subscribed, subs,
                    PUBSUB_WAIT_MS);
            rc = 1;
            goto out;
        }
    }
    start = now_ns();
    rc = send_loop(sock, size, count);
    end = now_ns();
    if (rc != 0)
        goto out;
    deadline = now_ns() + (uint64_t)PUBSUB_WAIT_MS * 1000000u;
    do {
        if (zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, "", 0, 0) < 0) {
            rc = fail("zmq_send (end marker)");
            goto out;
        }
        kind = next_subscription(sock);
        if (kind == -2) {
            rc = fail("zmq_msg_recv");
            goto out;
        }
        if (kind != 0 && now_ns() > deadline) {
            fprintf(stderr, "zmqperf: subscribers still connected %d ms after the end marker\n", PUBSUB_WAIT_MS);
            rc = 1;
            goto out;
        }
    } while (kind != 0);
    {
        double seconds = (double)(end - start) / 1e9;
        if (seconds <= 0.0)
            seconds = 1e-9;
        printf("pub: %ld msgs of %ld B to %ld subscribers in %.3f s: %.0f msg/s\n", count, size, subs, seconds,
               (double)count / seconds);
    }
out:
    zmq_close(sock);
    return rc;
}

/*
 * SUB: counts the messages that arrive until COUNT have or the end marker does; the clock runs
 * from the first to the last message that arrived. Messages lost at the high-water mark are
 * reported as dropped, not hidden.
 */
static int pubsub_sub(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = zmq_socket(ctx, ZMQ_SUB);
    int hwm = pubsub_hwm(count), linger = 1000; /* the cancel should leave, but never wait for a publisher that has gone */
    uint64_t start = 0, last = 0;
    long received = 0;
    zmq_msg_t msg;
    int rc = 0;

    if (sock == NULL)
        return fail("zmq_socket");
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(sock, endpoint) != 0 || zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0) {
        rc = fail("zmq_connect/ZMQ_SUBSCRIBE");
        goto out;
    }
    zmq_msg_init(&msg);
    while (received < count) {
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            rc = fail("zmq_msg_recv");
            break;
        }
        if (zmq_msg_more(&msg))
            break; /* the end marker */
        last = now_ns();
        if (received == 0)
            start = last;
        if ((long)zmq_msg_size(&msg) != size) {
            fprintf(stderr, "zmqperf: message %ld has %zu bytes, expected %ld\n", received, zmq_msg_size(&msg), size);
            rc = 1;
            break;
        }
        received++;
    }
    zmq_msg_close(&msg);
    /* The publisher waits for the last subscriber's cancel. */
    zmq_setsockopt(sock, ZMQ_UNSUBSCRIBE, "", 0);
    if (rc == 0 && received == 0) {
        fprintf(stderr, "zmqperf: the end marker arrived before any message\n");
        rc = 1;
    }
    if (rc == 0) {
        printf("sub: received %ld of %ld msgs, %ld dropped\n", received, count, count - received);
        print_thr(received, size, last - start);
    }
out:
    zmq_close(sock);
    return rc;
}

int main(int argc, char **argv)
{
    long size, count, subs = 0;
    double user0, sys0;
    void *ctx;
    int rc, inproc = 0, pub = 0, expected_argc, size_arg;
    int (*run)(void *, const char *, long, long) = NULL;
    const char *endpoint;
    char public_key[41], secret_key[41];
    int curve = 0;

    if (argc == 2 && strcmp(argv[1], "keygen") == 0) {
        if (!has_curve())
            return 1;
        if (zmq_curve_keypair(public_key, secret_key) != 0)
            return fail("zmq_curve_keypair");
        printf("public: %s\nsecret: %s\n", public_key, secret_key);
        return 0;
    }
    /* One leading CURVE option; the key must be 40 Z85 characters (libzmq checks the alphabet). */
    if (argc >= 3 && (strcmp(argv[1], "--curve-secret-key") == 0 || strcmp(argv[1], "--curve-server-key") == 0)) {
        if (strlen(argv[2]) != 40) {
            usage();
            return 2;
        }
        if (!has_curve())
            return 1;
        curve = strcmp(argv[1], "--curve-secret-key") == 0 ? 1 : 2; /* 1: server (binder), 2: client */
        memcpy(curve == 1 ? curve_secret : curve_server, argv[2], 41);
        argc -= 2;
        argv += 2;
    }
    if (argc < 5) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "thr") == 0) {
        if (strcmp(argv[2], "recv") == 0)
            run = thr_recv;
        else if (strcmp(argv[2], "send") == 0)
            run = thr_send;
        else if (strcmp(argv[2], "inproc") == 0)
            inproc = 1;
    } else if (strcmp(argv[1], "lat") == 0) {
        if (strcmp(argv[2], "echo") == 0)
            run = lat_echo;
        else if (strcmp(argv[2], "ping") == 0)
            run = lat_ping;
        else if (strcmp(argv[2], "inproc") == 0)
            inproc = 1;
    } else if (strcmp(argv[1], "pubsub") == 0) {
        if (strcmp(argv[2], "sub") == 0)
            run = pubsub_sub;
        else if (strcmp(argv[2], "pub") == 0)
            pub = 1;
    }
    /* inproc has no ENDPOINT argument; pubsub pub has SUBS after COUNT. */
    expected_argc = inproc ? 5 : pub ? 7 : 6;
    size_arg = inproc ? 3 : 4;
    endpoint = inproc ? INPROC_THR : argv[3];
    /* CURVE is for the two-process thr/lat roles, and the key must suit the role: the binder serves. */
    if (curve != 0 && (inproc || pub || run == NULL || run == pubsub_sub ||
                       (curve == 1) != (run == thr_recv || run == lat_echo))) {
        usage();
        return 2;
    }
    if ((run == NULL && !inproc && !pub) || argc != expected_argc || endpoint[0] == '\0' ||
        /* Sizes up to 1 GiB and counts up to 1e9 keep every product below in double/size_t range. */
        parse_long(argv[size_arg], 0, 1L << 30, &size) != 0 ||
        parse_long(argv[size_arg + 1], 1, 1000000000L, &count) != 0 ||
        (pub && parse_long(argv[6], 1, PUBSUB_MAX_SUBS, &subs) != 0)) {
        usage();
        return 2;
    }

    /* The window covers the context's I/O thread and its teardown (the sender's linger flush). */
    cpu_now(&user0, &sys0);
    ctx = zmq_ctx_new();
    if (ctx == NULL)
        return fail("zmq_ctx_new");
    if (inproc)
        rc = argv[1][0] == 't' ? thr_inproc(ctx, size, count) : lat_inproc(ctx, size, count);
    else if (pub)
        rc = pubsub_pub(ctx, endpoint, size, count, subs);
    else
        rc = run(ctx, endpoint, size, count);
    zmq_ctx_term(ctx);
    if (rc == 0)
        report_cpu(user0, sys0, count);
    return rc;
}
