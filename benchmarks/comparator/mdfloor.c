/*
 * mdfloor: the kernel floor of the Majordomo request-reply pattern on this machine.
 *
 * The same topology and message counts as the broker benchmark (benchmarks/broker.sh) with the
 * cheapest implementation we can write: plain loopback TCP, no ZeroMQ, no MDP. What it costs is
 * (almost) only what the operating system charges for moving the messages and waking the
 * processes, so it bounds what any broker implementation can reach here.
 *
 *   client --request--> broker --request+tag--> worker (echo)
 *   client <--reply---- broker <--reply+tag---- worker
 *
 * Processes (all fork()ed from this one, single-threaded each):
 *   - broker: one epoll loop (level-triggered), non-blocking sockets, one read() of up to 64 KiB
 *     per readable connection, every complete record handled; idle workers in an LRU queue,
 *     requests waiting in a FIFO while no worker is idle; a worker gets its next request only
 *     after its reply (lock step, as a Majordomo worker); replies to a client connection are
 *     collected and written once at the end of the epoll batch; writes go straight out and are
 *     buffered only on EAGAIN (then EPOLLOUT).
 *   - N workers: blocking read of one record, blocking write of the same bytes. Nothing else.
 *   - client (the parent): W requests outstanding over C connections (C = W: one per connection;
 *     C = 1: all W pipelined on one connection), epoll, the requests a connection sends in one
 *     pass written with one write(); every reply is checked against its request.
 *
 * Wire format: records of a 4-byte little-endian length and the payload. The first record of a
 * connection is "worker" or "client"; the broker answers every client connection "ready" once
 * all N workers have registered, so the warm-up never runs with fewer workers. To a worker the
 * broker prepends a 4-byte tag (the client connection's index) to the payload; the worker echoes
 * the record unchanged and the broker strips the tag and writes the payload to that client.
 * A request's payload is its number (4 bytes, little-endian) followed by bytes derived from it.
 *
 * Usage: mdfloor [--workers N] [--requests R] [--window W] [--connections C] [--size B]
 * Output (stdout, the last line exact):
 *   cpu us/req: client X, broker Y, workers Z, total T (...)
 *   mdfloor: R requests, N workers, W window, C connections: X req/s
 * Exit codes: 0 ok, 1 runtime failure (including a wrong reply), 2 bad arguments.
 *
 * Linux only (epoll, prctl, /proc). Every process is bounded by alarm(120); the broker exits when
 * the parent's pipe closes, the workers when the broker's connection closes.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536        /* the most one read() asks for */
#define HDR 4                   /* record length prefix */
#define TAG 4                   /* client connection index the broker prepends for a worker */
#define RUN_LIMIT_S 120         /* alarm() in every process */
#define MAX_EVENTS 256

/* Settings shared by every process (set before the forks). */
static int g_workers = 2;
static long g_requests = 100000;
static int g_window = 100;
static int g_connections = -1;  /* -1: same as the window */
static long g_size = 16;
static uint32_t g_max_payload;  /* largest payload on any connection: size + tag */
static const char *g_role = "client";
static pid_t *g_pids;           /* the parent's children (broker first), to stop them on failure */
static int g_npids;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail_errno(const char *what) __attribute__((noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mdfloor %s: ", g_role);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (g_pids != NULL) {       /* the parent: stop and reap its own children */
        for (int i = 0; i < g_npids; i++)
            if (g_pids[i] > 0)
                kill(g_pids[i], SIGKILL);
        for (int i = 0; i < g_npids; i++)
            if (g_pids[i] > 0)
                waitpid(g_pids[i], NULL, 0);
    }
    _exit(1);
}

static void fail_errno(const char *what)
{
    fail("%s: %s", what, strerror(errno));
}

static inline uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* ---------------------------------------------------------------- buffers */

/* Bytes p[off, len) are pending; input buffers keep off at 0. */
struct buf {
    unsigned char *p;
    size_t off, len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + extra <= b->cap)
            return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL)
        fail("out of memory");
    b->p = p;
    b->cap = cap;
}

