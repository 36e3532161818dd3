// A plain YAML rendering of JSON-like data, for reports people read and grep
// (`tspod info` prints the same layout `podman info` does).

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') {
    if (v === '') return '""';
    return /^[\w./@+-][\w ./:@+,=()-]*$/.test(v) && !/^(true|false|null|[\d.]+)$/.test(v) && !v.endsWith(' ') ? v : JSON.stringify(v);
  }
  return String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lines(value: unknown, indent: string): string[] {
  const out: string[] = [];
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (isObject(v) && Object.keys(v).length) {
        out.push(`${indent}${k}:`, ...lines(v, indent + '  '));
      } else if (Array.isArray(v) && v.length) {
        out.push(`${indent}${k}:`, ...lines(v, indent));
      } else {
        out.push(`${indent}${k}: ${Array.isArray(v) ? '[]' : isObject(v) ? '{}' : scalar(v)}`);
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) {
      if (isObject(item) && Object.keys(item).length) {
        const [first, ...rest] = lines(item, indent + '  ');
        out.push(`${indent}- ${first.trimStart()}`, ...rest);
      } else {
        out.push(`${indent}- ${scalar(item)}`);
      }
    }
  } else {
    out.push(`${indent}${scalar(value)}`);
  }
  return out;
}

export function toYaml(value: unknown): string {
  return lines(value, '').join('\n') + '\n';
}
