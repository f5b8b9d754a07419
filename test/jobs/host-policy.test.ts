import t from 'tap';
import { isAllowed, isForbiddenHost, parseAllowEntry } from '../../src/jobs/host-policy.ts';

t.test('allow entries parse host, port, wildcard and bracketed IPv6', async (t) => {
  t.same(parseAllowEntry('API.Example.com'), { host: 'api.example.com', wildcard: false });
  t.same(parseAllowEntry('example.com:8443'), { host: 'example.com', wildcard: false, port: 8443 });
  t.same(parseAllowEntry('*.example.com'), { host: '.example.com', wildcard: true });
  t.same(parseAllowEntry('[::1]:8080'), { host: '::1', wildcard: false, port: 8080 });
  t.same(parseAllowEntry('::1'), { host: '::1', wildcard: false });
  t.throws(() => parseAllowEntry('host:99999'), /invalid HTTP_JOB_ALLOW entry/);
  t.throws(() => parseAllowEntry(''), /invalid HTTP_JOB_ALLOW entry/);
});

t.test('an entry without a port allows every port; with one, only that port', async (t) => {
  const entries = ['a.test', 'b.test:81'].map(parseAllowEntry);
  t.ok(isAllowed(entries, 'a.test', 1234));
  t.ok(isAllowed(entries, 'b.test', 81));
  t.notOk(isAllowed(entries, 'b.test', 80));
  t.notOk(isAllowed(entries, 'c.test', 80));
});

t.test('metadata names and link-local addresses are forbidden; ordinary ones are not', async (t) => {
  for (const h of ['metadata', 'metadata.google.internal', '169.254.0.1', 'fe80::abcd', 'fd00:ec2::254', '::ffff:169.254.169.254']) t.ok(isForbiddenHost(h), h);
  for (const h of ['127.0.0.1', '10.0.0.1', '::1', 'example.com', 'metadata.example.com']) t.notOk(isForbiddenHost(h), h);
});
