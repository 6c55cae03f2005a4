#!/usr/bin/env node
// The two commands of the README (`npm start`, `npm test`) land here. It needs
// only Node and npm: it installs the workspace with pnpm (fetched through npx,
// pinned by package.json's packageManager) when node_modules is missing or stale,
// builds what the command needs (the embed file, the dashboard, the server into
// server/dist), then runs it.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pnpmSpec = pkg.packageManager // e.g. pnpm@10.34.9
const command = process.argv[2]
const rest = process.argv.slice(3)

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    cwd: root,
    ...opts,
    env: { ...process.env, ...opts.env },
  })
  if (r.error) throw r.error
  if (r.status !== 0) process.exit(r.status ?? 1)
}

function pnpm(args, opts) {
  run('npx', ['-y', pnpmSpec, ...args], opts)
}

function installIfNeeded() {
  const marker = join(root, 'node_modules', '.modules.yaml')
  const lock = join(root, 'pnpm-lock.yaml')
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return
  console.log('switchyard: installing dependencies (first run)…')
  pnpm(['install', '--frozen-lockfile', '--prefer-offline'])
}

function buildIfNeeded(force = false) {
  const embed = join(root, 'embed', 'dist', 'run-button.js')
  if (existsSync(join(root, 'embed', 'build.mjs')) && (force || !existsSync(embed))) {
    pnpm(['--filter', '@switchyard/embed', 'run', 'build'])
  }
  const web = join(root, 'web', 'build', 'handler.js')
  if (existsSync(join(root, 'web', 'svelte.config.js')) && (force || !existsSync(web))) {
    // A production build whatever NODE_ENV the caller has (vitest sets "test").
    pnpm(['--filter', '@switchyard/web', 'run', 'build'], { env: { NODE_ENV: 'production' } })
  }
}

/** Newest modification time under dir (the server's sources). */
function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs)
  }
  return t
}

const serverMain = join(root, 'server', 'dist', 'main.js')

/** The server as plain JavaScript (server/dist), rebuilt when a source is newer than the build. */
function buildServerIfNeeded(force = false) {
  const stale = !existsSync(serverMain) || statSync(serverMain).mtimeMs < newest(join(root, 'server', 'src'))
  if (force || stale) run(process.execPath, [join(root, 'server', 'bin', 'build-server.mjs')])
}

installIfNeeded()
switch (command) {
  case 'start':
    buildIfNeeded()
    buildServerIfNeeded()
    // The server runs from server/, but its data stays at the top: ./.switchyard
    run(process.execPath, [serverMain, ...rest], {
      cwd: join(root, 'server'),
      env: { SWITCHYARD_DATA_DIR: process.env.SWITCHYARD_DATA_DIR ?? join(root, '.switchyard') },
    })
    break
  case 'build':
    buildIfNeeded(true)
    buildServerIfNeeded(true)
    break
  case 'test':
    buildIfNeeded(true)
    pnpm(['--filter', '@switchyard/test', 'exec', 'vitest', 'run', ...rest])
    break
  case 'bench':
    pnpm(['--filter', '@switchyard/test', 'exec', 'tsx', 'bench/run.ts', ...rest])
    break
  case 'check':
    run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'])
    run(join(root, 'node_modules', '.bin', 'biome'), ['check', '.'])
    break
  default:
    console.error(`usage: bootstrap.mjs start|test|bench|check|build`)
    process.exit(2)
}
