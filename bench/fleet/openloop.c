/*
 * openloop: send scheduled HTTP/1.1 requests on time, whatever the server's latency, and measure
 * each request's latency from its *scheduled* send time (so a slow server cannot hide it: no
 * coordinated omission). Requests go over a pool of keep-alive connections; a request due while
 * every connection is busy opens another one (up to a maximum), else waits in a queue, and that
 * wait counts in its latency.
 *
 * Why our own: wrk and h2load are closed-loop per connection (the next request leaves when the
 * previous answer is in) and time from the actual send; h2load's timing scripts replay the whole
 * script on every client and cannot mix methods. See bench/fleet/__init__.py.
 *
 * usage: openloop SCHEDULE HOST PORT MAX_CONNECTIONS GRACE_MS MEASURE_FROM_MS
 * (requests scheduled before MEASURE_FROM_MS are sent but not counted: the warm-up)
 *
 * SCHEDULE (little-endian): "OLG1", u32 kinds, {u16 len, name}*, u32 templates,
 * {u32 len, raw request bytes}*, u32 events, {u64 t_us, u32 template, u8 kind}*, in time order.
 *
 * Output, one line per kind:  kind NAME sent completed errors p50 p99 p999 max   (µs)
 * then:  lag P99 MAX  (send time − scheduled time, µs),  conns OPENED MAX_QUEUE ELAPSED_US  and
 * failures lost=N CODE=N…  (requests whose connection was lost, answers by failing status)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CLOSED, CONNECTING, IDLE, BUSY };
enum { P_HEAD, P_BODY, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

typedef struct {
  int fd, state, event, parse, close_after;
  size_t written, head_len;
  long long remaining;
  char head[16384];
} Conn;

static uint64_t *ev_t;
static uint32_t *ev_tmpl;
static uint8_t *ev_kind;
static uint32_t n_events, n_kinds, n_templates;
static char **kind_name, **tmpl;
static uint32_t *tmpl_len;
static uint32_t *latency, *lag;
static uint8_t *failed, *finished;
static Conn *conns;
static int max_conns, open_conns, opened_total, ep;
static int *idle_stack, n_idle;
static uint32_t *queue, q_head, q_tail, q_max;
static struct sockaddr_in addr;
static uint64_t start_us;
static uint32_t done_count;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - start_us;
}

static void *must(void *p) {
  if (!p) { perror("alloc"); exit(2); }
  return p;
}

static void read_exact(FILE *f, void *buf, size_t n) {
  if (n && fread(buf, 1, n, f) != n) { fprintf(stderr, "short schedule\n"); exit(2); }
}

static uint32_t read_u32(FILE *f) { uint32_t v; read_exact(f, &v, 4); return v; }

static void load(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  char magic[4];
  read_exact(f, magic, 4);
  if (memcmp(magic, "OLG1", 4)) { fprintf(stderr, "bad schedule\n"); exit(2); }
  n_kinds = read_u32(f);
  kind_name = must(calloc(n_kinds, sizeof *kind_name));
  for (uint32_t i = 0; i < n_kinds; i++) {
    uint16_t len; read_exact(f, &len, 2);
    kind_name[i] = must(calloc(len + 1, 1)); read_exact(f, kind_name[i], len);
  }
  n_templates = read_u32(f);
  tmpl = must(calloc(n_templates, sizeof *tmpl));
  tmpl_len = must(calloc(n_templates, sizeof *tmpl_len));
  for (uint32_t i = 0; i < n_templates; i++) {
    tmpl_len[i] = read_u32(f);
    tmpl[i] = must(malloc(tmpl_len[i] ? tmpl_len[i] : 1)); read_exact(f, tmpl[i], tmpl_len[i]);
  }
  n_events = read_u32(f);
  ev_t = must(calloc(n_events + 1, 8)); ev_tmpl = must(calloc(n_events + 1, 4));
  ev_kind = must(calloc(n_events + 1, 1));
  for (uint32_t i = 0; i < n_events; i++) {
    read_exact(f, &ev_t[i], 8); read_exact(f, &ev_tmpl[i], 4); read_exact(f, &ev_kind[i], 1);
  }
  fclose(f);
}

/* Why requests failed: the answer's status, or the connection lost with the request on it. */
static uint32_t bad_status[600], lost_in_flight;

static void finish(int c, int ok) {
  Conn *k = &conns[c];
  uint32_t e = (uint32_t)k->event;
  if (k->event >= 0 && !finished[e]) {
    uint64_t t = now_us();
    latency[e] = (uint32_t)(t > ev_t[e] ? t - ev_t[e] : 0);
    failed[e] = !ok;
    finished[e] = 1;
    done_count++;
  }
  k->event = -1;
}

