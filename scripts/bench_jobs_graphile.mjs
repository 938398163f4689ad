// The peer of `api bench-jobs`: graphile-worker (npm) on the same PostgreSQL,
// the same no-op job, the same counts and concurrency, one worker process.
// Prints one JSON line: enqueue and processing rates, pickup latency.
// Usage: node scripts/bench_jobs_graphile.mjs <connection string> <jobs> <latency jobs> <concurrency>
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import pg from "pg";

const [connectionString, jobsArg, latencyArg, concurrencyArg] = process.argv.slice(2);
const jobs = Number(jobsArg);
const latencyJobs = Number(latencyArg);
const concurrency = Number(concurrencyArg);
const BATCH = 1000;

const pool = new pg.Pool({ connectionString, max: concurrency + 2 });
pool.on("error", (err) => console.error(err));
// Quiet: graphile-worker logs every job by default, which would be measured too.
const logger = new Logger(() => () => {});
const utils = await makeWorkerUtils({ pgPool: pool, logger });
await utils.migrate();

const pending = async () =>
  Number((await pool.query("SELECT count(*) FROM graphile_worker.jobs")).rows[0].count);

// Enqueue: batches of 1,000 in one call each, like `api bench-jobs`.
let started = performance.now();
for (let done = 0; done < jobs; done += BATCH) {
  const specs = [];
  for (let i = done; i < Math.min(jobs, done + BATCH); i++) specs.push({ identifier: "noop", payload: {} });
  await utils.addJobs(specs);
}
const enqueueSeconds = (performance.now() - started) / 1000;

const latencies = [];
let waiter = null;
const runner = await run({
  pgPool: pool,
  concurrency,
  noHandleSignals: true,
  pollInterval: 1000,
  logger,
  taskList: {
    noop: async () => {},
    latency: async (payload) => {
      latencies.push(Date.now() - payload.t);
      if (waiter) waiter();
    },
  },
});

started = performance.now();
while ((await pending()) > 0) await new Promise((r) => setTimeout(r, 20));
const processSeconds = (performance.now() - started) / 1000;

// Pickup latency: one job at a time on an idle worker, commit to start.
for (let i = 0; i < latencyJobs; i++) {
  const seen = new Promise((resolve) => (waiter = resolve));
  await utils.addJob("latency", { t: Date.now() });
  await seen;
  await new Promise((r) => setTimeout(r, 5));
}
await runner.stop();
await utils.release();
await pool.end();

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(
  JSON.stringify({
    peer: "graphile-worker 0.18.0",
    jobs,
    concurrency,
    enqueue_per_s: Math.round(jobs / enqueueSeconds),
    process_per_s: Math.round(jobs / processSeconds),
    end_to_end_per_s: Math.round(jobs / (enqueueSeconds + processSeconds)),
    pickup_p50_ms: pct(50),
    pickup_p99_ms: pct(99),
  }),
);
