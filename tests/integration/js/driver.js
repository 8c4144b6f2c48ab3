// Drives the real eureka-js-client against a eureka-py server for the integration tests.
// Usage: node driver.js '<json options>'. Prints one JSON line per state snapshot on stdout;
// reads commands ("stop") on stdin.
'use strict';
const { Eureka } = require('eureka-js-client');

const opts = JSON.parse(process.argv[2]);
const counters = { full: 0, delta: 0, heartbeats: 0, registered: false, errors: [] };

const origFull = Eureka.prototype.fetchFullRegistry;
Eureka.prototype.fetchFullRegistry = function (cb) { counters.full += 1; return origFull.call(this, cb); };
const origDelta = Eureka.prototype.fetchDelta;
Eureka.prototype.fetchDelta = function (cb) { counters.delta += 1; return origDelta.call(this, cb); };

const client = new Eureka({
  shouldUseDelta: true,
  logger: { debug() {}, info() {}, warn(...a) { counters.errors.push(a.map(String).join(' ')); }, error(...a) { counters.errors.push(a.map(String).join(' ')); } },
  instance: {
    instanceId: opts.instanceId,
    app: opts.app,
    hostName: '127.0.0.1',
    ipAddr: '127.0.0.1',
    port: { $: opts.port, '@enabled': true },
    vipAddress: opts.app.toLowerCase(),
    statusPageUrl: `http://127.0.0.1:${opts.port}/info`,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: opts.durationInSecs || 2 },
  },
  eureka: {
    // A service URL (may carry user:password@, the `request` library's basic auth), or host/port.
    ...(opts.serviceUrl
      ? { serviceUrls: { default: [opts.serviceUrl] } }
      : { host: '127.0.0.1', port: opts.serverPort, servicePath: '/eureka/apps/' }),
    heartbeatInterval: opts.heartbeatMs || 500,
    registryFetchInterval: opts.fetchMs || 300,
    maxRetries: 1,
    requestRetryDelay: 100,
  },
});
client.on('heartbeat', () => { counters.heartbeats += 1; });
client.on('registered', () => { counters.registered = true; });

function snapshot(event) {
  const apps = {};
  for (const [name, list] of Object.entries(client.cache.app || {})) {
    apps[name] = list.map((i) => ({ id: i.instanceId, status: i.status }));
  }
  process.stdout.write(JSON.stringify({ event, apps, ...counters }) + '\n');
}

client.start((err) => {
  if (err) counters.errors.push(String(err));
  snapshot('started');
  setInterval(() => snapshot('state'), 200);
});

let input = '';
process.stdin.on('data', (chunk) => {
  input += chunk;
  if (input.includes('stop')) {
    client.stop(() => { snapshot('stopped'); process.exit(0); });
  }
});
