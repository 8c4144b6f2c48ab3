/*
 * watchers: N long-poll watchers (GET /eureka/apps/delta?since=R&wait=S) on N keep-alive
 * connections, driven by one epoll loop — the load generator of the propagation and churn
 * benchmarks (issue 8). A Python client per watcher would measure Python, not the server: at
 * 10,000 watchers the generator must read 10,000 answers within a few milliseconds.
 *
 * usage: watchers MODE HOST PORT N SECONDS PATH EPOCH SINCE WAIT [INTERVAL_S]
 *
 * MODE once    every watcher waits for one answer with changes (200) from SINCE, re-asking on a
 *              304; prints "t US" per watcher (CLOCK_REALTIME µs at the answer's last byte),
 *              then "done ANSWERED MISSING ERRORS". Stops when all answered or SECONDS pass.
 * MODE follow  every watcher follows the registry for SECONDS: after each answer it asks again
 *              from the answer's X-Eureka-Revision (a 410 also carries it: the watcher counts the
 *              410 — a client would repair there — and goes on from the current revision).
 * MODE poll    legacy polling: GET PATH every INTERVAL_S per connection, staggered evenly.
 *
 * follow and poll print: "totals ANSWERS CHANGED NOT_MODIFIED GONE OTHER ENTRIES BYTES ERRORS"
 * (ENTRIES counts "actionType" keys in bodies: instances applied) and "per MIN MAX" answers
 * with changes per connection.
 *
 * SIGTERM ends any mode early, with its output printed as at the end.
 *
 * PATH is the request target; for once/follow, "since=R&wait=S" is appended. Responses must
 * carry Content-Length (ours always do; chunked responses count as errors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Answers are parsed as they stream in: the head is kept (16 KB at most), the body only
 * scanned, so 1,000 legacy pollers reading 10 MB deltas cost no more memory than 1,000 watchers. */
enum { HEAD_MAX = 16384, KEY_LEN = 12 /* strlen("\"actionType\"") */ };

typedef struct {
    int fd;
    char head[HEAD_MAX];
    size_t head_len;
    int in_body, status;
    long body_left, total;
    char tail[KEY_LEN];  /* the body's last bytes so far: a key may straddle two reads */
    size_t tail_len;
    long since;
    int done;      /* once: answered with changes */
    long changed;  /* answers with changes */
    double next_at; /* poll: when to send next (monotonic s) */
    int busy;       /* a request is in flight */
    int64_t answered_us;
} conn_t;

static const char *g_mode, *g_host, *g_path, *g_epoch;
static int g_port, g_wait;
static volatile sig_atomic_t g_stop; /* SIGTERM: stop and print the totals */
static void on_term(int sig) { (void)sig; g_stop = 1; }
static long g_answers, g_changed, g_not_modified, g_gone, g_other, g_entries, g_bytes, g_errors;

static double monotonic_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t realtime_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int send_request(conn_t *c) {
    char req[2048];
    int n;
    if (strcmp(g_mode, "poll") == 0)
        n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: application/json\r\n\r\n",
                     g_path, g_host, g_port);
    else
        n = snprintf(req, sizeof req,
                     "GET %s%csince=%ld&wait=%d HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Accept: application/json\r\nX-Eureka-Epoch: %s\r\n\r\n",
                     g_path, strchr(g_path, '?') ? '&' : '?', c->since, g_wait, g_host, g_port,
                     g_epoch);
    /* A request is a few hundred bytes: one write fits an empty socket buffer. */
    if (write(c->fd, req, (size_t)n) != n) return -1;
    c->busy = 1;
    return 0;
}

static int connect_one(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)addr, sizeof *addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The value of header `name` (case-insensitive) in the head [buf, end), or NULL. */
static const char *header(const char *buf, const char *end, const char *name) {
    size_t nlen = strlen(name);
    const char *line = memchr(buf, '\n', (size_t)(end - buf));
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ') v++;
            return v;
        }
        line = eol;
    }
    return NULL;
}