static void buf_init(struct buf *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    buf_reserve(b, cap);
}

/* Appends one record (header + the parts) to an output buffer. */
static void buf_put_record(struct buf *b, const unsigned char *tag, const unsigned char *payload,
                           uint32_t len)
{
    uint32_t total = len + (tag ? TAG : 0);
    buf_reserve(b, HDR + (size_t)total);
    unsigned char *w = b->p + b->len;
    put_le32(w, total);
    w += HDR;
    if (tag) {
        memcpy(w, tag, TAG);
        w += TAG;
    }
    memcpy(w, payload, len);
    b->len += HDR + (size_t)total;
}

/* Writes what is pending. 0: all written; 1: the socket is full (the rest stays); -1: error. */
static int buf_flush(struct buf *b, int fd)
{
    while (b->off < b->len) {
        ssize_t n = write(fd, b->p + b->off, b->len - b->off);
        if (n > 0) {
            b->off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 1;
        } else {
            return -1;
        }
    }
    b->off = b->len = 0;
    return 0;
}

/* One read() of at most READ_CHUNK into an input buffer. >0 bytes read, 0 EOF, -1 EAGAIN, -2 error. */
static ssize_t buf_read(struct buf *b, int fd)
{
    size_t room = b->cap - b->len;
    if (room > READ_CHUNK)
        room = READ_CHUNK;
    for (;;) {
        ssize_t n = read(fd, b->p + b->len, room);
        if (n > 0) {
            b->len += (size_t)n;
            return n;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1;
        return -2;
    }
}

/* Input buffers hold a whole record of the largest size plus a full read: after the complete
 * records are consumed, less than one record is left, so there is always READ_CHUNK of room. */
static size_t in_capacity(void)
{
    return READ_CHUNK + HDR + (size_t)g_max_payload;
}

static void buf_consume(struct buf *b, size_t n)
{
    if (n == 0)
        return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* ---------------------------------------------------------------- sockets */

static void set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        fail_errno("setsockopt TCP_NODELAY");
}

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        fail_errno("fcntl O_NONBLOCK");
}

static int connect_loopback(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail_errno("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno != EINTR)
            fail_errno("connect 127.0.0.1");
    }
    set_nodelay(fd);
    return fd;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            fail_errno("write");
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_hello(int fd, const char *what)
{
    unsigned char rec[HDR + 6];
    put_le32(rec, 6);
    memcpy(rec + HDR, what, 6);
    write_all(fd, rec, sizeof rec);
}

/* ---------------------------------------------------------------- broker */

enum kind { K_NEW, K_CLIENT, K_WORKER };

struct conn {
    int fd;
    enum kind kind;
    int dead;           /* closed; events already returned for it are ignored */
    int want_out;       /* EPOLLOUT registered (the socket was full) */
    int dirty;          /* in the flush list of this epoll batch */
    int waiting_ready;  /* client that has not been told "ready" yet */
    uint32_t client_id;
    struct buf in, out;
};

static struct {
    int ep;
    int registered;             /* workers that said hello */
    struct conn **idle;         /* LRU ring of idle workers */
    int idle_head, idle_count;
    struct buf pending;         /* framed requests (header + tag + payload) waiting for a worker */
    struct conn **clients;      /* by client id; NULL once closed */
    uint32_t nclients, clients_cap;
    struct conn **dirty;        /* client connections with replies to write at the end of the batch */
    int ndirty, dirty_cap;
} B;

/* The complete record at *pos of b, if there is one: its payload and length, *pos moved past it. */
static int next_record(const struct buf *b, size_t *pos, const unsigned char **payload, uint32_t *len)
{
    if (b->len - *pos < HDR)
        return 0;
    uint32_t n = get_le32(b->p + *pos);
    if (n > g_max_payload)
        fail("record of %u bytes (most: %u)", n, g_max_payload);
    if (b->len - *pos - HDR < n)
        return 0;
    *payload = b->p + *pos + HDR;
    *len = n;
    *pos += HDR + (size_t)n;
    return 1;
}

/* Registers (on = 1) or drops (on = 0) EPOLLOUT interest for a connection whose data.ptr is owner. */
static void set_want_out(int ep, int fd, void *owner, int *want_out, int on)
{
    if (*want_out == on)
        return;
    struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = owner };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
        fail_errno("epoll_ctl MOD");
    *want_out = on;
}

