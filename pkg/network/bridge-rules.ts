// The nftables table of tspod's bridges, regenerated whole from the active networks whenever
// one comes or goes (and loaded in one atomic `nft -f`): NAT to the outside for networks that
// are not internal, no traffic between different networks (nor to another network's gateway,
// where its resolver listens), nothing in or out of internal networks. Pure text, unit-tested.

export interface ActiveBridge {
  interface: string;
  subnets: { subnet: string; gateway: string }[];
  internal: boolean;
}

export const TABLE = 'tspod';
/** Refused at once (rather than dropped), so a client fails fast instead of timing out. */
const REJECT = 'reject with icmp type admin-prohibited';

const quote = (s: string): string => `"${s}"`;
const set = (items: string[]): string => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

export function bridgeRuleset(bridges: readonly ActiveBridge[]): string {
  const lines = [`add table ip ${TABLE}`, `delete table ip ${TABLE}`];
  if (bridges.length === 0) return `${lines.join('\n')}\n`;
  const post: string[] = [];
  const forward: string[] = [];
  const input: string[] = [];
  for (const b of bridges) {
    const me = quote(b.interface);
    const others = bridges.filter((o) => o.interface !== b.interface);
    const otherGateways = others.flatMap((o) => o.subnets.map((s) => s.gateway));
    if (b.internal) {
      forward.push(`iifname ${me} ${REJECT}`, `oifname ${me} ${REJECT}`);
      input.push(`iifname ${me} ip daddr != ${set(b.subnets.map((s) => s.gateway))} ${REJECT}`);
      continue;
    }
    if (others.length > 0) forward.push(`iifname ${me} oifname ${set(others.map((o) => quote(o.interface)))} ${REJECT}`);
    if (otherGateways.length > 0) input.push(`iifname ${me} ip daddr ${set(otherGateways)} ${REJECT}`);
    for (const s of b.subnets) post.push(`ip saddr ${s.subnet} ip daddr != ${s.subnet} oifname != ${me} masquerade`);
  }
  const chain = (name: string, hook: string, body: string[]): string[] => [`  chain ${name} {`, `    type ${hook}; policy accept;`, ...body.map((r) => `    ${r}`), '  }'];
  lines.push(
    `table ip ${TABLE} {`,
    ...chain('postrouting', 'nat hook postrouting priority srcnat', post),
    ...chain('forward', 'filter hook forward priority filter', forward),
    ...chain('input', 'filter hook input priority filter', input),
    '}',
  );
  return `${lines.join('\n')}\n`;
}