static long count_key(const char *data, size_t len) {
    static const char key[] = "\"actionType\"";
    long n = 0;
    const char *p = data, *end = data + len;
    while ((p = memmem(p, (size_t)(end - p), key, KEY_LEN)) != NULL) {
        n++;
        p += KEY_LEN;
    }
    return n;
}

/* Count the keys in the next `len` body bytes, including one straddling the previous read. */
static void scan_body(conn_t *c, const char *data, size_t len) {
    char seam[2 * KEY_LEN];
    size_t head = len < KEY_LEN - 1 ? len : KEY_LEN - 1;
    memcpy(seam, c->tail, c->tail_len);
    memcpy(seam + c->tail_len, data, head);
    /* Neither part alone can hold a whole key (both are shorter): these straddle. */
    if (c->tail_len) g_entries += count_key(seam, c->tail_len + head);
    g_entries += count_key(data, len);
    if (len >= KEY_LEN - 1) {
        memcpy(c->tail, data + len - (KEY_LEN - 1), KEY_LEN - 1);
        c->tail_len = KEY_LEN - 1;
    } else {
        size_t keep = c->tail_len + len > KEY_LEN - 1 ? KEY_LEN - 1 : c->tail_len + len;
        memmove(c->tail, seam + c->tail_len + len - keep, keep);
        c->tail_len = keep;
    }
}

/* A whole answer is in: count it; returns 1 when a `once` watcher got its answer. */
static int on_response(conn_t *c) {
    const char *rev = header(c->head, c->head + c->head_len, "x-eureka-revision");
    int finished = 0;
    g_answers++;
    g_bytes += c->total;
    c->busy = 0;
    if (c->status == 200) {
        g_changed++;
        c->changed++;
        if (strcmp(g_mode, "once") == 0 && !c->done) {
            c->done = 1;
            c->answered_us = realtime_us();
            finished = 1;
        }
    } else if (c->status == 304) {
        g_not_modified++;
    } else if (c->status == 410) {
        g_gone++;
    } else {
        g_other++;
    }
    if (rev) c->since = strtol(rev, NULL, 10);
    c->in_body = 0;
    c->head_len = 0;
    return finished;
}

/* Feed received bytes; calls `complete` after each whole answer. -1: a malformed answer. */
static int feed(conn_t *c, const char *data, size_t len, void (*complete)(conn_t *)) {
    while (len > 0) {
        if (!c->in_body) {
            size_t room = HEAD_MAX - 1 - c->head_len;
            size_t take = len < room ? len : room;
            memcpy(c->head + c->head_len, data, take);
            size_t before = c->head_len;
            c->head_len += take;
            c->head[c->head_len] = '\0';
            char *sep = memmem(c->head, c->head_len, "\r\n\r\n", 4);
            if (!sep) {
                if (take == room) return -1;
                return 0;
            }
            size_t head_size = (size_t)(sep + 4 - c->head);
            size_t used = head_size - before; /* of `data`: the rest is body */
            data += used;
            len -= used;
            c->head_len = head_size;
            const char *cl = header(c->head, c->head + head_size, "content-length");
            if (!cl || c->head_len < 12) return -1;
            c->status = atoi(c->head + 9);
            c->body_left = strtol(cl, NULL, 10);
            c->total = (long)head_size + c->body_left;
            c->in_body = 1;
            c->tail_len = 0;
        }
        size_t take = (size_t)c->body_left < len ? (size_t)c->body_left : len;
        if (take) scan_body(c, data, take);
        c->body_left -= (long)take;
        data += take;
        len -= take;
        if (c->body_left == 0) complete(c);
    }
    return 0;
}

static int g_remaining; /* once: watchers still waiting */

static void complete(conn_t *c) {
    if (on_response(c)) g_remaining--;
    else if (strcmp(g_mode, "poll") != 0 && !(strcmp(g_mode, "once") == 0 && c->done) &&
             send_request(c) != 0)
        g_errors++;
}

