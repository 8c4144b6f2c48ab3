"""The fleet simulator's pieces (issue 11 §4): a pure seeded schedule, and an open-loop generator.

Why a generator of our own (`openloop.c`, ~350 lines of C, compiled with the system gcc):
- wrk is closed-loop per connection — its next request leaves only when the previous answer is
  in, and its latency is timed from that send — so a stalled server is measured as "fewer
  requests", not as late ones; its Lua API has no connection identity to correct for that, and
  Debian's wrk has no wrk2-style constant rate.
- h2load (nghttp2-client) has `--rps` (still one request in flight per HTTP/1.1 connection, timed
  from the send) and `--timing-script-file`, which every client replays in full and which cannot
  mix PUT renewals with GET deltas in one run.
`openloop` sends each request at its scheduled time on any idle keep-alive connection (opening
more when all are busy), and times it from the scheduled time. `bench_fleet` measures it against
nginx at the fleet's rates to show that it is not the limit.
"""
