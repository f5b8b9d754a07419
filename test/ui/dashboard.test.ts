// The dashboard in a real headless browser against `executor dev`: a failing
// chain appears in the list, its page shows the tiers and errors, a finished
// run shows its output, and Cancel stops a running one.

import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import t from 'tap';
import { Executor, Job } from '../../src/client/index.ts';
import { devBanner, startDev } from '../../src/dev.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { freePort } from '../helpers/free-port.ts';

const JOBS = fileURLToPath(new URL('../fixtures/tier-jobs.mjs', import.meta.url));
// The README's screenshots are rewritten only on request, so a test run leaves the checkout clean.
const DOCS =
  process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/', import.meta.url)) : `${mkdtempSync(join(tmpdir(), 'executor-ui-shots-'))}/`;
const FAST = { minBackoff: '0.1s', maxBackoff: '0.2s', maxDoublings: 1, maxRetryDuration: '0s' };
const WAIT = { timeout: 30_000 };

t.test('the dashboard lists runs live, shows a run’s tiers and output, and cancels a running job', async (t) => {
  const s = await startDev(
    {
      PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      CHAIN: 'incoming:2,incoming-2:2,incoming-3:1',
      JOBS_MODULE: JOBS,
      EXEC_COMMANDS: 'sleep,sh',
    },
    pino({ level: 'silent' }),
    { retry: FAST },
  );
  t.teardown(() => s.stop());
  t.match(devBanner(s), new RegExp(`dashboard\\s+${s.server.url}/ui`), 'executor dev prints the dashboard URL');
  const exe = new Executor({ project: s.config.project, location: s.config.location, serviceUrl: s.server.url, emulatorHost: `127.0.0.1:${s.emulator.port}` });
  t.teardown(() => exe.close());

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  await page.goto(`${s.server.url}/ui`);
  await page.locator('#runs').waitFor(WAIT);
  t.match(await page.locator('#runs tbody').innerText(), /No runs yet/);

  // A chain that fails on every tier, and a run with output.
  await exe.enqueue({ id: 'ui-fails', type: 'tiered' });
  await exe.enqueue({ id: 'ui-echo', type: 'echo', data: { greeting: 'hello from the dashboard' } });
  const failedRow = page.locator('tr[data-id="ui-fails"]');
  await failedRow.waitFor(WAIT);
  await failedRow.locator('[data-state="failed"]').waitFor(WAIT);
  t.match(
    await failedRow.innerText(),
    /tiered[\s\S]*failed[\s\S]*incoming-3 \(2\)[\s\S]*NotYet/,
    'the row shows type, state, last tier and error without a reload',
  );
  await page.locator('tr[data-id="ui-echo"] [data-state="succeeded"]').waitFor(WAIT);
  // A job's tasks are runs too, each row naming its job.
  await exe.execute(
    new Job({
      id: 'ui-job',
      tasks: [
        { type: 'echo', name: 'first' },
        { type: 'echo', name: 'second' },
      ],
    }),
  );
  await page.locator('tr[data-id="ui-job-1"] [data-state="succeeded"]').waitFor(WAIT);
  t.match(await page.locator('tr[data-id="ui-job-1"]').innerText(), /task 2 of 2 in job ui-job \(second\)/, 'the row names its job');
  mkdirSync(DOCS, { recursive: true });
  await page.screenshot({ path: `${DOCS}ui-list.png` });
  t.ok(existsSync(`${DOCS}ui-list.png`) && statSync(`${DOCS}ui-list.png`).size > 1000, 'a screenshot of the list');

  // The failing chain's page: one timeline row per tier, its errors, its notifications.
  await failedRow.locator('a').click();
  await page.locator('#timeline .tier[data-tier="2"]').waitFor(WAIT);
  t.equal(await page.locator('#timeline .tier').count(), 3, 'three tiers on the timeline');
  t.equal(await page.locator('#timeline .attempt').count(), 5, 'one bar per attempt (2 + 2 + 1)');
  t.match(await page.locator('#timeline').innerText(), /incoming · tier 0[\s\S]*incoming-2 · tier 1[\s\S]*incoming-3 · tier 2/);
  t.match(await page.locator('#errors').innerText(), /NotYet: tier 2 attempt 1/);
  await page.locator('#notifications').waitFor(WAIT);
  t.match(await page.locator('#notifications').innerText(), /executor\.task\.failed/);
  t.equal(await page.locator('#cancel').isDisabled(), true, 'a finished run cannot be cancelled');
  await page.screenshot({ path: `${DOCS}ui-run.png`, fullPage: true });

  await page.goto(`${s.server.url}/ui#/run/ui-job-0`);
  await page.locator('#run-job').waitFor(WAIT);
  t.equal(await page.locator('#run-job').innerText(), 'task 1 of 2 in job ui-job (first)', "the run page names the run's job");

  // A finished run's result, and the output of a run that prints.
  await page.goto(`${s.server.url}/ui#/run/ui-echo`);
  await page.locator('pre#result').waitFor(WAIT);
  t.match(await page.locator('pre#result').innerText(), /hello from the dashboard/);
  // Output arrives while the job runs, over one Server-Sent Events stream (no refetching).
  const outputRequests: string[] = [];
  page.on('request', (req) => {
    if (req.url().includes('/v1/tasks/ui-prints/output')) outputRequests.push(new URL(req.url()).search);
  });
  await exe.enqueue({ id: 'ui-prints', type: 'exec', args: { command: 'sh', args: ['-c', 'echo first line; sleep 6; echo second line'] } });
  await page.goto(`${s.server.url}/ui#/run/ui-prints`);
  await page.waitForFunction(() => document.querySelector('pre#output')?.textContent?.includes('first line'), undefined, WAIT);
  t.equal((await exe.operator.status('ui-prints'))?.state, 'running', 'the first line is shown while the job still runs');
  await page.locator('#run-state [data-state="succeeded"]').waitFor(WAIT);
  await page.waitForFunction(() => document.querySelector('pre#output')?.textContent?.includes('second line'), undefined, WAIT);
  t.match(await page.locator('pre#output').innerText(), /--- incoming attempt 1 \(tier 0\) ---\nfirst line\nsecond line/);
  await new Promise((r) => setTimeout(r, 1500));
  t.same(outputRequests, ['?follow=1'], 'one streaming request for the output, none polled');

  // Cancel a running job from its page.
  await exe.enqueue({ id: 'ui-sleeps', type: 'exec', args: { command: 'sleep', args: ['120'] } });
  await page.goto(`${s.server.url}/ui#/run/ui-sleeps`);
  await page.locator('#run-state [data-state="running"]').waitFor(WAIT);
  await page.locator('#cancel').click();
  await page.locator('#run-state [data-state="cancelled"]').waitFor(WAIT);
  t.equal((await exe.operator.status('ui-sleeps'))?.state, 'cancelled', 'the ledger says cancelled');
  await page
    .locator('#cancel:disabled')
    .waitFor(WAIT)
    .catch(() => undefined);
  t.equal(await page.locator('#cancel').isDisabled(), true, 'the cancel button is disabled once cancelled');
});