static void broker_set_out(struct conn *c, int on)
{
    set_want_out(B.ep, c->fd, c, &c->want_out, on);
}

static void broker_close(struct conn *c)
{
    if (c->kind == K_WORKER)
        fail("a worker disconnected");
    if (c->kind == K_CLIENT)
        B.clients[c->client_id] = NULL;
    close(c->fd);   /* also removes it from the epoll set; the struct stays (events may refer to it) */
    c->dead = 1;
}

/* Writes a connection's output now (workers) unless it is already waiting for EPOLLOUT. */
static void broker_flush(struct conn *c)
{
    if (c->dead || c->want_out)
        return;
    int r = buf_flush(&c->out, c->fd);
    if (r > 0)
        broker_set_out(c, 1);
    else if (r < 0)
        broker_close(c);
}

static void broker_mark_dirty(struct conn *c)
{
    if (c->dirty)
        return;
    if (B.ndirty == B.dirty_cap) {
        B.dirty_cap = B.dirty_cap ? B.dirty_cap * 2 : 64;
        B.dirty = realloc(B.dirty, sizeof *B.dirty * (size_t)B.dirty_cap);
        if (B.dirty == NULL)
            fail("out of memory");
    }
    B.dirty[B.ndirty++] = c;
    c->dirty = 1;
}

static void broker_send_ready(struct conn *c)
{
    buf_put_record(&c->out, NULL, (const unsigned char *)"ready", 5);
    c->waiting_ready = 0;
    broker_mark_dirty(c);
}

/* A worker is free (hello or reply): it takes the oldest waiting request, or joins the idle queue. */
static void broker_worker_free(struct conn *w)
{
    struct buf *q = &B.pending;
    if (q->off < q->len) {
        size_t rec = HDR + (size_t)get_le32(q->p + q->off);
        buf_reserve(&w->out, rec);
        memcpy(w->out.p + w->out.len, q->p + q->off, rec);
        w->out.len += rec;
        q->off += rec;
        if (q->off == q->len)
            q->off = q->len = 0;
        broker_flush(w);
        return;
    }
    if (B.idle_count == g_workers)
        fail("more workers than --workers");
    B.idle[(B.idle_head + B.idle_count) % g_workers] = w;
    B.idle_count++;
}

static void broker_record(struct conn *c, const unsigned char *p, uint32_t len)
{
    if (c->kind == K_CLIENT) {
        if (len > (uint32_t)g_size)
            fail("request of %u bytes from a client (most: %ld)", len, g_size);
        unsigned char tag[TAG];
        put_le32(tag, c->client_id);
        if (B.idle_count > 0) {
            struct conn *w = B.idle[B.idle_head];
            B.idle_head = (B.idle_head + 1) % g_workers;
            B.idle_count--;
            buf_put_record(&w->out, tag, p, len);
            broker_flush(w);
        } else {
            buf_put_record(&B.pending, tag, p, len);
        }
    } else if (c->kind == K_WORKER) {
        if (len < TAG)
            fail("short reply from a worker");
        uint32_t id = get_le32(p);
        if (id >= B.nclients)
            fail("reply with an unknown tag %u", id);
        struct conn *to = B.clients[id];
        if (to != NULL) {   /* a closed client's replies are dropped */
            buf_put_record(&to->out, NULL, p + TAG, len - TAG);
            broker_mark_dirty(to);
        }
        broker_worker_free(c);
    } else if (len == 6 && memcmp(p, "worker", 6) == 0) {
        c->kind = K_WORKER;
        broker_worker_free(c);
        if (++B.registered == g_workers) {
            for (uint32_t i = 0; i < B.nclients; i++)
                if (B.clients[i] != NULL && B.clients[i]->waiting_ready)
                    broker_send_ready(B.clients[i]);
        }
    } else if (len == 6 && memcmp(p, "client", 6) == 0) {
        c->kind = K_CLIENT;
        if (B.nclients == B.clients_cap) {
            B.clients_cap = B.clients_cap ? B.clients_cap * 2 : 64;
            B.clients = realloc(B.clients, sizeof *B.clients * B.clients_cap);
            if (B.clients == NULL)
                fail("out of memory");
        }
        c->client_id = B.nclients;
        B.clients[B.nclients++] = c;
        c->waiting_ready = 1;
        if (B.registered >= g_workers)
            broker_send_ready(c);
    } else {
        fail("first record of a connection is neither \"worker\" nor \"client\"");
    }
}

