import t from 'tap';
import { isAllowed, isForbiddenAddress, isForbiddenHost, normalizeHost, parseAllowEntry } from '../../src/jobs/host-policy.ts';

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

t.test('the IPv6 metadata address, unique-local and link-local v6, and every IPv6 spelling of 169.254/16 are forbidden', async (t) => {
  const forbidden = [
    'fd20:ce::254', // GCE metadata over IPv6
    'FD20:CE:0:0:0:0:0:254',
    'fd00::1',
    'fdff:ffff::1',
    'fe80::1',
    'febf::1',
    'fe80::1%eth0',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:a9fe:a9fe',
    '::169.254.169.254',
    '::ffff:0:169.254.169.254',
    '64:ff9b::169.254.169.254',
    '2002:a9fe:a9fe::1',
  ];
  for (const a of forbidden) {
    t.ok(isForbiddenAddress(a), a);
    t.ok(isForbiddenHost(normalizeHost(`[${a.replace(/%.*/, '')}]`)), `[${a}] as a URL host`);
  }
  for (const a of ['2001:4860:4860::8888', '::ffff:8.8.8.8', 'fc00::1', '8.8.8.8']) t.notOk(isForbiddenAddress(a), a);
});
