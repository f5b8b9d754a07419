#!/usr/bin/env node
// The `executor` / `cloud-tasks-executor` command.
// In a checkout of the repository src/ exists and runs as TypeScript through
// Node's type stripping, so a stale dist/ there is never used. The published
// package has no src/ and runs the compiled dist/. EXECUTOR_FROM_DIST=1 runs
// dist/ in a checkout too (after npm run build), as an installed package does:
// npm run bench measures that.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const fromSource = process.env.EXECUTOR_FROM_DIST !== '1' && existsSync(source);
const [major, minor] = process.versions.node.split('.').map(Number);
const tooOld = fromSource ? major < 22 || (major === 22 && minor < 18) : major < 22;
if (tooOld) {
  const need = fromSource ? '22.18' : '22';
  console.error(
    `executor: Node ${process.versions.node} is too old (use Node ${need} or newer${fromSource ? '; in the repository npm start and npx executor use the pinned one' : ''})`,
  );
  process.exit(2);
}
try {
  const { main } = await import(fromSource ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // main() turns every failure of a command into one line; this is the last
  // resort for what escapes it (a broken install, a bug), still without a stack.
  const message = String(err?.message ?? err).split('\n')[0];
  console.error(`executor: internal error: ${message} (reinstall the package; if it persists, report it with the command you ran)`);
  process.exitCode = 1;
}