static void broker_readable(struct conn *c)
{
    ssize_t n = buf_read(&c->in, c->fd);
    if (n == -1)
        return;                 /* level-triggered: nothing there after all */
    if (n == 0 || n == -2) {
        broker_close(c);
        return;
    }
    size_t pos = 0;
    const unsigned char *payload;
    uint32_t len;
    while (next_record(&c->in, &pos, &payload, &len))
        broker_record(c, payload, len);
    buf_consume(&c->in, pos);
}

static void broker_accept(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            fail_errno("accept");
        }
        set_nodelay(fd);
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL)
            fail("out of memory");
        c->fd = fd;
        c->kind = K_NEW;
        buf_init(&c->in, in_capacity());
        buf_init(&c->out, 4096);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(B.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            fail_errno("epoll_ctl ADD");
    }
}

static void broker_main(int lfd, int parent_fd) __attribute__((noreturn));
static void broker_main(int lfd, int parent_fd)
{
    static char listener_mark, parent_mark;
    B.ep = epoll_create1(EPOLL_CLOEXEC);
    if (B.ep < 0)
        fail_errno("epoll_create1");
    B.idle = calloc((size_t)g_workers, sizeof *B.idle);
    if (B.idle == NULL)
        fail("out of memory");
    buf_init(&B.pending, 4096);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listener_mark };
    if (epoll_ctl(B.ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        fail_errno("epoll_ctl ADD listener");
    ev.data.ptr = &parent_mark;
    if (epoll_ctl(B.ep, EPOLL_CTL_ADD, parent_fd, &ev) != 0)
        fail_errno("epoll_ctl ADD parent pipe");

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(B.ep, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail_errno("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &listener_mark) {
                broker_accept(lfd);
                continue;
            }
            if (p == &parent_mark)
                _exit(0);       /* the parent never writes: readable means it closed the pipe */
            struct conn *c = p;
            if (c->dead)
                continue;
            if ((evs[i].events & EPOLLOUT) && c->want_out) {
                int r = buf_flush(&c->out, c->fd);
                if (r == 0)
                    broker_set_out(c, 0);
                else if (r < 0)
                    broker_close(c);
            }
            if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                broker_readable(c);
        }
        /* one write per client connection for all the replies of this batch */
        for (int i = 0; i < B.ndirty; i++) {
            B.dirty[i]->dirty = 0;
            broker_flush(B.dirty[i]);
        }
        B.ndirty = 0;
    }
}

/* ---------------------------------------------------------------- worker */

static void worker_main(uint16_t port) __attribute__((noreturn));
static void worker_main(uint16_t port)
{
    int fd = connect_loopback(port);
    struct buf in;
    buf_init(&in, in_capacity());
    send_hello(fd, "worker");
    for (;;) {
        uint32_t len = 0;
        while (in.len < HDR || in.len - HDR < (len = get_le32(in.p))) {
            if (len > g_max_payload)
                fail("record of %u bytes (most: %u)", len, g_max_payload);
            ssize_t n = buf_read(&in, fd);
            if (n == 0)
                _exit(0);       /* the broker closed: the run is over */
            if (n < 0)
                fail_errno("read");
        }
        if (len > g_max_payload)
            fail("record of %u bytes (most: %u)", len, g_max_payload);
        write_all(fd, in.p, HDR + (size_t)len);
        buf_consume(&in, HDR + (size_t)len);
    }
}

