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
 * PATH is the request target; for once/follow, "since=R&wait=S" is appended. Responses must
 * carry Content-Length (ours always do; chunked responses count as errors).
 */
#define _GNU_SOURCE
#include <errno.h>
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

typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
    long since;
    int done;      /* once: answered with changes */
    long changed;  /* answers with changes */
    double next_at; /* poll: when to send next (monotonic s) */
    int busy;       /* a request is in flight */
    int64_t answered_us;
} conn_t;

static const char *g_mode, *g_host, *g_path, *g_epoch;
static int g_port, g_wait;
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
static const char *header(const char *buf, const char *end, const char *name, size_t *vlen) {
    size_t nlen = strlen(name);
    const char *line = memchr(buf, '\n', (size_t)(end - buf));
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ') v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

static long count_entries(const char *body, size_t len) {
    static const char key[] = "\"actionType\"";
    long n = 0;
    const char *p = body, *end = body + len;
    while ((p = memmem(p, (size_t)(end - p), key, sizeof key - 1)) != NULL) {
        n++;
        p += sizeof key - 1;
    }
    return n;
}

/* One complete response at the head of c->buf? Returns its length, 0 if incomplete, -1 bad. */
static long complete_response(conn_t *c, int *status, const char **head_end) {
    char *sep = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!sep) return 0;
    *head_end = sep + 2;
    if (c->len < 12) return -1;
    *status = atoi(c->buf + 9);
    size_t vlen;
    const char *cl = header(c->buf, sep + 2, "content-length", &vlen);
    if (!cl) return -1;
    long body = strtol(cl, NULL, 10);
    long total = (long)(sep + 4 - c->buf) + body;
    return (long)c->len >= total ? total : 0;
}

static void on_response(conn_t *c, int status, const char *head_end, long total, int *finished) {
    const char *body = strstr(c->buf, "\r\n\r\n") + 4;
    size_t body_len = (size_t)(c->buf + total - body);
    size_t vlen;
    const char *rev = header(c->buf, head_end, "x-eureka-revision", &vlen);
    g_answers++;
    g_bytes += total;
    c->busy = 0;
    if (status == 200) {
        g_changed++;
        c->changed++;
        g_entries += count_entries(body, body_len);
        if (strcmp(g_mode, "once") == 0 && !c->done) {
            c->done = 1;
            c->answered_us = realtime_us();
            *finished = 1;
        }
    } else if (status == 304) {
        g_not_modified++;
    } else if (status == 410) {
        g_gone++;
    } else {
        g_other++;
    }
    if (rev) c->since = strtol(rev, NULL, 10);
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
        c->cap = 8192;
        c->buf = malloc(c->cap);
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
    int remaining = once ? n : 0;
    struct epoll_event events[512];
    double deadline = monotonic_s() + seconds;
    int next_poll = 0; /* poll mode: connections are due in index order, cyclically */
    while (monotonic_s() < deadline && (!once || remaining > 0)) {
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
                if (c->cap - c->len < 4096) {
                    c->cap *= 2;
                    c->buf = realloc(c->buf, c->cap);
                }
                ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
                if (got <= 0) {
                    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                        g_errors++;
                        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                        if (once && !c->done) remaining--;
                        c->done = 1;
                    }
                    break;
                }
                c->len += (size_t)got;
                c->buf[c->len] = '\0';
            }
            int status;
            const char *head_end;
            long total;
            while ((total = complete_response(c, &status, &head_end)) != 0) {
                if (total < 0) {
                    g_errors++;
                    c->len = 0;
                    break;
                }
                int finished = 0;
                on_response(c, status, head_end, total, &finished);
                memmove(c->buf, c->buf + total, c->len - (size_t)total);
                c->len -= (size_t)total;
                c->buf[c->len] = '\0';
                if (finished) remaining--;
                else if (!poll_mode && !(once && c->done) && send_request(c) != 0) g_errors++;
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
