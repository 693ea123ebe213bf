/*
 * zmqperf: the libzmq side of the benchmark comparison.
 *
 * Same four sub-commands, arguments and output lines as benchmarks/Reliability.Benchmarks, so
 * compare.sh can run either program (or one of each) against the other and parse the same
 * lines:
 *
 *   zmqperf thr recv ENDPOINT SIZE COUNT   PULL, binds, receives COUNT messages of SIZE bytes
 *   zmqperf thr send ENDPOINT SIZE COUNT   PUSH, connects, sends COUNT messages, lingers
 *   zmqperf lat echo ENDPOINT SIZE COUNT   REP, binds, echoes COUNT messages
 *   zmqperf lat ping ENDPOINT SIZE COUNT   REQ, connects, COUNT timed round trips
 *
 * Output (last line, exact):
 *   thr: COUNT msgs of SIZE B in T s: R msg/s, M Mb/s
 *   lat: COUNT round trips of SIZE B: mean X us, p50 Y us, p99 Z us
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad arguments.
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: zmqperf thr recv|send ENDPOINT SIZE COUNT\n"
            "       zmqperf lat echo|ping ENDPOINT SIZE COUNT\n"
            "  thr recv: PULL, binds ENDPOINT, receives COUNT messages of SIZE bytes, prints throughput\n"
            "  thr send: PUSH, connects to ENDPOINT, sends COUNT messages of SIZE bytes\n"
            "  lat echo: REP, binds ENDPOINT, echoes COUNT messages\n"
            "  lat ping: REQ, connects to ENDPOINT, times COUNT round trips, prints latency\n"
            "  SIZE >= 0 bytes, COUNT >= 1; example: zmqperf thr recv tcp://127.0.0.1:5555 16 1000000\n");
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

static int thr_recv(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = zmq_socket(ctx, ZMQ_PULL);
    zmq_msg_t msg;
    uint64_t start = 0, end;
    double seconds, rate, mbits;
    long i;
    int rc = 0;

    if (sock == NULL)
        return fail("zmq_socket");
    if (zmq_bind(sock, endpoint) != 0) {
        rc = fail("zmq_bind");
        goto out;
    }
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
    end = now_ns();
    zmq_msg_close(&msg);
    if (rc == 0) {
        seconds = (double)(end - start) / 1e9;
        /* A single message has no interval; avoid dividing by zero. */
        if (seconds <= 0.0)
            seconds = 1e-9;
        rate = (double)count / seconds;
        mbits = rate * (double)size * 8.0 / 1e6;
        printf("thr: %ld msgs of %ld B in %.3f s: %.0f msg/s, %.1f Mb/s\n", count, size, seconds, rate, mbits);
    }
out:
    zmq_close(sock);
    return rc;
}

static int thr_send(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = zmq_socket(ctx, ZMQ_PUSH);
    int linger = -1; /* close waits until every queued message is written */
    zmq_msg_t msg;
    long i;
    int rc = 0;

    if (sock == NULL)
        return fail("zmq_socket");
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(sock, endpoint) != 0) {
        rc = fail("zmq_connect");
        goto out;
    }
    for (i = 0; i < count; i++) {
        /* A fresh message each time, as an application would build one (content is not set). */
        if (zmq_msg_init_size(&msg, (size_t)size) != 0) {
            rc = fail("zmq_msg_init_size");
            break;
        }
        if (zmq_msg_send(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            rc = fail("zmq_msg_send");
            break;
        }
    }
out:
    zmq_close(sock);
    return rc;
}

static int lat_echo(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = zmq_socket(ctx, ZMQ_REP);
    zmq_msg_t msg;
    long i;
    int rc = 0;

    if (sock == NULL)
        return fail("zmq_socket");
    if (zmq_bind(sock, endpoint) != 0) {
        rc = fail("zmq_bind");
        goto out;
    }
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
out:
    {
        /* Give the last reply time to leave before the context is torn down. */
        int linger = 5000;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    }
    zmq_close(sock);
    return rc;
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

static int lat_ping(void *ctx, const char *endpoint, long size, long count)
{
    void *sock = zmq_socket(ctx, ZMQ_REQ);
    uint64_t *samples = malloc((size_t)count * sizeof *samples);
    zmq_msg_t msg;
    long i;
    int rc = 0;
    double total = 0;

    if (sock == NULL || samples == NULL) {
        free(samples);
        if (sock != NULL)
            zmq_close(sock);
        fprintf(stderr, "zmqperf: out of memory or no socket\n");
        return 1;
    }
    if (zmq_connect(sock, endpoint) != 0) {
        rc = fail("zmq_connect");
        goto out;
    }
    for (i = 0; i < count; i++) {
        uint64_t t0 = now_ns();
        if (zmq_msg_init_size(&msg, (size_t)size) != 0) {
            rc = fail("zmq_msg_init_size");
            break;
        }
        if (zmq_msg_send(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            rc = fail("zmq_msg_send");
            break;
        }
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            rc = fail("zmq_msg_recv");
            break;
        }
        samples[i] = now_ns() - t0;
        if ((long)zmq_msg_size(&msg) != size) {
            fprintf(stderr, "zmqperf: reply %ld has %zu bytes, expected %ld\n", i, zmq_msg_size(&msg), size);
            zmq_msg_close(&msg);
            rc = 1;
            break;
        }
        zmq_msg_close(&msg);
    }
    if (rc == 0) {
        for (i = 0; i < count; i++)
            total += (double)samples[i];
        qsort(samples, (size_t)count, sizeof *samples, cmp_u64);
        printf("lat: %ld round trips of %ld B: mean %.1f us, p50 %.1f us, p99 %.1f us\n", count, size,
               total / (double)count / 1e3, (double)percentile(samples, count, 0.50) / 1e3,
               (double)percentile(samples, count, 0.99) / 1e3);
    }
out:
    free(samples);
    zmq_close(sock);
    return rc;
}

int main(int argc, char **argv)
{
    long size, count;
    double user0, sys0;
    void *ctx;
    int rc;
    int (*run)(void *, const char *, long, long) = NULL;

    if (argc != 6) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "thr") == 0) {
        if (strcmp(argv[2], "recv") == 0)
            run = thr_recv;
        else if (strcmp(argv[2], "send") == 0)
            run = thr_send;
    } else if (strcmp(argv[1], "lat") == 0) {
        if (strcmp(argv[2], "echo") == 0)
            run = lat_echo;
        else if (strcmp(argv[2], "ping") == 0)
            run = lat_ping;
    }
    /* Sizes up to 1 GiB and counts up to 1e9 keep every product below in double/size_t range. */
    if (run == NULL || argv[3][0] == '\0' || parse_long(argv[4], 0, 1L << 30, &size) != 0 ||
        parse_long(argv[5], 1, 1000000000L, &count) != 0) {
        usage();
        return 2;
    }

    /* The window covers the context's I/O thread and its teardown (the sender's linger flush). */
    cpu_now(&user0, &sys0);
    ctx = zmq_ctx_new();
    if (ctx == NULL)
        return fail("zmq_ctx_new");
    rc = run(ctx, argv[3], size, count);
    zmq_ctx_term(ctx);
    if (rc == 0)
        report_cpu(user0, sys0, count);
    return rc;
}
