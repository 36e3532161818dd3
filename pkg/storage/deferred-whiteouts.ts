// The whiteouts (and opaque markers) of one layer tar, held back so that the driver records them all in one call at
// the end of the layer: an overlay whiteout is a 0/0 device, which Node cannot make, so each
// one cost a helper process (~5 ms of this thread for the fork alone), and a layer that
// removes a hundred files paid that a hundred times. Holding one back is safe as long as no
// later entry of the tar touches its path: LayerApplier asks touches() for every entry (and a
// hard link's target) and records the held-back ones first when it does, so the result is
// the same as recording each in its turn.

/** The layer-relative parent of rel ("" for the root). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

export class DeferredWhiteouts {
  private readonly targets = new Set<string>();
  /** directories marked opaque: what is written beneath them later does not matter */
  private readonly opaques = new Set<string>();
  /** every directory above a target or opaque dir: an entry there may replace it */
  private readonly ancestors = new Set<string>();

  get size(): number {
    return this.targets.size + this.opaques.size;
  }

  add(target: string): void {
    this.targets.add(target);
    this.addAncestors(target);
  }

  addOpaque(dir: string): void {
    this.opaques.add(dir);
    this.addAncestors(dir);
  }

  private addAncestors(rel: string): void {
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) this.ancestors.add(p);
  }

  /** An entry at rel would see or change a held-back path (a whiteout's, beneath it, an opaque dir's). */
  touches(rel: string): boolean {
    if (this.size === 0 || rel === '') return false;
    if (this.targets.has(rel) || this.opaques.has(rel) || this.ancestors.has(rel)) return true;
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) if (this.targets.has(p)) return true;
    return false;
  }

  /** The held-back whiteout targets and opaque dirs, in tar order; none are held any more. */
  take(): { whiteouts: string[]; opaques: string[] } {
    const taken = { whiteouts: [...this.targets], opaques: [...this.opaques] };
    this.targets.clear();
    this.opaques.clear();
    this.ancestors.clear();
    return taken;
  }
}