/* ---------------------------------------------------------------- client */

struct cconn {
    int fd;
    int want_out;
    int ready;
    struct buf in, out;
    uint32_t *outstanding;  /* ring of request numbers in flight, oldest first */
    int head, count, quota;
};

static struct {
    int ep;
    struct cconn *c;
    uint32_t next, end;     /* next request number to send, first one not to send */
    uint32_t received;
    int nready;
    unsigned char *expect;  /* scratch payload to compare replies with */
} C;

static void make_payload(unsigned char *p, uint32_t n)
{
    put_le32(p, n);
    for (long i = 4; i < g_size; i++)
        p[i] = (unsigned char)(n * 31u + (uint32_t)i);
}

static void client_set_out(struct cconn *c, int on)
{
    set_want_out(C.ep, c->fd, c, &c->want_out, on);
}

static void client_flush(struct cconn *c)
{
    if (c->want_out || c->out.off == c->out.len)
        return;
    int r = buf_flush(&c->out, c->fd);
    if (r > 0)
        client_set_out(c, 1);
    else if (r < 0)
        fail_errno("write to the broker");
}

static void client_queue_request(struct cconn *c)
{
    uint32_t n = C.next++;
    buf_reserve(&c->out, HDR + (size_t)g_size);
    unsigned char *w = c->out.p + c->out.len;
    put_le32(w, (uint32_t)g_size);
    make_payload(w + HDR, n);
    c->out.len += HDR + (size_t)g_size;
    c->outstanding[(c->head + c->count) % c->quota] = n;
    c->count++;
}

static void client_reply(struct cconn *c, const unsigned char *p, uint32_t len)
{
    if (!c->ready) {
        if (len != 5 || memcmp(p, "ready", 5) != 0)
            fail("expected \"ready\" from the broker");
        c->ready = 1;
        C.nready++;
        return;
    }
    if (len != (uint32_t)g_size)
        fail("reply of %u bytes, expected %ld", len, g_size);
    uint32_t n = get_le32(p);
    make_payload(C.expect, n);
    if (memcmp(p, C.expect, (size_t)g_size) != 0)
        fail("reply to request %u does not match the request", n);
    /* must be in flight on this connection; usually the oldest one */
    int k = 0;
    while (k < c->count && c->outstanding[(c->head + k) % c->quota] != n)
        k++;
    if (k == c->count)
        fail("reply to request %u, which is not outstanding on this connection", n);
    for (; k > 0; k--)
        c->outstanding[(c->head + k) % c->quota] = c->outstanding[(c->head + k - 1) % c->quota];
    c->head = (c->head + 1) % c->quota;
    c->count--;
    C.received++;
    if (C.next < C.end)
        client_queue_request(c);
}

static void client_readable(struct cconn *c)
{
    ssize_t n = buf_read(&c->in, c->fd);
    if (n == -1)
        return;
    if (n == 0)
        fail("the broker closed a connection");
    if (n == -2)
        fail_errno("read from the broker");
    size_t pos = 0;
    const unsigned char *payload;
    uint32_t len;
    while (next_record(&c->in, &pos, &payload, &len))
        client_reply(c, payload, len);
    buf_consume(&c->in, pos);
    client_flush(c);    /* the requests this batch of replies made room for, in one write */
}

static void client_poll(void)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(C.ep, evs, MAX_EVENTS, -1);
    if (n < 0) {
        if (errno == EINTR)
            return;
        fail_errno("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
        struct cconn *c = evs[i].data.ptr;
        if ((evs[i].events & EPOLLOUT) && c->want_out) {
            int r = buf_flush(&c->out, c->fd);
            if (r == 0)
                client_set_out(c, 0);
            else if (r < 0)
                fail_errno("write to the broker");
        }
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            client_readable(c);
    }
}