int main(int argc, char **argv) {
    if (argc < 10) {
        fprintf(stderr, "usage: watchers MODE HOST PORT N SECONDS PATH EPOCH SINCE WAIT [INTERVAL]\n");
        return 2;
    }
    g_mode = argv[1];
    g_host = argv[2];
    g_port = atoi(argv[3]);
    int n = atoi(argv[4]);
    double seconds = atof(argv[5]);
    g_path = argv[6];
    g_epoch = argv[7];
    long since = atol(argv[8]);
    g_wait = atoi(argv[9]);
    double interval = argc > 10 ? atof(argv[10]) : 30.0;
    int poll_mode = strcmp(g_mode, "poll") == 0, once = strcmp(g_mode, "once") == 0;
    signal(SIGTERM, on_term);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    inet_pton(AF_INET, g_host, &addr.sin_addr);
    conn_t *conns = calloc((size_t)n, sizeof *conns);
    int ep = epoll_create1(0);
    double start = monotonic_s();
    for (int i = 0; i < n; i++) {
        conn_t *c = &conns[i];
        c->fd = connect_one(&addr);
        if (c->fd < 0) {
            fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
            return 1;
        }
        c->since = since;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        if (poll_mode) {
            c->next_at = start + interval * i / n;
        } else if (send_request(c) != 0) {
            g_errors++;
        }
    }
    fprintf(stderr, "sent %d\n", n);
    g_remaining = once ? n : 0;
    static char chunk[1 << 16];
    struct epoll_event events[512];
    double deadline = monotonic_s() + seconds;
    int next_poll = 0; /* poll mode: connections are due in index order, cyclically */
    while (!g_stop && monotonic_s() < deadline && (!once || g_remaining > 0)) {
        int timeout = 100;
        if (poll_mode) {
            double now = monotonic_s();
            for (int k = 0; k < n; k++) {
                conn_t *c = &conns[next_poll];
                if (c->next_at > now) break;
                if (!c->busy && send_request(c) != 0) g_errors++;
                c->next_at += interval;
                next_poll = (next_poll + 1) % n;
            }
            double wait_s = conns[next_poll].next_at - monotonic_s();
            timeout = wait_s <= 0 ? 0 : wait_s < 0.1 ? (int)(wait_s * 1000) + 1 : 100;
        }
        int ready = epoll_wait(ep, events, 512, timeout);
        for (int e = 0; e < ready; e++) {
            conn_t *c = &conns[events[e].data.u32];
            for (;;) {
                ssize_t got = recv(c->fd, chunk, sizeof chunk, MSG_DONTWAIT);
                if (got <= 0) {
                    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                        g_errors++;
                        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                        if (once && !c->done) g_remaining--;
                        c->done = 1;
                    }
                    break;
                }
                if (feed(c, chunk, (size_t)got, complete) != 0) {
                    g_errors++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    if (once && !c->done) g_remaining--;
                    c->done = 1;
                    break;
                }
            }
        }
    }
    if (once) {
        long answered = 0;
        for (int i = 0; i < n; i++)
            if (conns[i].answered_us) {
                printf("t %lld\n", (long long)conns[i].answered_us);
                answered++;
            }
        printf("done %ld %ld %ld\n", answered, n - answered, g_errors);
    } else {
        long lo = -1, hi = 0;
        for (int i = 0; i < n; i++) {
            if (lo < 0 || conns[i].changed < lo) lo = conns[i].changed;
            if (conns[i].changed > hi) hi = conns[i].changed;
        }
        printf("totals %ld %ld %ld %ld %ld %ld %ld %ld\n", g_answers, g_changed, g_not_modified,
               g_gone, g_other, g_entries, g_bytes, g_errors);
        printf("per %ld %ld\n", lo, hi);
    }
    return 0;
}
