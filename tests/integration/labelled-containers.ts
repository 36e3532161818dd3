// Helpers for integration files whose containers carry one label, so each file can create,
// inspect and finally remove its own containers without touching other files' ones.
import assert from 'node:assert/strict';
import { tspod, waitFor } from './harness';

export interface LabelledContainers {
  /** `run -d --name NAME -l LABEL ARGS...`; asserts success and returns the ID */
  runDetached(name: string, ...args: string[]): string;
  /** `inspect --format TEMPLATE`, trimmed; asserts success */
  inspectField(name: string, template: string): string;
  /** waits until TEMPLATE renders as WANTED (a string or a pattern); the error shows the last rendering */
  waitForField(name: string, template: string, wanted: string | RegExp, timeoutMs?: number): Promise<void>;
  /** `rm -f` of every container with the label */
  removeOurs(): void;
}

export function labelledContainers(label: string): LabelledContainers {
  const inspectField = (name: string, template: string): string => {
    const r = tspod(['inspect', '--format', template, name]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  return {
    runDetached(name, ...args) {
      const r = tspod(['run', '-d', '--name', name, '-l', label, ...args], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    },
    inspectField,
    async waitForField(name, template, wanted, timeoutMs = 30_000) {
      let last = '';
      const matches = (): boolean => {
        last = inspectField(name, template);
        return typeof wanted === 'string' ? last === wanted : wanted.test(last);
      };
      await waitFor(matches, timeoutMs, `${template} of ${name.slice(0, 12)} to be ${wanted}`).catch((err: Error) => {
        throw new Error(`${err.message} (last: ${last}; error: ${inspectField(name, '{{.State.Error}}')})`);
      });
    },
    removeOurs() {
      const r = tspod(['ps', '-a', '--filter', `label=${label}`, '--format', '{{.Names}}']);
      const names = r.stdout.split('\n').filter(Boolean);
      if (names.length) tspod(['rm', '-f', ...names]);
    },
  };
}