/* Sends requests first .. first+count-1 with the window spread over the connections and waits
 * for every reply. */
static void client_phase(uint32_t first, uint32_t count)
{
    C.next = first;
    C.end = first + count;
    C.received = 0;
    for (int i = 0; i < g_connections; i++) {
        struct cconn *c = &C.c[i];
        for (int j = 0; j < c->quota && C.next < C.end; j++)
            client_queue_request(c);
        client_flush(c);
    }
    while (C.received < count)
        client_poll();
}

/* ---------------------------------------------------------------- CPU time */

struct cpu {
    double user, sys;
};

static struct cpu cpu_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        fail_errno("getrusage");
    struct cpu r = {
        ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
        ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
    };
    return r;
}

static struct cpu cpu_of(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_errno(path);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')');   /* the command name may hold spaces and parentheses */
    unsigned long ut, st;
    if (p == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        fail("cannot parse %s", path);
    double tick = (double)sysconf(_SC_CLK_TCK);
    struct cpu r = { ut / tick, st / tick };
    return r;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mdfloor [--workers N] [--requests R] [--window W] [--connections C] [--size B]\n"
            "  --workers N      echo worker processes (1..64, default 2)\n"
            "  --requests R     measured requests (1..100000000, default 100000), after a warm-up\n"
            "                   of 10%% of R (at least 2000)\n"
            "  --window W       requests the client keeps outstanding (1..10000, default 100)\n"
            "  --connections C  client connections the window is spread over (1..min(W, 1000),\n"
            "                   default W: one request per connection; 1: all W pipelined)\n"
            "  --size B         request payload in bytes (4..1048576, default 16)\n");
}

static long parse_num(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "mdfloor: %s must be %ld..%ld (was '%s')\n", opt, lo, hi, s);
        usage(stderr);
        exit(2);
    }
    return v;
}

static pid_t g_parent;

