/**
 * `npm run bench -- <name> [options]`: throughput (engine vs ceiling vs peers), core (the 500k drain),
 * decode (one decode thread), poison (the drain with 0 / 0.1 / 1 % bad records), memory (peak RSS for big backlogs and a table lock), upsert (upsert mode vs insert mode vs Kafka Connect's upsert), scale (rebalance stalls as engines join and leave, per group protocol), latency (end-to-end latency at fixed rates, per batch setting). Each benchmark runs on import and reads process.argv itself.
 */
const name = process.argv[2];
const benches: Record<string, string> = { throughput: './throughput', core: './core', decode: './decode', poison: './poison', memory: './memory', upsert: './upsert', scale: './scale', latency: './latency' };
if (!name || !(name in benches)) {
  console.error(`usage: npm run bench -- ${Object.keys(benches).join('|')} [options]   (npm run bench -- throughput --help)`);
  process.exit(2);
}
if (process.argv.includes('--help') && name === 'throughput') {
  process.argv.push('--print-help');
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(benches[name]);
