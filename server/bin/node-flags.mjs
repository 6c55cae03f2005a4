/**
 * Node's flags for a server node (`npm start`, and the nodes the benchmarks spawn). Kept here
 * so the two agree; `server/package.json`'s own `start` script spells them out (npm scripts
 * cannot import), and `node server/dist/main.js` run by hand needs them too (see the README).
 *
 * --max-semi-space-size=4: V8's young generation may grow to 16 MB per semi-space by default,
 * and after start-up it stays that size on an idle node. Capped at 4 MB, an idle node with
 * every role on PostgreSQL held 129 MB instead of 150 MB (W8); a burn-down of no-op runs by
 * two worker processes (W3, 15% of its time in garbage collection) was about 5% slower.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=4']