static void drop(int c) {
  Conn *k = &conns[c];
  if (k->event >= 0) { lost_in_flight++; finish(c, 0); }
  if (k->fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL); close(k->fd); open_conns--; }
  k->fd = -1; k->state = CLOSED;
}

static void arm(int c, uint32_t events) {
  struct epoll_event ee = {.events = events, .data.u32 = (uint32_t)c};
  epoll_ctl(ep, EPOLL_CTL_MOD, conns[c].fd, &ee);
}

static void send_some(int c) {
  Conn *k = &conns[c];
  uint32_t t = ev_tmpl[k->event];
  while (k->written < tmpl_len[t]) {
    ssize_t n = write(k->fd, tmpl[t] + k->written, tmpl_len[t] - k->written);
    if (n < 0) {
      if (errno == EAGAIN) { arm(c, EPOLLIN | EPOLLOUT); return; }
      drop(c); return;
    }
    k->written += (size_t)n;
  }
  arm(c, EPOLLIN);
}

static void start_on(int c, uint32_t e) {
  Conn *k = &conns[c];
  k->event = (int)e; k->written = 0; k->head_len = 0; k->parse = P_HEAD; k->close_after = 0;
  lag[e] = (uint32_t)(now_us() - ev_t[e]);
  if (k->state == CONNECTING) return;  // sent once connected
  k->state = BUSY;
  send_some(c);
}

static int connect_new(void) {
  for (int c = 0; c < max_conns; c++) {
    if (conns[c].state != CLOSED) continue;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
      close(fd); return -1;
    }
    conns[c].fd = fd; conns[c].state = CONNECTING; conns[c].event = -1;
    struct epoll_event ee = {.events = EPOLLOUT, .data.u32 = (uint32_t)c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee);
    open_conns++; opened_total++;
    return c;
  }
  return -1;
}

static void dispatch(uint32_t e) {
  if (n_idle) { start_on(idle_stack[--n_idle], e); return; }
  if (open_conns < max_conns) {
    int c = connect_new();
    if (c >= 0) { start_on(c, e); return; }
  }
  queue[q_tail++] = e;
  if (q_tail - q_head > q_max) q_max = q_tail - q_head;
}

static void become_idle(int c) {
  Conn *k = &conns[c];
  if (k->close_after) { drop(c); return; }
  if (q_head < q_tail) { start_on(c, queue[q_head++]); return; }
  k->state = IDLE;
  idle_stack[n_idle++] = c;
}

/* Parse what arrived; returns 1 when the response is complete. */
static int parse(int c, const char *data, size_t len) {
  Conn *k = &conns[c];
  size_t i = 0;
  while (i < len) {
    if (k->parse == P_HEAD) {
      size_t room = sizeof k->head - 1 - k->head_len;
      size_t take = len - i < room ? len - i : room;
      memcpy(k->head + k->head_len, data + i, take);
      size_t old = k->head_len;
      k->head_len += take;
      k->head[k->head_len] = 0;
      char *end = strstr(k->head, "\r\n\r\n");
      if (!end) { if (!room) return -1; i += take; continue; }
      size_t head_size = (size_t)(end - k->head) + 4;
      i += head_size - old;
      int status = atoi(k->head + 9);
      if (status < 200 || status >= 400) {
        failed[k->event] = 2;  /* marked, finished below */
        if (status > 0 && status < 600) bad_status[status]++;
      }
      k->remaining = 0;
      k->parse = P_BODY;
      for (char *line = strstr(k->head, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "content-length:", 15)) k->remaining = atoll(line + 15);
        else if (!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked"))
          k->parse = P_CHUNK_SIZE, k->head_len = 0;
        else if (!strncasecmp(line, "connection:", 11) && strcasestr(line, "close"))
          k->close_after = 1;
      }
      if (status == 204 || status == 304) k->remaining = 0;
      if (k->parse == P_BODY && k->remaining == 0) return 1;
      k->head_len = 0;
    } else if (k->parse == P_BODY || k->parse == P_CHUNK_DATA) {
      long long take = (long long)(len - i) < k->remaining ? (long long)(len - i) : k->remaining;
      k->remaining -= take; i += (size_t)take;
      if (k->remaining == 0) {
        if (k->parse == P_BODY) return 1;
        k->parse = P_CHUNK_CRLF; k->head_len = 0;
      }
    } else {  /* chunk size line, CRLF after data, trailer: line-based */
      char ch = data[i++];
      if (k->head_len < sizeof k->head - 1) k->head[k->head_len++] = ch;
      if (ch != '\n') continue;
      k->head[k->head_len] = 0;
      if (k->parse == P_CHUNK_SIZE) {
        k->remaining = strtoll(k->head, NULL, 16);
        k->parse = k->remaining ? P_CHUNK_DATA : P_TRAILER;
      } else if (k->parse == P_CHUNK_CRLF) {
        k->parse = P_CHUNK_SIZE;
      } else if (k->head_len <= 2) {
        return 1;  /* the empty line that ends the trailer */
      }
      k->head_len = 0;
    }
  }
  return 0;
}

