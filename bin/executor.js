#!/usr/bin/env node
// Runs the TypeScript sources directly through Node's type stripping (Node >= 22.18).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`executor: Node ${process.versions.node} is too old; use Node 22.18+ (npm scripts use the pinned one: npm start, npx executor)`);
  process.exit(2);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
