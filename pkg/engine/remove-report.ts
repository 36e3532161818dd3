// What removing several named objects (volumes, networks) reports: each one removed or why
// not, and the exit code Podman gives for that mix.
import { ConflictError, NotFoundError } from '../errors';

export interface RemoveReport {
  removed: string[];
  failures: { name: string; kind: 'not-found' | 'in-use' | 'other'; message: string }[];
}

/** The failure kind of an error thrown while removing one object. */
export function failureKind(err: unknown): RemoveReport['failures'][number]['kind'] {
  return err instanceof NotFoundError ? 'not-found' : err instanceof ConflictError ? 'in-use' : 'other';
}

/** 0, or as Podman: 1 when an object was missing, 2 when one was in use, 125 otherwise. */
export function removeExitCode(report: RemoveReport): number {
  if (report.failures.length === 0) return 0;
  if (report.failures.some((f) => f.kind === 'other')) return 125;
  if (report.failures.some((f) => f.kind === 'in-use')) return 2;
  return 1;
}