static void child_setup(const char *role)
{
    g_role = role;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("prctl");
    if (getppid() != g_parent)
        _exit(1);
    alarm(RUN_LIMIT_S);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mdfloor: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--workers") == 0)
            g_workers = (int)parse_num(a, v, 1, 64);
        else if (strcmp(a, "--requests") == 0)
            g_requests = parse_num(a, v, 1, 100000000);
        else if (strcmp(a, "--window") == 0)
            g_window = (int)parse_num(a, v, 1, 10000);
        else if (strcmp(a, "--connections") == 0)
            g_connections = (int)parse_num(a, v, 1, 1000);
        else if (strcmp(a, "--size") == 0)
            g_size = parse_num(a, v, 4, 1048576);
        else {
            fprintf(stderr, "mdfloor: unknown option: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (g_connections < 0)
        g_connections = g_window;
    if (g_connections > g_window || g_connections > 1000) {
        fprintf(stderr, "mdfloor: --connections must be 1..min(W, 1000) (was %d with window %d)\n",
                g_connections, g_window);
        return 2;
    }
    g_max_payload = (uint32_t)g_size + TAG;
    long warmup = g_requests / 10 < 2000 ? 2000 : g_requests / 10;

    alarm(RUN_LIMIT_S);
    signal(SIGPIPE, SIG_IGN);
    g_parent = getpid();

    /* listening socket first, so the workers and the client can connect at once */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        fail_errno("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        fail_errno("listen on 127.0.0.1");
    uint16_t port = ntohs(a.sin_port);

    int pipefd[2];  /* the broker's lifeline: it exits when the parent closes the write end */
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        fail_errno("pipe");
    fflush(stdout);
    fflush(stderr);

    int nchildren = 1 + g_workers;
    pid_t *pids = calloc((size_t)nchildren, sizeof *pids);
    if (pids == NULL)
        fail("out of memory");
    pids[0] = fork();
    if (pids[0] < 0)
        fail_errno("fork");
    if (pids[0] == 0) {
        free(pids);
        close(pipefd[1]);
        child_setup("broker");
        broker_main(lfd, pipefd[0]);
    }
    g_pids = pids;
    g_npids = 1;
    close(lfd);
    close(pipefd[0]);
    for (int i = 1; i < nchildren; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            fail_errno("fork");
        if (pids[i] == 0) {
            g_pids = NULL;
            close(pipefd[1]);
            child_setup("worker");
            worker_main(port);
        }
        g_npids = i + 1;
    }

    /* client */
    C.ep = epoll_create1(EPOLL_CLOEXEC);
    if (C.ep < 0)
        fail_errno("epoll_create1");
    C.c = calloc((size_t)g_connections, sizeof *C.c);
    C.expect = malloc((size_t)g_size);
    if (C.c == NULL || C.expect == NULL)
        fail("out of memory");
    for (int i = 0; i < g_connections; i++) {
        struct cconn *c = &C.c[i];
        c->quota = g_window / g_connections + (i < g_window % g_connections ? 1 : 0);
        c->outstanding = calloc((size_t)c->quota, sizeof *c->outstanding);
        if (c->outstanding == NULL)
            fail("out of memory");
        buf_init(&c->in, in_capacity());
        buf_init(&c->out, (size_t)c->quota * (HDR + (size_t)g_size));
        c->fd = connect_loopback(port);
        send_hello(c->fd, "client");
        set_nonblocking(c->fd);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(C.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            fail_errno("epoll_ctl ADD");
    }
    while (C.nready < g_connections)    /* every worker has registered */
        client_poll();

    client_phase(0, (uint32_t)warmup);

    struct cpu c0 = cpu_self(), b0 = cpu_of(pids[0]), w0 = { 0, 0 };
    for (int i = 1; i < nchildren; i++) {
        struct cpu w = cpu_of(pids[i]);
        w0.user += w.user;
        w0.sys += w.sys;
    }
    double t0 = now_s();
    client_phase((uint32_t)warmup, (uint32_t)g_requests);
    double t1 = now_s();
    struct cpu c1 = cpu_self(), b1 = cpu_of(pids[0]), w1 = { 0, 0 };
    for (int i = 1; i < nchildren; i++) {
        struct cpu w = cpu_of(pids[i]);
        w1.user += w.user;
        w1.sys += w.sys;
    }

    /* stop: the broker sees the pipe close, the workers then see the broker's connections close */
    for (int i = 0; i < g_connections; i++)
        close(C.c[i].fd);
    close(pipefd[1]);
    int failed = 0;
    g_pids = NULL;
    for (int i = 0; i < nchildren; i++) {
        int st;
        while (waitpid(pids[i], &st, 0) < 0) {
            if (errno != EINTR)
                fail_errno("waitpid");
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "mdfloor: %s (pid %d) ended with status 0x%x\n",
                    i == 0 ? "broker" : "worker", (int)pids[i], st);
            failed = 1;
        }
    }
    if (failed)
        return 1;

    double r = (double)g_requests, us = 1e6 / r;
    double client = (c1.user - c0.user + c1.sys - c0.sys) * us;
    double broker = (b1.user - b0.user + b1.sys - b0.sys) * us;
    double workers = (w1.user - w0.user + w1.sys - w0.sys) * us;
    double sys = (c1.sys - c0.sys + b1.sys - b0.sys + w1.sys - w0.sys) * us;
    fprintf(stderr, "mdfloor: %ld B payload, %ld warm-up requests, %ld measured in %.3f s\n",
            g_size, warmup, g_requests, t1 - t0);
    printf("cpu us/req: client %.2f, broker %.2f, workers %.2f, total %.2f (sys %.2f of it; "
           "utime+stime over the measured phase: client getrusage, broker and workers "
           "/proc/PID/stat in %.0f ms ticks)\n",
           client, broker, workers, client + broker + workers, sys,
           1000.0 / (double)sysconf(_SC_CLK_TCK));
    printf("mdfloor: %ld requests, %d workers, %d window, %d connections: %.0f req/s\n",
           g_requests, g_workers, g_window, g_connections, r / (t1 - t0));
    return 0;
}
