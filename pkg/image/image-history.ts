// `history` and `image tree`: how an image was made, from its config's history and its layer
// chain. Pure: the caller supplies the layers (chain ID → parent and size) and which images
// sit on which top layer. Like Podman, a history step whose layer is the top layer of a local
// image shows that image's ID (the top step always shows the image itself); others show
// `<missing>`, as in Docker.
import { humanSize, timeAgo } from '../format/human-units';
import { HistoryEntry } from './manifest';

export interface LayerInfo {
  parent: string | null;
  /** bytes of content in this layer */
  size: number;
}

export interface HistoryInput {
  /** sha256:<hex> */
  imageId: string;
  history: HistoryEntry[];
  topLayer: string | null;
  layers: ReadonlyMap<string, LayerInfo>;
  /** image IDs by their top layer's chain ID */
  imagesByTopLayer: ReadonlyMap<string, string[]>;
}

export interface HistoryStep {
  /** sha256:<hex>, or `<missing>` */
  id: string;
  /** ms since the epoch; undefined when the step has no date */
  created?: number;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** The steps, newest first (Docker's and Podman's order). */
export function imageHistory(input: HistoryInput): HistoryStep[] {
  const used = new Set<string>();
  const out: HistoryStep[] = [];
  let layer: string | null = input.topLayer;
  for (let i = input.history.length - 1; i >= 0; i--) {
    const h = input.history[i];
    const empty = h.empty_layer === true;
    let id = '<missing>';
    if (i === input.history.length - 1) {
      id = input.imageId;
      used.add(id);
    } else if (layer !== null) {
      const candidate = (input.imagesByTopLayer.get(layer) ?? []).find((img) => !used.has(img));
      if (candidate) {
        id = candidate;
        used.add(candidate);
      }
    }
    const info = layer !== null ? input.layers.get(layer) : undefined;
    const created = h.created ? Date.parse(h.created) : NaN;
    out.push({
      id,
      created: Number.isNaN(created) ? undefined : created,
      createdBy: h.created_by ?? '',
      size: !empty && info ? info.size : 0,
      comment: h.comment ?? '',
      emptyLayer: empty,
    });
    if (!empty && layer !== null) layer = info?.parent ?? null;
  }
  return out;
}

export interface HistoryViewOptions {
  noTrunc?: boolean;
  /** -H (default true): human sizes and relative dates */
  human?: boolean;
  now?: number;
}

/** The fields `history --format` templates see (Docker's names; Podman's Created and Tags). */
export interface HistoryRowView {
  ID: string;
  Created: string;
  CreatedSince: string;
  CreatedAt: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
  Tags: string[];
}

export const HISTORY_HEADERS: Record<string, string> = {
  ID: 'ID',
  Created: 'CREATED',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
  Tags: 'TAGS',
};

export const DEFAULT_HISTORY_FORMAT = 'table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

const CREATED_BY_WIDTH = 45;

/** Docker's stringutils.Ellipsis at 45 characters, tabs as spaces. */
export function truncateCreatedBy(text: string, noTrunc = false): string {
  const flat = text.replace(/\t/g, ' ');
  if (noTrunc) return flat;
  const chars = [...flat];
  return chars.length > CREATED_BY_WIDTH ? `${chars.slice(0, CREATED_BY_WIDTH - 3).join('')}...` : flat;
}

function rfc3339(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function shortId(id: string, noTrunc: boolean): string {
  if (id === '<missing>' || noTrunc) return id;
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function historyRowView(step: HistoryStep, opts: HistoryViewOptions = {}): HistoryRowView {
  const human = opts.human ?? true;
  const since = step.created === undefined ? '' : human ? timeAgo(step.created, opts.now) : rfc3339(step.created);
  return {
    ID: shortId(step.id, opts.noTrunc ?? false),
    Created: since,
    CreatedSince: since,
    CreatedAt: rfc3339(step.created),
    CreatedBy: truncateCreatedBy(step.createdBy, opts.noTrunc),
    Size: human ? humanSize(step.size) : String(step.size),
    Comment: step.comment,
    Tags: [],
  };
}

/** `history --format json`: Podman's field names, full values. */
export function historyJson(steps: readonly HistoryStep[]): Record<string, unknown>[] {
  return steps.map((s) => ({
    id: s.id.replace(/^sha256:/, ''),
    created: rfc3339(s.created),
    CreatedBy: s.createdBy,
    size: s.size,
    comment: s.comment,
  }));
}

/** go-units HumanSizeWithPrecision(size, 4) without a space, as `image tree` prints sizes. */
export function treeSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  const text = size === 0 ? '0' : size.toPrecision(4).includes('e') ? String(Number(size.toPrecision(4))) : size.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return `${text}${units[i]}`;
}

export interface TreeInput {
  imageId: string;
  names: string[];
  size: number;
  /** the image's layers, bottom first */
  layers: { id: string; size: number }[];
  /** the names (or short IDs of untagged images) of the images whose top layer each layer is */
  topOf: ReadonlyMap<string, string[]>;
}

/** Podman's `image tree` text. */
export function imageTree(input: TreeInput): string {
  const lines = [
    `Image ID: ${input.imageId.replace(/^sha256:/, '').slice(0, 12)}`,
    `Tags:     [${input.names.join(' ')}]`,
    `Size:     ${treeSize(input.size)}`,
    'Image Layers',
  ];
  input.layers.forEach((layer, i) => {
    const branch = i === input.layers.length - 1 ? '└──' : '├──';
    const top = input.topOf.get(layer.id);
    const topText = top && top.length > 0 ? ` Top Layer of: [${top.join(' ')}]` : '';
    lines.push(`${branch} ID: ${layer.id.replace(/^sha256:/, '').slice(0, 12)} Size: ${treeSize(layer.size).padStart(7)}${topText}`);
  });
  return `${lines.join('\n')}\n`;
}
