// The nftables table of tspod's bridges, regenerated whole from the active networks whenever
// one comes or goes (and loaded in one atomic `nft -f`): NAT to the outside for networks that
// are not internal, no traffic between different networks (nor to another network's gateway,
// where its resolver listens), nothing in or out of internal networks; an ip table for IPv4 and
// an ip6 one for IPv6 (NAT66 to the uplink). Pure text, unit-tested.

export interface ActiveBridge {
  interface: string;
  subnets: { subnet: string; gateway: string }[];
  internal: boolean;
}

export const TABLE = 'tspod';

/** What differs between the ip and the ip6 table. */
interface Family {
  table: 'ip' | 'ip6';
  /** the address match keyword */
  addr: 'ip' | 'ip6';
  /** refused at once (rather than dropped), so a client fails fast instead of timing out */
  reject: string;
  ofFamily: (subnet: string) => boolean;
}

const FAMILIES: Family[] = [
  { table: 'ip', addr: 'ip', reject: 'reject with icmp type admin-prohibited', ofFamily: (s) => !s.includes(':') },
  { table: 'ip6', addr: 'ip6', reject: 'reject with icmpv6 type admin-prohibited', ofFamily: (s) => s.includes(':') },
];

const quote = (s: string): string => `"${s}"`;
const set = (items: string[]): string => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

/**
 * One family's table. Every active bridge takes part in its isolation, also one without a
 * subnet of the family (its containers still have link-local addresses); masquerade only for
 * the subnets the family has.
 */
function familyTable(f: Family, bridges: readonly ActiveBridge[]): string[] {
  const lines = [`add table ${f.table} ${TABLE}`, `delete table ${f.table} ${TABLE}`];
  if (bridges.length === 0) return lines;
  const subnetsOf = (b: ActiveBridge) => b.subnets.filter((s) => f.ofFamily(s.subnet));
  const post: string[] = [];
  const forward: string[] = [];
  const input: string[] = [];
  for (const b of bridges) {
    const me = quote(b.interface);
    const others = bridges.filter((o) => o.interface !== b.interface);
    const otherGateways = others.flatMap((o) => subnetsOf(o).map((s) => s.gateway));
    if (b.internal) {
      const own = subnetsOf(b).map((s) => s.gateway);
      forward.push(`iifname ${me} ${f.reject}`, `oifname ${me} ${f.reject}`);
      input.push(own.length ? `iifname ${me} ${f.addr} daddr != ${set(own)} ${f.reject}` : `iifname ${me} ${f.reject}`);
      continue;
    }
    if (others.length > 0) forward.push(`iifname ${me} oifname ${set(others.map((o) => quote(o.interface)))} ${f.reject}`);
    if (otherGateways.length > 0) input.push(`iifname ${me} ${f.addr} daddr ${set(otherGateways)} ${f.reject}`);
    for (const s of subnetsOf(b)) post.push(`${f.addr} saddr ${s.subnet} ${f.addr} daddr != ${s.subnet} oifname != ${me} masquerade`);
  }
  const chain = (name: string, hook: string, body: string[]): string[] => [`  chain ${name} {`, `    type ${hook}; policy accept;`, ...body.map((r) => `    ${r}`), '  }'];
  lines.push(
    `table ${f.table} ${TABLE} {`,
    ...chain('postrouting', 'nat hook postrouting priority srcnat', post),
    ...chain('forward', 'filter hook forward priority filter', forward),
    ...chain('input', 'filter hook input priority filter', input),
    '}',
  );
  return lines;
}

export function bridgeRuleset(bridges: readonly ActiveBridge[]): string {
  return `${FAMILIES.flatMap((f) => familyTable(f, bridges)).join('\n')}\n`;
}