static void on_event(int c, uint32_t events) {
  Conn *k = &conns[c];
  if (k->state == CONNECTING) {
    int err = 0; socklen_t l = sizeof err;
    getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err || (events & (EPOLLERR | EPOLLHUP))) { drop(c); return; }
    if (k->event >= 0) { k->state = BUSY; send_some(c); }
    else { arm(c, EPOLLIN); become_idle(c); }
    return;
  }
  if (events & EPOLLOUT && k->state == BUSY) send_some(c);
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || k->fd < 0) return;
  char buf[65536];
  for (;;) {
    ssize_t n = read(k->fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) { drop(c); return; }
    if (k->state != BUSY || k->event < 0) { drop(c); return; }  /* unexpected bytes */
    int r = parse(c, buf, (size_t)n);
    if (r < 0) { drop(c); return; }
    if (r == 1) {
      int bad = failed[k->event] == 2;
      finish(c, !bad);
      become_idle(c);
      return;
    }
  }
}

static int by_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t pct(uint32_t *v, uint32_t n, double p) {
  if (!n) return 0;
  uint32_t i = (uint32_t)(p * (n - 1) + 0.5);
  return v[i];
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: openloop SCHEDULE HOST PORT MAX_CONNS GRACE_MS MEASURE_FROM_MS\n");
    return 2;
  }
  load(argv[1]);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[3]));
  inet_pton(AF_INET, argv[2], &addr.sin_addr);
  max_conns = atoi(argv[4]);
  uint64_t grace = (uint64_t)atoll(argv[5]) * 1000u;
  uint64_t measure_from = (uint64_t)atoll(argv[6]) * 1000u;
  conns = must(calloc((size_t)max_conns, sizeof *conns));
  for (int c = 0; c < max_conns; c++) conns[c].fd = -1, conns[c].event = -1;
  idle_stack = must(calloc((size_t)max_conns, sizeof *idle_stack));
  queue = must(calloc(n_events + 1, 4));
  latency = must(calloc(n_events + 1, 4)); lag = must(calloc(n_events + 1, 4));
  failed = must(calloc(n_events + 1, 1)); finished = must(calloc(n_events + 1, 1));
  ep = epoll_create1(0);
  struct epoll_event evs[512];
  start_us = 0; start_us = now_us();
  uint32_t next = 0;
  uint64_t last = n_events ? ev_t[n_events - 1] : 0;
  while (done_count < n_events) {
    uint64_t now = now_us();
    while (next < n_events && ev_t[next] <= now) dispatch(next++);
    if (next >= n_events && now > last + grace) break;
    int timeout = 5;
    if (next < n_events) {
      uint64_t wait = ev_t[next] > now ? ev_t[next] - now : 0;
      timeout = (int)(wait / 1000u);
    }
    int n = epoll_wait(ep, evs, 512, timeout);
    for (int i = 0; i < n; i++) on_event((int)evs[i].data.u32, evs[i].events);
  }
  uint64_t elapsed = now_us();
  /* Unfinished requests (still queued or in flight after the grace period) are errors. */
  for (uint32_t k = 0; k < n_kinds; k++) {
    uint32_t *v = must(malloc(((size_t)n_events + 1) * 4));
    uint32_t sent = 0, completed = 0, errors = 0, m = 0;
    for (uint32_t e = 0; e < n_events; e++) {
      if (ev_kind[e] != k || ev_t[e] < measure_from) continue;
      sent++;
      if (!finished[e] || failed[e]) { errors++; continue; }
      completed++;
      v[m++] = latency[e];
    }
    qsort(v, m, 4, by_u32);
    printf("kind %s %u %u %u %u %u %u %u\n", kind_name[k], sent, completed, errors,
           pct(v, m, 0.5), pct(v, m, 0.99), pct(v, m, 0.999), m ? v[m - 1] : 0);
    free(v);
  }
  uint32_t m = 0;
  uint32_t *v = must(malloc(((size_t)n_events + 1) * 4));
  for (uint32_t e = 0; e < next; e++)
    if (ev_t[e] >= measure_from) v[m++] = lag[e];
  qsort(v, m, 4, by_u32);
  printf("lag %u %u\n", pct(v, m, 0.99), m ? v[m - 1] : 0);
  printf("conns %d %u %llu\n", opened_total, q_max, (unsigned long long)elapsed);
  printf("failures lost=%u", lost_in_flight);
  for (int code = 0; code < 600; code++)
    if (bad_status[code]) printf(" %d=%u", code, bad_status[code]);
  printf("\n");
  return 0;
}
