import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../pkg/errors';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  boundingSet,
  capabilitiesFromMask,
  capabilityMask,
  capabilitySet,
  explicitlyAddedCapabilities,
  limitToAvailable,
  normalizeCapability,
  processCapabilities,
} from '../../pkg/runtime/capabilities';

test("the default set is Podman's eleven, and /proc shows it as 00000000800405fb", () => {
  assert.deepEqual(capabilitySet({}), [
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_SETFCAP',
  ]);
  assert.equal(DEFAULT_CAPABILITIES.length, 11);
  assert.equal(capabilityMask([...DEFAULT_CAPABILITIES]), '00000000800405fb');
});

test('names with or without CAP_, in any case; ALL; unknown names are bad input (125)', () => {
  for (const name of ['net_admin', 'NET_ADMIN', 'cap_net_admin', 'CAP_NET_ADMIN', 'Net_Admin', ' net_admin ']) {
    assert.equal(normalizeCapability(name), 'CAP_NET_ADMIN');
  }
  assert.equal(normalizeCapability('all'), 'ALL');
  assert.equal(normalizeCapability('checkpoint_restore'), 'CAP_CHECKPOINT_RESTORE');
  for (const bad of ['foo', 'CAP_FOO', 'CAP_', '', 'net admin']) {
    assert.throws(() => normalizeCapability(bad), (err: unknown) => err instanceof InvalidArgumentError && err.exitCode === 125);
  }
  assert.throws(() => capabilitySet({ capAdd: ['NET_ADMIN', 'bogus'] }), /unknown capability "bogus"/);
  assert.throws(() => capabilitySet({ capDrop: ['bogus'] }), /unknown capability/);
});

test('--cap-add and --cap-drop tweak the defaults; an add wins over a drop of the same name', () => {
  const caps = capabilitySet({ capAdd: ['net_raw', 'SYS_ADMIN'], capDrop: ['chown', 'CAP_KILL'] });
  assert.ok(caps.includes('CAP_NET_RAW') && caps.includes('CAP_SYS_ADMIN'));
  assert.ok(!caps.includes('CAP_CHOWN') && !caps.includes('CAP_KILL'));
  assert.equal(caps.length, 11);
  assert.ok(capabilitySet({ capAdd: ['chown'], capDrop: ['chown'] }).includes('CAP_CHOWN'));
  assert.deepEqual(capabilitySet({ capAdd: ['setuid', 'SETUID', 'cap_setuid'] }), capabilitySet({}), 'no duplicates');
});

test('--cap-drop ALL keeps only the adds; --cap-add ALL gives all but the drops; --privileged gives all', () => {
  assert.deepEqual(capabilitySet({ capDrop: ['ALL'] }), []);
  assert.deepEqual(capabilitySet({ capDrop: ['all'], capAdd: ['net_bind_service', 'chown'] }), ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']);
  const all = capabilitySet({ capAdd: ['ALL'], capDrop: ['sys_admin'] });
  assert.equal(all.length, ALL_CAPABILITIES.length - 1);
  assert.ok(!all.includes('CAP_SYS_ADMIN'));
  assert.deepEqual(capabilitySet({ privileged: true, capDrop: ['ALL'] }), [...ALL_CAPABILITIES]);
  assert.equal(ALL_CAPABILITIES.length, 41);
  assert.equal(ALL_CAPABILITIES[24], 'CAP_SYS_RESOURCE');
});

test('containers.conf defaults replace the starting set', () => {
  assert.deepEqual(capabilitySet({ defaults: ['CHOWN', 'net_raw'] }), ['CAP_CHOWN', 'CAP_NET_RAW']);
});

test('capabilities the caller lacks are left out and reported (root here has no CAP_SYS_RESOURCE)', () => {
  const available = capabilitiesFromMask('000001fffeffffff');
  assert.equal(available.length, 40);
  assert.ok(!available.includes('CAP_SYS_RESOURCE'));
  const { caps, unavailable } = limitToAvailable(capabilitySet({ privileged: true }), available);
  assert.deepEqual(unavailable, ['CAP_SYS_RESOURCE']);
  assert.equal(capabilityMask(caps), '000001fffeffffff');
  assert.deepEqual(boundingSet('Name:\tx\nCapBnd:\t00000000800405fb\n'), capabilitySet({}));
});

test('root gets the set in bounding, effective and permitted; never inheritable', () => {
  const caps = capabilitySet({});
  assert.deepEqual(processCapabilities(caps, false), { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] });
});

test('a non-root user keeps the bounding set and gets only what --cap-add named, as ambient', () => {
  const opts = { capAdd: ['net_raw', 'NET_BIND_SERVICE'] };
  const caps = capabilitySet(opts);
  const added = explicitlyAddedCapabilities(opts);
  assert.deepEqual(added, ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW']);
  const p = processCapabilities(caps, true, added);
  assert.deepEqual(p.bounding, caps);
  for (const set of [p.effective, p.permitted, p.inheritable, p.ambient]) assert.deepEqual(set, added);
  assert.deepEqual(processCapabilities(caps, true).effective, []);
  // An add that a drop of ALL then... still stands; one the set lacks cannot be ambient.
  assert.deepEqual(processCapabilities(['CAP_CHOWN'], true, ['CAP_NET_RAW']).ambient, []);
  assert.equal(explicitlyAddedCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] }).length, 40);
});
