// Started by lifecycle.test.ts as a stand-in server: runs scripts that never end, prints
// their dirs (a pid means nothing outside a pid namespace), and is then SIGKILLed, so the
// test can check the sandboxes died with it.
import { createSandboxPool } from '../../server/src/sandbox/index'

const pool = createSandboxPool({ warm: 1 })
console.log(`server ${process.pid}`)
const endless = {
  javascript: 'log(process.cwd())\nwhile (true) {}',
  python: 'import os\nlog(os.getcwd())\nwhile True:\n    pass',
} as const
for (const [language, code] of Object.entries(endless)) {
  pool
    .run({
      language: language as keyof typeof endless,
      code,
      args: {},
      timeoutMs: 60_000,
      onLog: (_, message) => console.log(`dir ${message}`),
    })
    .catch(() => {})
}
