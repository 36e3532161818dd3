// What a layer tar can do wrong, for the reader and the applier alike; callers tell a hostile
// tar from a broken one and from a host without enough subordinate ids.
import { HostError, TspodError } from '../errors';

/** The tar tried to write outside the layer, or through a symlink: nothing of it is kept. */
export class UnsafeLayerError extends TspodError {
  constructor(readonly entry: string, why: string) {
    super(`refusing layer: entry ${JSON.stringify(entry)} ${why}`);
  }
}

/** An entry could not be applied (bad type, missing link target, I/O error). */
export class LayerEntryError extends TspodError {
  constructor(readonly entry: string, why: string) {
    super(`layer entry ${JSON.stringify(entry)}: ${why}`);
  }
}

/** The image wants an owner the user namespace has no mapping for. */
export class InsufficientIdsError extends HostError {}
